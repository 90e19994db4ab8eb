/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * blkdebug: a filter that fails chosen requests on cue, so tests can
 * exercise error paths deterministically.
 *
 * The node sits between a format node and its file (child `image`,
 * FILTERED|PRIMARY).  Requests pass through untouched unless a rule says
 * otherwise; everything else (length, truncate, info, permissions) is the
 * core's default for filters.
 *
 * Rules.  Two kinds, each tied to an event:
 *   - inject-error {event, state, iotype, errno, sector, once, immediately}
 *   - set-state    {event, state, new_state}
 * They come from the options `inject-error` and `set-state` (a JSON list,
 * or the dict keyed "0", "1"... that dotted keys produce) and from the file
 * named by `config`, in QEMU's format: `[inject-error]` / `[set-state]`
 * sections of `key = "value"` lines.  Config-file rules come first.
 *
 * Events are the names in blkdebug_event_names plus "none", which fires
 * once at open.  When an event fires, the rules for it whose `state` is 0
 * or the current state (checked before any transition) take effect:
 *   - if at least one inject-error rule matches, those rules replace the
 *     active set; if none matches, the active set stays as it was;
 *   - a matching set-state rule moves to its new_state (the last one wins).
 * The state starts at 1.
 *
 * Every read, write, zero write, discard, flush and block-status query
 * looks for the first active rule (in configuration order) whose iotype
 * mask covers it and, when `sector` is set, whose sector's first byte lies
 * inside the request (as QEMU does; flushes never match a sector rule).
 * That rule decides: errno 0 lets the request through, otherwise it fails
 * with -errno, after one trip through the event loop unless `immediately`.
 * A `once` rule that fails a request is deleted, so no later event
 * reactivates it.  The default iotype mask is everything but block-status.
 *
 * Who fires events.  Format drivers fire them on their file child (raw:
 * read_aio and write_aio; qcow2: l2_update...).  The core fires none, so
 * blkdebug fires flush_to_disk on itself when it is flushed, and read_aio /
 * write_aio on itself when no parent is a node, i.e. straight under a
 * BlockBackend or job, where nobody else would.  Under a node it leaves
 * them to that node, so one request never fires an event twice.
 *
 * The limit options (`align`, `max-transfer`, `opt-write-zero`,
 * `max-write-zero`, `opt-discard`, `max-discard`) override the inherited
 * BlockLimits so tests can make the core pad and split.  Since the core
 * promises to respect them, the data callbacks assert that it did.
 *
 * Not implemented from QEMU's blkdebug: breakpoints (`break`, `suspend`,
 * `resume`), `take-child-perms` / `unshare-child-perms`, `x-image` and
 * the `blkdebug:CONFIG:FILE` file name syntax.
 *
 * Locking: the rules, the active set and the state are touched only from
 * the node's AioContext (open, close, events and requests all run there),
 * so they need no lock.  A request that waits in the event loop holds no
 * pointer to a rule across the wait.
 */
#include "util/osdep.h"
#include "block/block-int.h"

#include <json-glib/json-glib.h>

/* Rules are indexed by event; "none" takes the slot after the real ones. */
#define BLKDEBUG_EVENT_NONE  BLKDBG_EVENT_MAX
#define BLKDEBUG_NUM_EVENTS  (BLKDBG_EVENT_MAX + 1)

/* Largest errno a rule may inject (Linux's MAX_ERRNO). */
#define BLKDEBUG_MAX_ERRNO   4095

typedef enum BlkdebugIOType {
    BLKDEBUG_IO_READ,
    BLKDEBUG_IO_WRITE,
    BLKDEBUG_IO_WRITE_ZEROES,
    BLKDEBUG_IO_DISCARD,
    BLKDEBUG_IO_FLUSH,
    BLKDEBUG_IO_BLOCK_STATUS,
    BLKDEBUG_IO_MAX,
} BlkdebugIOType;

