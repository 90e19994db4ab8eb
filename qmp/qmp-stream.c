/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Splitting QMP client input into JSON messages.
 *
 * A client may send half a message in one read and three and a half in
 * the next, so the input is processed byte by byte, with all state kept in
 * QmpStream between reads.  Three layers, modelled on the behaviour of
 * QEMU's JSON lexer, streamer and parser:
 *
 *   Lexer.  Splits the bytes into tokens: { } [ ] , : strings (double or
 *   single quoted), numbers and keywords.  It is lenient: a keyword is any
 *   run of lowercase letters, and a backslash in a string may be followed
 *   by any character.  It only rejects bytes that cannot continue the
 *   token being read (`@`, `01`, `1.}`, a control character or the bytes
 *   0xfe/0xff in a string): "stray 'TEXT'", TEXT being the token so far
 *   with the offending byte, is reported at once, the message being read
 *   is dropped, and bytes are skipped until a structural character or a
 *   newline (control characters and 0xfe/0xff met meanwhile are reported
 *   too).  A number or keyword ends at the first byte that cannot extend
 *   it, which then starts the next token: `1abc` is 1 followed by `abc`.
 *
 *   Streamer.  Counts open braces and brackets (separately, as QEMU does:
 *   `[}` leaves one bracket open); a message is complete after a token
 *   that brings both counts back to zero or either below zero, so a
 *   scalar at top level is a message of its own and a stray closer too.
 *
 *   Parser.  Checks each token against the grammar as it arrives (the
 *   first mistake of a message is remembered; the rest of it only counted)
 *   and reports, when the message is complete, the first error in the
 *   order QEMU's recursive-descent parser meets them: a bad token only
 *   counts where a value is expected (`{"a" tru}` is a missing colon, not
 *   an invalid keyword), keys may be any value but must turn out strings,
 *   a duplicate key is noticed after its value.  Values are checked here:
 *   keywords must be true, false or null; strings have their escapes,
 *   surrogate pairs and UTF-8 checked (\u0000 is refused: json-glib
 *   strings cannot hold it); numbers that overflow a double are refused.
 *
 * A message without errors is handed on as normalised JSON text that
 * json-glib parses to what QEMU would build: one line, no whitespace,
 * strings double-quoted and escaped, integers beyond int64 written as
 * floating point (QEMU keeps those up to UINT64_MAX as uint64, which a
 * JsonNode cannot hold), no duplicate keys.
 *
 * Why the grammar is checked here rather than left to json-glib (1.6):
 * its parser accepts much that QEMU refuses and changes the value while
 * doing so: a duplicate key (the last wins), an unknown escape ("\x" is
 * "x"), \u0000 (the string is cut there), integers past INT64_MAX (they
 * wrap, 18446744073709551616 reads as -1), 1e400 (infinity), hex and
 * leading-zero numbers, "1." and ".5", C comments, and anything after the
 * first value.  Its errors do not carry what QEMU's messages need either:
 * one code (INVALID_BAREWORD, "unexpected character `{'") covers
 * `{not json}`, `{1: 2}` and `{,}`, for which QEMU reports "invalid
 * keyword 'not'", "key is not a string in object" and "expecting value";
 * and json-glib stops at its own first error, which is not always the
 * one QEMU's parser meets first.  So json-glib only parses text this
 * file has checked and normalised (qmp_parse_message()).
 *
 * Limits: a message whose tokens add up to more than QMP_MAX_MESSAGE_SIZE
 * bytes, or nested deeper than QMP_MAX_NESTING, is answered with one error
 * at once and its remaining bytes are skipped (still tokenised and
 * counted, to find where it ends) without being stored.
 */
#include "qmp/qmp.h"

#include <math.h>

typedef enum LexState {
    LX_START,           /* between tokens */
    LX_RECOVERY,        /* after a stray byte */
    LX_STRING,
    LX_ESCAPE,          /* after a backslash in a string */
    LX_NEG,             /* after '-' */
    LX_ZERO,            /* after a leading 0 */
    LX_INT,             /* in the digits of an integer part */
    LX_POINT,           /* after '.', a digit must follow */
    LX_FRAC,
    LX_EXP_E,           /* after 'e' */
    LX_EXP_SIGN,        /* after the exponent's sign, a digit must follow */
    LX_EXP,
    LX_KEYWORD,
} LexState;

