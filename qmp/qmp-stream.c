/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Splitting QMP client input into JSON messages.
 *
 * A client may send half a message in one read and three and a half in
 * the next, so the input is tokenised byte by byte, with all state kept in
 * QmpStream between reads.  The tokeniser follows QEMU's JSON lexer and
 * streamer: outside strings it tracks the nesting of {} and [], and a
 * message ends when the nesting returns to zero; a scalar at top level
 * (`42`, `"x"`, `nul`) is a message of its own.  Besides finding the
 * boundaries it checks every token, so that json-glib, which is more
 * lenient than QEMU (it takes `01`, `.5`, `0x10`, comments, and wraps
 * integers that overflow), only ever sees text QEMU would accept:
 *
 *   - keywords must be true, false or null ("invalid keyword 'x'");
 *   - numbers must follow the JSON grammar; integers beyond int64 are
 *     passed on as floating point (QEMU does the same), numbers that
 *     overflow a double are refused;
 *   - strings may use single quotes (a QEMU extension) and are re-quoted
 *     with double quotes; escapes are checked, surrogate pairs must pair
 *     up, \u0000 is refused (json-glib strings cannot hold it), raw
 *     control characters end the token with an error, and bytes that are
 *     not valid UTF-8 are taken as the Latin-1 character of that value;
 *   - any other byte outside a string is an error ("stray").
 *
 * An error drops the message being read and tokenising resumes with the
 * next byte, as in QEMU.  Whitespace between tokens is dropped, so the
 * normalised text is one line.
 *
 * Limits: a message longer than QMP_MAX_MESSAGE_SIZE or nested deeper than
 * QMP_MAX_NESTING is answered with one error and its remaining bytes are
 * skipped (still tokenised, to find where it ends) without being stored.
 */
#include "qmp/qmp.h"

#include <math.h>

/* Longest number or keyword; anything longer is not a valid one. */
#define QMP_MAX_WORD 256
/* How much of a bad token an error message quotes. */
#define QMP_EXCERPT 32

typedef enum StreamState {
    ST_VALUE,           /* between tokens */
    ST_STRING,
    ST_WORD,            /* a number or a keyword */
} StreamState;

struct QmpStream {
    QmpStreamEmit *emit;
    void *opaque;
    GString *buf;           /* normalised text of the current message */
    GString *word;
    StreamState state;
    int depth;
    char stack[QMP_MAX_NESTING];   /* '{' or '[' of each open level */
    bool skipping;          /* over a limit: discard until the end */

    /* Inside a string */
    char quote;             /* '"' or '\'' */
    int esc;                /* 0, 1 after '\', 2..5 in the \u digits */
    unsigned cp;            /* the \u value being read */
    unsigned high;          /* a high surrogate waiting for its pair */
    size_t str_start;       /* offset of the string's content in buf */
};

QmpStream *qmp_stream_new(QmpStreamEmit *emit, void *opaque)
{
    QmpStream *st = g_new0(QmpStream, 1);

    st->emit = emit;
    st->opaque = opaque;
    st->buf = g_string_new(NULL);
    st->word = g_string_new(NULL);
    return st;
}

void qmp_stream_free(QmpStream *st)
{
    if (st) {
        g_string_free(st->buf, TRUE);
        g_string_free(st->word, TRUE);
        g_free(st);
    }
}

static void stream_reset(QmpStream *st)
{
    g_string_truncate(st->buf, 0);
    g_string_truncate(st->word, 0);
    st->state = ST_VALUE;
    st->depth = 0;
    st->skipping = false;
    st->esc = 0;
    st->high = 0;
}

/* Report an error (unless the message was already reported) and reset. */
static void G_GNUC_PRINTF(2, 3) stream_fail(QmpStream *st, const char *fmt,
                                            ...)
{
    if (!st->skipping) {
        g_autofree char *msg = NULL;
        va_list ap;

        va_start(ap, fmt);
        msg = g_strdup_vprintf(fmt, ap);
        va_end(ap);
        st->emit(st->opaque, NULL, 0, msg);
    }
    stream_reset(st);
}

/* The message is complete: hand it on (unless it is being skipped). */
static void stream_done(QmpStream *st)
{
    if (!st->skipping) {
        st->emit(st->opaque, st->buf->str, st->buf->len, NULL);
    }
    stream_reset(st);
}

