/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * QMP commands about the server itself: qmp_capabilities (answered by the
 * server, listed here), query-version, query-commands and quit; and the
 * lookup over every command table.
 */
#include "qmp/qmp.h"
#include "block/job.h"

static const char *const qmp_capability_values[] = { "oob", NULL };

static const QmpArg qmp_capabilities_args[] = {
    { "enable", QMP_ARG_ENUM_LIST, true, qmp_capability_values },
    QMP_ARG_END
};

static const QmpCommand *const command_tables[] = {
    qmp_misc_commands,
    qmp_block_commands,
    qmp_create_commands,
    qmp_job_commands,
    qmp_io_commands,
    NULL,
};

const QmpCommand *qmp_find_command(const char *name)
{
    for (int t = 0; command_tables[t]; t++) {
        for (const QmpCommand *c = command_tables[t]; c->name; c++) {
            if (!strcmp(c->name, name)) {
                return c;
            }
        }
    }
    return NULL;
}

void qmp_foreach_command(void (*cb)(const QmpCommand *cmd, void *opaque),
                         void *opaque)
{
    for (int t = 0; command_tables[t]; t++) {
        for (const QmpCommand *c = command_tables[t]; c->name; c++) {
            cb(c, opaque);
        }
    }
}

JsonNode *qmp_return_empty(void)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(n, json_object_new());
    return n;
}

static JsonNode *qmp_query_version(JsonObject *args, Error **errp)
{
    JsonNode *n = json_node_new(JSON_NODE_OBJECT);

    json_node_take_object(n, qmp_version_info());
    return n;
}

static void add_command_info(const QmpCommand *cmd, void *opaque)
{
    JsonObject *info = json_object_new();

    json_object_set_string_member(info, "name", cmd->name);
    json_array_add_object_element(opaque, info);
}

static JsonNode *qmp_query_commands(JsonObject *args, Error **errp)
{
    JsonArray *list = json_array_new();
    JsonNode *n = json_node_new(JSON_NODE_ARRAY);

    qmp_foreach_command(add_command_info, list);
    json_node_take_array(n, list);
    return n;
}

/* Jobs are force-cancelled first, so their events precede the reply. */
static JsonNode *qmp_quit(JsonObject *args, Error **errp)
{
    job_cancel_sync_all();
    qmp_request_quit();
    return qmp_return_empty();
}

const QmpCommand qmp_misc_commands[] = {
    /* Answered by the server itself (it changes the client's state). */
    { "qmp_capabilities", NULL, qmp_capabilities_args },
    { "query-version", qmp_query_version },
    { "query-commands", qmp_query_commands },
    { "quit", qmp_quit },
    { NULL }
};