static const char *const blkdebug_iotype_names[BLKDEBUG_IO_MAX] = {
    [BLKDEBUG_IO_READ] = "read",
    [BLKDEBUG_IO_WRITE] = "write",
    [BLKDEBUG_IO_WRITE_ZEROES] = "write-zeroes",
    [BLKDEBUG_IO_DISCARD] = "discard",
    [BLKDEBUG_IO_FLUSH] = "flush",
    [BLKDEBUG_IO_BLOCK_STATUS] = "block-status",
};

#define BLKDEBUG_IO_DEFAULT_MASK \
    (((1u << BLKDEBUG_IO_MAX) - 1) & ~(1u << BLKDEBUG_IO_BLOCK_STATUS))

typedef enum BlkdebugAction {
    BLKDEBUG_INJECT_ERROR,
    BLKDEBUG_SET_STATE,
    BLKDEBUG_ACTION_MAX,
} BlkdebugAction;

/* The option names, which are also the config file's section names. */
static const char *const blkdebug_action_names[BLKDEBUG_ACTION_MAX] = {
    [BLKDEBUG_INJECT_ERROR] = "inject-error",
    [BLKDEBUG_SET_STATE] = "set-state",
};

static const char *const blkdebug_inject_keys[] = {
    "event", "state", "iotype", "errno", "sector", "once", "immediately",
    NULL
};

static const char *const blkdebug_set_state_keys[] = {
    "event", "state", "new_state", NULL
};

typedef struct BlkdebugRule {
    BlkdebugAction action;
    int event;                  /* BlkdebugEvent or BLKDEBUG_EVENT_NONE */
    int64_t state;              /* 0: any state */
    /* inject-error */
    int error;                  /* positive errno; 0 injects nothing */
    unsigned iotypes;           /* 1 << BlkdebugIOType for each type */
    int64_t offset;             /* first byte of `sector`, or -1: any */
    bool once;
    bool immediately;
    /* set-state */
    int64_t new_state;
} BlkdebugRule;

typedef struct BDRVBlkdebugState {
    int64_t state;
    /* BlkdebugRule *, per event, in configuration order; owns the rules. */
    GList *rules[BLKDEBUG_NUM_EVENTS];
    /* Inject rules armed by the last event that had any, same order. */
    GList *active;

    /* Limit overrides; 0 keeps the inherited value. */
    uint64_t align;
    uint64_t max_transfer;
    uint64_t opt_write_zero;
    uint64_t max_write_zero;
    uint64_t opt_discard;
    uint64_t max_discard;
} BDRVBlkdebugState;

static const char *const blkdebug_runtime_opts[] = {
    "image",
    "config",
    "inject-error",
    "set-state",
    "align",
    "max-transfer",
    "opt-write-zero",
    "max-write-zero",
    "opt-discard",
    "max-discard",
    NULL
};

/* Rules */

static int blkdebug_event_by_name(const char *name)
{
    if (!strcmp(name, "none")) {
        return BLKDEBUG_EVENT_NONE;
    }
    for (int i = 0; i < BLKDBG_EVENT_MAX; i++) {
        if (!strcmp(name, blkdebug_event_names[i])) {
            return i;
        }
    }
    return -1;
}

static int blkdebug_iotype_by_name(const char *name)
{
    for (int i = 0; i < BLKDEBUG_IO_MAX; i++) {
        if (!strcmp(name, blkdebug_iotype_names[i])) {
            return i;
        }
    }
    return -1;
}

/* Read integer @key of @opts into *value, which must be in [min, max]. */
static bool blkdebug_get_int(JsonObject *opts, const char *key, int64_t min,
                             int64_t max, int64_t *value, Error **errp)
{
    if (!qdict_get_int_opt(opts, key, value, errp)) {
        return false;
    }
    if (*value < min || *value > max) {
        error_setg(errp, "Parameter '%s' expects an integer from %" PRId64
                   " to %" PRId64 ", not %" PRId64, key, min, max, *value);
        return false;
    }
    return true;
}

