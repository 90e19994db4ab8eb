/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Fuzz target: the input is what a QMP client sends.
 *
 * First the framing (qmp-stream.c) alone: the input is fed whole, then
 * again in chunks of 1 to 8 bytes (the first byte picks the size), and
 * both feeds must emit the same messages and errors, in the same order;
 * every message emitted as text must be one line that
 * qmp_parse_message() accepts.
 *
 * Then the server (qmp-server.c) with every command of the daemon: the
 * input goes through a unix socket connection to a listening QMP server in
 * this process, which is polled until it has answered and closed the
 * connection.  The output must be the greeting, then events and exactly
 * one reply per message the framing emitted, each a JSON object on its
 * own line.  After the connection, jobs are cancelled and monitor nodes
 * released, and no node may remain.
 *
 * Inputs that would reach outside the process are refused (not run):
 * `quit` (it ends the server for good), any member named like
 * "filename" or "config" and any string "file", "host_device" or
 * "host_cdrom" (host files), and x-blockdev-io commands other than plain
 * I/O of at most 16 MiB.  With FUZZ_DEBUG set in the environment, the
 * server's output is printed.
 */
#include "util/osdep.h"
#include "util/aio.h"
#include "block/block.h"
#include "block/job.h"
#include "qmp/qmp.h"
#include "fuzz.h"

#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>

#define IO_MAX_BYTES (16 * 1024 * 1024)

static char *tmpdir;
static char *sock_path;

typedef struct Emitted {
    GPtrArray *items;       /* "M:json" or "E:error", in order */
    bool safe;              /* no message reaches outside the process */
} Emitted;

static bool io_command_safe(const char *cmd)
{
    static const char *const verbs[] = {
        "read", "r", "write", "w", "readv", "writev", "discard", "d",
        "alloc", "a", "map", "length", "l", "flush", "f", "aio_read",
        "aio_write", "aio_flush", "help", "?", NULL,
    };
    g_auto(GStrv) words = g_strsplit_set(cmd, " \t\n", -1);
    int first = -1;

    for (int i = 0; words[i]; i++) {
        char *end;
        guint64 v;
        int shift = 0;

        if (!words[i][0]) {
            continue;
        }
        if (first < 0) {
            first = i;
            if (!g_strv_contains(verbs, words[i])) {
                return false;
            }
            continue;
        }
        if (!g_ascii_isdigit(words[i][0])) {
            continue;
        }
        errno = 0;
        v = g_ascii_strtoull(words[i], &end, 0);
        if (*end && strchr("kKmMgGtTpPeE", *end)) {
            shift = 10 * (strchr("kmgtpe", g_ascii_tolower(*end)) - "kmgtpe"
                          + 1);
        }
        if (errno || v > ((guint64)IO_MAX_BYTES >> shift)) {
            return false;
        }
    }
    return true;
}

static bool node_safe(JsonNode *n);

static void member_safe(JsonObject *o, const char *key, JsonNode *n,
                        gpointer opaque)
{
    bool *safe = opaque;

    if (strstr(key, "filename") || strstr(key, "config") || !node_safe(n)) {
        *safe = false;
    }
}

static void element_safe(JsonArray *a, guint i, JsonNode *n, gpointer opaque)
{
    bool *safe = opaque;

    if (!node_safe(n)) {
        *safe = false;
    }
}

static bool node_safe(JsonNode *n)
{
    static const char *const host_drivers[] = {
        "file", "host_device", "host_cdrom", NULL,
    };
    bool safe = true;

    if (JSON_NODE_HOLDS_OBJECT(n)) {
        json_object_foreach_member(json_node_get_object(n), member_safe,
                                   &safe);
    } else if (JSON_NODE_HOLDS_ARRAY(n)) {
        json_array_foreach_element(json_node_get_array(n), element_safe,
                                   &safe);
    } else if (JSON_NODE_HOLDS_VALUE(n) &&
               json_node_get_value_type(n) == G_TYPE_STRING) {
        safe = !g_strv_contains(host_drivers, json_node_get_string(n));
    }
    return safe;
}

static bool request_safe(JsonNode *root)
{
    JsonObject *req, *args;
    const char *name;

    if (!node_safe(root)) {
        return false;
    }
    if (!JSON_NODE_HOLDS_OBJECT(root)) {
        return true;
    }
    req = json_node_get_object(root);
    for (int i = 0; i < 2; i++) {
        JsonNode *n = json_object_get_member(req, i ? "exec-oob" : "execute");

        if (!n || !JSON_NODE_HOLDS_VALUE(n) ||
            json_node_get_value_type(n) != G_TYPE_STRING) {
            continue;
        }
        name = json_node_get_string(n);
        if (!strcmp(name, "quit")) {
            return false;
        }
        if (!strcmp(name, "x-blockdev-io")) {
            JsonNode *a = json_object_get_member(req, "arguments");
            JsonNode *c;

            if (!a || !JSON_NODE_HOLDS_OBJECT(a)) {
                continue;
            }
            args = json_node_get_object(a);
            c = json_object_get_member(args, "command");
            if (c && JSON_NODE_HOLDS_VALUE(c) &&
                json_node_get_value_type(c) == G_TYPE_STRING &&
                !io_command_safe(json_node_get_string(c))) {
                return false;
            }
        }
    }
    return true;
}

