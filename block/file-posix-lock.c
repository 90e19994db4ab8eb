/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * The `file` protocol driver: OFD locking.
 *
 * With locking=on (or auto, where OFD locks exist) the node mirrors its
 * cumulative permissions into open-file-description locks on the image,
 * as QEMU does: byte 100 + i is read-locked while permission bit i is
 * taken, byte 200 + i while it is not shared.  Another user asking for a
 * permission tests for any lock on the opposite byte.
 */
#include "block/file-posix.h"

#include <fcntl.h>

/* First lock byte for taken permissions, and for unshared ones. */
#define FILE_LOCK_PERM_BASE 100
#define FILE_LOCK_SHARED_BASE 200

/* Take (F_RDLCK) or drop (F_UNLCK) the OFD lock on one byte of @fd. */
static int file_lock_byte(int fd, int64_t byte, short type)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = type,
    };

    return fcntl(fd, F_OFD_SETLK, &fl) < 0 ? -errno : 0;
}

/* 1 if another open file holds a lock on @byte, 0 if not, or -errno. */
static int file_byte_locked_elsewhere(int fd, int64_t byte)
{
    struct flock fl = {
        .l_whence = SEEK_SET,
        .l_start = byte,
        .l_len = 1,
        .l_type = F_WRLCK,
    };

    if (fcntl(fd, F_OFD_GETLK, &fl) < 0) {
        return -errno;
    }
    return fl.l_type != F_UNLCK;
}

/* Bring the lock on @byte (tracked by @bit in *held) to @want. */
static int file_update_lock(int fd, int64_t byte, uint64_t *held,
                            uint64_t bit, bool want, bool only_add,
                            Error **errp)
{
    int ret;

    if (want && !(*held & bit)) {
        ret = file_lock_byte(fd, byte, F_RDLCK);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to lock byte %" PRId64,
                             byte);
            return ret;
        }
        *held |= bit;
    } else if (!want && (*held & bit) && !only_add) {
        ret = file_lock_byte(fd, byte, F_UNLCK);
        if (ret < 0) {
            error_setg_errno(errp, -ret, "Failed to unlock byte %" PRId64,
                             byte);
            return ret;
        }
        *held &= ~bit;
    }
    return 0;
}

/*
 * Make the lock bytes held on @fd match @perm (bytes 100 + i) and
 * @unshared (bytes 200 + i); *held_perm and *held_unshared record what is
 * held.  With @only_add nothing is released, so a permission change can
 * first hold the union of old and new and drop the rest once it is sure.
 */
int file_apply_locks(int fd, uint64_t *held_perm,
                     uint64_t *held_unshared, uint64_t perm,
                     uint64_t unshared, bool only_add, Error **errp)
{
    for (int i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
        uint64_t bit = 1ULL << i;
        int ret;

        ret = file_update_lock(fd, FILE_LOCK_PERM_BASE + i, held_perm, bit,
                               perm & bit, only_add, errp);
        if (ret == 0) {
            ret = file_update_lock(fd, FILE_LOCK_SHARED_BASE + i,
                                   held_unshared, bit, unshared & bit,
                                   only_add, errp);
        }
        if (ret < 0) {
            return ret;
        }
    }
    return 0;
}

/*
 * Check that no other user of the image refuses to share what we take
 * (@perm) or takes what we refuse to share (not in @shared).
 */
int file_check_locks(int fd, uint64_t perm, uint64_t shared,
                     const char *filename, Error **errp)
{
    for (int i = 0; (1ULL << i) <= BLK_PERM_ALL; i++) {
        uint64_t bit = 1ULL << i;
        int ret;

        if (perm & bit) {
            ret = file_byte_locked_elsewhere(fd, FILE_LOCK_SHARED_BASE + i);
            if (ret > 0) {
                error_setg(errp, "Failed to get \"%s\" lock\n"
                           "Is another process using the image [%s]?",
                           bdrv_perm_name(bit), filename);
                return -EAGAIN;
            }
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to check lock byte %d",
                                 FILE_LOCK_SHARED_BASE + i);
                return ret;
            }
        }
        if (!(shared & bit)) {
            ret = file_byte_locked_elsewhere(fd, FILE_LOCK_PERM_BASE + i);
            if (ret > 0) {
                error_setg(errp, "Failed to get shared \"%s\" lock\n"
                           "Is another process using the image [%s]?",
                           bdrv_perm_name(bit), filename);
                return -EAGAIN;
            }
            if (ret < 0) {
                error_setg_errno(errp, -ret, "Failed to check lock byte %d",
                                 FILE_LOCK_PERM_BASE + i);
                return ret;
            }
        }
    }
    return 0;
}

int file_set_perm(BlockDriverState *bs, uint64_t perm,
                  uint64_t shared, Error **errp)
{
    BDRVFileState *s = bs->opaque;
    uint64_t old_perm = s->locked_perm;
    uint64_t old_unshared = s->locked_unshared;
    uint64_t unshared = ~shared & BLK_PERM_ALL;
    int ret;

    if (!s->use_lock) {
        return 0;
    }
    /* Hold the union first: there is never a window without a lock. */
    ret = file_apply_locks(s->fd, &s->locked_perm, &s->locked_unshared,
                           old_perm | perm, old_unshared | unshared, true,
                           errp);
    if (ret == 0) {
        ret = file_check_locks(s->fd, perm, shared, bs->filename, errp);
    }
    if (ret < 0) {
        file_apply_locks(s->fd, &s->locked_perm, &s->locked_unshared,
                         old_perm, old_unshared, false, NULL);
        return ret;
    }
    return file_apply_locks(s->fd, &s->locked_perm, &s->locked_unshared,
                            perm, unshared, false, errp);
}