/* The inject-error fields of @rule from @opts. */
static bool blkdebug_parse_inject(BlkdebugRule *rule, JsonObject *opts,
                                  Error **errp)
{
    const char *iotype = qdict_get_str(opts, "iotype");
    int64_t error = EIO, sector = -1;

    rule->iotypes = BLKDEBUG_IO_DEFAULT_MASK;
    if (iotype) {
        int type = blkdebug_iotype_by_name(iotype);

        if (type < 0) {
            error_setg(errp, "Invalid iotype '%s' (expected read, write, "
                       "write-zeroes, discard, flush or block-status)",
                       iotype);
            return false;
        }
        rule->iotypes = 1u << type;
    } else if (qdict_haskey(opts, "iotype")) {
        error_setg(errp, "Parameter 'iotype' expects a string");
        return false;
    }
    if (!blkdebug_get_int(opts, "errno", 0, BLKDEBUG_MAX_ERRNO, &error,
                          errp) ||
        !blkdebug_get_int(opts, "sector", -1, INT64_MAX / BDRV_SECTOR_SIZE,
                          &sector, errp) ||
        !qdict_get_bool_opt(opts, "once", &rule->once, errp) ||
        !qdict_get_bool_opt(opts, "immediately", &rule->immediately,
                            errp)) {
        return false;
    }
    rule->error = error;
    rule->offset = sector < 0 ? -1 : sector * BDRV_SECTOR_SIZE;
    return true;
}

/* A new rule of kind @action from the options in @opts, or NULL. */
static BlkdebugRule *blkdebug_parse_rule(BlkdebugAction action,
                                         JsonObject *opts, Error **errp)
{
    g_autofree BlkdebugRule *rule = g_new0(BlkdebugRule, 1);
    const char *event = qdict_get_str(opts, "event");

    rule->action = action;
    if (!qdict_check_keys(opts, action == BLKDEBUG_INJECT_ERROR ?
                          blkdebug_inject_keys : blkdebug_set_state_keys,
                          errp)) {
        return NULL;
    }
    if (!event) {
        error_setg(errp, qdict_haskey(opts, "event") ?
                   "Parameter 'event' expects a string" :
                   "Missing event name for rule");
        return NULL;
    }
    rule->event = blkdebug_event_by_name(event);
    if (rule->event < 0) {
        error_setg(errp, "Invalid event name '%s'", event);
        return NULL;
    }
    if (!blkdebug_get_int(opts, "state", 0, INT64_MAX, &rule->state, errp)) {
        return NULL;
    }
    if (action == BLKDEBUG_INJECT_ERROR) {
        if (!blkdebug_parse_inject(rule, opts, errp)) {
            return NULL;
        }
    } else {
        if (!qdict_haskey(opts, "new_state")) {
            error_setg(errp, "Parameter 'new_state' is missing");
            return NULL;
        }
        if (!blkdebug_get_int(opts, "new_state", 0, INT64_MAX,
                              &rule->new_state, errp)) {
            return NULL;
        }
    }
    return g_steal_pointer(&rule);
}

/* Parse @opts and append the rule; messages are prefixed with @where. */
static bool blkdebug_add_rule(BDRVBlkdebugState *s, BlkdebugAction action,
                              JsonObject *opts, const char *where,
                              Error **errp)
{
    Error *local_err = NULL;
    BlkdebugRule *rule = blkdebug_parse_rule(action, opts, &local_err);

    if (!rule) {
        error_prepend(&local_err, "%s: ", where);
        error_propagate(errp, local_err);
        return false;
    }
    s->rules[rule->event] = g_list_append(s->rules[rule->event], rule);
    return true;
}

