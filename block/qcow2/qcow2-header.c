/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * qcow2 header: parsing and validation at open, header extensions, header
 * writes, and image creation (the snapshot table is read in
 * qcow2-snapshot.c).
 *
 * Nothing read from the image is trusted.  Every header field is checked
 * before it is used to size an allocation or compute an offset: cluster
 * bits 9..21, header length inside cluster 0, tables cluster aligned, below
 * 2^56 and starting inside the file, the L1 table at most 32 MiB and large
 * enough for the virtual size, the refcount table at most 8 MiB, at most
 * 65536 snapshots in at most 64 MiB, a backing file name of at most 1023
 * bytes inside cluster 0.  Features we cannot honour are refused by name:
 * unknown incompatible bits (named from the image's own feature table when
 * it has one), encryption, external data files, extended L2 entries, zstd
 * compression; a corrupt image is refused read/write.
 *
 * Header writes come in two sizes.  qcow2_update_header() rewrites all of
 * cluster 0 (fields, extensions, backing file name) the way QEMU lays it
 * out: the header, the backing format extension, the feature name table
 * (v3 with clusters above 4 KiB), extensions we kept without understanding
 * them, the end marker, then the backing file name.  Single fields (the
 * dirty and corrupt bits, the L1 and refcount table pointers, the size) are
 * written in place with qcow2_write_header_field().  Both count in
 * bs->metadata_stats.header_writes.
 *
 * Creation follows qemu-img so that fresh images are byte-identical to
 * QEMU's: a minimal header with a one-cluster refcount table in cluster 1
 * and one refcount block in cluster 2, then the image is opened with this
 * driver, resized (which allocates the L1 table in cluster 3, and whatever
 * the size needs beyond), optionally preallocated, and its header is
 * rewritten with the backing file and feature table.
 */
#include "block/qcow2/qcow2.h"
#include "block/block-backend.h"

#include <json-glib/json-glib.h>

const char *const qcow2_runtime_opts[] = {
    "file",
    "backing",
    "l2-cache-size",
    "l2-cache-entry-size",
    "refcount-cache-size",
    "cache-size",
    "cache-clean-interval",
    "lazy-refcounts",
    "pass-discard-request",
    "pass-discard-snapshot",
    "pass-discard-other",
    "overlap-check",
    NULL,
};

const char *const qcow2_create_opts[] = {
    "filename",
    "size",
    "compat",
    "version",
    "cluster_size",
    "refcount_bits",
    "lazy_refcounts",
    "backing_file",
    "backing_fmt",
    "preallocation",
    "extended_l2",
    "compression_type",
    NULL,
};

/* The feature name table QEMU writes (type, bit, name). */
static const struct {
    uint8_t type;
    uint8_t bit;
    const char *name;
} qcow2_feature_names[] = {
    { 0, 0, "dirty bit" },
    { 0, 1, "corrupt bit" },
    { 0, 2, "external data file" },
    { 0, 3, "compression type" },
    { 0, 4, "extended L2 entries" },
    { 1, 0, "lazy refcounts" },
    { 2, 0, "bitmaps" },
    { 2, 1, "raw external data" },
};

#define FEATURE_ENTRY_SIZE 48
#define FEATURE_NAME_SIZE 46

static inline uint32_t be32_at(const uint8_t *p)
{
    return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
           ((uint32_t)p[2] << 8) | p[3];
}

static inline uint64_t be64_at(const uint8_t *p)
{
    return ((uint64_t)be32_at(p) << 32) | be32_at(p + 4);
}

void qcow2_free_header_state(BDRVQcow2State *s)
{
    g_free(s->unknown_header_fields);
    s->unknown_header_fields = NULL;
    g_list_free_full(s->unknown_exts, g_free);
    s->unknown_exts = NULL;
    g_free(s->backing_file);
    s->backing_file = NULL;
    g_free(s->backing_format);
    s->backing_format = NULL;
    for (uint32_t i = 0; s->snapshots && i < s->nb_snapshots; i++) {
        g_free(s->snapshots[i].id_str);
        g_free(s->snapshots[i].name);
    }
    g_free(s->snapshots);
    s->snapshots = NULL;
}

/*
 * Validate the table @name of @entries entries of @entry_len bytes at
 * @offset: at most @max_bytes long ("@name too large", -EFBIG), cluster
 * aligned and ending below 2^56 ("@name offset invalid", -EINVAL; QEMU's
 * two messages), and, when it is not empty, starting inside the file
 * (-EINVAL; QEMU would read zeroes there).
 */
