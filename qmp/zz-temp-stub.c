#include "qmp/qmp.h"
#include "tools/emblock-io-cmds.h"
int io_open_f(IoState *s, int argc, char **argv) { return -ENOTSUP; }
int io_close_f(IoState *s, int argc, char **argv) { return -ENOTSUP; }
void io_open_help(void) {}
const QmpCommand qmp_io_commands[] = { { NULL } };