/* Add one entry of a rule list given as an option. */
static bool blkdebug_add_rule_node(BDRVBlkdebugState *s,
                                   BlkdebugAction action, JsonNode *n,
                                   unsigned index, Error **errp)
{
    g_autofree char *where = g_strdup_printf("%s.%u",
                                             blkdebug_action_names[action],
                                             index);

    if (!n || !JSON_NODE_HOLDS_OBJECT(n)) {
        error_setg(errp, "%s: expected a dict of rule options", where);
        return false;
    }
    return blkdebug_add_rule(s, action, json_node_get_object(n), where,
                             errp);
}

/*
 * The rules of option `inject-error` or `set-state`: a JSON list, or the
 * dict {"0": {...}, "1": {...}} that dotted keys (`inject-error.0.x=...`)
 * make, whose keys must then be exactly 0 to n-1.
 */
static bool blkdebug_add_rule_list(BDRVBlkdebugState *s,
                                   BlkdebugAction action,
                                   BlockOptions *options, Error **errp)
{
    const char *name = blkdebug_action_names[action];
    JsonNode *n = json_object_get_member(options, name);

    if (!n || JSON_NODE_HOLDS_NULL(n)) {
        return true;
    }
    if (JSON_NODE_HOLDS_ARRAY(n)) {
        JsonArray *list = json_node_get_array(n);

        for (unsigned i = 0; i < json_array_get_length(list); i++) {
            if (!blkdebug_add_rule_node(s, action,
                                        json_array_get_element(list, i), i,
                                        errp)) {
                return false;
            }
        }
        return true;
    }
    if (JSON_NODE_HOLDS_OBJECT(n)) {
        JsonObject *dict = json_node_get_object(n);
        unsigned count = json_object_get_size(dict);

        for (unsigned i = 0; i < count; i++) {
            char key[16];

            g_snprintf(key, sizeof(key), "%u", i);
            if (!json_object_has_member(dict, key)) {
                error_setg(errp, "Parameter '%s' expects a list: entry "
                           "%u is missing", name, i);
                return false;
            }
            if (!blkdebug_add_rule_node(s, action,
                                        json_object_get_member(dict, key),
                                        i, errp)) {
                return false;
            }
        }
        return true;
    }
    error_setg(errp, "Parameter '%s' expects a list of rules", name);
    return false;
}

static void blkdebug_free_rules(BDRVBlkdebugState *s)
{
    g_list_free(s->active);
    s->active = NULL;
    for (int i = 0; i < BLKDEBUG_NUM_EVENTS; i++) {
        g_list_free_full(s->rules[i], g_free);
        s->rules[i] = NULL;
    }
}

static void blkdebug_remove_rule(BDRVBlkdebugState *s, BlkdebugRule *rule)
{
    s->active = g_list_remove(s->active, rule);
    s->rules[rule->event] = g_list_remove(s->rules[rule->event], rule);
    g_free(rule);
}

/* The config file */

/* A section being read: its kind, its keys so far, where it started. */
typedef struct BlkdebugSection {
    BlkdebugAction action;
    JsonObject *opts;           /* NULL before the first section */
    char *where;                /* "FILE:LINE" of the section header */
} BlkdebugSection;

/* Turn the section read so far into a rule, and forget it. */
static bool blkdebug_end_section(BDRVBlkdebugState *s, BlkdebugSection *sec,
                                 Error **errp)
{
    bool ok = true;

    if (sec->opts) {
        ok = blkdebug_add_rule(s, sec->action, sec->opts, sec->where, errp);
        qdict_unref(sec->opts);
    }
    g_free(sec->where);
    sec->opts = NULL;
    sec->where = NULL;
    return ok;
}

/* Parse `key = "value"` from @line (trimmed); false if malformed. */
static bool blkdebug_parse_assignment(char *line, char **key, char **value)
{
    char *p = line, *end;

    while (g_ascii_isalnum(*p) || *p == '_' || *p == '-') {
        p++;
    }
    if (p == line) {
        return false;
    }
    *key = line;
    end = p;
    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p++ != '=') {
        return false;
    }
    while (g_ascii_isspace(*p)) {
        p++;
    }
    if (*p++ != '"') {
        return false;
    }
    *value = p;
    p = strchr(p, '"');
    if (!p || p[1] != '\0') {
        return false;
    }
    *p = '\0';
    *end = '\0';
    return true;
}

