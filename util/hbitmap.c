/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Hierarchical bitmap.
 *
 * Layout.  Level 0 is the real bitmap: one bit per granule, packed into
 * 64-bit words.  Every level above summarises the one below it: bit j of
 * level L + 1 is set exactly when word j of level L is non-zero.  Levels are
 * added until one holds a single word, so a bitmap of n granules has about
 * log64(n) + 1 levels (at most 11 for 2^63 granules), and every level has at
 * least one word even when the bitmap is empty.
 *
 * Invariants, true between any two calls:
 * (a) bits of level 0 at or past hb->bits are clear, and so are the bits of
 *     an upper level at or past the word count of the level below;
 * (b) the summary rule above holds for every pair of adjacent levels;
 * (c) hb->count is the number of set bits in level 0.
 *
 * Setting a range walks the covered words of level 0, then the covered bits
 * of the level above, and so on, stopping at the first level where no word
 * went from zero to non-zero: the levels above it already say "non-zero".
 * Clearing does the same for words that went from non-zero to zero.  Both
 * cost O(range / 64) plus O(levels).
 *
 * Searching for a set bit looks at the current word of level 0 first; if the
 * rest of it is empty it climbs to the first level that has a set bit to the
 * right of the current position, then follows the lowest set bits down.  It
 * touches at most two words per level.  Searching for a clear bit cannot use
 * the summaries (they say "non-zero", not "full") and scans level 0.
 *
 * Iterators hold only a position and re-read the bitmap on each step, which
 * is what makes changing or truncating the bitmap under them harmless.
 */
#include "util/osdep.h"
#include "util/hbitmap.h"

#define HB_WORD_BITS 64
#define HB_LOG_WORD_BITS 6
#define HB_MAX_LEVELS 12

struct HBitmap {
    /* Size in items, as given to hbitmap_alloc() or hbitmap_truncate(). */
    uint64_t orig_size;
    /* Number of granules (bits of level 0): orig_size / granule, rounded up */
    uint64_t bits;
    /* Set bits in level 0. */
    uint64_t count;
    int granularity;
    int nlevels;
    /* levels[0] is the bitmap proper, levels[nlevels - 1] has one word. */
    uint64_t *levels[HB_MAX_LEVELS];
    /* Number of words in each level. */
    uint64_t words[HB_MAX_LEVELS];
};

static uint64_t hb_words_for(uint64_t bits)
{
    uint64_t words = (bits >> HB_LOG_WORD_BITS) +
                     ((bits & (HB_WORD_BITS - 1)) != 0);

    return words ? words : 1;
}

/* Number of granules needed for @size items, without overflowing. */
static uint64_t hb_bits_for(uint64_t size, int granularity)
{
    uint64_t mask = (UINT64_C(1) << granularity) - 1;

    return (size >> granularity) + ((size & mask) != 0);
}

/* Bits of word @w that fall in the bit range [@first, @last]. */
static uint64_t hb_word_mask(uint64_t w, uint64_t first, uint64_t last)
{
    unsigned lo = (w == first >> HB_LOG_WORD_BITS) ? first % HB_WORD_BITS : 0;
    unsigned hi = (w == last >> HB_LOG_WORD_BITS) ?
                  last % HB_WORD_BITS : HB_WORD_BITS - 1;

    return (~UINT64_C(0) << lo) & (~UINT64_C(0) >> (HB_WORD_BITS - 1 - hi));
}

/*
 * Set bits [@first, @last] of level 0 (with @last < hb->bits) and update the
 * summaries and the count.
 */
static void hb_set_bits(HBitmap *hb, uint64_t first, uint64_t last)
{
    int level;

    for (level = 0; level < hb->nlevels; level++) {
        uint64_t *words = hb->levels[level];
        uint64_t fw = first >> HB_LOG_WORD_BITS;
        uint64_t lw = last >> HB_LOG_WORD_BITS;
        bool woke = false;
        uint64_t w;

        for (w = fw; w <= lw; w++) {
            uint64_t mask = hb_word_mask(w, first, last);
            uint64_t old = words[w];

            if (level == 0) {
                hb->count += __builtin_popcountll(mask & ~old);
            }
            words[w] = old | mask;
            woke |= old == 0;
        }
        if (!woke) {
            /* Every word was non-zero already: upper levels are right. */
            break;
        }
        /* All words in [fw, lw] are non-zero now. */
        first = fw;
        last = lw;
    }
}