static int validate_table(BDRVQcow2State *s, uint64_t offset,
                          uint64_t entries, uint64_t entry_len,
                          uint64_t max_bytes, int64_t file_len,
                          const char *name, Error **errp)
{
    uint64_t size;

    if (entries > max_bytes / entry_len) {
        error_setg(errp, "%s too large", name);
        return -EFBIG;
    }
    size = entries * entry_len;
    if (offset_into_cluster(s, offset) || offset >= QCOW2_MAX_HOST_OFFSET ||
        size > QCOW2_MAX_HOST_OFFSET - offset) {
        error_setg(errp, "%s offset invalid", name);
        return -EINVAL;
    }
    if (size && offset >= (uint64_t)file_len) {
        error_setg(errp, "%s starts past the end of the file", name);
        return -EINVAL;
    }
    return 0;
}

/*
 * "Unsupported qcow2 feature(s): ..." naming the incompatible bits in
 * @mask, from the image's feature table where it names them.
 */
static void report_unsupported_features(const uint8_t *table, uint32_t len,
                                        uint64_t mask, Error **errp)
{
    g_autoptr(GString) names = g_string_new(NULL);

    for (uint32_t i = 0; table && i + FEATURE_ENTRY_SIZE <= len;
         i += FEATURE_ENTRY_SIZE) {
        const uint8_t *e = table + i;

        if (e[0] == 0 && e[1] < 64 && (mask & (1ULL << e[1]))) {
            g_autofree char *name =
                g_strndup((const char *)e + 2, FEATURE_NAME_SIZE);

            g_string_append_printf(names, "%s%s", names->len ? ", " : "",
                                   name);
            mask &= ~(1ULL << e[1]);
        }
    }
    if (mask) {
        g_string_append_printf(names, "%sUnknown incompatible feature: %"
                               PRIx64, names->len ? ", " : "", mask);
    }
    error_setg(errp, "Unsupported qcow2 feature(s): %s", names->str);
}

/*
 * Walk the extensions in @hdr[start, end).  With @only_features, just find
 * the feature name table (*ftable, *flen); otherwise store what we use and
 * keep the rest.
 */
static int parse_extensions(BDRVQcow2State *s, const uint8_t *hdr,
                            uint64_t start, uint64_t end, bool only_features,
                            const uint8_t **ftable, uint32_t *flen,
                            Error **errp)
{
    uint64_t off = start;

    while (off < end) {
        uint32_t type, len;
        const uint8_t *data = hdr + off + 8;

        /* The 8-byte extension header itself must end before @end. */
        if (end - off < 8) {
            error_setg(errp, "Header extension too large");
            return -EINVAL;
        }
        type = be32_at(hdr + off);
        len = be32_at(hdr + off + 4);
        if (type == QCOW2_EXT_END) {
            break;
        }
        if (len > end - off - 8) {
            error_setg(errp, "Header extension too large");
            return -EINVAL;
        }
        if (type == QCOW2_EXT_FEATURE_TABLE) {
            if (ftable) {
                *ftable = data;
                *flen = len;
            }
        } else if (only_features) {
            /* nothing */
        } else if (type == QCOW2_EXT_BACKING_FORMAT) {
            if (len >= QCOW_MAX_BACKING_FORMAT) {
                error_setg(errp, "ERROR: ext_backing_format: len=%" PRIu32
                           " too large (>=%d)", len,
                           QCOW_MAX_BACKING_FORMAT);
                return -EINVAL;
            }
            g_free(s->backing_format);
            s->backing_format = g_strndup((const char *)data, len);
        } else {
            Qcow2UnknownExt *ext = g_malloc(sizeof(*ext) + len);

            ext->magic = type;
            ext->len = len;
            memcpy(ext->data, data, len);
            s->unknown_exts = g_list_append(s->unknown_exts, ext);
        }
        off += 8 + ROUND_UP((uint64_t)len, 8);
    }
    return 0;
}

/*
 * Check the header's feature and encoding fields, in QEMU's order: the
 * compression type and its feature bit, unknown feature bits, the corrupt
 * bit, then the features we lack.
 */