/* Handle one trimmed, non-empty, non-comment line of the config file. */
static bool blkdebug_config_line(BDRVBlkdebugState *s, BlkdebugSection *sec,
                                 char *line, const char *where, Error **errp)
{
    char *key, *value;

    if (line[0] == '[') {
        size_t len = strlen(line);
        int action;

        if (line[len - 1] != ']') {
            error_setg(errp, "%s: parse error", where);
            return false;
        }
        line[len - 1] = '\0';
        line = g_strstrip(line + 1);
        for (action = 0; action < BLKDEBUG_ACTION_MAX; action++) {
            if (!strcmp(line, blkdebug_action_names[action])) {
                break;
            }
        }
        if (action == BLKDEBUG_ACTION_MAX) {
            error_setg(errp, "%s: Unknown section [%s] (expected "
                       "[inject-error] or [set-state])", where, line);
            return false;
        }
        if (!blkdebug_end_section(s, sec, errp)) {
            return false;
        }
        sec->action = action;
        sec->opts = qdict_new();
        sec->where = g_strdup(where);
        return true;
    }
    if (!blkdebug_parse_assignment(line, &key, &value)) {
        error_setg(errp, "%s: parse error (expected [section] or "
                   "key = \"value\")", where);
        return false;
    }
    if (!sec->opts) {
        error_setg(errp, "%s: '%s' is outside any section", where, key);
        return false;
    }
    if (qdict_haskey(sec->opts, key)) {
        error_setg(errp, "%s: '%s' is set twice in one section", where, key);
        return false;
    }
    qdict_put_str(sec->opts, key, value);
    return true;
}

static bool blkdebug_read_config(BDRVBlkdebugState *s, const char *path,
                                 Error **errp)
{
    BlkdebugSection sec = { 0 };
    g_autofree char *buf = NULL;
    size_t size = 0;
    int lineno = 0;
    bool ok = true;
    FILE *f = fopen(path, "r");

    if (!f) {
        error_setg_errno(errp, errno, "Could not read blkdebug config file "
                         "'%s'", path);
        return false;
    }
    while (ok && getline(&buf, &size, f) >= 0) {
        char *line = g_strstrip(buf);
        g_autofree char *where = NULL;

        lineno++;
        if (line[0] == '\0' || line[0] == '#') {
            continue;
        }
        where = g_strdup_printf("%s:%d", path, lineno);
        ok = blkdebug_config_line(s, &sec, line, where, errp);
    }
    if (ok && ferror(f)) {
        error_setg_errno(errp, errno, "Could not read blkdebug config file "
                         "'%s'", path);
        ok = false;
    }
    fclose(f);
    if (ok) {
        return blkdebug_end_section(s, &sec, errp);
    }
    qdict_unref(sec.opts);
    g_free(sec.where);
    return false;
}

/* Events */

/* Fire event @event (an index into s->rules) on this node. */
static void blkdebug_fire(BDRVBlkdebugState *s, int event)
{
    int64_t new_state = s->state;
    bool replaced = false;

    for (GList *l = s->rules[event]; l; l = l->next) {
        BlkdebugRule *rule = l->data;

        if (rule->state && rule->state != s->state) {
            continue;
        }
        if (rule->action == BLKDEBUG_SET_STATE) {
            new_state = rule->new_state;
            continue;
        }
        if (!replaced) {
            g_list_free(s->active);
            s->active = NULL;
            replaced = true;
        }
        s->active = g_list_append(s->active, rule);
    }
    s->state = new_state;
}

static void blkdebug_debug_event(BlockDriverState *bs, BlkdebugEvent event)
{
    assert(event >= 0 && event < BLKDBG_EVENT_MAX);
    blkdebug_fire(bs->opaque, event);
}

