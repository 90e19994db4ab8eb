/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Coroutine core: creation, entry, yield and the stack pool.
 *
 * Stacks are switched by co_switch() (util/coroutine-switch.h): a
 * hand-written register swap where the build has one, sigsetjmp/siglongjmp
 * elsewhere.  ucontext is used only once per stack, to start executing on
 * it: the creator suspends itself with co_switch_call() and setcontext()s
 * into the trampoline, which suspends itself in turn and switches straight
 * back; every later entry resumes it.  A stack outlives its coroutine: when
 * the entry function returns, the trampoline loops and waits to be handed
 * the next coroutine from the pool.
 *
 * The enter/yield round trip is the hot path: one thread-local read on
 * each side, the checks that catch misuse, and the switch itself.  Pool
 * work happens only in create and when a coroutine ends.
 *
 * Under AddressSanitizer each switch is announced with the fiber API so that
 * ASan tracks which stack is live; without it those hooks compile to nothing.
 */
#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/aio.h"
#include "util/coroutine-switch.h"

#include <sys/mman.h>
#include <ucontext.h>

#if defined(__SANITIZE_ADDRESS__)
#define CONFIG_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CONFIG_ASAN 1
#endif
#endif

#ifdef CONFIG_ASAN
#include <sanitizer/asan_interface.h>
#endif

/* What a switch tells the coroutine it resumes. */
enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
};

/* How many idle stacks one thread keeps for reuse. */
#define POOL_MAX 256

struct Coroutine {
    /* Where this coroutine is suspended; first, as the switch uses it. */
    CoSwitchContext sw;
    /* Who entered us and gets control back; NULL unless entered. */
    Coroutine *caller;
    CoroutineEntry *entry;
    void *entry_arg;
    AioContext *ctx;
    /* Name of the function that scheduled us, or NULL when not scheduled. */
    const char *scheduled;
    unsigned locks_held;
    /*
     * Coroutines to enter once this one yields or ends (FIFO), linked
     * through their wakeup_next.  A coroutine waits on at most one such
     * list at a time, so one link per coroutine suffices and queueing a
     * wake-up allocates nothing.
     */
    Coroutine *wakeup_head;
    Coroutine *wakeup_tail;
    Coroutine *wakeup_next;
    void *stack;          /* usable stack, above the guard page */
    size_t stack_size;
    /* Stack mapping including the guard page, for munmap. */
    void *map;
    size_t map_size;
    Coroutine *pool_next;
#ifdef CONFIG_ASAN
    void *asan_fake_stack;
#endif
};

typedef struct CoroutineThread {
    Coroutine leader;     /* the thread's own stack */
    Coroutine *current;
    Coroutine *pool;
    unsigned pool_size;
} CoroutineThread;

static __thread CoroutineThread *co_thread;
static size_t co_stack_size = 1 << 20;
static uint64_t co_stacks_allocated;

static void co_thread_free(void *opaque);
static GPrivate co_thread_key = G_PRIVATE_INIT(co_thread_free);

/*
 * The calling thread's state, or NULL.  A function whose frame spans a
 * switch may resume in another thread (aio_co_schedule() moves coroutines),
 * so the compiler must not reuse a thread-local address computed before the
 * switch: this accessor is never inlined and the empty asm keeps it from
 * being treated as a pure function.  Code that reads co_thread directly
 * does so only before the first switch of its frame.
 */
static __attribute__((noinline)) CoroutineThread *co_thread_self(void)
{
    CoroutineThread *t = co_thread;

    asm volatile("" : "+r"(t));
    return t;
}

static __attribute__((noinline, cold)) CoroutineThread *co_thread_init(void)
{
    CoroutineThread *t = g_new0(CoroutineThread, 1);

    t->current = &t->leader;
    co_thread = t;
    g_private_set(&co_thread_key, t);
    return t;
}

/* The calling thread's state, created on first use. */
static inline CoroutineThread *co_thread_get(void)
{
    CoroutineThread *t = co_thread;

    return likely(t) ? t : co_thread_init();
}

