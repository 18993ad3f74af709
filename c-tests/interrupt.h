/*
 * interrupt.h: interrupting a thread that is blocked in a system call, for the EINTR tests of
 * every call that waits (accept, connect, create_connection, send_fds/recv_fds).
 *
 * A handler installed without SA_RESTART (interrupt_setup) counts the signals it gets; a test
 * starts the blocking call in a thread, waits until that thread is in the system call it expects
 * (blocked_in reads /proc/self/task/TID/syscall), signals it with pthread_kill, and waits for the
 * handler (WAIT_UNTIL) before it lets the call finish.
 */
#ifndef CSOCK_TEST_INTERRUPT_H
#define CSOCK_TEST_INTERRUPT_H

#include <signal.h>
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

/* Signals the handler has seen. */
static volatile sig_atomic_t signals;

static inline void on_sigusr1(int sig) {
    (void)sig;
    signals++;
}

/* SIGUSR1 counted by on_sigusr1, without SA_RESTART: a blocked call returns EINTR. */
static inline void interrupt_setup(void) {
    struct sigaction sa = {.sa_handler = on_sigusr1};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;
    sigaction(SIGUSR1, &sa, NULL);
}

/* The system call thread `tid` is blocked in, or -1 when it is running or gone. */
static inline long blocked_in(pid_t tid) {
    char path[64];
    long nr = -1;
    snprintf(path, sizeof path, "/proc/self/task/%d/syscall", (int)tid);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &nr) != 1) nr = -1;
        fclose(f);
    }
    return nr;
}

/* Polls (at most ~10 s, never asserted on) until cond() holds. */
#define WAIT_UNTIL(cond)                                                                    \
    do {                                                                                    \
        for (int i_ = 0; i_ < 10000 && !(cond); i_++) usleep(1000);                         \
    } while (0)

#endif