/* Start skipping the current message after reporting @msg. */
static void stream_skip(QmpStream *st, const char *msg)
{
    if (!st->skipping) {
        st->emit(st->opaque, NULL, 0, msg);
        st->skipping = true;
        g_string_truncate(st->buf, 0);
    }
}

static void stream_put_len(QmpStream *st, const char *s, size_t len)
{
    if (st->skipping) {
        return;
    }
    if (st->buf->len + len > QMP_MAX_MESSAGE_SIZE) {
        stream_skip(st, "JSON token size limit exceeded");
        return;
    }
    g_string_append_len(st->buf, s, len);
}

static void stream_put(QmpStream *st, char c)
{
    stream_put_len(st, &c, 1);
}

/* Up to QMP_EXCERPT bytes of @s as valid UTF-8 (g_free it). */
static char *excerpt(const char *s, size_t len)
{
    return g_utf8_make_valid(s, MIN(len, QMP_EXCERPT));
}

static void stream_fail_stray(QmpStream *st, unsigned char c)
{
    if (g_ascii_isprint(c)) {
        stream_fail(st, "JSON parse error, stray '%c'", c);
    } else {
        stream_fail(st, "JSON parse error, stray '\\x%02x'", c);
    }
}

/* Words: numbers and keywords */

static bool is_word_char(unsigned char c)
{
    return g_ascii_isalnum(c) || c == '-' || c == '+' || c == '.';
}

/* JSON's number grammar; *is_int when there is no fraction or exponent. */
static bool number_valid(const char *p, bool *is_int)
{
    *is_int = true;
    if (*p == '-') {
        p++;
    }
    if (*p == '0') {
        p++;
    } else if (g_ascii_isdigit(*p)) {
        while (g_ascii_isdigit(*p)) {
            p++;
        }
    } else {
        return false;
    }
    if (*p == '.') {
        *is_int = false;
        if (!g_ascii_isdigit(*++p)) {
            return false;
        }
        while (g_ascii_isdigit(*p)) {
            p++;
        }
    }
    if (*p == 'e' || *p == 'E') {
        *is_int = false;
        p++;
        if (*p == '+' || *p == '-') {
            p++;
        }
        if (!g_ascii_isdigit(*p)) {
            return false;
        }
        while (g_ascii_isdigit(*p)) {
            p++;
        }
    }
    return *p == '\0';
}

static void stream_end_word(QmpStream *st)
{
    const char *w = st->word->str;
    bool is_int;

    st->state = ST_VALUE;
    if (g_ascii_isalpha(w[0])) {
        if (strcmp(w, "true") && strcmp(w, "false") && strcmp(w, "null")) {
            g_autofree char *ex = excerpt(w, st->word->len);

            stream_fail(st, "JSON parse error, invalid keyword '%s'", ex);
            return;
        }
        stream_put_len(st, w, st->word->len);
    } else if (!number_valid(w, &is_int)) {
        g_autofree char *ex = excerpt(w, st->word->len);

        stream_fail(st, "JSON parse error, stray '%s'", ex);
        return;
    } else if (is_int) {
        errno = 0;
        g_ascii_strtoll(w, NULL, 10);
        stream_put_len(st, w, st->word->len);
        if (errno == ERANGE) {
            /* Beyond int64: a double, as QEMU makes it. */
            stream_put_len(st, ".0", 2);
        }
    } else {
        if (isinf(g_ascii_strtod(w, NULL))) {
            stream_fail(st, "JSON parse error, number too large");
            return;
        }
        stream_put_len(st, w, st->word->len);
    }
    g_string_truncate(st->word, 0);
    if (st->depth == 0) {
        stream_done(st);
    }
}

/* Strings */

/* Append code point @cp (not 0, not a surrogate) to the string. */
static void stream_put_unichar(QmpStream *st, gunichar cp)
{
    char utf8[8];

    if (cp < 0x20 || cp == '"' || cp == '\\') {
        g_snprintf(utf8, sizeof(utf8), "\\u%04x", cp);
        stream_put_len(st, utf8, 6);
    } else {
        stream_put_len(st, utf8, g_unichar_to_utf8(cp, utf8));
    }
}