static void emit_cb(void *opaque, const char *json, size_t len,
                    const char *error)
{
    Emitted *e = opaque;
    g_autoptr(JsonNode) root = NULL;
    Error *err = NULL;

    if (error) {
        fuzz_assert(json == NULL);
        g_ptr_array_add(e->items, g_strconcat("E:", error, NULL));
        return;
    }
    fuzz_assert(json && strlen(json) == len);
    fuzz_assert(!memchr(json, '\n', len) && !memchr(json, '\r', len));
    root = qmp_parse_message(json, len, &err);
    if (!root) {
        fuzz_fail("the stream emitted '%s', which does not parse: %s", json,
                  error_get_pretty(err));
    }
    if (!request_safe(root)) {
        e->safe = false;
    }
    g_ptr_array_add(e->items, g_strconcat("M:", json, NULL));
}

/* Feed @data in chunks of @chunk bytes; returns the emitted items. */
static Emitted feed(const uint8_t *data, size_t size, size_t chunk)
{
    Emitted e = { g_ptr_array_new_with_free_func(g_free), true };
    QmpStream *st = qmp_stream_new(emit_cb, &e);

    for (size_t i = 0; i < size; i += chunk) {
        qmp_stream_feed(st, (const char *)data + i, MIN(chunk, size - i));
    }
    qmp_stream_free(st);
    return e;
}

/* Send @data to the server on a new connection; all it answers. */
static GString *converse(const uint8_t *data, size_t size)
{
    AioContext *ctx = qemu_get_aio_context();
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    GString *out = g_string_new(NULL);
    size_t written = 0;
    bool shut = false;
    char buf[65536];
    int fd;

    g_strlcpy(addr.sun_path, sock_path, sizeof(addr.sun_path));
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    fuzz_assert(fd >= 0);
    fuzz_assert(connect(fd, (struct sockaddr *)&addr, sizeof(addr)) == 0);
    for (;;) {
        ssize_t n;

        if (written < size) {
            n = write(fd, data + written, size - written);
            if (n > 0) {
                written += n;
            } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
                written = size;         /* the server is gone */
            }
        }
        if (written == size && !shut) {
            shutdown(fd, SHUT_WR);
            shut = true;
        }
        while ((n = read(fd, buf, sizeof(buf))) > 0) {
            g_string_append_len(out, buf, n);
        }
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
            break;
        }
        aio_poll(ctx, true);
    }
    close(fd);
    return out;
}

/* The server's lines: greeting, then one reply per message, plus events. */
static void check_replies(GString *out, guint nmessages)
{
    g_auto(GStrv) lines = g_strsplit(out->str, "\r\n", -1);
    guint nlines = g_strv_length(lines), replies = 0;

    fuzz_assert(nlines >= 2 && lines[nlines - 1][0] == '\0');
    for (guint i = 0; i + 1 < nlines; i++) {
        g_autoptr(JsonParser) p = json_parser_new();
        JsonObject *o;

        if (!json_parser_load_from_data(p, lines[i], -1, NULL) ||
            !JSON_NODE_HOLDS_OBJECT(json_parser_get_root(p))) {
            fuzz_fail("server line %u is no JSON object: %s", i, lines[i]);
        }
        o = json_node_get_object(json_parser_get_root(p));
        if (i == 0) {
            fuzz_assert(json_object_has_member(o, "QMP"));
        } else if (json_object_has_member(o, "return") ||
                   json_object_has_member(o, "error")) {
            replies++;
        } else if (!json_object_has_member(o, "event")) {
            fuzz_fail("server line %u is neither reply nor event: %s", i,
                      lines[i]);
        }
    }
    if (replies != nmessages) {
        fuzz_fail("%u messages got %u replies", nmessages, replies);
    }
}

static void cleanup_tmpdir(void)
{
    unlink(sock_path);
    rmdir(tmpdir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    signal(SIGPIPE, SIG_IGN);
    error_set_progname("fuzz-qmp");
    tmpdir = g_dir_make_tmp("fuzz-qmp-XXXXXX", NULL);
    fuzz_assert(tmpdir);
    sock_path = g_build_filename(tmpdir, "qmp.sock", NULL);
    atexit(cleanup_tmpdir);
    if (!qmp_server_add_socket(sock_path, false, false, &error_abort)) {
        abort();
    }
    qmp_server_start();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t chunk = size ? 1 + data[0] % 8 : 1;
    Emitted whole = feed(data, size, MAX(size, 1));
    Emitted split = feed(data, size, chunk);
    g_autoptr(GList) left = NULL;
    GString *out;

    if (whole.items->len != split.items->len) {
        fuzz_fail("%u messages fed whole, %u in %zu-byte chunks",
                  whole.items->len, split.items->len, chunk);
    }
    for (guint i = 0; i < whole.items->len; i++) {
        if (strcmp(whole.items->pdata[i], split.items->pdata[i])) {
            fuzz_fail("message %u: '%s' fed whole, '%s' in %zu-byte chunks",
                      i, (char *)whole.items->pdata[i],
                      (char *)split.items->pdata[i], chunk);
        }
    }
    g_ptr_array_free(split.items, TRUE);
    if (!whole.safe) {
        g_ptr_array_free(whole.items, TRUE);
        return -1;
    }

    out = converse(data, size);
    if (getenv("FUZZ_DEBUG")) {
        fprintf(stderr, "%s", out->str);
    }
    check_replies(out, whole.items->len);
    g_string_free(out, TRUE);
    g_ptr_array_free(whole.items, TRUE);

    job_cancel_sync_all();
    bdrv_drain_all();
    qmp_blockdev_release_all();
    left = bdrv_list_nodes();
    fuzz_assert(left == NULL);
    return 0;
}