static int check_features(BlockDriverState *bs, const uint8_t *hdr,
                          uint64_t ext_end, int flags, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint64_t unknown = s->incompatible_features & ~QCOW2_INCOMPAT_MASK;
    bool comp_bit = s->incompatible_features & QCOW2_INCOMPAT_COMPRESSION;

    if (s->compression_type > 1) {
        error_setg(errp, "qcow2: unknown compression type: %u",
                   s->compression_type);
        return -ENOTSUP;
    }
    if (comp_bit != (s->compression_type != 0)) {
        error_setg(errp, "qcow2: Compression type incompatible feature bit "
                   "must %sbe set", comp_bit ? "not " : "");
        return -EINVAL;
    }
    if (unknown) {
        const uint8_t *ftable = NULL;
        uint32_t flen = 0;

        parse_extensions(s, hdr, s->header_length, ext_end, true, &ftable,
                         &flen, NULL);
        report_unsupported_features(ftable, flen, unknown, errp);
        return -ENOTSUP;
    }
    if ((s->incompatible_features & QCOW2_INCOMPAT_CORRUPT) &&
        (flags & BDRV_O_RDWR)) {
        error_setg(errp, "qcow2: Image is corrupt; cannot be opened "
                   "read/write");
        return -EACCES;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_DATA_FILE) {
        error_setg(errp, "qcow2: External data files are not supported");
        return -ENOTSUP;
    }
    if (s->incompatible_features & QCOW2_INCOMPAT_EXTL2) {
        error_setg(errp, "qcow2: Extended L2 entries are not supported");
        return -ENOTSUP;
    }
    if (s->compression_type == 1) {
        error_setg(errp, "qcow2: zstd compression is not supported");
        return -ENOTSUP;
    }
    return 0;
}

/* Fill the geometry fields from cluster_bits and refcount_order. */
static void set_geometry(BDRVQcow2State *s)
{
    s->cluster_size = 1 << s->cluster_bits;
    s->l2_bits = s->cluster_bits - 3;
    s->l2_size = 1 << s->l2_bits;
    s->refcount_bits = 1 << s->refcount_order;
    s->refcount_max = s->refcount_bits == 64 ? UINT64_MAX :
                      (1ULL << s->refcount_bits) - 1;
    s->refcount_block_bits = s->cluster_bits + 3 - s->refcount_order;
    s->refcount_block_size = 1 << s->refcount_block_bits;
    s->csize_shift = 62 - (s->cluster_bits - 8);
    s->csize_mask = (1ULL << (s->cluster_bits - 8)) - 1;
    s->cluster_offset_mask = (1ULL << s->csize_shift) - 1;
}

/* Validate and load the table pointers (L1, refcount table, snapshots). */
static int check_tables(BlockDriverState *bs, const uint8_t *hdr,
                        int64_t file_len, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint32_t reftable_clusters = be32_at(hdr + QCOW2_HDR_REFTABLE_CLUSTERS);
    uint32_t l1_size = be32_at(hdr + QCOW2_HDR_L1_SIZE);
    uint64_t l1_offset = be64_at(hdr + QCOW2_HDR_L1_OFFSET);
    uint32_t nb_snapshots = be32_at(hdr + QCOW2_HDR_NB_SNAPSHOTS);
    uint64_t snapshots_offset = be64_at(hdr + QCOW2_HDR_SNAPSHOTS_OFFSET);
    uint64_t min_l1;
    int ret;

    s->refcount_table_offset = be64_at(hdr + QCOW2_HDR_REFTABLE_OFFSET);
    if (reftable_clusters == 0) {
        error_setg(errp, "Image does not contain a reference count table");
        return -EINVAL;
    }
    ret = validate_table(s, s->refcount_table_offset, reftable_clusters,
                         s->cluster_size, QCOW_MAX_REFTABLE_SIZE, file_len,
                         "Reference count table", errp);
    if (ret < 0) {
        return ret;
    }
    s->refcount_table_size = (uint64_t)reftable_clusters <<
                             (s->cluster_bits - 3);

    /* Entries are at least 40 bytes; qcow2_read_snapshots() checks more. */
    ret = validate_table(s, snapshots_offset, nb_snapshots, 40,
                         40 * QCOW_MAX_SNAPSHOTS, file_len, "Snapshot table",
                         errp);
    if (ret < 0) {
        return ret;
    }
    s->nb_snapshots = nb_snapshots;
    s->snapshots_offset = snapshots_offset;

    ret = validate_table(s, l1_offset, l1_size, sizeof(uint64_t),
                         QCOW_MAX_L1_SIZE, file_len, "Active L1 table", errp);
    if (ret < 0) {
        return ret;
    }
    if (s->size > (uint64_t)BDRV_MAX_LENGTH ||
        size_to_l1(s, s->size) > INT_MAX) {
        error_setg(errp, "Image is too big");
        return -EFBIG;
    }
    min_l1 = size_to_l1(s, s->size);
    if (l1_size < min_l1) {
        error_setg(errp, "L1 table is too small");
        return -EINVAL;
    }
    s->l1_size = l1_size;
    s->l1_table_offset = l1_offset;
    return 0;
}

