/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * emblock-storage-daemon: block nodes and jobs under QMP control, after
 * qemu-storage-daemon.
 *
 *   emblock-storage-daemon [--blockdev OPTS]... [--chardev OPTS]...
 *                          [--monitor OPTS]... [--pidfile FILE]
 *                          [--daemonize]
 *
 * Options are taken in command-line order once they have all been parsed,
 * so a --monitor must follow the --chardev it names, and a --blockdev can
 * use the nodes of earlier ones.  Any error is reported as
 * "emblock-storage-daemon: --OPTION VALUE: message" and ends the program
 * with status 1 (with --daemonize, before the parent returns).
 *
 * Start-up order, as qemu-storage-daemon's: signals are blocked first (so
 * that every thread, the block layer's workers included, inherits the
 * mask and only the main loop sees them, through a signalfd); with
 * --daemonize the process forks and the parent waits for the child's
 * word; the options run; the pid file is written; a daemon then leaves
 * its working directory for "/" and its stdio for /dev/null, and the
 * parent exits 0.
 *
 * The main loop polls the main AioContext until `quit` or SIGTERM, SIGINT
 * or SIGHUP.  Shutdown cancels every job (job_cancel_sync_all()), drains
 * and closes the monitor's nodes (their last reference flushes them),
 * closes the QMP connections after a bounded attempt to deliver pending
 * replies, and removes the sockets and the pid file.
 *
 * The QMP server and its commands live in qmp/; this file only wires
 * them to the command line.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/block.h"
#include "block/job.h"
#include "qmp/qmp.h"
#include "config-host.h"

#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/stat.h>

#define PROGNAME "emblock-storage-daemon"

/* A --chardev, validated, waiting for its --monitor. */
typedef struct Chardev {
    char *id;
    bool is_stdio;
    char *path;
    bool wait;
    bool in_use;
} Chardev;

typedef struct DaemonOption {
    int opt;
    const char *arg;
} DaemonOption;

enum {
    OPTION_BLOCKDEV = 256,
    OPTION_CHARDEV,
    OPTION_MONITOR,
    OPTION_PIDFILE,
    OPTION_DAEMONIZE,
};

static GList *chardevs;
static bool daemonize;
static int daemon_pipe = -1;
static char *pidfile_path;
static int pidfile_fd = -1;

static void usage(void)
{
    printf(
"Usage: " PROGNAME " [options]\n"
"emblock storage daemon\n"
"\n"
"  -h, --help             display this help and exit\n"
"  -V, --version          output version information and exit\n"
"\n"
"  --blockdev [driver=]<driver>[,node-name=<N>][,discard=ignore|unmap]\n"
"             [,cache.direct=on|off][,cache.no-flush=on|off]\n"
"             [,read-only=on|off][,auto-read-only=on|off]\n"
"             [,force-share=on|off][,detect-zeroes=on|off|unmap]\n"
"             [,driver specific parameters...]\n"
"                         configure a block node (also as JSON)\n"
"\n"
"  --chardev socket,id=<id>,path=<path>[,server=on][,wait=on|off]\n"
"  --chardev stdio,id=<id>\n"
"                         configure a character device for a monitor\n"
"\n"
"  --daemonize            daemonize the process, and have the parent exit\n"
"                         once startup is complete\n"
"\n"
"  --monitor [chardev=]name[,mode=control][,pretty[=on|off]]\n"
"                         configure a QMP monitor\n"
"\n"
"  --pidfile <path>       write process ID to a file after startup\n"
"\n");
}

static void version(void)
{
    printf(PROGNAME " version " EMBLOCK_VERSION "\n");
}

/* Report "PROGNAME: --OPT ARG: message" and exit 1. */
static void G_GNUC_NORETURN option_fail(const char *name, const char *arg,
                                        Error *err)
{
    error_report("--%s %s: %s", name, arg, error_get_pretty(err));
    error_free(err);
    qmp_server_shutdown();      /* removes the sockets already created */
    exit(1);
}

/* key=value,... with an implied first key; NULL with @errp on error. */
static JsonObject *parse_keyval(const char *arg, const char *implied,
                                Error **errp)
{
    const char *comma = strchr(arg, ',');
    const char *eq = strchr(arg, '=');
    g_autofree char *full = NULL;

    if (*arg && (!eq || (comma && comma < eq))) {
        full = g_strdup_printf("%s=%s", implied, arg);
        arg = full;
    }
    return qdict_parse_dotted(arg, errp);
}

