/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Hierarchical bitmap: a dirty map over a linear range of "items" (usually
 * bytes), with one bit per granule of 2^granularity items.
 *
 * Contracts shared by every function below:
 * - The size is counted in items and may be anything up to INT64_MAX; it
 *   need not be a multiple of the granule.  The last granule may then be
 *   partial: it covers the items from its start up to the size only.
 * - An item is "set" when the bit of its granule is set.  Setting any item of
 *   a granule sets the whole granule; clearing works on whole granules only.
 * - Ranges are given as (start, count) in items and must lie inside the
 *   bitmap (start + count <= size) unless a function says otherwise;
 *   violations are caught by assert().
 * - Searches and counts never look at the bitmap words one by one when a
 *   whole region is empty: an upper level records which words below are
 *   non-zero, so finding the next set item costs O(levels), not O(size).
 * - An HBitmap has no lock; the caller serialises all access to it.
 */
#ifndef EMBLOCK_UTIL_HBITMAP_H
#define EMBLOCK_UTIL_HBITMAP_H

#include "util/osdep.h"

typedef struct HBitmap HBitmap;

/*
 * Iterator over the set granules of an HBitmap, in increasing order.  The
 * fields are public only so that the iterator can live on the stack; use the
 * functions below rather than touching them.
 */
typedef struct HBitmapIter {
    const HBitmap *hb;
    /* Index of the first granule (bit) not yet looked at. */
    uint64_t pos;
} HBitmapIter;

/*
 * Create a bitmap of @size items (at most INT64_MAX), all clear, with one bit
 * per 2^@granularity items (0 <= @granularity <= 63).  Never returns NULL.
 */
HBitmap *hbitmap_alloc(uint64_t size, int granularity);

/* Free @hb; NULL is accepted and ignored. */
void hbitmap_free(HBitmap *hb);

/*
 * Change the size of @hb to @size items (at most INT64_MAX), keeping the
 * granularity and the state of every granule that still exists.  Granules
 * added when growing are clear.  If the old size ended inside a granule, the
 * items that growing adds to that granule share its bit (and so its state).
 * Iterators on @hb stay valid (see hbitmap_iter_next()).
 */
void hbitmap_truncate(HBitmap *hb, uint64_t size);

/* log2 of the number of items per bit, as given to hbitmap_alloc(). */
int hbitmap_granularity(const HBitmap *hb);

/* The size of @hb in items. */
uint64_t hbitmap_size(const HBitmap *hb);

/* Set every granule that touches [@start, @start + @count). */
void hbitmap_set(HBitmap *hb, uint64_t start, uint64_t count);

/*
 * Clear the granules covering [@start, @start + @count).  @start must be a
 * multiple of the granule size, and so must @count unless the range ends
 * exactly at the size of the bitmap (so that a partial last granule can be
 * cleared).  Partial granules are never cleared by rounding.
 */
void hbitmap_reset(HBitmap *hb, uint64_t start, uint64_t count);

/* Clear the whole bitmap. */
void hbitmap_reset_all(HBitmap *hb);

/* Set the whole bitmap. */
void hbitmap_set_all(HBitmap *hb);

/* Whether @item (< size) is set. */
bool hbitmap_get(const HBitmap *hb, uint64_t item);

/*
 * Number of set items: the set granules times the granule size, where a
 * partial last granule counts only the items inside the bitmap.  O(1).
 */
uint64_t hbitmap_count(const HBitmap *hb);

/* Whether no item is set.  O(1). */
bool hbitmap_is_empty(const HBitmap *hb);

/*
 * First set item in [@start, @start + @count), or -1 if there is none.
 * @start >= 0; @count == -1 means "up to the end", and a range running past
 * the end of the bitmap is clipped to it.  The result is @start itself when
 * @start lies in a set granule, and a granule start otherwise.
 */
int64_t hbitmap_next_dirty(const HBitmap *hb, int64_t start, int64_t count);

/*
 * First clear item in [@start, @start + @count), or -1 if there is none.
 * Range rules and result alignment as for hbitmap_next_dirty().
 */
int64_t hbitmap_next_zero(const HBitmap *hb, int64_t start, int64_t count);

/*
 * Find the first run of set items that starts in [@start, @end), clipped to
 * @end and to at most @max_dirty_count items.  @end may exceed the size (it
 * is clipped to it); @start >= 0 and @max_dirty_count > 0 (pass INT64_MAX
 * for no limit).  On success store the run in @dirty_start and @dirty_count
 * (> 0) and return true; return false, leaving both untouched, when
 * [@start, @end) holds no set item.
 */
bool hbitmap_next_dirty_area(const HBitmap *hb, int64_t start, int64_t end,
                             int64_t max_dirty_count,
                             int64_t *dirty_start, int64_t *dirty_count);

/*
 * Whether every item in [@start, @start + @count) is set (true for an empty
 * range).  The range must lie inside the bitmap.
 */
bool hbitmap_is_all_set(const HBitmap *hb, uint64_t start, uint64_t count);

/*
 * Start iterating over the set granules of @hb from the granule containing
 * item @first (any value; at or past the size the iteration is empty).
 */
void hbitmap_iter_init(HBitmapIter *hbi, const HBitmap *hb, uint64_t first);

/*
 * Return the first item of the next set granule, or -1 once there is none.
 * Results are multiples of the granule size and strictly increasing; the
 * first one may be below the @first given to hbitmap_iter_init() when that
 * was not granule-aligned (it is then the start of @first's granule).
 * Changes to the bitmap (including hbitmap_truncate()) after
 * hbitmap_iter_init() are allowed: granules set or cleared ahead of the
 * iterator may or may not be reported, but every result lies inside the
 * bitmap as sized at the time of the call, and the iterator never reads
 * outside it.  Each call costs O(levels) at worst.
 */
int64_t hbitmap_iter_next(HBitmapIter *hbi);

G_DEFINE_AUTOPTR_CLEANUP_FUNC(HBitmap, hbitmap_free)

#endif /* EMBLOCK_UTIL_HBITMAP_H */