static void stream_unicode_escape(QmpStream *st)
{
    unsigned cp = st->cp;

    if (st->high) {
        unsigned high = st->high;

        st->high = 0;
        if (cp < 0xdc00 || cp > 0xdfff) {
            stream_fail(st, "JSON parse error, \\u%04x is not a valid "
                        "Unicode character", high);
            return;
        }
        stream_put_unichar(st, 0x10000 + ((high - 0xd800) << 10) +
                           (cp - 0xdc00));
    } else if (cp >= 0xd800 && cp <= 0xdbff) {
        st->high = cp;
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        stream_fail(st, "JSON parse error, \\u%04x is not a valid Unicode "
                    "character", cp);
    } else if (cp == 0) {
        stream_fail(st, "JSON parse error, \\u0000 is not supported");
    } else {
        stream_put_unichar(st, cp);
    }
}

/*
 * Replace the bytes of the string's content that are not valid UTF-8 by
 * the Latin-1 characters of the same value (QEMU's reading of them).
 */
static void stream_fix_utf8(QmpStream *st)
{
    const char *p = st->buf->str + st->str_start;
    const char *end = st->buf->str + st->buf->len;
    GString *fixed;

    if (g_utf8_validate(p, end - p, NULL)) {
        return;
    }
    fixed = g_string_sized_new(end - p + 16);
    while (p < end) {
        gunichar ch = g_utf8_get_char_validated(p, end - p);

        if (ch == (gunichar)-1 || ch == (gunichar)-2) {
            g_string_append_unichar(fixed, (unsigned char)*p);
            p++;
        } else {
            const char *next = g_utf8_next_char(p);

            g_string_append_len(fixed, p, next - p);
            p = next;
        }
    }
    g_string_truncate(st->buf, st->str_start);
    g_string_append_len(st->buf, fixed->str, fixed->len);
    g_string_free(fixed, TRUE);
}

static void stream_end_string(QmpStream *st)
{
    if (!st->skipping) {
        stream_fix_utf8(st);
    }
    stream_put(st, '"');
    st->state = ST_VALUE;
    if (st->depth == 0) {
        stream_done(st);
    }
}

static void stream_escape_char(QmpStream *st, unsigned char c)
{
    st->esc = 0;
    if (st->high && c != 'u') {
        stream_fail(st, "JSON parse error, \\u%04x is not a valid Unicode "
                    "character", st->high);
        return;
    }
    switch (c) {
    case 'u':
        st->esc = 2;
        st->cp = 0;
        break;
    case '\'':
        stream_put(st, '\'');
        break;
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        stream_put(st, '\\');
        stream_put(st, c);
        break;
    default:
        stream_fail(st, "JSON parse error, invalid escape sequence in "
                    "string");
        break;
    }
}

static void stream_string_char(QmpStream *st, unsigned char c)
{
    if (st->esc == 1) {
        stream_escape_char(st, c);
        return;
    }
    if (st->esc >= 2) {
        int v = g_ascii_xdigit_value(c);

        if (v < 0) {
            stream_fail(st, "JSON parse error, invalid escape sequence in "
                        "string");
            return;
        }
        st->cp = st->cp * 16 + v;
        if (++st->esc == 6) {
            st->esc = 0;
            stream_unicode_escape(st);
        }
        return;
    }
    if (c == '\\') {
        st->esc = 1;
    } else if (st->high) {
        stream_fail(st, "JSON parse error, \\u%04x is not a valid Unicode "
                    "character", st->high);
    } else if (c == st->quote) {
        stream_end_string(st);
    } else if (c < 0x20) {
        const char *s = st->buf->str + st->str_start;
        g_autofree char *ex = st->skipping ? g_strdup("") :
                              excerpt(s, st->buf->len - st->str_start);

        stream_fail(st, "JSON parse error, stray '%c%s\\x%02x'", st->quote,
                    ex, c);
    } else if (c == '"') {
        stream_put_len(st, "\\\"", 2);      /* inside single quotes */
    } else {
        stream_put(st, c);
    }
}

/* Between tokens */