/* on/off and friends; false with @errp for anything else. */
static bool parse_on_off(JsonObject *d, const char *key, bool *value,
                         Error **errp)
{
    const char *s = qdict_get_str(d, key);

    if (!s) {
        return true;
    }
    if (!strcmp(s, "on") || !strcmp(s, "true") || !strcmp(s, "yes")) {
        *value = true;
    } else if (!strcmp(s, "off") || !strcmp(s, "false") ||
               !strcmp(s, "no")) {
        *value = false;
    } else {
        error_setg(errp, "Parameter '%s' expects 'on' or 'off'", key);
        return false;
    }
    return true;
}

static bool id_valid(const char *id)
{
    if (!g_ascii_isalpha(*id)) {
        return false;
    }
    for (const char *p = id; *p; p++) {
        if (!g_ascii_isalnum(*p) && !strchr("-._", *p)) {
            return false;
        }
    }
    return true;
}

static Chardev *find_chardev(const char *id)
{
    for (GList *l = chardevs; l; l = l->next) {
        Chardev *cd = l->data;

        if (!strcmp(cd->id, id)) {
            return cd;
        }
    }
    return NULL;
}

static bool add_chardev(const char *arg, Error **errp)
{
    static const char *const socket_keys[] = {
        "backend", "id", "path", "server", "wait", NULL,
    };
    static const char *const stdio_keys[] = { "backend", "id", NULL };
    g_autoptr(JsonObject) d = parse_keyval(arg, "backend", errp);
    const char *backend, *id;
    bool server = true, wait = true;
    Chardev *cd;

    if (!d) {
        return false;
    }
    backend = qdict_get_str(d, "backend");
    id = qdict_get_str(d, "id");
    if (!backend || (strcmp(backend, "socket") && strcmp(backend, "stdio"))) {
        error_setg(errp, "'%s' is not a valid char driver name",
                   backend ? backend : "");
        return false;
    }
    if (!qdict_check_keys(d, strcmp(backend, "socket") ? stdio_keys
                                                       : socket_keys,
                          errp)) {
        return false;
    }
    if (!id) {
        error_setg(errp, "chardev: no id specified");
        return false;
    }
    if (!id_valid(id)) {
        error_setg(errp, "Parameter 'id' expects an identifier");
        return false;
    }
    if (find_chardev(id)) {
        error_setg(errp, "Duplicate ID '%s' for chardev", id);
        return false;
    }
    cd = g_new0(Chardev, 1);
    cd->id = g_strdup(id);
    if (!strcmp(backend, "stdio")) {
        if (daemonize) {
            error_setg(errp, "cannot use stdio with -daemonize");
            g_free(cd->id);
            g_free(cd);
            return false;
        }
        cd->is_stdio = true;
    } else {
        if (!parse_on_off(d, "server", &server, errp) ||
            !parse_on_off(d, "wait", &wait, errp)) {
            g_free(cd->id);
            g_free(cd);
            return false;
        }
        if (!qdict_get_str(d, "path") || !server) {
            error_setg(errp, !server ? "Client sockets (server=off) are "
                       "not supported" : "Parameter 'path' is missing");
            g_free(cd->id);
            g_free(cd);
            return false;
        }
        cd->path = g_strdup(qdict_get_str(d, "path"));
        cd->wait = wait;
    }
    chardevs = g_list_append(chardevs, cd);
    return true;
}

static bool add_monitor(const char *arg, Error **errp)
{
    static const char *const keys[] = { "chardev", "mode", "pretty", NULL };
    g_autoptr(JsonObject) d = parse_keyval(arg, "chardev", errp);
    const char *id, *mode;
    bool pretty = false;
    Chardev *cd;

    if (!d) {
        return false;
    }
    /* "pretty" alone means pretty=on. */
    if (qdict_haskey(d, "pretty") && !*qdict_get_str(d, "pretty")) {
        qdict_put_str(d, "pretty", "on");
    }
    if (!qdict_check_keys(d, keys, NULL)) {
        g_autoptr(GList) members = json_object_get_members(d);

        for (GList *l = members; l; l = l->next) {
            if (!g_strv_contains(keys, l->data)) {
                error_setg(errp, "Parameter '%s' is unexpected",
                           (char *)l->data);
                return false;
            }
        }
    }
    id = qdict_get_str(d, "chardev");
    mode = qdict_get_str(d, "mode");
    if (!id) {
        error_setg(errp, "Parameter 'chardev' is missing");
        return false;
    }
    if (mode && strcmp(mode, "control")) {
        error_setg(errp, "Only QMP is supported");
        return false;
    }
    if (!parse_on_off(d, "pretty", &pretty, errp)) {
        return false;
    }
    cd = find_chardev(id);
    if (!cd) {
        error_setg(errp, "chardev \"%s\" not found", id);
        return false;
    }
    if (cd->in_use) {
        error_setg(errp, "Device '%s' is in use", id);
        return false;
    }
    cd->in_use = true;
    return cd->is_stdio ? qmp_server_add_stdio(pretty, errp)
                        : qmp_server_add_socket(cd->path, cd->wait, pretty,
                                                errp);
}

