/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The QMP server: listening sockets, client connections, the greeting and
 * capabilities negotiation, request dispatch, replies and events.
 *
 * Each connection (a unix socket client, or stdin/stdout) is a QmpClient
 * with its own input tokeniser (qmp-stream.c), negotiation state and
 * output buffer; clients are independent, and any number may be
 * connected to a listening socket at once (QEMU serves one at a time).
 * Everything is driven by fd handlers on the main AioContext, with
 * non-blocking fds:
 *
 *   - input is read in chunks of up to 64 KiB and tokenised; each complete
 *     message is dispatched at once, so a chunk's messages run in order;
 *   - a command runs to completion inside dispatch.  It may poll the event
 *     loop (image opening, job_cancel_sync(), x-blockdev-io), so while any
 *     command runs, input from every client is suspended: their read
 *     handlers are unregistered, which also keeps the poll from spinning
 *     on readable fds.  Output keeps flowing, and new connections are
 *     accepted (their input waits too);
 *   - output is written as far as the socket takes it and the rest is
 *     kept, with a write handler, until it drains.  A client whose unread
 *     output passes QMP_OUTPUT_PAUSE stops being read until it catches
 *     up; one that passes QMP_OUTPUT_MAX (it reads nothing while events
 *     pile up) is dropped.
 *
 * Client lifetime: the clients list holds one reference, a dispatch in
 * progress another, so a client that disconnects (or is dropped) in the
 * middle of its own command is closed at once but freed only when the
 * command returns.  After end of input, pending output is still
 * delivered before the connection is closed.
 *
 * Main-loop state only.
 */
#include "qmp/qmp.h"
#include "block/job.h"
#include "util/aio.h"
#include "util/qjson.h"
#include "config-host.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#define QMP_READ_CHUNK (64 * 1024)
#define QMP_OUTPUT_PAUSE (1024 * 1024)
#define QMP_OUTPUT_MAX (64 * 1024 * 1024)
/* How long shutdown waits for output to drain, all clients together. */
#define QMP_SHUTDOWN_FLUSH_MS 1000

typedef struct QmpListener {
    int fd;
    char *path;             /* absolute, unlinked at shutdown */
    bool pretty;
    QEMUTimer *retry;       /* re-arms accept after EMFILE and the like */
} QmpListener;

typedef struct QmpClient {
    int in_fd;
    int out_fd;             /* == in_fd for sockets */
    bool is_stdio;
    bool pretty;
    int refcnt;
    bool negotiated;
    bool oob;               /* the client enabled the "oob" capability */
    bool eof;               /* no more input; close once output drained */
    bool closed;            /* fds released, out of the clients list */
    QmpStream *stream;
    GString *out;
    size_t out_pos;         /* bytes of out already written */
} QmpClient;

static GList *listeners;
static GList *clients;
static int dispatching;
static bool quit_requested;
static bool started;

static void client_update_handlers(QmpClient *c);

void qmp_request_quit(void)
{
    quit_requested = true;
    aio_notify(qemu_get_aio_context());
}

bool qmp_quit_requested(void)
{
    return quit_requested;
}

JsonObject *qmp_version_info(void)
{
    JsonObject *info = json_object_new();
    JsonObject *qemu = json_object_new();
    int major = 0, minor = 0, micro = 0;

    sscanf(EMBLOCK_VERSION, "%d.%d.%d", &major, &minor, &micro);
    json_object_set_int_member(qemu, "micro", micro);
    json_object_set_int_member(qemu, "minor", minor);
    json_object_set_int_member(qemu, "major", major);
    json_object_set_object_member(info, "qemu", qemu);
    json_object_set_string_member(info, "package",
                                  "emblock-" EMBLOCK_VERSION);
    return info;
}

/* Client lifetime */

static void client_ref(QmpClient *c)
{
    c->refcnt++;
}

static void client_unref(QmpClient *c)
{
    assert(c->refcnt > 0);
    if (--c->refcnt == 0) {
        assert(c->closed);
        qmp_stream_free(c->stream);
        g_string_free(c->out, TRUE);
        g_free(c);
    }
}

static void client_close(QmpClient *c)
{
    AioContext *ctx = qemu_get_aio_context();

    if (c->closed) {
        return;
    }
    c->closed = true;
    aio_set_fd_handler(ctx, c->in_fd, NULL, NULL, NULL);
    if (c->out_fd != c->in_fd) {
        aio_set_fd_handler(ctx, c->out_fd, NULL, NULL, NULL);
    }
    if (!c->is_stdio) {
        close(c->in_fd);
    }
    clients = g_list_remove(clients, c);
    client_unref(c);
}

