/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Coroutine core: creation, entry, yield and the stack pool.
 *
 * Switching uses sigsetjmp/siglongjmp (signal mask not saved); ucontext is
 * used only once per stack, to start executing on it: the trampoline saves a
 * jump buffer and jumps straight back, and every later entry longjmps into
 * it.  A stack outlives its coroutine: when the entry function returns, the
 * trampoline loops and waits to be handed the next coroutine from the pool.
 *
 * Under AddressSanitizer each switch is announced with the fiber API so that
 * ASan tracks which stack is live.
 */
#include "util/osdep.h"
#include "util/coroutine.h"
#include "util/aio.h"

#include <signal.h>
#include <setjmp.h>
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

enum {
    COROUTINE_YIELD = 1,
    COROUTINE_TERMINATE = 2,
    COROUTINE_ENTER = 3,
};

/* How many idle stacks one thread keeps for reuse. */
#define POOL_MAX 256

struct Coroutine {
    CoroutineEntry *entry;
    void *entry_arg;
    Coroutine *caller;
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
    sigjmp_buf env;
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
 * being treated as a pure function.
 */
static __attribute__((noinline)) CoroutineThread *co_thread_self(void)
{
    CoroutineThread *t = co_thread;

    asm volatile("" : "+r"(t));
    return t;
}

static CoroutineThread *co_thread_get(void)
{
    if (unlikely(!co_thread_self())) {
        co_thread = g_new0(CoroutineThread, 1);
        co_thread->current = &co_thread->leader;
        g_private_set(&co_thread_key, co_thread);
    }
    return co_thread;
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
 * Save the state of @from and continue @to, telling it @action.  Returns the
 * action passed by whoever switches back to @from, possibly in another
 * thread.  Never inlined: the thread-local read below must happen in this
 * frame, before the switch, and not be hoisted into a caller's loop that
 * spans earlier switches (the trampoline's).
 */
static __attribute__((noinline)) int coroutine_switch(Coroutine *from,
                                                      Coroutine *to,
                                                      int action)
{
    int ret;

    co_thread->current = to;
    ret = sigsetjmp(from->env, 0);
    if (ret == 0) {
        asan_start_switch(from, to, action == COROUTINE_TERMINATE);
        siglongjmp(to->env, action);
    }
    asan_finish_switch(from);
    return ret;
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
    Coroutine *creator = co_thread->current;

    /* First code on the new stack: complete the switch from the creator. */
    asan_finish_switch(self);

    /* Save the entry point, then go back to the creator. */
    if (!sigsetjmp(self->env, 0)) {
        asan_start_switch(self, creator, false);
        siglongjmp(creator->env, 1);
    }
    asan_finish_switch(self);

    for (;;) {
        self->entry(self->entry_arg);
        coroutine_switch(self, self->caller, COROUTINE_TERMINATE);
    }
}

static Coroutine *coroutine_new_stack(void)
{
    size_t page = getpagesize();
    Coroutine *co = g_new0(Coroutine, 1);
    Coroutine *creator = co_thread->current;
    ucontext_t old_uc, uc;
    union cc_arg arg = { .p = co };
    sigjmp_buf old_env;

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
    uc.uc_link = &old_uc;
    uc.uc_stack.ss_sp = co->stack;
    uc.uc_stack.ss_size = co->stack_size;
    uc.uc_stack.ss_flags = 0;
    makecontext(&uc, (void (*)(void))coroutine_trampoline, 2,
                arg.i[0], arg.i[1]);

    /* The trampoline jumps back through creator->env; keep ours intact. */
    memcpy(old_env, creator->env, sizeof(old_env));
    if (!sigsetjmp(creator->env, 0)) {
        asan_start_switch(creator, co, false);
        swapcontext(&old_uc, &uc);
    }
    asan_finish_switch(creator);
    memcpy(creator->env, old_env, sizeof(old_env));
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
        co = coroutine_new_stack();
    }
    co->entry = entry;
    co->entry_arg = opaque;
    co->caller = NULL;
    co->ctx = NULL;
    co->scheduled = NULL;
    co->locks_held = 0;
    co->pool_next = NULL;
    return co;
}

static void coroutine_release(Coroutine *co)
{
    CoroutineThread *t = co_thread;

    if (co->stack_size == co_stack_size && t->pool_size < POOL_MAX) {
        co->pool_next = t->pool;
        t->pool = co;
        t->pool_size++;
        return;
    }
    coroutine_unmap(co);
}

void qemu_aio_coroutine_enter(AioContext *ctx, Coroutine *co)
{
    CoroutineThread *t = co_thread_get();
    /* Coroutines still to enter, linked through wakeup_next. */
    Coroutine *pending = co;
    Coroutine *pending_tail = co;

    co->wakeup_next = NULL;
    while (pending) {
        Coroutine *self = t->current;
        int ret;

        co = pending;
        pending = co->wakeup_next;
        co->wakeup_next = NULL;

        if (co->scheduled) {
            fprintf(stderr, "%s: co-routine was already scheduled in '%s'\n",
                    __func__, co->scheduled);
            abort();
        }
        if (co->caller) {
            fprintf(stderr, "Co-routine re-entered recursively\n");
            abort();
        }
        co->caller = self;
        co->ctx = ctx;
        ret = coroutine_switch(self, co, COROUTINE_ENTER);

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
            assert(co->locks_held == 0);
            co->caller = NULL;
            coroutine_release(co);
        }
    }
}

void qemu_coroutine_enter(Coroutine *co)
{
    qemu_aio_coroutine_enter(qemu_get_current_aio_context(), co);
}

void qemu_coroutine_enter_if_inactive(Coroutine *co)
{
    if (!qemu_coroutine_entered(co)) {
        qemu_coroutine_enter(co);
    }
}

/* Never inlined, for the same reason as coroutine_switch(). */
void coroutine_fn __attribute__((noinline)) qemu_coroutine_yield(void)
{
    CoroutineThread *t = co_thread;
    Coroutine *self = t ? t->current : NULL;
    Coroutine *to = self ? self->caller : NULL;

    if (!to) {
        fprintf(stderr, "Co-routine is yielding to no one\n");
        abort();
    }
    self->caller = NULL;
    coroutine_switch(self, to, COROUTINE_YIELD);
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
