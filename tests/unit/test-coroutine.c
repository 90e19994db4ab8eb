/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Tests for the coroutine core (util/coroutine.c): entry and yield order,
 * nesting, many live coroutines, stack pool reuse, the introspection calls,
 * the wake-up list, moving a coroutine between threads, and what the stack
 * switch must preserve: callee-saved registers, stack alignment and the
 * guard page.
 *
 * Every wait on the event loop is bounded (POLL_UNTIL); a test that would
 * hang fails instead.
 */
#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/aio.h"

#define TIMEOUT_NS (10 * 1000000000LL)

static void watchdog_cb(void *opaque)
{
    /* Only makes a blocking aio_poll() return; POLL_UNTIL checks the time. */
}

/*
 * Poll @ctx until @cond holds, failing the test after TIMEOUT_NS.  A timer
 * armed at the deadline guarantees that a blocking aio_poll() returns.
 */
#define POLL_UNTIL(ctx, cond)                                           \
    do {                                                                \
        int64_t deadline_ = get_clock_ns() + TIMEOUT_NS;                \
        QEMUTimer *wd_ = aio_timer_new((ctx), watchdog_cb, NULL);       \
                                                                        \
        timer_mod_ns(wd_, deadline_);                                   \
        while (!(cond)) {                                               \
            g_assert_cmpint(get_clock_ns(), <, deadline_);              \
            aio_poll((ctx), true);                                      \
        }                                                               \
        timer_free(wd_);                                                \
    } while (0)

/* A log of events, to check the order in which things ran. */
static GString *events;

static void event(const char *what)
{
    if (events->len) {
        g_string_append_c(events, ' ');
    }
    g_string_append(events, what);
}

static void events_reset(void)
{
    if (!events) {
        events = g_string_new(NULL);
    }
    g_string_truncate(events, 0);
}

static void events_assert(const char *expect)
{
    g_assert_cmpstr(events->str, ==, expect);
}

/* Basic entry: the coroutine runs to the end inside qemu_coroutine_enter. */

static void coroutine_fn set_flag(void *opaque)
{
    *(bool *)opaque = true;
}

static void test_basic(void)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(set_flag, &done);

    g_assert_nonnull(co);
    g_assert_false(done);
    qemu_coroutine_enter(co);
    g_assert_true(done);
}

/* Enter/yield order. */

static void coroutine_fn order_co(void *opaque)
{
    event("co:start");
    qemu_coroutine_yield();
    event("co:resumed");
    qemu_coroutine_yield();
    event("co:end");
}

static void test_order(void)
{
    Coroutine *co;

    events_reset();
    event("main:create");
    co = qemu_coroutine_create(order_co, NULL);
    event("main:enter1");
    qemu_coroutine_enter(co);
    event("main:enter2");
    qemu_coroutine_enter(co);
    event("main:enter3");
    qemu_coroutine_enter(co);
    event("main:done");
    events_assert("main:create main:enter1 co:start main:enter2 co:resumed "
                  "main:enter3 co:end main:done");
}

/* Yield many times, counting in both directions. */

static void coroutine_fn count_yields(void *opaque)
{
    unsigned *counter = opaque;

    while (*counter < 1000) {
        (*counter)++;
        qemu_coroutine_yield();
    }
}

static void test_yield_loop(void)
{
    unsigned counter = 0;
    unsigned entries = 0;
    Coroutine *co = qemu_coroutine_create(count_yields, &counter);

    /* 1000 yields, then one more entry to let it return. */
    while (entries <= 1000) {
        qemu_coroutine_enter(co);
        entries++;
        g_assert_cmpuint(counter, ==, MIN(entries, 1000));
    }
    g_assert_cmpuint(entries, ==, 1001);
}

/* Nesting: a coroutine entering another, several levels deep. */

typedef struct NestData {
    unsigned depth;
    unsigned max;
    unsigned reached;
    Coroutine *chain[16];
} NestData;