/* Output */

static size_t client_pending(QmpClient *c)
{
    return c->out->len - c->out_pos;
}

/* Write what the fd takes now; close on errors and after a drained EOF. */
static void client_flush(QmpClient *c)
{
    while (!c->closed && client_pending(c) > 0) {
        const char *p = c->out->str + c->out_pos;
        ssize_t n;

        if (c->is_stdio) {
            n = write(c->out_fd, p, client_pending(c));
        } else {
            n = send(c->out_fd, p, client_pending(c), MSG_NOSIGNAL);
        }
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            break;
        }
        if (n <= 0) {
            client_close(c);
            return;
        }
        c->out_pos += n;
    }
    if (c->closed) {
        return;
    }
    if (client_pending(c) == 0) {
        g_string_truncate(c->out, 0);
        c->out_pos = 0;
        if (c->eof) {
            client_close(c);
            return;
        }
    } else if (c->out_pos > QMP_OUTPUT_PAUSE) {
        /* Drop what was written so the buffer does not only grow. */
        g_string_erase(c->out, 0, c->out_pos);
        c->out_pos = 0;
    }
    client_update_handlers(c);
}

static void client_write_ready(void *opaque)
{
    QmpClient *c = opaque;

    client_ref(c);
    client_flush(c);
    client_unref(c);
}

/*
 * Queue one message's JSON text.  As QEMU's monitor output, every newline
 * (there are some in pretty mode) goes out as CR LF, and so does the final
 * one.
 */
static void client_send_text(QmpClient *c, const char *text)
{
    if (c->closed) {
        return;
    }
    for (const char *nl; (nl = strchr(text, '\n')); text = nl + 1) {
        g_string_append_len(c->out, text, nl - text);
        g_string_append(c->out, "\r\n");
    }
    g_string_append(c->out, text);
    g_string_append(c->out, "\r\n");
    if (client_pending(c) > QMP_OUTPUT_MAX) {
        client_close(c);        /* not reading its output: give up */
        return;
    }
    client_flush(c);
}

static void client_send(QmpClient *c, JsonObject *msg)
{
    g_autoptr(JsonNode) node = json_node_alloc();
    g_autofree char *text = NULL;

    json_node_init_object(node, msg);
    text = qjson_to_string(node, c->pretty);
    client_send_text(c, text);
}

static const char *error_class_name(ErrorClass cls)
{
    switch (cls) {
    case ERROR_CLASS_COMMAND_NOT_FOUND:
        return "CommandNotFound";
    case ERROR_CLASS_DEVICE_NOT_ACTIVE:
        return "DeviceNotActive";
    case ERROR_CLASS_DEVICE_NOT_FOUND:
        return "DeviceNotFound";
    default:
        return "GenericError";
    }
}

/* Send @err (and free it) as the reply to a request with @id. */
static void client_send_error(QmpClient *c, JsonNode *id, Error *err)
{
    g_autoptr(JsonObject) msg = json_object_new();
    JsonObject *e = json_object_new();

    if (id) {
        json_object_set_member(msg, "id", json_node_copy(id));
    }
    json_object_set_string_member(e, "class",
                                  error_class_name(error_get_class(err)));
    /* Not made valid UTF-8 here: qjson replaces bad bytes as QEMU does. */
    json_object_set_string_member(e, "desc", error_get_pretty(err));
    json_object_set_object_member(msg, "error", e);
    client_send(c, msg);
    error_free(err);
}

static void client_send_return(QmpClient *c, JsonNode *id, JsonNode *ret)
{
    g_autoptr(JsonObject) msg = json_object_new();

    json_object_set_member(msg, "return", ret);
    if (id) {
        json_object_set_member(msg, "id", json_node_copy(id));
    }
    client_send(c, msg);
}

void qmp_event_emit(const char *name, JsonObject *data)
{
    g_autoptr(JsonObject) msg = json_object_new();
    g_autoptr(JsonNode) node = json_node_alloc();
    JsonObject *ts = json_object_new();
    int64_t now = g_get_real_time();
    g_autofree char *text = NULL;
    g_autofree char *pretty = NULL;
    g_autoptr(GList) all = g_list_copy(clients);

    json_object_set_int_member(ts, "seconds", now / G_USEC_PER_SEC);
    json_object_set_int_member(ts, "microseconds", now % G_USEC_PER_SEC);
    json_object_set_object_member(msg, "timestamp", ts);
    json_object_set_string_member(msg, "event", name);
    if (data) {
        json_object_set_object_member(msg, "data", json_object_ref(data));
    }
    json_node_init_object(node, msg);
    text = qjson_to_string(node, FALSE);
    for (GList *l = all; l; l = l->next) {
        QmpClient *c = l->data;

        if (!c->negotiated || c->closed) {
            continue;
        }
        if (c->pretty && !pretty) {
            pretty = qjson_to_string(node, TRUE);
        }
        client_ref(c);
        client_send_text(c, c->pretty ? pretty : text);
        client_unref(c);
    }
}