/* A JSON --blockdev goes through the QMP tokeniser, for QMP's checks. */
typedef struct JsonArg {
    JsonNode *root;
    Error *err;
    bool done;
} JsonArg;

static void json_arg_emit(void *opaque, const char *json, size_t len,
                          const char *error)
{
    JsonArg *ja = opaque;

    if (ja->done) {
        return;
    }
    ja->done = true;
    if (error) {
        error_setg(&ja->err, "%s", error);
    } else {
        ja->root = qmp_parse_message(json, len, &ja->err);
    }
}

static bool add_blockdev(const char *arg, Error **errp)
{
    g_autoptr(JsonObject) opts = NULL;
    bool strict = arg[0] == '{';

    if (strict) {
        JsonArg ja = { 0 };
        QmpStream *st = qmp_stream_new(json_arg_emit, &ja);

        qmp_stream_feed(st, arg, strlen(arg));
        qmp_stream_feed(st, " ", 1);      /* ends a trailing scalar */
        qmp_stream_free(st);
        if (!ja.done) {
            error_setg(errp, "JSON parse error, premature EOI");
            return false;
        }
        if (ja.err) {
            error_propagate(errp, ja.err);
            return false;
        }
        if (!JSON_NODE_HOLDS_OBJECT(ja.root)) {
            json_node_unref(ja.root);
            error_setg(errp, "Expected a JSON object");
            return false;
        }
        opts = json_object_ref(json_node_get_object(ja.root));
        json_node_unref(ja.root);
    } else {
        opts = parse_keyval(arg, "driver", errp);
        if (!opts) {
            return false;
        }
    }
    return qmp_blockdev_add(opts, strict, errp);
}

/* Pid file: created and locked after start-up, removed at exit. */
static bool pidfile_write(const char *path, Error **errp)
{
    g_autofree char *text = g_strdup_printf("%d\n", (int)getpid());
    int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);

    if (fd < 0) {
        error_setg_errno(errp, errno, "Could not create '%s'", path);
        return false;
    }
    if (lockf(fd, F_TLOCK, 0) < 0) {
        error_setg_errno(errp, errno, "Cannot lock pid file");
        close(fd);
        return false;
    }
    if (ftruncate(fd, 0) < 0 ||
        write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        error_setg_errno(errp, errno, "Failed to write pid file");
        close(fd);
        unlink(path);
        return false;
    }
    pidfile_fd = fd;
    pidfile_path = g_canonicalize_filename(path, NULL);
    return true;
}

/* Daemonizing: the parent waits for the child's status byte. */
static void daemonize_start(void)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        error_report("cannot create pipe: %s", g_strerror(errno));
        exit(1);
    }
    pid = fork();
    if (pid < 0) {
        error_report("cannot fork: %s", g_strerror(errno));
        exit(1);
    }
    if (pid > 0) {
        char status = 1;
        ssize_t n;

        close(fds[1]);
        do {
            n = read(fds[0], &status, 1);
        } while (n < 0 && errno == EINTR);
        exit(n == 1 && status == 0 ? 0 : 1);
    }
    close(fds[0]);
    setsid();
    daemon_pipe = fds[1];
}

static void daemonize_finish(void)
{
    char status = 0;
    int fd = open("/dev/null", O_RDWR);

    if (chdir("/") < 0 || fd < 0) {
        error_report("cannot detach: %s", g_strerror(errno));
        exit(1);
    }
    dup2(fd, STDIN_FILENO);
    dup2(fd, STDOUT_FILENO);
    dup2(fd, STDERR_FILENO);
    close(fd);
    if (write(daemon_pipe, &status, 1) != 1) {
        exit(1);
    }
    close(daemon_pipe);
    daemon_pipe = -1;
}