static void coroutine_unmap(Coroutine *co)
{
    munmap(co->map, co->map_size);
    g_free(co);
}

static void co_thread_free(void *opaque)
{
    CoroutineThread *t = opaque;

    while (t->pool) {
        Coroutine *co = t->pool;
        t->pool = co->pool_next;
        coroutine_unmap(co);
    }
    g_free(t);
    co_thread = NULL;
}

void qemu_coroutine_set_stack_size(size_t size)
{
    co_stack_size = QEMU_ALIGN_UP(size, (size_t)getpagesize());
}

unsigned qemu_coroutine_pool_size(void)
{
    return co_thread_get()->pool_size;
}

uint64_t qemu_coroutine_stacks_allocated(void)
{
    return __atomic_load_n(&co_stacks_allocated, __ATOMIC_RELAXED);
}

const char *qemu_coroutine_switch_backend(void)
{
    return co_switch_backend;
}

static inline void asan_start_switch(Coroutine *from, Coroutine *to,
                                     bool from_ends)
{
#ifdef CONFIG_ASAN
    if (from_ends) {
        from->asan_fake_stack = NULL;
    }
    __sanitizer_start_switch_fiber(from_ends ? NULL : &from->asan_fake_stack,
                                   to->stack, to->stack_size);
#endif
}

/*
 * Called on @self's stack right after a switch to it.
 *
 * No local variable here may have its address taken: with
 * detect_stack_use_after_return such locals live on ASan's fake stack, and
 * the fake stack of a coroutine that ended is destroyed, although its
 * trampoline and coroutine_switch() frames stay live for the next
 * coroutine that reuses the stack.  So the old stack bounds are written
 * straight into the thread state.
 */
static inline void asan_finish_switch(Coroutine *self)
{
#ifdef CONFIG_ASAN
    CoroutineThread *t = co_thread_self();

    if (t->leader.stack) {
        __sanitizer_finish_switch_fiber(self->asan_fake_stack, NULL, NULL);
    } else {
        /* The first switch of a thread always comes from its own stack. */
        __sanitizer_finish_switch_fiber(self->asan_fake_stack,
                                        (const void **)&t->leader.stack,
                                        &t->leader.stack_size);
    }
#endif
}

/*
 * Make @to the running coroutine of @t, suspend @from and resume @to,
 * telling it @action.  @t must be the calling thread's state, read in the
 * caller's frame after that frame's last switch.  Returns the action passed
 * by whoever resumes @from, possibly in another thread.
 */
static inline int coroutine_switch(CoroutineThread *t, Coroutine *from,
                                   Coroutine *to, int action)
{
    void *ret;

    t->current = to;
    asan_start_switch(from, to, action == COROUTINE_TERMINATE);
    ret = co_switch(&from->sw, &to->sw, (void *)(uintptr_t)action);
    asan_finish_switch(from);
    return (int)(uintptr_t)ret;
}

/* Passed through makecontext's int arguments, in two halves. */
union cc_arg {
    void *p;
    int i[2];
};

static void coroutine_trampoline(int i0, int i1)
{
    union cc_arg arg = { .i = { i0, i1 } };
    Coroutine *self = arg.p;
    Coroutine *creator = co_thread_self()->current;

    /* First code on the new stack: complete the switch from the creator. */
    asan_finish_switch(self);

    /* Suspend here and let the creator go on; each entry resumes us. */
    asan_start_switch(self, creator, false);
    co_switch(&self->sw, &creator->sw, NULL);
    asan_finish_switch(self);

    for (;;) {
        self->entry(self->entry_arg);
        /* Each iteration may run in another thread than the last. */
        coroutine_switch(co_thread_self(), self, self->caller,
                         COROUTINE_TERMINATE);
    }
}

/* Runs on the creator's stack, below its suspended context. */
static void coroutine_start_stack(void *opaque)
{
    setcontext(opaque);
    abort();
}

