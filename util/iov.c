#include "util/osdep.h"