static int coroutine_fn read_l1_table(BlockDriverState *bs, Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    s->l1_table = g_try_new0(uint64_t, MAX(s->l1_size, 1));
    if (!s->l1_table) {
        error_setg(errp, "Could not allocate L1 table");
        return -ENOMEM;
    }
    if (s->l1_size) {
        ret = bdrv_co_pread(bs->file, s->l1_table_offset,
                            s->l1_size * sizeof(uint64_t), s->l1_table, 0);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not read L1 table");
            return ret;
        }
    }
    for (uint32_t i = 0; i < s->l1_size; i++) {
        s->l1_table[i] = GUINT64_FROM_BE(s->l1_table[i]);
    }
    return 0;
}

int coroutine_fn qcow2_read_header(BlockDriverState *bs, int flags,
                                   Error **errp)
{
    BDRVQcow2State *s = bs->opaque;
    uint8_t first[QCOW2_V3_HEADER_LENGTH];
    g_autofree uint8_t *hdr = NULL;
    uint64_t backing_offset, ext_end;
    uint32_t version, cluster_bits, backing_len, crypt;
    int64_t file_len = bdrv_co_getlength(bs->file->bs);
    int ret;

    if (file_len < 0) {
        error_setg_errno(errp, -file_len, "Could not get the file size");
        return file_len;
    }
    ret = bdrv_co_pread(bs->file, 0, sizeof(first), first, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        return ret;
    }
    if (be32_at(first) != QCOW_MAGIC) {
        error_setg(errp, "Image is not in qcow2 format");
        return -EINVAL;
    }
    version = be32_at(first + QCOW2_HDR_VERSION);
    if (version < 2 || version > 3) {
        error_setg(errp, "Unsupported qcow2 version %" PRIu32, version);
        return -ENOTSUP;
    }
    cluster_bits = be32_at(first + QCOW2_HDR_CLUSTER_BITS);
    if (cluster_bits < MIN_CLUSTER_BITS || cluster_bits > MAX_CLUSTER_BITS) {
        error_setg(errp, "Unsupported cluster size: 2^%" PRIu32,
                   cluster_bits);
        return -EINVAL;
    }
    s->qcow_version = version;
    s->cluster_bits = cluster_bits;
    s->cluster_size = 1 << cluster_bits;

    /* All of cluster 0: the header, its extensions, the backing name. */
    hdr = g_malloc0(s->cluster_size);
    ret = bdrv_co_pread(bs->file, 0, s->cluster_size, hdr, 0);
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not read qcow2 header");
        return ret;
    }

    if (version == 2) {
        s->header_length = QCOW2_V2_HEADER_LENGTH;
        s->refcount_order = 4;
    } else {
        s->incompatible_features = be64_at(hdr + QCOW2_HDR_INCOMPAT);
        s->compatible_features = be64_at(hdr + QCOW2_HDR_COMPAT);
        s->autoclear_features = be64_at(hdr + QCOW2_HDR_AUTOCLEAR);
        s->header_length = be32_at(hdr + QCOW2_HDR_LENGTH);
        if (s->header_length < QCOW2_V3_MIN_HEADER_LENGTH) {
            error_setg(errp, "qcow2 header too short");
            return -EINVAL;
        }
        if (s->header_length > (uint32_t)s->cluster_size) {
            error_setg(errp, "qcow2 header exceeds cluster size");
            return -EINVAL;
        }
        if (be32_at(hdr + QCOW2_HDR_REFCOUNT_ORDER) > 6) {
            error_setg(errp, "Reference count entry width too large; may "
                       "not exceed 64 bits");
            return -EINVAL;
        }
        s->refcount_order = be32_at(hdr + QCOW2_HDR_REFCOUNT_ORDER);
        if (s->header_length > QCOW2_HDR_COMPRESSION) {
            s->compression_type = hdr[QCOW2_HDR_COMPRESSION];
        }
        if (s->header_length > QCOW2_V3_HEADER_LENGTH) {
            s->unknown_header_fields_size =
                s->header_length - QCOW2_V3_HEADER_LENGTH;
            s->unknown_header_fields =
                g_memdup2(hdr + QCOW2_V3_HEADER_LENGTH,
                          s->unknown_header_fields_size);
        }
    }

    backing_offset = be64_at(hdr + QCOW2_HDR_BACKING_OFFSET);
    if (backing_offset > (uint64_t)s->cluster_size) {
        error_setg(errp, "Invalid backing file offset");
        return -EINVAL;
    }
    ext_end = backing_offset ? backing_offset : (uint64_t)s->cluster_size;

    ret = check_features(bs, hdr, ext_end, flags, errp);
    if (ret < 0) {
        return ret;
    }
    crypt = be32_at(hdr + QCOW2_HDR_CRYPT);
    if (crypt > 2) {
        error_setg(errp, "Unsupported encryption method %" PRIu32, crypt);
        return -EINVAL;
    }
    if (crypt) {
        error_setg(errp, "qcow2: Encrypted images are not supported");
        return -ENOTSUP;
    }

    set_geometry(s);
    s->size = be64_at(hdr + QCOW2_HDR_SIZE);
    ret = check_tables(bs, hdr, file_len, errp);
    if (ret < 0) {
        return ret;
    }
    ret = parse_extensions(s, hdr, s->header_length, ext_end, false, NULL,
                           NULL, errp);
    if (ret < 0) {
        return ret;
    }

    if (backing_offset) {
        backing_len = be32_at(hdr + QCOW2_HDR_BACKING_SIZE);
        if (backing_len > MIN(QCOW_MAX_BACKING_NAME,
                              s->cluster_size - backing_offset)) {
            error_setg(errp, "Backing file name too long");
            return -EINVAL;
        }
        s->backing_file = g_strndup((const char *)hdr + backing_offset,
                                    backing_len);
    }
    return read_l1_table(bs, errp);
}