/*
 * Fire a read_aio/write_aio event for a request unless a parent node does
 * it (see the file comment).
 */
static void blkdebug_fire_request_event(BlockDriverState *bs,
                                        BlkdebugEvent event)
{
    for (GList *l = bs->parents; l; l = l->next) {
        BdrvChild *c = l->data;

        if (c->klass->parent_is_bds) {
            return;
        }
    }
    blkdebug_fire(bs->opaque, event);
}

/*
 * The verdict of the active rules on a request of @type over
 * [offset, offset + bytes): 0 to let it through, else -errno.
 */
static int coroutine_fn blkdebug_check(BlockDriverState *bs,
                                       BlkdebugIOType type, int64_t offset,
                                       int64_t bytes)
{
    BDRVBlkdebugState *s = bs->opaque;
    BlkdebugRule *rule = NULL;
    bool immediately;
    int error;

    for (GList *l = s->active; l; l = l->next) {
        BlkdebugRule *r = l->data;

        if (!(r->iotypes & (1u << type))) {
            continue;
        }
        if (r->offset >= 0 &&
            !(bytes > 0 && r->offset >= offset &&
              r->offset - offset < bytes)) {
            continue;
        }
        rule = r;
        break;
    }
    if (!rule || !rule->error) {
        return 0;
    }
    error = rule->error;
    immediately = rule->immediately;
    if (rule->once) {
        blkdebug_remove_rule(s, rule);
    }
    if (!immediately) {
        aio_co_schedule(qemu_get_current_aio_context(),
                        qemu_coroutine_self());
        qemu_coroutine_yield();
    }
    return -error;
}

/* Open, limits, close */

/* Read the options that override limits (checked at refresh time). */
static bool blkdebug_parse_limits(BDRVBlkdebugState *s, BlockOptions *options,
                                  Error **errp)
{
    return qdict_get_size_opt(options, "align", &s->align, errp) &&
           qdict_get_size_opt(options, "max-transfer", &s->max_transfer,
                              errp) &&
           qdict_get_size_opt(options, "opt-write-zero", &s->opt_write_zero,
                              errp) &&
           qdict_get_size_opt(options, "max-write-zero", &s->max_write_zero,
                              errp) &&
           qdict_get_size_opt(options, "opt-discard", &s->opt_discard,
                              errp) &&
           qdict_get_size_opt(options, "max-discard", &s->max_discard, errp);
}

static int blkdebug_open(BlockDriverState *bs, BlockOptions *options,
                         int flags, Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    const char *config = qdict_get_str(options, "config");
    BlockDriverState *child_bs;

    s->state = 1;
    if (!config && qdict_haskey(options, "config")) {
        error_setg(errp, "Parameter 'config' expects a file name");
        goto fail;
    }
    if ((config && !blkdebug_read_config(s, config, errp)) ||
        !blkdebug_add_rule_list(s, BLKDEBUG_INJECT_ERROR, options, errp) ||
        !blkdebug_add_rule_list(s, BLKDEBUG_SET_STATE, options, errp) ||
        !blkdebug_parse_limits(s, options, errp)) {
        goto fail;
    }

    bs->file = bdrv_open_child(bs, options, "image",
                               BDRV_CHILD_FILTERED | BDRV_CHILD_PRIMARY,
                               false, errp);
    if (!bs->file) {
        goto fail;
    }
    child_bs = bs->file->bs;

    /*
     * Offer what the image does natively, as raw does.  FUA sent to this
     * node is then emulated by the core with our flush callback, so flush
     * rules see it, as in QEMU.
     */
    bs->supported_write_flags = BDRV_REQ_WRITE_UNCHANGED |
        (child_bs->supported_write_flags & BDRV_REQ_FUA);
    bs->supported_zero_flags = BDRV_REQ_WRITE_UNCHANGED |
        (child_bs->supported_zero_flags &
         (BDRV_REQ_FUA | BDRV_REQ_MAY_UNMAP | BDRV_REQ_NO_FALLBACK));

    blkdebug_fire(s, BLKDEBUG_EVENT_NONE);
    return 0;

fail:
    blkdebug_free_rules(s);
    return -EINVAL;
}