static void signal_ready(void *opaque)
{
    int fd = GPOINTER_TO_INT(opaque);
    struct signalfd_siginfo si;

    while (read(fd, &si, sizeof(si)) == sizeof(si)) {
        qmp_request_quit();
    }
}

static int setup_signals(void)
{
    sigset_t set;

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    return signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
}

static GArray *parse_args(int argc, char **argv)
{
    static const struct option lopt[] = {
        { "help", no_argument, NULL, 'h' },
        { "version", no_argument, NULL, 'V' },
        { "blockdev", required_argument, NULL, OPTION_BLOCKDEV },
        { "chardev", required_argument, NULL, OPTION_CHARDEV },
        { "monitor", required_argument, NULL, OPTION_MONITOR },
        { "pidfile", required_argument, NULL, OPTION_PIDFILE },
        { "daemonize", no_argument, NULL, OPTION_DAEMONIZE },
        { NULL, 0, NULL, 0 }
    };
    GArray *opts = g_array_new(FALSE, FALSE, sizeof(DaemonOption));
    int c;

    while ((c = getopt_long(argc, argv, "-hV", lopt, NULL)) != -1) {
        DaemonOption o = { c, optarg };

        switch (c) {
        case 'h':
            usage();
            exit(0);
        case 'V':
            version();
            exit(0);
        case 1:
            error_report("%s: Unexpected argument", optarg);
            exit(1);
        case OPTION_DAEMONIZE:
            daemonize = true;
            break;
        case OPTION_BLOCKDEV:
        case OPTION_CHARDEV:
        case OPTION_MONITOR:
        case OPTION_PIDFILE:
            g_array_append_val(opts, o);
            break;
        default:
            exit(1);        /* getopt has said what is wrong */
        }
    }
    return opts;
}

static void run_options(GArray *opts)
{
    for (guint i = 0; i < opts->len; i++) {
        DaemonOption *o = &g_array_index(opts, DaemonOption, i);
        Error *err = NULL;
        const char *name = NULL;
        bool ok = true;

        switch (o->opt) {
        case OPTION_BLOCKDEV:
            name = "blockdev";
            ok = add_blockdev(o->arg, &err);
            break;
        case OPTION_CHARDEV:
            name = "chardev";
            ok = add_chardev(o->arg, &err);
            break;
        case OPTION_MONITOR:
            name = "monitor";
            ok = add_monitor(o->arg, &err);
            break;
        case OPTION_PIDFILE:
            g_free(pidfile_path);
            pidfile_path = g_strdup(o->arg);
            break;
        }
        if (!ok) {
            option_fail(name, o->arg, err);
        }
    }
}

static void shutdown_daemon(void)
{
    job_cancel_sync_all();
    bdrv_drain_all();
    qmp_blockdev_release_all();
    qmp_server_shutdown();
    if (pidfile_fd >= 0) {
        unlink(pidfile_path);
        close(pidfile_fd);
    }
}

int main(int argc, char **argv)
{
    g_autoptr(GArray) opts = NULL;
    AioContext *ctx;
    Error *err = NULL;
    int sigfd;

    argv[0] = (char *)PROGNAME;
    g_set_prgname(PROGNAME);
    error_set_progname(PROGNAME);

    opts = parse_args(argc, argv);
    sigfd = setup_signals();
    if (sigfd < 0) {
        error_report("cannot set up signals: %s", g_strerror(errno));
        exit(1);
    }
    if (daemonize) {
        daemonize_start();
    }
    ctx = qemu_get_aio_context();
    run_options(opts);

    if (pidfile_path) {
        g_autofree char *path = pidfile_path;

        pidfile_path = NULL;
        if (!pidfile_write(path, &err)) {
            error_report("cannot create PID file: %s",
                         error_get_pretty(err));
            qmp_server_shutdown();
            exit(1);
        }
    }
    if (daemonize) {
        daemonize_finish();
    }

    aio_set_fd_handler(ctx, sigfd, signal_ready, NULL,
                       GINT_TO_POINTER(sigfd));
    qmp_server_start();
    while (!qmp_quit_requested()) {
        aio_poll(ctx, true);
    }
    aio_set_fd_handler(ctx, sigfd, NULL, NULL, NULL);
    close(sigfd);
    shutdown_daemon();
    return 0;
}