int coroutine_fn qcow2_write_header_field(BlockDriverState *bs, int offset,
                                          const void *buf, int bytes)
{
    bs->metadata_stats.header_writes++;
    return bdrv_co_pwrite(bs->file, offset, bytes, buf, 0);
}

/* Append extension @type with @len bytes of @data at *pos (8-aligned). */
static bool add_extension(uint8_t *buf, size_t buflen, size_t *pos,
                          uint32_t type, const void *data, uint32_t len)
{
    size_t need = 8 + ROUND_UP((size_t)len, 8);

    if (*pos + need > buflen) {
        return false;
    }
    put_be32(buf + *pos, type);
    put_be32(buf + *pos + 4, len);
    if (len) {
        memcpy(buf + *pos + 8, data, len);
    }
    *pos += need;
    return true;
}

int coroutine_fn qcow2_update_header(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    size_t buflen = s->cluster_size, pos;
    g_autofree uint8_t *buf = g_malloc0(buflen);
    bool ok = true;

    put_be32(buf, QCOW_MAGIC);
    put_be32(buf + QCOW2_HDR_VERSION, s->qcow_version);
    put_be32(buf + QCOW2_HDR_CLUSTER_BITS, s->cluster_bits);
    put_be64(buf + QCOW2_HDR_SIZE, s->size);
    put_be32(buf + QCOW2_HDR_L1_SIZE, s->l1_size);
    put_be64(buf + QCOW2_HDR_L1_OFFSET, s->l1_table_offset);
    put_be64(buf + QCOW2_HDR_REFTABLE_OFFSET, s->refcount_table_offset);
    put_be32(buf + QCOW2_HDR_REFTABLE_CLUSTERS,
             s->refcount_table_size * sizeof(uint64_t) >> s->cluster_bits);
    put_be32(buf + QCOW2_HDR_NB_SNAPSHOTS, s->nb_snapshots);
    put_be64(buf + QCOW2_HDR_SNAPSHOTS_OFFSET, s->snapshots_offset);
    if (s->qcow_version >= 3) {
        s->header_length = QCOW2_V3_HEADER_LENGTH +
                           s->unknown_header_fields_size;
        put_be64(buf + QCOW2_HDR_INCOMPAT, s->incompatible_features);
        put_be64(buf + QCOW2_HDR_COMPAT, s->compatible_features);
        put_be64(buf + QCOW2_HDR_AUTOCLEAR, s->autoclear_features);
        put_be32(buf + QCOW2_HDR_REFCOUNT_ORDER, s->refcount_order);
        put_be32(buf + QCOW2_HDR_LENGTH, s->header_length);
        buf[QCOW2_HDR_COMPRESSION] = s->compression_type;
        if (s->unknown_header_fields_size) {
            memcpy(buf + QCOW2_V3_HEADER_LENGTH, s->unknown_header_fields,
                   s->unknown_header_fields_size);
        }
    }
    pos = s->header_length;

    if (s->backing_file && s->backing_format) {
        ok &= add_extension(buf, buflen, &pos, QCOW2_EXT_BACKING_FORMAT,
                            s->backing_format, strlen(s->backing_format));
    }
    if (s->qcow_version >= 3 && s->cluster_size > 4096) {
        uint8_t table[G_N_ELEMENTS(qcow2_feature_names) * FEATURE_ENTRY_SIZE];

        memset(table, 0, sizeof(table));
        for (size_t i = 0; i < G_N_ELEMENTS(qcow2_feature_names); i++) {
            uint8_t *e = table + i * FEATURE_ENTRY_SIZE;

            e[0] = qcow2_feature_names[i].type;
            e[1] = qcow2_feature_names[i].bit;
            memcpy(e + 2, qcow2_feature_names[i].name,
                   strlen(qcow2_feature_names[i].name));
        }
        ok &= add_extension(buf, buflen, &pos, QCOW2_EXT_FEATURE_TABLE,
                            table, sizeof(table));
    }
    for (GList *l = s->unknown_exts; l && ok; l = l->next) {
        Qcow2UnknownExt *ext = l->data;

        ok &= add_extension(buf, buflen, &pos, ext->magic, ext->data,
                            ext->len);
    }
    ok &= add_extension(buf, buflen, &pos, QCOW2_EXT_END, NULL, 0);
    if (ok && s->backing_file) {
        size_t len = strlen(s->backing_file);

        if (pos + len > buflen) {
            ok = false;
        } else {
            memcpy(buf + pos, s->backing_file, len);
            put_be64(buf + QCOW2_HDR_BACKING_OFFSET, pos);
            put_be32(buf + QCOW2_HDR_BACKING_SIZE, len);
        }
    }
    if (!ok) {
        return -ENOSPC;
    }
    return qcow2_write_header_field(bs, 0, buf, buflen);
}