/* Clear bits [@first, @last] of level 0; the counterpart of hb_set_bits(). */
static void hb_reset_bits(HBitmap *hb, uint64_t first, uint64_t last)
{
    int level;

    for (level = 0; level < hb->nlevels; level++) {
        uint64_t *words = hb->levels[level];
        uint64_t fw = first >> HB_LOG_WORD_BITS;
        uint64_t lw = last >> HB_LOG_WORD_BITS;
        bool emptied = false;
        uint64_t w;

        for (w = fw; w <= lw; w++) {
            uint64_t mask = hb_word_mask(w, first, last);
            uint64_t old = words[w];

            if (level == 0) {
                hb->count -= __builtin_popcountll(mask & old);
            }
            words[w] = old & ~mask;
            emptied |= old != 0 && words[w] == 0;
        }
        if (!emptied) {
            break;
        }
        /*
         * Words strictly inside [fw, lw] were fully covered and are zero;
         * the two end words may still hold bits outside the range.
         */
        if (words[fw] != 0) {
            fw++;
        }
        if (words[lw] != 0) {
            if (lw == 0) {
                break;
            }
            lw--;
        }
        if (fw > lw) {
            break;
        }
        first = fw;
        last = lw;
    }
}

/*
 * Find the first set bit of level 0 at or after @bit.  Return true and store
 * it in @found, or return false if there is none.
 */
static bool hb_find_set(const HBitmap *hb, uint64_t bit, uint64_t *found)
{
    uint64_t pos = bit;
    uint64_t cur;
    int level;

    if (pos >= hb->bits) {
        return false;
    }
    /* Climb until some level has a set bit at or after pos. */
    for (level = 0;; level++) {
        uint64_t w = pos >> HB_LOG_WORD_BITS;

        cur = hb->levels[level][w] & (~UINT64_C(0) << (pos % HB_WORD_BITS));
        if (cur) {
            break;
        }
        if (level + 1 == hb->nlevels) {
            return false;
        }
        /* Continue with the next word of this level, i.e. a bit above. */
        pos = w + 1;
        if (pos >= hb->words[level]) {
            return false;
        }
    }
    /* Descend, taking the lowest set bit of each word. */
    pos = (pos & ~(uint64_t)(HB_WORD_BITS - 1)) + __builtin_ctzll(cur);
    while (level > 0) {
        level--;
        cur = hb->levels[level][pos];
        assert(cur != 0);
        pos = (pos << HB_LOG_WORD_BITS) + __builtin_ctzll(cur);
    }
    *found = pos;
    return true;
}

/*
 * Find the first clear bit of level 0 in [@bit, @last], with @last <
 * hb->bits.  Return true and store it in @found, or return false.
 */
static bool hb_find_zero(const HBitmap *hb, uint64_t bit, uint64_t last,
                         uint64_t *found)
{
    const uint64_t *words = hb->levels[0];
    uint64_t w = bit >> HB_LOG_WORD_BITS;
    uint64_t lw = last >> HB_LOG_WORD_BITS;
    uint64_t cur = ~words[w] & (~UINT64_C(0) << (bit % HB_WORD_BITS));

    while (cur == 0) {
        if (w == lw) {
            return false;
        }
        cur = ~words[++w];
    }
    *found = (w << HB_LOG_WORD_BITS) + __builtin_ctzll(cur);
    return *found <= last;
}

/*
 * (Re)build every level above level 0 from level 0, freeing the old ones.
 * hb->bits and hb->levels[0] must already be final.
 */