typedef enum TokenType {
    TOK_LCURLY,
    TOK_RCURLY,
    TOK_LSQUARE,
    TOK_RSQUARE,
    TOK_COMMA,
    TOK_COLON,
    TOK_STRING,
    TOK_INTEGER,
    TOK_FLOAT,
    TOK_KEYWORD,
} TokenType;

/* What the parser takes next at one nesting level. */
typedef enum Expect {
    EX_VALUE,           /* a value (after ':' or, in an array, ',') */
    EX_KEY_OR_END,      /* after '{' */
    EX_KEY,             /* after ',' in an object */
    EX_COLON,
    EX_VALUE_OR_END,    /* after '[' */
    EX_OBJECT_SEP,      /* ',' or '}' after a member */
    EX_ARRAY_SEP,       /* ',' or ']' after an element */
} Expect;

typedef struct Level {
    char open;              /* '{' or '[' */
    Expect expect;
    char *key;              /* object: the key whose value is being read */
    GHashTable *keys;       /* object: keys so far (created on first use) */
} Level;

struct QmpStream {
    QmpStreamEmit *emit;
    void *opaque;

    /* Lexer */
    LexState lx;
    char quote;             /* of the string being read */
    GString *tok;           /* raw text of the scalar token being read */

    /* Streamer: the current message */
    int braces;
    int brackets;
    size_t size;            /* bytes of its tokens so far */
    bool skipping;          /* over a limit (reported): discard until end */

    /* Parser */
    GString *buf;           /* normalised text, while no error */
    char *error;            /* the message's first error, or NULL */
    int depth;
    Level levels[QMP_MAX_NESTING];
};

QmpStream *qmp_stream_new(QmpStreamEmit *emit, void *opaque)
{
    QmpStream *st = g_new0(QmpStream, 1);

    st->emit = emit;
    st->opaque = opaque;
    st->tok = g_string_new(NULL);
    st->buf = g_string_new(NULL);
    return st;
}

static void parser_pop(QmpStream *st)
{
    Level *lv = &st->levels[--st->depth];

    g_free(lv->key);
    lv->key = NULL;
    if (lv->keys) {
        g_hash_table_destroy(lv->keys);
        lv->keys = NULL;
    }
}

/* Forget the current message (the lexer state is the caller's). */
static void message_reset(QmpStream *st)
{
    while (st->depth > 0) {
        parser_pop(st);
    }
    g_string_truncate(st->tok, 0);
    g_string_truncate(st->buf, 0);
    g_clear_pointer(&st->error, g_free);
    st->braces = 0;
    st->brackets = 0;
    st->size = 0;
    st->skipping = false;
}

void qmp_stream_free(QmpStream *st)
{
    if (st) {
        message_reset(st);
        g_string_free(st->tok, TRUE);
        g_string_free(st->buf, TRUE);
        g_free(st);
    }
}

/* Remember @fmt as the message's error, unless it has one already. */
static void G_GNUC_PRINTF(2, 3) parse_error(QmpStream *st, const char *fmt,
                                            ...)
{
    va_list ap;

    if (st->error) {
        return;
    }
    va_start(ap, fmt);
    st->error = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    g_string_truncate(st->buf, 0);      /* no longer needed */
}

/* Over a limit: report @msg now and skip the rest of the message. */
static void stream_limit(QmpStream *st, const char *msg)
{
    if (!st->skipping) {
        st->emit(st->opaque, NULL, 0, msg);
    }
    while (st->depth > 0) {
        parser_pop(st);
    }
    g_string_truncate(st->tok, 0);
    g_string_truncate(st->buf, 0);
    g_clear_pointer(&st->error, g_free);
    st->skipping = true;
}

/* Append normalised text (while the message is error-free). */
static void put_len(QmpStream *st, const char *s, size_t len)
{
    if (!st->error && !st->skipping) {
        g_string_append_len(st->buf, s, len);
    }
}

static void put(QmpStream *st, char c)
{
    put_len(st, &c, 1);
}