static void coroutine_fn nest_co(void *opaque)
{
    NestData *nd = opaque;
    unsigned level = nd->depth;
    char buf[32];

    g_assert_true(qemu_in_coroutine());
    nd->chain[level] = qemu_coroutine_self();
    nd->reached = MAX(nd->reached, level + 1);
    /* Every coroutine below us on the chain is still entered. */
    for (unsigned i = 0; i <= level; i++) {
        g_assert_true(qemu_coroutine_entered(nd->chain[i]));
    }
    snprintf(buf, sizeof(buf), "in%u", level);
    event(buf);
    if (level + 1 < nd->max) {
        nd->depth++;
        qemu_coroutine_enter(qemu_coroutine_create(nest_co, nd));
        nd->depth--;
    }
    /* Back from the nested one: we are the running coroutine again. */
    g_assert_true(qemu_coroutine_self() == nd->chain[level]);
    snprintf(buf, sizeof(buf), "out%u", level);
    event(buf);
}

static void test_nesting(void)
{
    NestData nd = { .max = 5 };

    events_reset();
    qemu_coroutine_enter(qemu_coroutine_create(nest_co, &nd));
    g_assert_cmpuint(nd.reached, ==, 5);
    g_assert_cmpuint(nd.depth, ==, 0);
    events_assert("in0 in1 in2 in3 in4 out4 out3 out2 out1 out0");
    g_assert_false(qemu_in_coroutine());
}

/* A nested coroutine that yields returns to the coroutine that entered it. */

static void coroutine_fn inner_yield_co(void *opaque)
{
    event("inner:1");
    qemu_coroutine_yield();
    event("inner:2");
}

static void coroutine_fn outer_co(void *opaque)
{
    Coroutine *inner = qemu_coroutine_create(inner_yield_co, NULL);

    event("outer:1");
    qemu_coroutine_enter(inner);
    event("outer:2");
    qemu_coroutine_yield();
    event("outer:3");
    qemu_coroutine_enter(inner);
    event("outer:4");
}

static void test_nested_yield(void)
{
    Coroutine *outer = qemu_coroutine_create(outer_co, NULL);

    events_reset();
    qemu_coroutine_enter(outer);
    event("main");
    qemu_coroutine_enter(outer);
    events_assert("outer:1 inner:1 outer:2 main outer:3 inner:2 outer:4");
}

/* qemu_coroutine_self(), qemu_in_coroutine(), qemu_coroutine_entered(). */

typedef struct SelfData {
    Coroutine *co;
    bool ran;
} SelfData;

static void coroutine_fn self_co(void *opaque)
{
    SelfData *sd = opaque;

    g_assert_true(qemu_in_coroutine());
    g_assert_true(qemu_coroutine_self() == sd->co);
    g_assert_true(qemu_coroutine_entered(sd->co));
    g_assert_true(qemu_coroutine_get_aio_context(sd->co) ==
                  qemu_get_current_aio_context());
    qemu_coroutine_yield();
    g_assert_true(qemu_coroutine_self() == sd->co);
    g_assert_true(qemu_coroutine_entered(sd->co));
    sd->ran = true;
}

static void test_self(void)
{
    SelfData sd = { 0 };
    Coroutine *leader = qemu_coroutine_self();

    g_assert_false(qemu_in_coroutine());
    g_assert_nonnull(leader);
    sd.co = qemu_coroutine_create(self_co, &sd);
    g_assert_false(qemu_coroutine_entered(sd.co));
    qemu_coroutine_enter(sd.co);
    /* Yielded: not entered any more; we are back on the leader. */
    g_assert_false(qemu_coroutine_entered(sd.co));
    g_assert_false(qemu_in_coroutine());
    g_assert_true(qemu_coroutine_self() == leader);
    g_assert_false(sd.ran);
    qemu_coroutine_enter(sd.co);
    g_assert_true(sd.ran);
}

/* qemu_coroutine_enter_if_inactive() skips a running coroutine. */