static void hb_build_summaries(HBitmap *hb)
{
    int level;

    for (level = 1; level < hb->nlevels; level++) {
        g_free(hb->levels[level]);
        hb->levels[level] = NULL;
    }
    hb->words[0] = hb_words_for(hb->bits);
    for (level = 0; hb->words[level] > 1; level++) {
        const uint64_t *below = hb->levels[level];
        uint64_t n = hb->words[level];
        uint64_t *above;
        uint64_t w;

        assert(level + 1 < HB_MAX_LEVELS);
        hb->words[level + 1] = hb_words_for(n);
        above = g_new0(uint64_t, hb->words[level + 1]);
        for (w = 0; w < n; w++) {
            if (below[w]) {
                above[w >> HB_LOG_WORD_BITS] |=
                    UINT64_C(1) << (w % HB_WORD_BITS);
            }
        }
        hb->levels[level + 1] = above;
    }
    hb->nlevels = level + 1;
}

HBitmap *hbitmap_alloc(uint64_t size, int granularity)
{
    HBitmap *hb = g_new0(HBitmap, 1);

    assert(granularity >= 0 && granularity < 64);
    assert(size <= INT64_MAX);
    hb->granularity = granularity;
    hb->orig_size = size;
    hb->bits = hb_bits_for(size, granularity);
    hb->levels[0] = g_new0(uint64_t, hb_words_for(hb->bits));
    hb->nlevels = 1;
    hb_build_summaries(hb);
    return hb;
}

void hbitmap_free(HBitmap *hb)
{
    int level;

    if (!hb) {
        return;
    }
    for (level = 0; level < hb->nlevels; level++) {
        g_free(hb->levels[level]);
    }
    g_free(hb);
}

void hbitmap_truncate(HBitmap *hb, uint64_t size)
{
    uint64_t new_bits = hb_bits_for(size, hb->granularity);
    uint64_t old_words = hb->words[0];
    uint64_t new_words = hb_words_for(new_bits);

    assert(size <= INT64_MAX);
    if (new_bits < hb->bits) {
        /* Keeps invariant (a) and the count right for the smaller size. */
        hb_reset_bits(hb, new_bits, hb->bits - 1);
    }
    hb->orig_size = size;
    hb->bits = new_bits;
    if (new_words != old_words) {
        hb->levels[0] = g_renew(uint64_t, hb->levels[0], new_words);
        if (new_words > old_words) {
            memset(hb->levels[0] + old_words, 0,
                   (new_words - old_words) * sizeof(uint64_t));
        }
    }
    hb_build_summaries(hb);
}

int hbitmap_granularity(const HBitmap *hb)
{
    return hb->granularity;
}

uint64_t hbitmap_size(const HBitmap *hb)
{
    return hb->orig_size;
}

/* Assert that [@start, @start + @count) lies inside @hb. */
static void hb_check_range(const HBitmap *hb, uint64_t start, uint64_t count)
{
    assert(start <= hb->orig_size);
    assert(count <= hb->orig_size - start);
}

void hbitmap_set(HBitmap *hb, uint64_t start, uint64_t count)
{
    hb_check_range(hb, start, count);
    if (count == 0) {
        return;
    }
    hb_set_bits(hb, start >> hb->granularity,
                (start + count - 1) >> hb->granularity);
}

void hbitmap_reset(HBitmap *hb, uint64_t start, uint64_t count)
{
    uint64_t gran_mask = (UINT64_C(1) << hb->granularity) - 1;

    hb_check_range(hb, start, count);
    assert((start & gran_mask) == 0);
    assert((count & gran_mask) == 0 || start + count == hb->orig_size);
    if (count == 0) {
        return;
    }
    hb_reset_bits(hb, start >> hb->granularity,
                  (start + count - 1) >> hb->granularity);
}

void hbitmap_reset_all(HBitmap *hb)
{
    int level;

    for (level = 0; level < hb->nlevels; level++) {
        memset(hb->levels[level], 0, hb->words[level] * sizeof(uint64_t));
    }
    hb->count = 0;
}

