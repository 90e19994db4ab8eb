#include "util/osdep.h"
int main(void);