/* Scalars */

/* The value of 4 hex digits at @p, or -1. */
static int hex4(const char *p)
{
    int v = 0;

    for (int i = 0; i < 4; i++) {
        int d = g_ascii_xdigit_value(p[i]);

        if (d < 0) {
            return -1;
        }
        v = v * 16 + d;
    }
    return v;
}

/*
 * Read the \u escape whose digits start at *@pp (a surrogate pair takes
 * two) and advance past it; -1 after reporting an error.
 */
static gunichar unicode_escape(QmpStream *st, const char **pp)
{
    const char *p = *pp;
    int cp = hex4(p);

    if (cp >= 0xd800 && cp <= 0xdbff) {
        int low = p[4] == '\\' && p[5] == 'u' ? hex4(p + 6) : -1;

        if (low < 0xdc00 || low > 0xdfff) {
            cp = -1;
        } else {
            cp = 0x10000 + ((cp - 0xd800) << 10) + (low - 0xdc00);
            p += 6;
        }
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        cp = -1;
    }
    if (cp < 0) {
        parse_error(st, "JSON parse error, \\u%.4s is not a valid Unicode "
                    "character", *pp);
        return -1;
    }
    if (cp == 0) {
        parse_error(st, "JSON parse error, \\u0000 is not supported");
        return -1;
    }
    *pp = p + 4;
    return cp;
}

/*
 * Decode the string token in st->tok (quotes included) into @out as
 * UTF-8; false after reporting the first error in it.
 */
static bool decode_string(QmpStream *st, GString *out)
{
    const char *p = st->tok->str + 1;
    const char *end = st->tok->str + st->tok->len - 1;

    while (p < end) {
        unsigned char c = *p;
        gunichar cp;

        if (c == '\\') {
            /* The lexer saw to it that a character follows. */
            p += 2;
            switch (p[-1]) {
            case '"': case '\'': case '\\': case '/':
                g_string_append_c(out, p[-1]);
                continue;
            case 'b':
                g_string_append_c(out, '\b');
                continue;
            case 'f':
                g_string_append_c(out, '\f');
                continue;
            case 'n':
                g_string_append_c(out, '\n');
                continue;
            case 'r':
                g_string_append_c(out, '\r');
                continue;
            case 't':
                g_string_append_c(out, '\t');
                continue;
            case 'u':
                cp = unicode_escape(st, &p);
                if (cp == (gunichar)-1) {
                    return false;
                }
                g_string_append_unichar(out, cp);
                continue;
            default:
                parse_error(st, "JSON parse error, invalid escape sequence "
                            "in string");
                return false;
            }
        }
        if (c < 0x80) {
            g_string_append_c(out, c);
            p++;
            continue;
        }
        if (c == 0xc0 && p + 1 < end && (unsigned char)p[1] == 0x80) {
            /* QEMU takes this overlong form as U+0000. */
            parse_error(st, "JSON parse error, \\u0000 is not supported");
            return false;
        }
        cp = g_utf8_get_char_validated(p, end - p);
        if (cp == (gunichar)-1 || cp == (gunichar)-2) {
            parse_error(st, "JSON parse error, invalid UTF-8 sequence in "
                        "string");
            return false;
        }
        g_string_append_len(out, p, g_utf8_next_char(p) - p);
        p = g_utf8_next_char(p);
    }
    return true;
}

/* Append @s as a JSON string. */
static void put_json_string(QmpStream *st, const GString *s)
{
    put(st, '"');
    for (size_t i = 0; i < s->len; i++) {
        unsigned char c = s->str[i];
        char esc[8];

        if (c == '"' || c == '\\') {
            put(st, '\\');
            put(st, c);
        } else if (c < 0x20) {
            g_snprintf(esc, sizeof(esc), "\\u%04x", c);
            put_len(st, esc, 6);
        } else {
            put(st, c);
        }
    }
    put(st, '"');
}

/*
 * Check the scalar token in st->tok and append its normalised text; for a
 * string, *@str gets its decoded text (g_free it).  False after reporting
 * an error.
 */