static void coroutine_fn if_inactive_co(void *opaque)
{
    unsigned *runs = opaque;

    (*runs)++;
    /* We are running, so this must not re-enter us. */
    qemu_coroutine_enter_if_inactive(qemu_coroutine_self());
    qemu_coroutine_yield();
    (*runs)++;
}

static void test_enter_if_inactive(void)
{
    unsigned runs = 0;
    Coroutine *co = qemu_coroutine_create(if_inactive_co, &runs);

    qemu_coroutine_enter_if_inactive(co);
    g_assert_cmpuint(runs, ==, 1);
    qemu_coroutine_enter_if_inactive(co);
    g_assert_cmpuint(runs, ==, 2);
}

/* 10,000 coroutines alive at the same time. */

#define MANY 10000

typedef struct ManyData {
    unsigned started;
    unsigned finished;
    unsigned order_errors;
} ManyData;

typedef struct ManyCo {
    ManyData *md;
    unsigned index;
    uint64_t stack_marker;
} ManyCo;

static void coroutine_fn many_co(void *opaque)
{
    ManyCo *mc = opaque;
    /* A value on our own stack, checked after the others ran. */
    volatile uint64_t marker = 0x5eed0000ULL + mc->index;

    if (mc->md->started != mc->index) {
        mc->md->order_errors++;
    }
    mc->md->started++;
    qemu_coroutine_yield();
    g_assert_cmpuint(marker, ==, 0x5eed0000ULL + mc->index);
    mc->md->finished++;
}