static Coroutine *coroutine_new_stack(CoroutineThread *t)
{
    size_t page = getpagesize();
    Coroutine *co = g_new0(Coroutine, 1);
    Coroutine *creator = t->current;
    ucontext_t uc;
    union cc_arg arg = { .p = co };

    co->stack_size = co_stack_size;
    co->map_size = co->stack_size + page;
    co->map = mmap(NULL, co->map_size, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (co->map == MAP_FAILED) {
        fprintf(stderr, "coroutine: cannot map a %zu byte stack: %s\n",
                co->map_size, g_strerror(errno));
        abort();
    }
    /* Stacks grow down: the guard page is the lowest one. */
    if (mprotect(co->map, page, PROT_NONE) < 0) {
        abort();
    }
    co->stack = (char *)co->map + page;
    __atomic_fetch_add(&co_stacks_allocated, 1, __ATOMIC_RELAXED);

    if (getcontext(&uc) < 0) {
        abort();
    }
    uc.uc_link = NULL;          /* the trampoline never returns */
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    makecontext(&uc, (void (*)(void))coroutine_trampoline, 2,
                arg.i[0], arg.i[1]);

    /*
     * A running coroutine's saved context is dead, so the creator's can
     * hold the place the trampoline comes back to.
     */
    asan_start_switch(creator, co, false);
    co_switch_call(&creator->sw, coroutine_start_stack, &uc);
    asan_finish_switch(creator);
    return co;
}

Coroutine *qemu_coroutine_create(CoroutineEntry *entry, void *opaque)
{
    CoroutineThread *t = co_thread_get();
    Coroutine *co = t->pool;

    if (co) {
        t->pool = co->pool_next;
        t->pool_size--;
    } else {
        co = coroutine_new_stack(t);
    }
    co->entry = entry;
    co->entry_arg = opaque;
    co->caller = NULL;
    co->ctx = NULL;
    co->scheduled = NULL;
    co->locks_held = 0;
    co->wakeup_next = NULL;
    co->pool_next = NULL;
    return co;
}

/* @co has ended in thread @t: keep its stack for reuse or unmap it. */
static void coroutine_release(CoroutineThread *t, Coroutine *co)
{
    assert(co->locks_held == 0);
    co->caller = NULL;
    if (co->stack_size == co_stack_size && t->pool_size < POOL_MAX) {
        co->pool_next = t->pool;
        t->pool = co;
        t->pool_size++;
        return;
    }
    coroutine_unmap(co);
}

static G_GNUC_NORETURN __attribute__((noinline, cold))
void coroutine_enter_abort(Coroutine *co)
{
    if (co->scheduled) {
        fprintf(stderr, "qemu_aio_coroutine_enter: co-routine was already "
                "scheduled in '%s'\n", co->scheduled);
    } else {
        fprintf(stderr, "Co-routine re-entered recursively\n");
    }
    abort();
}

/*
 * Enter @co from @self, the running coroutine of @t, in @ctx.  Returns the
 * action @co switched back with.  Inlined, so that an entry costs the
 * checks, a few stores and the switch.
 */
static inline int coroutine_enter_one(CoroutineThread *t, Coroutine *self,
                                      AioContext *ctx, Coroutine *co)
{
    if (unlikely(co->scheduled || co->caller)) {
        coroutine_enter_abort(co);
    }
    co->caller = self;
    co->ctx = ctx;
    return coroutine_switch(t, self, co, COROUTINE_ENTER);
}

/*
 * The rest of an entry, for when @co came back with @ret because it ended
 * or with coroutines on its wake-up list: release it if it ended, then
 * enter every queued coroutine in order (in @co's AioContext), and whatever
 * those queue in turn.  Out of line, so that the common case keeps only
 * @co live across the switch.
 */
static __attribute__((noinline)) void
coroutine_enter_finish(Coroutine *co, int ret)
{
    /* Same thread as the entry: see qemu_aio_coroutine_enter(). */
    CoroutineThread *t = co_thread_self();
    AioContext *ctx = co->ctx;
    /* Coroutines still to enter, linked through wakeup_next. */
    Coroutine *pending = NULL;
    Coroutine *pending_tail = NULL;

    for (;;) {
        /* Run what @co woke before it yielded or ended, in order. */
        if (co->wakeup_head) {
            if (pending) {
                pending_tail->wakeup_next = co->wakeup_head;
            } else {
                pending = co->wakeup_head;
            }
            pending_tail = co->wakeup_tail;
            co->wakeup_head = co->wakeup_tail = NULL;
        }
        if (ret == COROUTINE_TERMINATE) {
            coroutine_release(t, co);
        }
        if (!pending) {
            return;
        }
        co = pending;
        pending = co->wakeup_next;
        co->wakeup_next = NULL;
        ret = coroutine_enter_one(t, t->current, ctx, co);
    }
}

/*
 * Enter @co in @ctx from whatever runs now.  Inlined into both public entry
 * points, which saves a call on the round trip.
 *
 * This frame always resumes in the thread it started in: only the
 * coroutine entered from here can switch back to it, and that one runs in
 * this thread until it yields or ends.  So @t stays valid.
 */
static inline void coroutine_enter(AioContext *ctx, Coroutine *co)
{
    CoroutineThread *t = co_thread_get();
    int ret = coroutine_enter_one(t, t->current, ctx, co);

    if (unlikely(ret != COROUTINE_YIELD || co->wakeup_head)) {
        coroutine_enter_finish(co, ret);
    }
}

void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *co)
{
    coroutine_enter(ctx, co);
}