static bool put_scalar(QmpStream *st, TokenType type, char **str)
{
    const char *t = st->tok->str;

    switch (type) {
    case TOK_KEYWORD:
        if (strcmp(t, "true") && strcmp(t, "false") && strcmp(t, "null")) {
            parse_error(st, "JSON parse error, invalid keyword '%s'", t);
            return false;
        }
        put_len(st, t, st->tok->len);
        return true;
    case TOK_INTEGER:
        errno = 0;
        g_ascii_strtoll(t, NULL, 10);
        if (errno != ERANGE) {
            put_len(st, t, st->tok->len);
            return true;
        }
        /* Beyond int64: a double, as QEMU makes it. */
        if (isinf(g_ascii_strtod(t, NULL))) {
            parse_error(st, "JSON parse error, number too large");
            return false;
        }
        put_len(st, t, st->tok->len);
        put_len(st, ".0", 2);
        return true;
    case TOK_FLOAT:
        if (isinf(g_ascii_strtod(t, NULL))) {
            parse_error(st, "JSON parse error, number too large");
            return false;
        }
        put_len(st, t, st->tok->len);
        return true;
    case TOK_STRING: {
        g_autoptr(GString) s = g_string_new(NULL);

        if (!decode_string(st, s)) {
            return false;
        }
        put_json_string(st, s);
        *str = g_strdup(s->str);
        return true;
    }
    default:
        g_assert_not_reached();
    }
}

/* Parser */

/*
 * A value is complete (@str: its text if it is a string, taken over):
 * move its level on.  At top level the message is complete.
 */
static void value_done(QmpStream *st, char *str)
{
    Level *lv = st->depth ? &st->levels[st->depth - 1] : NULL;

    if (!lv) {
        g_free(str);
    } else if (lv->expect == EX_KEY_OR_END || lv->expect == EX_KEY) {
        if (!str) {
            parse_error(st, "JSON parse error, key is not a string in "
                        "object");
            return;
        }
        lv->key = str;
        lv->expect = EX_COLON;
    } else if (lv->open == '[') {
        g_free(str);
        lv->expect = EX_ARRAY_SEP;
    } else {
        g_free(str);
        if (!lv->keys) {
            lv->keys = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                             NULL);
        }
        if (g_hash_table_contains(lv->keys, lv->key)) {
            parse_error(st, "JSON parse error, duplicate key");
            return;
        }
        g_hash_table_add(lv->keys, g_steal_pointer(&lv->key));
        lv->expect = EX_OBJECT_SEP;
    }
}

/* A token where a value (or a key) belongs. */
static void parse_value(QmpStream *st, TokenType type)
{
    char *str = NULL;

    switch (type) {
    case TOK_LCURLY:
    case TOK_LSQUARE: {
        /* The streamer's nesting limit keeps depth within the array. */
        Level *lv = &st->levels[st->depth++];

        lv->open = type == TOK_LCURLY ? '{' : '[';
        lv->expect = type == TOK_LCURLY ? EX_KEY_OR_END : EX_VALUE_OR_END;
        put(st, lv->open);
        return;
    }
    case TOK_STRING:
    case TOK_INTEGER:
    case TOK_FLOAT:
    case TOK_KEYWORD:
        if (put_scalar(st, type, &str)) {
            value_done(st, str);
        }
        return;
    default:
        parse_error(st, "JSON parse error, expecting value");
        return;
    }
}

static void parse_close(QmpStream *st, char c)
{
    put(st, c);
    parser_pop(st);
    value_done(st, NULL);
}