/*
 * Check one limit override @value of option @name: below 2 GiB and a
 * multiple of @align.  The messages start with QEMU's.
 */
static bool blkdebug_check_limit(const char *name, uint64_t value,
                                 uint64_t align, Error **errp)
{
    if (value > INT_MAX) {
        error_setg(errp, "Cannot meet constraints with %s %" PRIu64
                   " (must be below 2 GiB)", name, value);
        return false;
    }
    if (value % align) {
        error_setg(errp, "Cannot meet constraints with %s %" PRIu64
                   " (must be a multiple of %" PRIu64 ")", name, value,
                   align);
        return false;
    }
    return true;
}

/*
 * Apply the overrides to the limits inherited from the image.  The
 * checks follow QEMU's: `align` is a power of two below 2 GiB; the other
 * values are multiples of the alignment in force (the larger of `align`
 * and the image's), and each maximum a multiple of its optimum.
 */
static void blkdebug_refresh_limits(BlockDriverState *bs, Error **errp)
{
    BDRVBlkdebugState *s = bs->opaque;
    uint64_t align;

    if (s->align && (s->align >= INT_MAX || (s->align & (s->align - 1)))) {
        error_setg(errp, "Cannot meet constraints with align %" PRIu64
                   " (must be a power of two below 2 GiB)", s->align);
        return;
    }
    align = MAX(s->align, bs->bl.request_alignment);
    if (!blkdebug_check_limit("max-transfer", s->max_transfer, align,
                              errp) ||
        !blkdebug_check_limit("opt-write-zero", s->opt_write_zero, align,
                              errp) ||
        !blkdebug_check_limit("max-write-zero", s->max_write_zero,
                              MAX(s->opt_write_zero, align), errp) ||
        !blkdebug_check_limit("opt-discard", s->opt_discard, align, errp) ||
        !blkdebug_check_limit("max-discard", s->max_discard,
                              MAX(s->opt_discard, align), errp)) {
        return;
    }

    if (s->align) {
        bs->bl.request_alignment = s->align;
    }
    if (s->max_transfer) {
        bs->bl.max_transfer = s->max_transfer;
    }
    if (s->opt_write_zero) {
        bs->bl.pwrite_zeroes_alignment = s->opt_write_zero;
    }
    if (s->max_write_zero) {
        bs->bl.max_pwrite_zeroes = s->max_write_zero;
    }
    if (s->opt_discard) {
        bs->bl.pdiscard_alignment = s->opt_discard;
    }
    if (s->max_discard) {
        bs->bl.max_pdiscard = s->max_discard;
    }
}

static void blkdebug_close(BlockDriverState *bs)
{
    blkdebug_free_rules(bs->opaque);
}

/* Requests */

/*
 * Assert what block-int.h promises: @offset aligned, @bytes aligned unless
 * the request ends at the end of the node, and @bytes within @max (the
 * request's maximum rounded down to @align, or @align if that is larger).
 */
static void blkdebug_assert_request(BlockDriverState *bs, int64_t offset,
                                    int64_t bytes, int64_t align,
                                    int64_t max)
{
    int64_t req_align = bs->bl.request_alignment;

    assert(offset % req_align == 0);
    assert(bytes % req_align == 0 || offset + bytes == bs->total_bytes);
    if (max) {
        assert(bytes <= MAX(max / align * align, align));
    }
}

