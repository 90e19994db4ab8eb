/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The QMP server of emblock-storage-daemon: internals shared by the server
 * (qmp-server.c), the JSON framing (qmp-stream.c), argument checking
 * (qmp-schema.c), the command files (qmp-commands-*.c) and the daemon.
 * Private to qmp/ and tools/emblock-storage-daemon.c; like every front
 * end, this code sees the block layer only through its public headers.
 *
 * Wire protocol (QEMU's): the server greets each connection, waits for
 * `qmp_capabilities`, then answers every `{"execute": NAME, "arguments":
 * {...}, "id": ANY}` with `{"return": VALUE, "id": ...}` or `{"id": ...,
 * "error": {"class": CLASS, "desc": TEXT}}`, and sends events to every
 * negotiated client.  Lines end with "\r\n".
 *
 * Threading: everything runs in the main loop (qemu_get_aio_context()).
 * A command handler runs to completion before the next message is read
 * from any client; it may poll the event loop (opening images, waiting for
 * a job), in which case jobs progress and events and replies are written,
 * but no client input is dispatched until it returns.
 */
#ifndef EMBLOCK_QMP_H
#define EMBLOCK_QMP_H

#include "util/osdep.h"
#include "util/error.h"

#include <json-glib/json-glib.h>

/* Largest single message, and deepest nesting, a client may send. */
#define QMP_MAX_MESSAGE_SIZE (16 * 1024 * 1024)
#define QMP_MAX_NESTING 1024

/* ---- JSON framing (qmp-stream.c) --------------------------------------- */

/*
 * A streaming splitter of client input into JSON messages.  It tokenises
 * and delimits messages as QEMU's JSON lexer and streamer do (a message
 * may arrive in pieces or several at once, and a top-level scalar is a
 * message of its own) and checks each message as QEMU's parser does.
 * @emit runs once per message: with normalised JSON text that json-glib
 * parses to what QEMU would build (single-quoted strings become
 * double-quoted, integers beyond int64 become floating point, no
 * duplicate keys), or with @json NULL and @error the message's first
 * error in QEMU's words.  A byte no token can contain is reported at
 * once ("stray"), dropping the message being read.
 */
typedef void QmpStreamEmit(void *opaque, const char *json, size_t len,
                           const char *error);

typedef struct QmpStream QmpStream;

QmpStream *qmp_stream_new(QmpStreamEmit *emit, void *opaque);
void qmp_stream_free(QmpStream *st);
/* Feed @len bytes; @emit runs for each message completed by them. */
void qmp_stream_feed(QmpStream *st, const char *data, size_t len);

/*
 * Parse one message from the stream into a node (json_node_unref it).
 * The stream checked it, so this only fails on text that did not come
 * from the stream ("JSON parse error, expecting value").
 */
JsonNode *qmp_parse_message(const char *json, size_t len, Error **errp);

/* ---- Argument schemas (qmp-schema.c) ---------------------------------- */

typedef enum QmpArgType {
    QMP_ARG_STR,
    QMP_ARG_INT,             /* int64 */
    QMP_ARG_UINT64,          /* also QAPI 'size'; negatives wrap as QEMU */
    QMP_ARG_UINT32,
    QMP_ARG_BOOL,
    QMP_ARG_ENUM,            /* a string out of @values */
    QMP_ARG_ENUM_LIST,       /* an array of such strings */
    QMP_ARG_OBJECT,          /* a dict checked against @members */
    QMP_ARG_BLOCKDEV_REF,    /* a node name or a blockdev options dict */
    QMP_ARG_BLOCKDEV_REF_OR_NULL,
    QMP_ARG_ANY,
} QmpArgType;

typedef struct QmpArg {
    const char *name;
    QmpArgType type;
    bool optional;
    const char *const *values;          /* QMP_ARG_ENUM(_LIST) */
    const struct QmpArg *members;       /* QMP_ARG_OBJECT, {NULL} ended */
} QmpArg;

#define QMP_ARG_END { NULL, 0, false, NULL, NULL }

/*
 * Check @args against @schema, QAPI's input visitor style: members in
 * schema order (missing, then wrong type), then unknown members.  Names in
 * messages get @prefix ("options.") when it is not NULL.
 */
bool qmp_check_args(JsonObject *args, const QmpArg *schema,
                    const char *prefix, Error **errp);

/*
 * Check a blockdev-add options dict: the common members, then those of
 * its driver (BlockdevOptions).  Drivers emblock has but the table does
 * not describe get only the common checks.  With @keyval (options from
 * dotted keys, where every value is a string) strings stand for numbers
 * and booleans too; the block layer parses them.
 */
bool qmp_check_blockdev_options(JsonObject *opts, const char *prefix,
                                bool keyval, Error **errp);

/* Typed access to checked arguments (@def when absent). */
const char *qmp_arg_str(JsonObject *args, const char *name,
                        const char *def);
int64_t qmp_arg_int(JsonObject *args, const char *name, int64_t def);
bool qmp_arg_bool(JsonObject *args, const char *name, bool def);
/* Index of the member's value in @values, or @def. */
int qmp_arg_enum(JsonObject *args, const char *name,
                 const char *const *values, int def);

/* ---- Commands --------------------------------------------------------- */

/*
 * A command handler: @args is the (checked) arguments dict, never NULL.
 * Return the reply value (a new node), or NULL with @errp set.
 */
typedef JsonNode *QmpCommandFunc(JsonObject *args, Error **errp);

typedef struct QmpCommand {
    const char *name;
    QmpCommandFunc *fn;
    /* Argument schema (QMP_ARG_END-terminated); NULL: no arguments. */
    const QmpArg *args;
    /* The handler checks @args itself (blockdev-add). */
    bool custom_args;
} QmpCommand;

/* The command tables, each ended by an entry with a NULL name. */
extern const QmpCommand qmp_misc_commands[];
extern const QmpCommand qmp_block_commands[];
extern const QmpCommand qmp_create_commands[];
extern const QmpCommand qmp_job_commands[];
extern const QmpCommand qmp_io_commands[];

const QmpCommand *qmp_find_command(const char *name);
/* Call @cb for every command, in table order. */
void qmp_foreach_command(void (*cb)(const QmpCommand *cmd, void *opaque),
                         void *opaque);

/* An empty object, the reply of most commands. */
JsonNode *qmp_return_empty(void);

/* ---- Server (qmp-server.c) -------------------------------------------- */

/*
 * Listen for QMP clients on the unix socket @path (unlinking a stale
 * socket first); with @wait, block until the first client connects.
 */
bool qmp_server_add_socket(const char *path, bool wait, bool pretty,
                           Error **errp);
/* Serve one client on stdin/stdout. */
bool qmp_server_add_stdio(bool pretty, Error **errp);
/* Start serving (register handlers and the job event listener). */
void qmp_server_start(void);
/* Send @data (not consumed; may be NULL) as event @name to every client. */
void qmp_event_emit(const char *name, JsonObject *data);
/*
 * Stop: flush what can be written without blocking long, close every
 * client and listener, remove the socket files.
 */
void qmp_server_shutdown(void);

/* `quit` and signals ask the main loop to end. */
void qmp_request_quit(void);
bool qmp_quit_requested(void);

/* The version reported by the greeting and query-version (new object). */
JsonObject *qmp_version_info(void);

/* ---- Monitor-owned nodes (qmp-commands-block.c) ----------------------- */

/*
 * Open a node for --blockdev or blockdev-add and keep a reference to it
 * as the monitor's.  @strict: @opts came as JSON (QMP or a JSON
 * --blockdev) and gets QMP's type checks; dotted keys are all strings.
 */
bool qmp_blockdev_add(JsonObject *opts, bool strict, Error **errp);
/* Drop every monitor reference, newest first (at shutdown). */
void qmp_blockdev_release_all(void);

#endif /* EMBLOCK_QMP_H */