/* Check one token against the grammar (until the first error). */
static void parse_token(QmpStream *st, TokenType type)
{
    Level *lv = st->depth ? &st->levels[st->depth - 1] : NULL;

    if (st->error || st->skipping) {
        return;
    }
    switch (lv ? lv->expect : EX_VALUE) {
    case EX_COLON:
        if (type != TOK_COLON) {
            parse_error(st, "JSON parse error, missing : in object pair");
            return;
        }
        put(st, ':');
        lv->expect = EX_VALUE;
        return;
    case EX_OBJECT_SEP:
        if (type == TOK_RCURLY) {
            parse_close(st, '}');
        } else if (type == TOK_COMMA) {
            put(st, ',');
            lv->expect = EX_KEY;
        } else {
            parse_error(st, "JSON parse error, expected separator in dict");
        }
        return;
    case EX_ARRAY_SEP:
        if (type == TOK_RSQUARE) {
            parse_close(st, ']');
        } else if (type == TOK_COMMA) {
            put(st, ',');
            lv->expect = EX_VALUE;
        } else {
            parse_error(st, "JSON parse error, expected separator in list");
        }
        return;
    case EX_KEY_OR_END:
        if (type == TOK_RCURLY) {
            parse_close(st, '}');
            return;
        }
        break;
    case EX_VALUE_OR_END:
        if (type == TOK_RSQUARE) {
            parse_close(st, ']');
            return;
        }
        break;
    default:
        break;
    }
    parse_value(st, type);
}

/* Streamer */

/* The message is complete: hand it on, or its first error. */
static void message_done(QmpStream *st)
{
    if (st->skipping) {
        /* already reported */
    } else if (st->error) {
        st->emit(st->opaque, NULL, 0, st->error);
    } else {
        st->emit(st->opaque, st->buf->str, st->buf->len, NULL);
    }
    message_reset(st);
}

/* A complete token (a scalar's text is in st->tok). */
static void stream_token(QmpStream *st, TokenType type)
{
    st->lx = LX_START;
    switch (type) {
    case TOK_LCURLY:
        st->braces++;
        break;
    case TOK_RCURLY:
        st->braces--;
        break;
    case TOK_LSQUARE:
        st->brackets++;
        break;
    case TOK_RSQUARE:
        st->brackets--;
        break;
    default:
        break;
    }
    st->size += type >= TOK_STRING ? st->tok->len : 1;
    if (st->size > QMP_MAX_MESSAGE_SIZE) {
        stream_limit(st, "JSON token size limit exceeded");
    } else if (st->braces + st->brackets > QMP_MAX_NESTING) {
        stream_limit(st, "JSON nesting depth limit exceeded");
    }
    parse_token(st, type);
    g_string_truncate(st->tok, 0);
    if ((st->braces > 0 || st->brackets > 0) &&
        st->braces >= 0 && st->brackets >= 0) {
        return;
    }
    message_done(st);
}

/* Lexer */

/* Append a byte to the token being read (not while skipping). */
static void lex_add(QmpStream *st, char c)
{
    if (st->skipping) {
        return;
    }
    if (st->size + st->tok->len >= QMP_MAX_MESSAGE_SIZE) {
        stream_limit(st, "JSON token size limit exceeded");
        return;
    }
    g_string_append_c(st->tok, c);
}

/* @c cannot continue the token: report it, drop the message, recover. */
static void lex_error(QmpStream *st, char c)
{
    if (!st->skipping) {
        g_autofree char *msg = NULL;

        g_string_append_c(st->tok, c);
        /* The token as a C string: it ends at a NUL byte, as in QEMU. */
        msg = g_strdup_printf("JSON parse error, stray '%s'", st->tok->str);
        st->emit(st->opaque, NULL, 0, msg);
    }
    message_reset(st);
    st->lx = LX_RECOVERY;
}

static bool is_structural(unsigned char c, TokenType *type)
{
    switch (c) {
    case '{': *type = TOK_LCURLY; return true;
    case '}': *type = TOK_RCURLY; return true;
    case '[': *type = TOK_LSQUARE; return true;
    case ']': *type = TOK_RSQUARE; return true;
    case ',': *type = TOK_COMMA; return true;
    case ':': *type = TOK_COLON; return true;
    default: return false;
    }
}

/* Bytes that may not appear in a string, even after a backslash. */
static bool bad_in_string(unsigned char c)
{
    return c < 0x20 || c >= 0xfe;
}

static void lex_start(QmpStream *st, unsigned char c)
{
    TokenType type;

    if (is_structural(c, &type)) {
        stream_token(st, type);
    } else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
        /* whitespace */
    } else if (c == '"' || c == '\'') {
        st->quote = c;
        st->lx = LX_STRING;
        lex_add(st, c);
    } else if (c == '-' || g_ascii_isdigit(c) || g_ascii_islower(c)) {
        st->lx = c == '-' ? LX_NEG : c == '0' ? LX_ZERO :
                 g_ascii_isdigit(c) ? LX_INT : LX_KEYWORD;
        lex_add(st, c);
    } else {
        lex_error(st, c);
    }
}