void hbitmap_set_all(HBitmap *hb)
{
    hbitmap_set(hb, 0, hb->orig_size);
}

bool hbitmap_get(const HBitmap *hb, uint64_t item)
{
    uint64_t bit;

    assert(item < hb->orig_size);
    bit = item >> hb->granularity;
    return (hb->levels[0][bit >> HB_LOG_WORD_BITS] >> (bit % HB_WORD_BITS)) &
           1;
}

uint64_t hbitmap_count(const HBitmap *hb)
{
    uint64_t items = hb->count << hb->granularity;
    uint64_t full = hb->bits << hb->granularity;

    /*
     * A partial last granule counts only up to the size.  Neither shift can
     * overflow: hb->bits << granularity is orig_size rounded up to a power
     * of two that divides 2^63, so it is at most 2^63.
     */
    if (full != hb->orig_size && hbitmap_get(hb, hb->orig_size - 1)) {
        items -= full - hb->orig_size;
    }
    return items;
}

bool hbitmap_is_empty(const HBitmap *hb)
{
    return hb->count == 0;
}

/*
 * Turn the (start, count) arguments of the public search functions into an
 * end item, clipped to the size.  Return false if the range is empty.
 */
static bool hb_search_end(const HBitmap *hb, int64_t start, int64_t count,
                          uint64_t *end)
{
    assert(start >= 0);
    assert(count >= -1);
    if ((uint64_t)start >= hb->orig_size || count == 0) {
        return false;
    }
    if (count == -1 || (uint64_t)count > hb->orig_size - start) {
        *end = hb->orig_size;
    } else {
        *end = start + count;
    }
    return true;
}

int64_t hbitmap_next_dirty(const HBitmap *hb, int64_t start, int64_t count)
{
    uint64_t end, bit, item;

    if (!hb_search_end(hb, start, count, &end) ||
        !hb_find_set(hb, (uint64_t)start >> hb->granularity, &bit)) {
        return -1;
    }
    item = bit << hb->granularity;
    if (item >= end) {
        return -1;
    }
    return MAX(item, (uint64_t)start);
}

int64_t hbitmap_next_zero(const HBitmap *hb, int64_t start, int64_t count)
{
    uint64_t end, bit;

    if (!hb_search_end(hb, start, count, &end) ||
        !hb_find_zero(hb, (uint64_t)start >> hb->granularity,
                      (end - 1) >> hb->granularity, &bit)) {
        return -1;
    }
    return MAX(bit << hb->granularity, (uint64_t)start);
}

bool hbitmap_next_dirty_area(const HBitmap *hb, int64_t start, int64_t end,
                             int64_t max_dirty_count,
                             int64_t *dirty_start, int64_t *dirty_count)
{
    int64_t first, limit, zero;

    assert(start >= 0 && end >= 0);
    assert(max_dirty_count > 0);
    end = MIN((uint64_t)end, hb->orig_size);
    if (start >= end) {
        return false;
    }
    first = hbitmap_next_dirty(hb, start, end - start);
    if (first < 0) {
        return false;
    }
    limit = first + MIN(end - first, max_dirty_count);
    zero = hbitmap_next_zero(hb, first, limit - first);
    *dirty_start = first;
    *dirty_count = (zero < 0 ? limit : zero) - first;
    return true;
}

bool hbitmap_is_all_set(const HBitmap *hb, uint64_t start, uint64_t count)
{
    hb_check_range(hb, start, count);
    if (count == 0) {
        return true;
    }
    return hbitmap_next_zero(hb, start, count) < 0;
}

void hbitmap_iter_init(HBitmapIter *hbi, const HBitmap *hb, uint64_t first)
{
    hbi->hb = hb;
    hbi->pos = first >> hb->granularity;
}

int64_t hbitmap_iter_next(HBitmapIter *hbi)
{
    const HBitmap *hb = hbi->hb;
    uint64_t bit;

    if (!hb_find_set(hb, hbi->pos, &bit)) {
        return -1;
    }
    hbi->pos = bit + 1;
    return bit << hb->granularity;
}
