/*
 * seccomp.h: run a csock call in a forked child in which chosen system calls fail with ENOSYS,
 * to prove that csock rejects an input without making the call. Include after tap.h.
 */
#ifndef CSOCK_TEST_SECCOMP_H
#define CSOCK_TEST_SECCOMP_H

#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/*
 * Runs call(arg) in a child in which the listed system calls fail with ENOSYS, and returns what
 * it returned (INT_MIN if the child did not report).
 */
static inline int without_syscalls(const int *nrs, size_t n, int (*call)(void *), void *arg) {
    int p[2];
    if (n > 16 || pipe(p) < 0) return INT_MIN;
    pid_t pid = fork();
    if (pid == 0) {
        struct sock_filter f[2 * 16 + 2];
        size_t k = 0;
        f[k++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS,
                                              offsetof(struct seccomp_data, nr));
        for (size_t i = 0; i < n; i++) {
            f[k++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, nrs[i], 0, 1);
            f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | ENOSYS);
        }
        f[k++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
        struct sock_fprog prog = {(unsigned short)k, f};
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog))
            _exit(2);
        int r = call(arg);
        _exit(write(p[1], &r, sizeof r) == sizeof r ? 0 : 1);
    }
    close(p[1]);
    int r = INT_MIN;
    if (pid < 0 || read(p[0], &r, sizeof r) != sizeof r) r = INT_MIN;
    close(p[0]);
    if (pid > 0) waitpid(pid, NULL, 0);
    return r;
}

/* is_int on without_syscalls()'s result, skipped where seccomp filters cannot be installed. */
static inline void no_syscall_is(int got, int want, const char *name) {
    if (got == INT_MIN) ok(1, "%s # SKIP seccomp unavailable", name);
    else is_int(got, want, "%s", name);
}

#endif