static void job_event_cb(const char *event, JsonObject *data, void *opaque)
{
    qmp_event_emit(event, data);
}

/* Dispatch */

/* Suspend or resume reading from every client (see the top comment). */
static void update_all_handlers(void)
{
    g_autoptr(GList) all = g_list_copy(clients);

    for (GList *l = all; l; l = l->next) {
        client_update_handlers(l->data);
    }
}

/*
 * The request's envelope: "execute" or "exec-oob" (a string), optional
 * "arguments" (a dict) and "id" (anything), nothing else.  "exec-oob" is
 * only known to a client that enabled OOB; to the others it is an
 * unexpected member, reported before any other problem (QEMU visits the
 * members in its hash order, which puts it first).
 */
static bool check_envelope(JsonObject *req, bool allow_oob,
                           const char **name, bool *oob, Error **errp)
{
    g_autoptr(GList) members = json_object_get_members(req);
    bool has_exec, has_oob;

    if (!allow_oob && json_object_has_member(req, "exec-oob")) {
        error_setg(errp, "QMP input member 'exec-oob' is unexpected");
        return false;
    }
    for (GList *l = members; l; l = l->next) {
        const char *key = l->data;
        JsonNode *n = json_object_get_member(req, key);

        if (!strcmp(key, "execute") || !strcmp(key, "exec-oob")) {
            if (!JSON_NODE_HOLDS_VALUE(n) ||
                json_node_get_value_type(n) != G_TYPE_STRING) {
                error_setg(errp, "QMP input member '%s' must be a string",
                           key);
                return false;
            }
        } else if (!strcmp(key, "arguments")) {
            if (!JSON_NODE_HOLDS_OBJECT(n)) {
                error_setg(errp, "QMP input member 'arguments' must be an "
                           "object");
                return false;
            }
        } else if (strcmp(key, "id")) {
            error_setg(errp, "QMP input member '%s' is unexpected", key);
            return false;
        }
    }
    has_exec = json_object_has_member(req, "execute");
    has_oob = json_object_has_member(req, "exec-oob");
    if (has_exec && has_oob) {
        error_setg(errp, "QMP input member 'execute' clashes with "
                   "'exec-oob'");
        return false;
    }
    if (!has_exec && !has_oob) {
        error_setg(errp, "QMP input lacks member 'execute'");
        return false;
    }
    *oob = has_oob;
    *name = json_object_get_string_member(req, has_oob ? "exec-oob"
                                                       : "execute");
    return true;
}

/*
 * qmp_capabilities, which the server answers itself: the arguments are
 * checked first, then only the first call (in capabilities negotiation
 * mode) succeeds.
 */
static JsonNode *client_negotiate(QmpClient *c, JsonObject *args,
                                  Error **errp)
{
    const QmpCommand *cmd = qmp_find_command("qmp_capabilities");
    JsonNode *enable;

    if (!qmp_check_args(args, cmd->args, NULL, errp)) {
        return NULL;
    }
    if (c->negotiated) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "Capabilities negotiation is already complete, command "
                  "ignored");
        return NULL;
    }
    enable = json_object_get_member(args, "enable");
    if (enable && JSON_NODE_HOLDS_ARRAY(enable)) {
        JsonArray *caps = json_node_get_array(enable);

        for (guint i = 0; i < json_array_get_length(caps); i++) {
            if (!strcmp(json_array_get_string_element(caps, i), "oob")) {
                c->oob = true;
            }
        }
    }
    c->negotiated = true;
    return qmp_return_empty();
}