static int coroutine_fn write_incompat(BlockDriverState *bs, uint64_t value)
{
    uint8_t v[8];

    put_be64(v, value);
    return qcow2_write_header_field(bs, QCOW2_HDR_INCOMPAT, v, sizeof(v));
}

int coroutine_fn qcow2_mark_dirty(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (s->qcow_version < 3 ||
        (s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = bdrv_co_flush(bs->file->bs);
    if (ret == 0) {
        ret = write_incompat(bs, s->incompatible_features |
                             QCOW2_INCOMPAT_DIRTY);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret == 0) {
        s->incompatible_features |= QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

int coroutine_fn qcow2_mark_clean(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_DIRTY)) {
        return 0;
    }
    ret = qcow2_flush_caches(bs);
    if (ret == 0) {
        ret = write_incompat(bs, s->incompatible_features &
                             ~QCOW2_INCOMPAT_DIRTY);
    }
    if (ret == 0) {
        ret = bdrv_co_flush(bs->file->bs);
    }
    if (ret == 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_DIRTY;
    }
    return ret;
}

int coroutine_fn qcow2_mark_consistent(BlockDriverState *bs)
{
    BDRVQcow2State *s = bs->opaque;
    int ret;

    if (!(s->incompatible_features & QCOW2_INCOMPAT_CORRUPT)) {
        return 0;
    }
    ret = write_incompat(bs, s->incompatible_features &
                         ~QCOW2_INCOMPAT_CORRUPT);
    if (ret == 0) {
        s->incompatible_features &= ~QCOW2_INCOMPAT_CORRUPT;
    }
    return ret;
}

void coroutine_fn qcow2_signal_corruption(BlockDriverState *bs,
                                          const char *fmt, ...)
{
    BDRVQcow2State *s = bs->opaque;
    g_autofree char *msg = NULL;
    va_list ap;

    if (s->broken) {
        return;
    }
    va_start(ap, fmt);
    msg = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    s->broken = true;
    if (bs->read_only) {
        fprintf(stderr, "qcow2: Image is corrupt: %s; further non-fatal "
                "corruption events will be suppressed\n", msg);
        return;
    }
    fprintf(stderr, "qcow2: Marking image as corrupt: %s; further "
            "corruption events will be suppressed\n", msg);
    s->incompatible_features |= QCOW2_INCOMPAT_CORRUPT;
    if (s->qcow_version >= 3) {
        write_incompat(bs, s->incompatible_features);
        bdrv_co_flush(bs->file->bs);
    }
}

/* Image creation */

typedef struct Qcow2CreateParams {
    const char *filename;
    uint64_t size;
    int version;
    int cluster_bits;
    int refcount_order;
    bool lazy_refcounts;
    const char *backing_file;
    const char *backing_fmt;
    int prealloc;
} Qcow2CreateParams;

static int parse_create_opts(BlockOptions *opts, Qcow2CreateParams *p,
                             Error **errp)
{
    static const char *const compat_names[] = {
        "0.10", "1.1", "v2", "v3", NULL,
    };
    uint64_t cluster_size = 1 << DEFAULT_CLUSTER_BITS;
    int64_t refcount_bits = 16;
    bool extended_l2 = false;
    int compat = 1;
    const char *comp;

    memset(p, 0, sizeof(*p));
    p->filename = qdict_get_str(opts, "filename");
    p->backing_file = qdict_get_str(opts, "backing_file");
    p->backing_fmt = qdict_get_str(opts, "backing_fmt");
    if (!p->filename) {
        error_setg(errp, "Parameter 'filename' is required");
        return -EINVAL;
    }
    if (!qdict_haskey(opts, "size")) {
        error_setg(errp, "Parameter 'size' is required");
        return -EINVAL;
    }
    if (!qdict_get_size_opt(opts, "size", &p->size, errp) ||
        !qdict_get_enum_opt(opts, "compat", compat_names, &compat, errp) ||
        !qdict_get_enum_opt(opts, "version", compat_names, &compat, errp) ||
        !qdict_get_size_opt(opts, "cluster_size", &cluster_size, errp) ||
        !qdict_get_int_opt(opts, "refcount_bits", &refcount_bits, errp) ||
        !qdict_get_bool_opt(opts, "lazy_refcounts", &p->lazy_refcounts,
                            errp) ||
        !qdict_get_bool_opt(opts, "extended_l2", &extended_l2, errp) ||
        !qdict_get_enum_opt(opts, "preallocation", bdrv_prealloc_names,
                            &p->prealloc, errp)) {
        return -EINVAL;
    }
    p->version = (compat & 1) ? 3 : 2;
    if (p->size > (uint64_t)BDRV_MAX_LENGTH) {
        error_setg(errp, "Image size is too large");
        return -EFBIG;
    }
    p->size = ROUND_UP(p->size, BDRV_SECTOR_SIZE);
    if (cluster_size < 512 || cluster_size > 2 * MiB ||
        (cluster_size & (cluster_size - 1))) {
        error_setg(errp, "Cluster size must be a power of two between 512 "
                   "and 2048k");
        return -EINVAL;
    }
    p->cluster_bits = __builtin_ctzll(cluster_size);
    if (refcount_bits < 1 || refcount_bits > 64 ||
        (refcount_bits & (refcount_bits - 1))) {
        error_setg(errp, "Refcount width must be a power of two and may "
                   "not exceed 64 bits");
        return -EINVAL;
    }
    p->refcount_order = __builtin_ctzll(refcount_bits);
    if (p->version < 3 && refcount_bits != 16) {
        error_setg(errp, "Different refcount widths than 16 bits require "
                   "compatibility level 1.1 or above (use version=v3 or "
                   "greater)");
        return -EINVAL;
    }
    if (p->version < 3 && p->lazy_refcounts) {
        error_setg(errp, "Lazy refcounts only supported with compatibility "
                   "level 1.1 and above (use version=v3 or greater)");
        return -EINVAL;
    }
    if (p->backing_fmt && !p->backing_file) {
        error_setg(errp, "Backing format cannot be used without backing "
                   "file");
        return -EINVAL;
    }
    if (p->backing_file && strlen(p->backing_file) > QCOW_MAX_BACKING_NAME) {
        error_setg(errp, "Backing file name too long");
        return -EINVAL;
    }
    if (p->backing_file && p->prealloc != PREALLOC_MODE_OFF) {
        error_setg(errp, "Backing file and preallocation can only be used "
                   "at the same time if extended_l2 is on");
        return -EINVAL;
    }
    if (extended_l2) {
        error_setg(errp, "Extended L2 entries are not supported");
        return -ENOTSUP;
    }
    comp = qdict_get_str(opts, "compression_type");
    if (comp && strcmp(comp, "zlib")) {
        error_setg(errp, strcmp(comp, "zstd") ?
                   "Parameter 'compression-type' does not accept value '%s'"
                   : "Compression type '%s' is not supported", comp);
        return -EINVAL;
    }
    return 0;
}

/* Header, refcount table and one refcount block counting clusters 0-2. */
static int coroutine_fn write_minimal_image(const Qcow2CreateParams *p,
                                            Error **errp)
{
    int cs = 1 << p->cluster_bits;
    g_autofree uint8_t *buf = g_malloc0(3 * cs);
    g_autoptr(JsonObject) fopts = qdict_new();
    BlockDriverState *file_bs;
    BlockBackend *blk;
    BDRVQcow2State geo = {
        .cluster_bits = p->cluster_bits,
        .refcount_order = p->refcount_order,
    };
    int ret;

    put_be32(buf, QCOW_MAGIC);
    put_be32(buf + QCOW2_HDR_VERSION, p->version);
    put_be32(buf + QCOW2_HDR_CLUSTER_BITS, p->cluster_bits);
    put_be64(buf + QCOW2_HDR_REFTABLE_OFFSET, cs);
    put_be32(buf + QCOW2_HDR_REFTABLE_CLUSTERS, 1);
    if (p->version >= 3) {
        put_be64(buf + QCOW2_HDR_COMPAT,
                 p->lazy_refcounts ? QCOW2_COMPAT_LAZY_REFCOUNTS : 0);
        put_be32(buf + QCOW2_HDR_REFCOUNT_ORDER, p->refcount_order);
        put_be32(buf + QCOW2_HDR_LENGTH, QCOW2_V3_HEADER_LENGTH);
    }
    put_be64(buf + cs, 2 * (uint64_t)cs);
    set_geometry(&geo);
    for (int i = 0; i < 3; i++) {
        qcow2_refblock_set(&geo, buf + 2 * cs, i, 1);
    }

    qdict_put_str(fopts, "driver", "file");
    qdict_put_str(fopts, "filename", p->filename);
    file_bs = bdrv_open_options(fopts, errp);
    if (!file_bs) {
        return -EIO;
    }
    blk = blk_new_with_bs(file_bs, BLK_PERM_CONSISTENT_READ |
                          BLK_PERM_WRITE | BLK_PERM_RESIZE, BLK_PERM_ALL,
                          errp);
    bdrv_unref(file_bs);
    if (!blk) {
        return -EPERM;
    }
    /* The backend only writes inside the file: make it that long first. */
    ret = blk_co_truncate(blk, 3 * cs, false, PREALLOC_MODE_OFF, 0, NULL);
    if (ret == 0) {
        ret = blk_co_pwrite(blk, 0, 3 * cs, buf, 0);
    }
    if (ret == 0) {
        ret = blk_co_flush(blk);
    }
    if (ret < 0) {
        error_setg_errno(errp, -ret, "Could not write qcow2 header");
    }
    blk_unref(blk);
    return ret;
}

int coroutine_fn qcow2_co_create_opts(BlockOptions *opts, Error **errp)
{
    const BlockDriver *file_drv = bdrv_find_format("file");
    g_autoptr(JsonObject) fopts = qdict_new();
    g_autoptr(JsonObject) qopts = NULL;
    JsonObject *file;
    Qcow2CreateParams p;
    BlockDriverState *bs;
    BlockBackend *blk;
    BDRVQcow2State *s;
    int ret;

    ret = parse_create_opts(opts, &p, errp);
    if (ret < 0) {
        return ret;
    }
    qdict_put_str(fopts, "driver", "file");
    qdict_put_str(fopts, "filename", p.filename);
    qdict_put_int(fopts, "size", 0);
    ret = file_drv->bdrv_co_create_opts(fopts, errp);
    if (ret < 0) {
        return ret;
    }
    ret = write_minimal_image(&p, errp);
    if (ret < 0) {
        return ret;
    }

    /* Let the driver itself size and finish the image. */
    qopts = qdict_new();
    qdict_put_str(qopts, "driver", "qcow2");
    json_object_set_null_member(qopts, "backing");
    file = qdict_new();
    qdict_put_str(file, "driver", "file");
    qdict_put_str(file, "filename", p.filename);
    qdict_put_obj(qopts, "file", file);
    qdict_unref(file);
    bs = bdrv_open_options(qopts, errp);
    if (!bs) {
        return -EIO;
    }
    blk = blk_new_with_bs(bs, BLK_PERM_CONSISTENT_READ | BLK_PERM_WRITE |
                          BLK_PERM_RESIZE, BLK_PERM_ALL, errp);
    bdrv_unref(bs);
    if (!blk) {
        return -EPERM;
    }
    ret = blk_co_truncate(blk, p.size, true, p.prealloc, 0, errp);
    if (ret == 0 && p.backing_file) {
        s = bs->opaque;
        qemu_co_mutex_lock(&s->lock);
        s->backing_file = g_strdup(p.backing_file);
        s->backing_format = g_strdup(p.backing_fmt);
        ret = qcow2_update_header(bs);
        qemu_co_mutex_unlock(&s->lock);
    } else if (ret == 0) {
        s = bs->opaque;
        qemu_co_mutex_lock(&s->lock);
        ret = qcow2_update_header(bs);
        qemu_co_mutex_unlock(&s->lock);
    }
    if (ret < 0 && !(errp && *errp)) {
        error_setg_errno(errp, -ret, "Could not finish the qcow2 image");
    }
    if (ret == 0) {
        ret = blk_co_flush(blk);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Could not flush the new image");
        }
    }
    blk_unref(blk);
    return ret;
}