void qemu_coroutine_enter(Coroutine *co)
{
    coroutine_enter(qemu_get_current_aio_context(), co);
}

void qemu_coroutine_enter_if_inactive(Coroutine *co)
{
    if (!qemu_coroutine_entered(co)) {
        qemu_coroutine_enter(co);
    }
}

static G_GNUC_NORETURN __attribute__((noinline, cold))
void coroutine_yield_abort(void)
{
    fprintf(stderr, "Co-routine is yielding to no one\n");
    abort();
}

/*
 * Never inlined: the thread-local read below must happen in this frame,
 * before the switch, and not be merged with a caller's read from before an
 * earlier switch.
 */
void coroutine_fn __attribute__((noinline)) qemu_coroutine_yield(void)
{
    CoroutineThread *t = co_thread;
    Coroutine *self;
    Coroutine *to;

    if (unlikely(!t)) {
        coroutine_yield_abort();
    }
    self = t->current;
    to = self->caller;
    if (unlikely(!to)) {
        coroutine_yield_abort();
    }
    self->caller = NULL;
    coroutine_switch(t, self, to, COROUTINE_YIELD);
}

Coroutine *qemu_coroutine_self(void)
{
    return co_thread_get()->current;
}

bool qemu_in_coroutine(void)
{
    CoroutineThread *t = co_thread_get();

    return t->current != &t->leader;
}

bool qemu_coroutine_entered(Coroutine *co)
{
    return co->caller != NULL;
}

AioContext *qemu_coroutine_get_aio_context(Coroutine *co)
{
    return co->ctx;
}

void qemu_coroutine_inc_locks(Coroutine *co)
{
    co->locks_held++;
}

void qemu_coroutine_dec_locks(Coroutine *co)
{
    assert(co->locks_held > 0);
    co->locks_held--;
}

void qemu_coroutine_queue_wakeup(Coroutine *self, Coroutine *co)
{
    co->wakeup_next = NULL;
    if (self->wakeup_tail) {
        self->wakeup_tail->wakeup_next = co;
    } else {
        self->wakeup_head = co;
    }
    self->wakeup_tail = co;
}

void qemu_coroutine_mark_scheduled(Coroutine *co, const char *who)
{
    const char *old = __atomic_exchange_n(&co->scheduled, who,
                                          __ATOMIC_SEQ_CST);
    if (old) {
        fprintf(stderr, "%s: co-routine was already scheduled in '%s'\n",
                who, old);
        abort();
    }
}

void qemu_coroutine_clear_scheduled(Coroutine *co)
{
    __atomic_store_n(&co->scheduled, NULL, __ATOMIC_SEQ_CST);
}