/* Run the command; NULL with @errp set when it fails. */
static JsonNode *client_execute(QmpClient *c, const char *name, bool oob,
                                JsonObject *args, Error **errp)
{
    static const QmpArg no_args[] = { QMP_ARG_END };
    const QmpCommand *cmd;
    JsonNode *ret;

    if (!c->negotiated) {
        if (strcmp(name, "qmp_capabilities")) {
            error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                      "Expecting capabilities negotiation with "
                      "'qmp_capabilities'");
            return NULL;
        }
        return client_negotiate(c, args, errp);
    }
    /* QEMU's order: lookup, OOB support, then the command's own checks. */
    cmd = qmp_find_command(name);
    if (!cmd) {
        error_set(errp, ERROR_CLASS_COMMAND_NOT_FOUND,
                  "The command %s has not been found", name);
        return NULL;
    }
    if (oob) {
        error_setg(errp, "The command %s does not support OOB", name);
        return NULL;
    }
    if (!cmd->fn) {
        return client_negotiate(c, args, errp);     /* qmp_capabilities */
    }
    if (!cmd->custom_args &&
        !qmp_check_args(args, cmd->args ? cmd->args : no_args, NULL,
                        errp)) {
        return NULL;
    }
    if (dispatching++ == 0) {
        update_all_handlers();
    }
    ret = cmd->fn(args, errp);
    if (--dispatching == 0) {
        update_all_handlers();
    }
    return ret;
}

static void client_dispatch(QmpClient *c, const char *json, size_t len)
{
    g_autoptr(JsonNode) root = NULL;
    g_autoptr(JsonObject) empty = json_object_new();
    Error *err = NULL;
    JsonObject *req, *args;
    JsonNode *id, *ret;
    const char *name;
    bool oob;

    root = qmp_parse_message(json, len, &err);
    if (!root) {
        client_send_error(c, NULL, err);
        return;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        error_setg(&err, "QMP input must be a JSON object");
        client_send_error(c, NULL, err);
        return;
    }
    req = json_node_get_object(root);
    id = json_object_get_member(req, "id");
    if (!check_envelope(req, c->oob, &name, &oob, &err)) {
        client_send_error(c, id, err);
        return;
    }
    args = json_object_has_member(req, "arguments") ?
           json_object_get_object_member(req, "arguments") : empty;

    client_ref(c);
    ret = client_execute(c, name, oob, args, &err);
    if (ret) {
        client_send_return(c, id, ret);
    } else {
        client_send_error(c, id, err);
    }
    client_unref(c);
}

static void client_emit(void *opaque, const char *json, size_t len,
                        const char *error)
{
    QmpClient *c = opaque;
    Error *err = NULL;

    if (c->closed || quit_requested) {
        return;
    }
    if (error) {
        error_setg(&err, "%s", error);
        client_send_error(c, NULL, err);
        return;
    }
    client_dispatch(c, json, len);
}

/* Input */

static void client_read_ready(void *opaque)
{
    QmpClient *c = opaque;
    g_autofree char *buf = g_malloc(QMP_READ_CHUNK);
    ssize_t n;

    do {
        n = read(c->in_fd, buf, QMP_READ_CHUNK);
    } while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
    }
    client_ref(c);
    if (n <= 0) {
        c->eof = true;
        client_flush(c);        /* closes once the output is out */
    } else {
        qmp_stream_feed(c->stream, buf, n);
    }
    client_unref(c);
}

static void client_update_handlers(QmpClient *c)
{
    AioContext *ctx = qemu_get_aio_context();
    IOHandler *rd = NULL, *wr = NULL;

    if (c->closed) {
        return;
    }
    if (started && !c->eof && !dispatching && !quit_requested &&
        client_pending(c) < QMP_OUTPUT_PAUSE) {
        rd = client_read_ready;
    }
    if (client_pending(c) > 0) {
        wr = client_write_ready;
    }
    if (c->in_fd == c->out_fd) {
        aio_set_fd_handler(ctx, c->in_fd, rd, wr, c);
    } else {
        aio_set_fd_handler(ctx, c->in_fd, rd, NULL, c);
        aio_set_fd_handler(ctx, c->out_fd, NULL, wr, c);
    }
}

static void client_new(int in_fd, int out_fd, bool is_stdio, bool pretty)
{
    QmpClient *c = g_new0(QmpClient, 1);
    g_autoptr(JsonObject) greeting = json_object_new();
    JsonObject *qmp = json_object_new();
    JsonArray *caps = json_array_new();

    c->in_fd = in_fd;
    c->out_fd = out_fd;
    c->is_stdio = is_stdio;
    c->pretty = pretty;
    c->refcnt = 1;
    c->stream = qmp_stream_new(client_emit, c);
    c->out = g_string_new(NULL);
    clients = g_list_append(clients, c);
    client_ref(c);              /* the greeting may fail and close it */

    json_object_set_object_member(qmp, "version", qmp_version_info());
    json_array_add_string_element(caps, "oob");
    json_object_set_array_member(qmp, "capabilities", caps);
    json_object_set_object_member(greeting, "QMP", qmp);
    client_send(c, greeting);
    client_update_handlers(c);
    client_unref(c);
}

