/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * "test-mem": an in-memory block driver for unit tests of the block core.
 * It logs every request it receives, can pretend to need alignment, cap
 * transfers, refuse zero writes, and make requests sleep so tests can hold
 * them in flight.
 */
#ifndef EMBLOCK_TEST_MEM_DRIVER_H
#define EMBLOCK_TEST_MEM_DRIVER_H

#include "block/block-int.h"

typedef enum MemOp {
    MEM_READ, MEM_WRITE, MEM_ZERO, MEM_DISCARD, MEM_FLUSH,
} MemOp;

typedef struct MemRequest {
    MemOp op;
    int64_t offset;
    int64_t bytes;
    BdrvRequestFlags flags;
    bool done;              /* logged again when the request completes */
} MemRequest;

typedef struct MemState {
    uint8_t *data;
    int64_t size;
    uint32_t align;
    int64_t max_transfer;
    bool can_zero;          /* has a working zero-write callback */
    int64_t delay_ns;       /* each request sleeps this long */
    unsigned in_driver;     /* requests currently inside the driver */
    GArray *log;            /* MemRequest, in arrival (and completion) order */
} MemState;

/* The driver: options "size", "align", "max-transfer", "can-zero", "delay-ns". */
extern const BlockDriver mem_driver;

/*
 * Open a test-mem node with @opts (dotted keys without "driver", may be
 * empty) and return it; aborts on failure.
 */
BlockDriverState *mem_open(const char *opts);
MemState *mem_state(BlockDriverState *bs);
/* Forget the logged requests. */
void mem_log_clear(BlockDriverState *bs);
/* Number of logged arrivals of @op. */
unsigned mem_log_count(BlockDriverState *bs, MemOp op);

#endif /* EMBLOCK_TEST_MEM_DRIVER_H */
