/*
 * SPDX-License-Identifier: GPL-2.0-or-later
 *
 * Test helper: make one system call fail with a chosen errno in the
 * calling process, through a seccomp filter, to reproduce a kernel that
 * refuses a feature (io_uring disabled by sysctl or by a container).
 * Applies to every thread of the process and is irreversible: call it
 * only in a g_test_trap_subprocess() child.
 */
#ifndef EMBLOCK_TESTS_DENY_SYSCALL_H
#define EMBLOCK_TESTS_DENY_SYSCALL_H

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>

/* Whether this kernel can install seccomp filters at all. */
static inline bool deny_syscall_supported(void)
{
    return prctl(PR_GET_SECCOMP, 0, 0, 0, 0) >= 0;
}

/*
 * From now on, the @n system calls in @nrs fail with @err.  Returns 0 or
 * -errno.
 */
static inline int deny_syscalls(const long *nrs, unsigned n, int err)
{
    struct sock_filter *insns = g_new(struct sock_filter, n + 3);
    struct sock_fprog prog = { .len = n + 3, .filter = insns };
    unsigned i;
    int ret = 0;

    insns[0] = (struct sock_filter)
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr));
    /* Instruction 1 + i jumps to the deny return when the number matches. */
    for (i = 0; i < n; i++) {
        insns[1 + i] = (struct sock_filter)
            BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], n - i, 0);
    }
    insns[1 + n] = (struct sock_filter)
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
    insns[2 + n] = (struct sock_filter)
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (err & 0xffff));
    /* TSYNC: the filter also binds threads that already exist (workers). */
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0 ||
        syscall(__NR_seccomp, SECCOMP_SET_MODE_FILTER,
                SECCOMP_FILTER_FLAG_TSYNC, &prog) != 0) {
        ret = -errno;
    }
    g_free(insns);
    return ret;
}

static inline int deny_syscall(long nr, int err)
{
    return deny_syscalls(&nr, 1, err);
}

#endif