static void test_many_live(void)
{
    ManyData md = { 0 };
    ManyCo *mcs = g_new0(ManyCo, MANY);
    Coroutine **cos = g_new0(Coroutine *, MANY);

    for (unsigned i = 0; i < MANY; i++) {
        mcs[i].md = &md;
        mcs[i].index = i;
        cos[i] = qemu_coroutine_create(many_co, &mcs[i]);
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpuint(md.started, ==, MANY);
    g_assert_cmpuint(md.finished, ==, 0);
    for (unsigned i = 0; i < MANY; i++) {
        g_assert_false(qemu_coroutine_entered(cos[i]));
    }
    /* Resume in reverse order, to mix up the stacks. */
    for (unsigned i = MANY; i-- > 0;) {
        qemu_coroutine_enter(cos[i]);
    }
    g_assert_cmpuint(md.finished, ==, MANY);
    g_assert_cmpuint(md.order_errors, ==, 0);
    g_free(cos);
    g_free(mcs);
}

/* Finished coroutines give their stacks back to the pool. */

static void coroutine_fn yield_once(void *opaque)
{
    qemu_coroutine_yield();
}

static void test_pool_reuse(void)
{
    enum { BATCH = 64, ROUNDS = 50 };
    Coroutine *cos[BATCH];
    uint64_t after_warmup = 0;

    for (unsigned round = 0; round < ROUNDS; round++) {
        for (unsigned i = 0; i < BATCH; i++) {
            cos[i] = qemu_coroutine_create(yield_once, NULL);
            qemu_coroutine_enter(cos[i]);
        }
        for (unsigned i = 0; i < BATCH; i++) {
            qemu_coroutine_enter(cos[i]);
        }
        if (round == 0) {
            after_warmup = qemu_coroutine_stacks_allocated();
            g_assert_cmpuint(qemu_coroutine_pool_size(), >=, BATCH);
        }
    }
    g_assert_cmpuint(qemu_coroutine_stacks_allocated(), ==, after_warmup);

    /* Short-lived coroutines one at a time never map a stack either. */
    for (unsigned i = 0; i < 10000; i++) {
        bool done = false;

        qemu_coroutine_enter(qemu_coroutine_create(set_flag, &done));
        g_assert_true(done);
    }
    g_assert_cmpuint(qemu_coroutine_stacks_allocated(), ==, after_warmup);
}

/*
 * Wake-up list: aio_co_wake() from inside a coroutine does not nest; the
 * woken coroutine runs after the waker yields, before control returns to
 * whoever entered the waker.
 */

typedef struct WakeData {
    Coroutine *sleepers[3];
    Coroutine *waker;
} WakeData;

static void coroutine_fn sleeper_co(void *opaque)
{
    const char *name = opaque;
    char buf[32];

    snprintf(buf, sizeof(buf), "%s:wait", name);
    event(buf);
    qemu_coroutine_yield();
    /* The waker has yielded; we are not nested inside it. */
    snprintf(buf, sizeof(buf), "%s:woken", name);
    event(buf);
}

static void coroutine_fn waker_co(void *opaque)
{
    WakeData *wd = opaque;

    event("waker:start");
    aio_co_wake(wd->sleepers[0]);
    event("waker:after-wake0");
    aio_co_wake(wd->sleepers[1]);
    aio_co_wake(wd->sleepers[2]);
    event("waker:yield");
    qemu_coroutine_yield();
    event("waker:end");
}

static void test_wakeup_list(void)
{
    WakeData wd = { 0 };
    static const char *names[] = { "a", "b", "c" };

    events_reset();
    for (unsigned i = 0; i < 3; i++) {
        wd.sleepers[i] = qemu_coroutine_create(sleeper_co,
                                               (void *)names[i]);
        qemu_coroutine_enter(wd.sleepers[i]);
    }
    wd.waker = qemu_coroutine_create(waker_co, &wd);
    qemu_coroutine_enter(wd.waker);
    event("main");
    events_assert("a:wait b:wait c:wait waker:start waker:after-wake0 "
                  "waker:yield a:woken b:woken c:woken main");
    events_reset();
    qemu_coroutine_enter(wd.waker);
    events_assert("waker:end");
}

/* A woken coroutine that wakes another: the chain runs in FIFO order. */

typedef struct ChainData {
    Coroutine *co[4];
} ChainData;

typedef struct ChainLink {
    ChainData *cd;
    unsigned index;
} ChainLink;

static void coroutine_fn chain_co(void *opaque)
{
    ChainLink *cl = opaque;
    char buf[32];

    qemu_coroutine_yield();
    snprintf(buf, sizeof(buf), "run%u", cl->index);
    event(buf);
    if (cl->index + 1 < 4) {
        aio_co_wake(cl->cd->co[cl->index + 1]);
    }
    snprintf(buf, sizeof(buf), "end%u", cl->index);
    event(buf);
}

static void coroutine_fn chain_start(void *opaque)
{
    ChainData *cd = opaque;

    aio_co_wake(cd->co[0]);
    event("starter:end");
}

static void test_wakeup_chain(void)
{
    ChainData cd;
    ChainLink links[4];

    events_reset();
    for (unsigned i = 0; i < 4; i++) {
        links[i] = (ChainLink){ .cd = &cd, .index = i };
        cd.co[i] = qemu_coroutine_create(chain_co, &links[i]);
        qemu_coroutine_enter(cd.co[i]);
    }
    qemu_coroutine_enter(qemu_coroutine_create(chain_start, &cd));
    event("main");
    events_assert("starter:end run0 end0 run1 end1 run2 end2 run3 end3 "
                  "main");
}

/* aio_co_wake() outside any coroutine enters at once. */

static void test_wake_from_main(void)
{
    Coroutine *co;

    events_reset();
    co = qemu_coroutine_create(sleeper_co, (void *)"s");
    qemu_coroutine_enter(co);
    aio_co_wake(co);
    event("main");
    events_assert("s:wait s:woken main");
}

/*
 * A coroutine that moves to another thread's AioContext and back many
 * times.  Checks that switching code re-reads its thread-local state after
 * a switch (a coroutine may resume in another thread).
 */

typedef struct IOThread {
    AioContext *ctx;
    GThread *thread;
    bool stopping;
} IOThread;

static gpointer iothread_run(gpointer opaque)
{
    IOThread *t = opaque;

    aio_context_set_current(t->ctx);
    while (!t->stopping) {
        aio_poll(t->ctx, true);
    }
    aio_context_set_current(NULL);
    return NULL;
}

static void iothread_stop_bh(void *opaque)
{
    ((IOThread *)opaque)->stopping = true;
}

static void iothread_start(IOThread *t)
{
    t->ctx = aio_context_new(&error_abort);
    t->stopping = false;
    t->thread = g_thread_new("iothread", iothread_run, t);
}

/* Stop through a BH, so that the flag is seen by the polling thread. */
static void iothread_join(IOThread *t)
{
    aio_bh_schedule_oneshot(t->ctx, iothread_stop_bh, t);
    g_thread_join(t->thread);
    aio_context_unref(t->ctx);
}

typedef struct Reschedule {
    Coroutine *co;
    AioContext *to;
} Reschedule;

static void reschedule_bh(void *opaque)
{
    Reschedule *r = opaque;

    aio_co_schedule(r->to, r->co);
}

/*
 * Continue in @to.  The coroutine must have yielded before another thread
 * may enter it, so the hand-off is made by a BH of the current context.
 */
static void coroutine_fn move_to(AioContext *to)
{
    Reschedule r = { .co = qemu_coroutine_self(), .to = to };

    aio_bh_schedule_oneshot(qemu_get_current_aio_context(), reschedule_bh,
                            &r);
    qemu_coroutine_yield();
    g_assert_true(qemu_get_current_aio_context() == to);
}

typedef struct MigrateData {
    IOThread io;
    GThread *main_thread;
    AioContext *main_ctx;
    Coroutine *co;
    unsigned hops;
    bool done;
} MigrateData;

static void coroutine_fn migrate_co(void *opaque)
{
    MigrateData *md = opaque;

    for (unsigned i = 0; i < 200; i++) {
        move_to(md->io.ctx);
        g_assert_true(g_thread_self() == md->io.thread);
        g_assert_true(qemu_coroutine_self() == md->co);
        g_assert_true(qemu_in_coroutine());
        move_to(md->main_ctx);
        g_assert_true(g_thread_self() == md->main_thread);
        g_assert_true(qemu_coroutine_self() == md->co);
        md->hops++;
    }
    md->done = true;
}

static void test_migrate_threads(void)
{
    MigrateData md = { 0 };

    md.main_thread = g_thread_self();
    md.main_ctx = qemu_get_aio_context();
    iothread_start(&md.io);
    md.co = qemu_coroutine_create(migrate_co, &md);
    qemu_coroutine_enter(md.co);
    POLL_UNTIL(md.main_ctx, md.done);
    g_assert_cmpuint(md.hops, ==, 200);
    iothread_join(&md.io);
}

/*
 * The switch keeps what the ABI says survives a call.  Both sides hold
 * eight values derived from a seed across every switch, more than there
 * are callee-saved registers, so the compiler keeps some of them in those
 * registers and the other side clobbers them; each side's result must
 * equal that of the same computation run without switching.
 */

typedef struct RegWork {
    uint64_t seed;
    unsigned rounds;
    void (*pause)(void *opaque);
    void *pause_opaque;
} RegWork;

static __attribute__((noinline)) uint64_t reg_mix(uint64_t x)
{
    return (x ^ (x >> 29)) * 0x9e3779b97f4a7c15ULL + 1;
}

static __attribute__((noinline)) uint64_t reg_work(const RegWork *rw)
{
    uint64_t a = reg_mix(rw->seed);
    uint64_t b = reg_mix(a), c = reg_mix(b), d = reg_mix(c);
    uint64_t e = reg_mix(d), f = reg_mix(e), g = reg_mix(f), h = reg_mix(g);
    double x = (double)(a >> 12), y = (double)(h >> 12);

    for (unsigned i = 0; i < rw->rounds; i++) {
        rw->pause(rw->pause_opaque);
        a += b ^ i;
        b += c * 3;
        c ^= d + 7;
        d += e << 1;
        e -= f;
        f ^= g >> 3;
        g += h;
        h ^= a;
        x = x * 0.5 + y;
        y = y * 0.25 + 1;
    }
    return a ^ b ^ c ^ d ^ e ^ f ^ g ^ h ^ (uint64_t)x ^ (uint64_t)y;
}

static void no_pause(void *opaque)
{
}

static void yield_pause(void *opaque)
{
    qemu_coroutine_yield();
}

static void enter_pause(void *opaque)
{
    qemu_coroutine_enter(opaque);
}

typedef struct RegCo {
    RegWork work;
    uint64_t result;
    bool done;
} RegCo;

static void coroutine_fn registers_co(void *opaque)
{
    RegCo *rc = opaque;

    rc->result = reg_work(&rc->work);
    rc->done = true;
}

static void test_registers(void)
{
    enum { ROUNDS = 1000 };
    RegCo rc = {
        .work = { .seed = 1, .rounds = ROUNDS, .pause = yield_pause },
    };
    Coroutine *co = qemu_coroutine_create(registers_co, &rc);
    RegWork mine = {
        .seed = 2, .rounds = ROUNDS, .pause = enter_pause,
        .pause_opaque = co,
    };
    RegWork plain1 = { .seed = 1, .rounds = ROUNDS, .pause = no_pause };
    RegWork plain2 = { .seed = 2, .rounds = ROUNDS, .pause = no_pause };
    uint64_t main_result;

    /*
     * The coroutine starts by computing up to its first yield; after
     * that, each of our pauses lets it run one round, and our last one
     * lets it finish.
     */
    qemu_coroutine_enter(co);
    g_assert_false(rc.done);
    main_result = reg_work(&mine);
    g_assert_true(rc.done);
    g_assert_cmpuint(rc.result, ==, reg_work(&plain1));
    g_assert_cmpuint(main_result, ==, reg_work(&plain2));
    g_assert_cmpuint(reg_work(&plain1), !=, reg_work(&plain2));
}

/*
 * A coroutine's stack is aligned as the ABI requires, on first entry and
 * after switches.  The address goes through an empty asm so the compiler
 * cannot assume the answer from its own alignment rules.
 */

static __attribute__((noinline)) void check_stack_alignment(void)
{
    max_align_t local;
    uintptr_t addr = (uintptr_t)&local;

    asm volatile("" : "+r"(addr));
    g_assert_cmpuint(addr % _Alignof(max_align_t), ==, 0);
}

static void coroutine_fn alignment_co(void *opaque)
{
    check_stack_alignment();
    for (unsigned i = 0; i < 3; i++) {
        qemu_coroutine_yield();
        check_stack_alignment();
    }
    *(bool *)opaque = true;
}

static void test_stack_alignment(void)
{
    bool done = false;
    Coroutine *co = qemu_coroutine_create(alignment_co, &done);

    while (!done) {
        qemu_coroutine_enter(co);
        check_stack_alignment();
    }
}

/*
 * The guard page below a coroutine stack stops an overflow.  With 64 KiB
 * stacks, recursing through 32 KiB of frames works and recursing through
 * 256 KiB kills the process (SIGSEGV, or ASan's stack-overflow report).
 */

#define GUARD_STACK_SIZE (64 * 1024)

static __attribute__((noinline)) unsigned recurse_kib(unsigned kib)
{
    volatile unsigned char frame[1024];

    frame[0] = kib;
    frame[sizeof(frame) - 1] = kib;
    if (kib <= 1) {
        return frame[0];
    }
    /* Not a tail call: the frame must stay live below the callee. */
    return recurse_kib(kib - 1) + frame[sizeof(frame) - 1];
}

static void coroutine_fn recurse_co(void *opaque)
{
    unsigned *kib = opaque;

    *kib = recurse_kib(*kib);
}

static void test_guard_page(void)
{
    if (g_test_subprocess()) {
        unsigned kib = 256;

        qemu_coroutine_set_stack_size(GUARD_STACK_SIZE);
        qemu_coroutine_enter(qemu_coroutine_create(recurse_co, &kib));
        g_test_message("recursed through %u KiB without a fault", 256);
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stdout_unmatched("*without a fault*");
}

static void test_guard_page_margin(void)
{
    unsigned kib = GUARD_STACK_SIZE / 1024 / 2;
    unsigned expect = 0;

    qemu_coroutine_set_stack_size(GUARD_STACK_SIZE);
    qemu_coroutine_enter(qemu_coroutine_create(recurse_co, &kib));
    qemu_coroutine_set_stack_size(1 << 20);
    for (unsigned k = GUARD_STACK_SIZE / 1024 / 2; k >= 1; k--) {
        expect += (unsigned char)k;
    }
    g_assert_cmpuint(kib, ==, expect);
}

/* The build picks the hand-written switch where there is one. */
static void test_switch_backend(void)
{
    const char *backend = qemu_coroutine_switch_backend();

#if defined(__x86_64__) && !defined(__CET__)
    g_assert_cmpstr(backend, ==, "x86_64");
#else
    g_assert_cmpstr(backend, ==, "sigsetjmp");
#endif
}

/* Entering a coroutine that is running aborts. */

static void coroutine_fn reenter_co(void *opaque)
{
    qemu_coroutine_enter(qemu_coroutine_self());
}

static void test_reenter_aborts(void)
{
    if (g_test_subprocess()) {
        qemu_coroutine_enter(qemu_coroutine_create(reenter_co, NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*re-entered recursively*");
}

/* Yielding outside any coroutine aborts, in a thread new to coroutines. */

static gpointer yield_thread(gpointer opaque)
{
    qemu_coroutine_yield();
    return NULL;
}

static void test_yield_outside_aborts(void)
{
    if (g_test_subprocess()) {
        g_thread_join(g_thread_new("yield", yield_thread, NULL));
        return;
    }
    g_test_trap_subprocess(NULL, 0, G_TEST_SUBPROCESS_DEFAULT);
    g_test_trap_assert_failed();
    g_test_trap_assert_stderr("*yielding to no one*");
}

int main(int argc, char **argv)
{
    /* Last-resort bound on the whole program (the sanitized run included). */
    alarm(120);
    g_test_init(&argc, &argv, NULL);
    qemu_get_aio_context();
    g_test_add_func("/coroutine/basic", test_basic);
    g_test_add_func("/coroutine/order", test_order);
    g_test_add_func("/coroutine/yield-loop", test_yield_loop);
    g_test_add_func("/coroutine/nesting", test_nesting);
    g_test_add_func("/coroutine/nested-yield", test_nested_yield);
    g_test_add_func("/coroutine/self", test_self);
    g_test_add_func("/coroutine/enter-if-inactive", test_enter_if_inactive);
    g_test_add_func("/coroutine/many-live", test_many_live);
    g_test_add_func("/coroutine/pool-reuse", test_pool_reuse);
    g_test_add_func("/coroutine/wakeup-list", test_wakeup_list);
    g_test_add_func("/coroutine/wakeup-chain", test_wakeup_chain);
    g_test_add_func("/coroutine/wake-from-main", test_wake_from_main);
    g_test_add_func("/coroutine/migrate-threads", test_migrate_threads);
    g_test_add_func("/coroutine/registers", test_registers);
    g_test_add_func("/coroutine/stack-alignment", test_stack_alignment);
    g_test_add_func("/coroutine/guard-page", test_guard_page);
    g_test_add_func("/coroutine/guard-page-margin", test_guard_page_margin);
    g_test_add_func("/coroutine/switch-backend", test_switch_backend);
    g_test_add_func("/coroutine/reenter-aborts", test_reenter_aborts);
    g_test_add_func("/coroutine/yield-outside-aborts",
                    test_yield_outside_aborts);
    return g_test_run();
}