static int coroutine_fn blkdebug_co_preadv(BlockDriverState *bs,
                                           int64_t offset, int64_t bytes,
                                           QEMUIOVector *qiov,
                                           BdrvRequestFlags flags)
{
    int ret;

    blkdebug_assert_request(bs, offset, bytes, bs->bl.request_alignment,
                            bs->bl.max_transfer);
    blkdebug_fire_request_event(bs, BLKDBG_READ_AIO);
    ret = blkdebug_check(bs, BLKDEBUG_IO_READ, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_preadv(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwritev(BlockDriverState *bs,
                                            int64_t offset, int64_t bytes,
                                            QEMUIOVector *qiov,
                                            BdrvRequestFlags flags)
{
    int ret;

    blkdebug_assert_request(bs, offset, bytes, bs->bl.request_alignment,
                            bs->bl.max_transfer);
    blkdebug_fire_request_event(bs, BLKDBG_WRITE_AIO);
    ret = blkdebug_check(bs, BLKDEBUG_IO_WRITE, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwritev(bs->file, offset, bytes, qiov, flags);
}

static int coroutine_fn blkdebug_co_pwrite_zeroes(BlockDriverState *bs,
                                                  int64_t offset,
                                                  int64_t bytes,
                                                  BdrvRequestFlags flags)
{
    int ret;

    blkdebug_assert_request(bs, offset, bytes,
                            MAX(bs->bl.pwrite_zeroes_alignment,
                                bs->bl.request_alignment),
                            bs->bl.max_pwrite_zeroes);
    ret = blkdebug_check(bs, BLKDEBUG_IO_WRITE_ZEROES, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pwrite_zeroes(bs->file, offset, bytes, flags);
}

static int coroutine_fn blkdebug_co_pdiscard(BlockDriverState *bs,
                                             int64_t offset, int64_t bytes)
{
    int ret;

    blkdebug_assert_request(bs, offset, bytes,
                            MAX(bs->bl.pdiscard_alignment,
                                bs->bl.request_alignment),
                            bs->bl.max_pdiscard);
    ret = blkdebug_check(bs, BLKDEBUG_IO_DISCARD, offset, bytes);
    if (ret < 0) {
        return ret;
    }
    return bdrv_co_pdiscard(bs->file, offset, bytes);
}

/* Only the verdict: the core flushes the image after us. */
static int coroutine_fn blkdebug_co_flush_to_disk(BlockDriverState *bs)
{
    blkdebug_fire(bs->opaque, BLKDBG_FLUSH_TO_DISK);
    return blkdebug_check(bs, BLKDEBUG_IO_FLUSH, 0, 0);
}

/* The image's answer, as for any filter, unless a rule fails the query. */
static int coroutine_fn blkdebug_co_block_status(BlockDriverState *bs,
                                                 unsigned mode,
                                                 int64_t offset,
                                                 int64_t bytes,
                                                 int64_t *pnum,
                                                 int64_t *map,
                                                 BlockDriverState **file)
{
    int ret = blkdebug_check(bs, BLKDEBUG_IO_BLOCK_STATUS, offset, bytes);

    if (ret < 0) {
        return ret;
    }
    *pnum = bytes;
    *map = offset;
    *file = bs->file->bs;
    return BDRV_BLOCK_RAW | BDRV_BLOCK_OFFSET_VALID;
}

const BlockDriver bdrv_blkdebug = {
    .format_name            = "blkdebug",
    .instance_size          = sizeof(BDRVBlkdebugState),
    .is_filter              = true,
    .runtime_opts           = blkdebug_runtime_opts,

    .bdrv_open              = blkdebug_open,
    .bdrv_close             = blkdebug_close,
    .bdrv_refresh_limits    = blkdebug_refresh_limits,
    .bdrv_co_preadv         = blkdebug_co_preadv,
    .bdrv_co_pwritev        = blkdebug_co_pwritev,
    .bdrv_co_pwrite_zeroes  = blkdebug_co_pwrite_zeroes,
    .bdrv_co_pdiscard       = blkdebug_co_pdiscard,
    .bdrv_co_flush_to_disk  = blkdebug_co_flush_to_disk,
    .bdrv_co_block_status   = blkdebug_co_block_status,
    .bdrv_debug_event       = blkdebug_debug_event,
};