/* Listening */

static void listener_accept(void *opaque);

static void listener_retry(void *opaque)
{
    QmpListener *l = opaque;

    aio_set_fd_handler(qemu_get_aio_context(), l->fd, listener_accept, NULL,
                       l);
}

static void listener_accept(void *opaque)
{
    QmpListener *l = opaque;
    int fd;

    do {
        fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    if (fd >= 0) {
        client_new(fd, fd, false, l->pretty);
    } else if (errno != EAGAIN && errno != EWOULDBLOCK &&
               errno != ECONNABORTED) {
        /* Out of fds or the like: pause instead of spinning on it. */
        aio_set_fd_handler(qemu_get_aio_context(), l->fd, NULL, NULL, NULL);
        timer_mod_ns(l->retry, qemu_clock_get_ns() + 100 * 1000 * 1000);
    }
}

static int set_nonblock(int fd)
{
    int flags = fcntl(fd, F_GETFL);

    return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

bool qmp_server_add_socket(const char *path, bool wait, bool pretty,
                           Error **errp)
{
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    QmpListener *l;
    struct stat st;
    int fd;

    if (strlen(path) >= sizeof(addr.sun_path)) {
        error_setg(errp, "UNIX socket path '%s' is too long", path);
        return false;
    }
    strcpy(addr.sun_path, path);
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        error_setg_errno(errp, errno, "Failed to create socket");
        return false;
    }
    /* A stale socket from an earlier run; never unlink anything else. */
    if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode)) {
        unlink(path);
    }
    if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
        error_setg_errno(errp, errno, "Failed to bind socket to %s", path);
        close(fd);
        return false;
    }
    if (listen(fd, 16) < 0 || set_nonblock(fd) < 0) {
        error_setg_errno(errp, errno, "Failed to listen on socket");
        close(fd);
        unlink(path);
        return false;
    }
    l = g_new0(QmpListener, 1);
    l->fd = fd;
    l->path = g_canonicalize_filename(path, NULL);
    l->pretty = pretty;
    l->retry = aio_timer_new(qemu_get_aio_context(), listener_retry, l);
    listeners = g_list_append(listeners, l);

    if (wait) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };
        int cfd = -1;

        fprintf(stderr, "emblock-storage-daemon: waiting for connection on "
                "unix:%s\n", path);
        while (cfd < 0) {
            if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
                error_setg_errno(errp, errno, "Failed to wait for a "
                                 "connection");
                return false;
            }
            cfd = accept4(fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        }
        client_new(cfd, cfd, false, pretty);
    }
    return true;
}

bool qmp_server_add_stdio(bool pretty, Error **errp)
{
    for (GList *l = clients; l; l = l->next) {
        if (((QmpClient *)l->data)->is_stdio) {
            error_setg(errp, "stdio is already in use");
            return false;
        }
    }
    if (set_nonblock(STDIN_FILENO) < 0 || set_nonblock(STDOUT_FILENO) < 0) {
        error_setg_errno(errp, errno, "Cannot use stdio");
        return false;
    }
    client_new(STDIN_FILENO, STDOUT_FILENO, true, pretty);
    return true;
}

void qmp_server_start(void)
{
    started = true;
    job_add_event_listener(job_event_cb, NULL);
    for (GList *l = listeners; l; l = l->next) {
        listener_retry(l->data);
    }
    update_all_handlers();
}

void qmp_server_shutdown(void)
{
    AioContext *ctx = qemu_get_aio_context();
    int64_t deadline = g_get_monotonic_time() +
                       QMP_SHUTDOWN_FLUSH_MS * 1000;

    if (started) {
        job_remove_event_listener(job_event_cb, NULL);
    }
    for (GList *l = listeners; l; l = l->next) {
        QmpListener *li = l->data;

        aio_set_fd_handler(ctx, li->fd, NULL, NULL, NULL);
        timer_free(li->retry);
        close(li->fd);
        unlink(li->path);
        g_free(li->path);
        g_free(li);
    }
    g_list_free(listeners);
    listeners = NULL;

    /* Let the last replies (quit's) out, within a bounded time. */
    while (clients) {
        QmpClient *c = clients->data;
        int64_t left = (deadline - g_get_monotonic_time()) / 1000;
        struct pollfd pfd = { .fd = c->out_fd, .events = POLLOUT };

        client_flush(c);
        if (c->closed) {
            continue;
        }
        if (client_pending(c) > 0 && left > 0 &&
            poll(&pfd, 1, left) > 0) {
            continue;
        }
        client_close(c);
    }
}