static void stream_open(QmpStream *st, char c)
{
    if (st->depth >= QMP_MAX_NESTING) {
        stream_skip(st, "JSON nesting depth limit exceeded");
        st->depth++;
        return;
    }
    st->stack[st->depth++] = c;
    stream_put(st, c);
}

static void stream_close(QmpStream *st, char c)
{
    char opener = c == '}' ? '{' : '[';

    if (st->depth == 0) {
        stream_fail(st, "JSON parse error, expecting value");
        return;
    }
    st->depth--;
    stream_put(st, c);
    if (!st->skipping && st->stack[st->depth] != opener) {
        /* Mismatched: let the parser report it now. */
        stream_done(st);
    } else if (st->depth == 0) {
        stream_done(st);
    }
}

static void stream_value_char(QmpStream *st, unsigned char c)
{
    switch (c) {
    case ' ':
    case '\t':
    case '\n':
    case '\r':
        break;
    case '{':
    case '[':
        stream_open(st, c);
        break;
    case '}':
    case ']':
        stream_close(st, c);
        break;
    case ':':
    case ',':
        if (st->depth == 0) {
            stream_fail(st, "JSON parse error, expecting value");
        } else {
            stream_put(st, c);
        }
        break;
    case '"':
    case '\'':
        st->state = ST_STRING;
        st->quote = c;
        st->esc = 0;
        st->high = 0;
        stream_put(st, '"');
        st->str_start = st->buf->len;
        break;
    default:
        if (g_ascii_isalnum(c) || c == '-') {
            st->state = ST_WORD;
            g_string_append_c(st->word, c);
        } else {
            stream_fail_stray(st, c);
        }
        break;
    }
}

void qmp_stream_feed(QmpStream *st, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        unsigned char c = data[i];

        switch (st->state) {
        case ST_STRING:
            stream_string_char(st, c);
            continue;
        case ST_WORD:
            if (is_word_char(c)) {
                if (st->word->len >= QMP_MAX_WORD) {
                    g_autofree char *ex = excerpt(st->word->str,
                                                  st->word->len);

                    stream_fail(st, "JSON parse error, stray '%s'", ex);
                } else {
                    g_string_append_c(st->word, c);
                }
                continue;
            }
            stream_end_word(st);
            break;
        default:
            break;
        }
        stream_value_char(st, c);
    }
}

/* Parsing one message */

typedef struct DupCheck {
    GHashTable *members;    /* JsonObject * -> members parsed so far */
    bool duplicate;
} DupCheck;

/*
 * json-glib keeps the last of duplicate keys; QEMU refuses them.  The
 * parser announces each member after storing it, so a member that did
 * not make the object grow replaced an earlier one.
 */
static void on_object_member(JsonParser *parser, JsonObject *object,
                             char *name, gpointer opaque)
{
    DupCheck *dc = opaque;
    guint n = GPOINTER_TO_UINT(g_hash_table_lookup(dc->members, object));

    g_hash_table_insert(dc->members, object, GUINT_TO_POINTER(n + 1));
    if (json_object_get_size(object) != n + 1) {
        dc->duplicate = true;
    }
}

static const char *parse_error_text(const GError *err)
{
    if (err->domain == JSON_PARSER_ERROR) {
        switch (err->code) {
        case JSON_PARSER_ERROR_MISSING_COLON:
            return "missing : in object pair";
        case JSON_PARSER_ERROR_MISSING_COMMA:
            return "expected separator";
        default:
            break;
        }
    }
    return "expecting value";
}

JsonNode *qmp_parse_message(const char *json, size_t len, Error **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    DupCheck dc = { .members = g_hash_table_new(NULL, NULL) };
    g_autoptr(GError) gerr = NULL;
    JsonNode *root = NULL;

    g_signal_connect(parser, "object-member", G_CALLBACK(on_object_member),
                     &dc);
    if (!json_parser_load_from_data(parser, json, len, &gerr)) {
        error_setg(errp, "JSON parse error, %s", parse_error_text(gerr));
    } else if (dc.duplicate) {
        error_setg(errp, "JSON parse error, duplicate key");
    } else if (!(root = json_parser_steal_root(parser))) {
        error_setg(errp, "JSON parse error, expecting value");
    }
    g_hash_table_destroy(dc.members);
    return root;
}