/* Feed one byte. */
static void lex_char(QmpStream *st, unsigned char c)
{
    TokenType type;

    switch (st->lx) {
    case LX_START:
        lex_start(st, c);
        return;
    case LX_RECOVERY:
        if (is_structural(c, &type) || c == '\r' || c == '\n') {
            st->lx = LX_START;
            lex_start(st, c);
        } else if ((c < 0x20 && c != '\t') || c >= 0xfe) {
            lex_error(st, c);
        }
        return;
    case LX_STRING:
        if (bad_in_string(c)) {
            lex_error(st, c);
            return;
        }
        lex_add(st, c);
        if (c == '\\') {
            st->lx = LX_ESCAPE;
        } else if (c == st->quote) {
            stream_token(st, TOK_STRING);
        }
        return;
    case LX_ESCAPE:
        if (bad_in_string(c)) {
            lex_error(st, c);
            return;
        }
        lex_add(st, c);
        st->lx = LX_STRING;
        return;
    case LX_NEG:
        if (!g_ascii_isdigit(c)) {
            lex_error(st, c);
            return;
        }
        st->lx = c == '0' ? LX_ZERO : LX_INT;
        lex_add(st, c);
        return;
    case LX_ZERO:
        if (g_ascii_isdigit(c)) {
            lex_error(st, c);
            return;
        }
        if (c == '.') {
            st->lx = LX_POINT;
            lex_add(st, c);
            return;
        }
        stream_token(st, TOK_INTEGER);
        break;
    case LX_INT:
        if (g_ascii_isdigit(c) || c == '.' || c == 'e' || c == 'E') {
            st->lx = g_ascii_isdigit(c) ? LX_INT : c == '.' ? LX_POINT
                                                             : LX_EXP_E;
            lex_add(st, c);
            return;
        }
        stream_token(st, TOK_INTEGER);
        break;
    case LX_POINT:
    case LX_EXP_SIGN:
        if (!g_ascii_isdigit(c)) {
            lex_error(st, c);
            return;
        }
        st->lx = st->lx == LX_POINT ? LX_FRAC : LX_EXP;
        lex_add(st, c);
        return;
    case LX_FRAC:
        if (g_ascii_isdigit(c) || c == 'e' || c == 'E') {
            st->lx = g_ascii_isdigit(c) ? LX_FRAC : LX_EXP_E;
            lex_add(st, c);
            return;
        }
        stream_token(st, TOK_FLOAT);
        break;
    case LX_EXP_E:
        if (!g_ascii_isdigit(c) && c != '+' && c != '-') {
            lex_error(st, c);
            return;
        }
        st->lx = g_ascii_isdigit(c) ? LX_EXP : LX_EXP_SIGN;
        lex_add(st, c);
        return;
    case LX_EXP:
        if (g_ascii_isdigit(c)) {
            lex_add(st, c);
            return;
        }
        stream_token(st, TOK_FLOAT);
        break;
    case LX_KEYWORD:
        if (g_ascii_islower(c)) {
            lex_add(st, c);
            return;
        }
        stream_token(st, TOK_KEYWORD);
        break;
    }
    /* A number or keyword ended before @c, which starts the next token. */
    lex_start(st, c);
}

void qmp_stream_feed(QmpStream *st, const char *data, size_t len)
{
    for (size_t i = 0; i < len; i++) {
        lex_char(st, data[i]);
    }
}

/* Parsing one message */

JsonNode *qmp_parse_message(const char *json, size_t len, Error **errp)
{
    g_autoptr(JsonParser) parser = json_parser_new();
    g_autoptr(GError) gerr = NULL;
    JsonNode *root;

    /* The stream checked the grammar; this cannot fail on its output. */
    if (!json_parser_load_from_data(parser, json, len, &gerr) ||
        !(root = json_parser_steal_root(parser))) {
        error_setg(errp, "JSON parse error, expecting value");
        return NULL;
    }
    return root;
}
