/*
 * signals: csock calls that fail inside a signal handler, while the thread the handler
 * interrupted is itself inside a failing csock call (recording its message), never abort or
 * deadlock, and every call still returns the right code and sets the right errno. Only the
 * message of a nested failure may be lost.
 *
 * Two sources of signals, each for a fixed number of failing calls in the interrupted thread:
 * SIGALRM from an interval timer (setitimer) firing every few microseconds, and SIGUSR1 sent
 * by a sibling thread to the looping thread (pthread_kill) as fast as it can. Each phase runs in
 * a forked child, watched by the parent, so that an abort shows as a failed test (with the
 * signal that killed the child) and a deadlock as a timeout, rather than as a lost test program.
 *
 * CSOCK_SIGNAL_CALLS sets the failing calls per phase (default 200000), CSOCK_SIGNAL_INTERVAL_US
 * the timer's period (default 20; under valgrind, where a handler takes longer than that, a
 * longer one, so that the looping thread still makes progress between signals).
 */
#include <csock.h>

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#include "tap.h"

#define DEFAULT_CALLS 200000
#define WATCHDOG_S 120 /* a guard against a deadlocked child, not a timing */

/* What a phase's child reports to the parent through a pipe. */
struct report {
    long calls;         /* failing calls made by the interrupted thread */
    long wrong;         /* of them, with a wrong return code or errno */
    long bad_messages;  /* of them, followed by a message that is not a csock message */
    long handled;       /* signals handled */
    long handler_calls; /* failing calls made inside the handler */
    long handler_wrong; /* of them, with a wrong return code or errno */
};

static struct report rep;
static csock_socket closed_sock = {-1, AF_INET, SOCK_STREAM, 0};

/* The failing calls of the handler: each returns a known code. */
static void on_signal(int sig) {
    (void)sig;
    int saved = errno;
    csock_socket s;
    int64_t v;
    struct {
        int got, want;
    } c[] = {
        {csock_adopt(&s, -1, -1, -1, -1), -EBADF},
        {csock_dup(&s, NULL), -EINVAL},
        {csock_shutdown(&closed_sock, SHUT_RDWR), -EBADF},
        {csock_constant64("NO_SUCH_CONSTANT", &v), -ENOENT},
        {csock_format_addr(NULL, 4, 0, NULL, 0), -EINVAL},
    };
    for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
        rep.handler_calls++;
        if (c[i].got != c[i].want) rep.handler_wrong++;
    }
    /* errno after the last call: EINVAL. */
    if (errno != EINVAL) rep.handler_wrong++;
    rep.handled++;
    errno = saved;
}

/* One failing call of the interrupted thread, chosen by i; checks its code and errno. */
static void failing_call(long i) {
    csock_socket s;
    int v, got, want;
    switch (i % 4) {
    case 0: got = csock_adopt(&s, -2, -1, -1, -1); want = -EBADF; break;
    case 1: got = csock_constant("NOT_A_NAME_EITHER", &v); want = -ENOENT; break;
    case 2: got = csock_get_blocking(&closed_sock); want = -EBADF; break;
    default: got = csock_open(&s, -7, SOCK_STREAM, 0); want = -EAFNOSUPPORT; break;
    }
    int err = errno;
    rep.calls++;
    if (got != want || err != -want) rep.wrong++;
    /* The message is this call's or a handler's that came after it: a csock message either way. */
    if (strncmp(csock_last_error(), "csock_", 6) != 0) rep.bad_messages++;
}

static long calls_per_phase(void) {
    const char *env = getenv("CSOCK_SIGNAL_CALLS");
    long n = env ? atol(env) : DEFAULT_CALLS;
    return n > 0 ? n : DEFAULT_CALLS;
}

static long timer_interval_us(void) {
    const char *env = getenv("CSOCK_SIGNAL_INTERVAL_US");
    long us = env ? atol(env) : 20;
    return us > 0 && us < 1000000 ? us : 20;
}

static atomic_int stop;
static pthread_t looper;

static void *kill_loop(void *arg) {
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_kill(looper, SIGUSR1);
        sched_yield();
    }
    return NULL;
}

/* The child of one phase: loops failing calls under signals, writes its report, exits. */
static void run_phase(int use_timer, int out) {
    long n = calls_per_phase();
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    sigaction(use_timer ? SIGALRM : SIGUSR1, &sa, NULL);
    pthread_t killer;
    if (use_timer) {
        long us = timer_interval_us();
        struct itimerval it = {{0, us}, {0, us}};
        setitimer(ITIMER_REAL, &it, NULL);
    } else {
        looper = pthread_self();
        pthread_create(&killer, NULL, kill_loop, NULL);
    }
    for (long i = 0; i < n; i++) failing_call(i);
    if (use_timer) {
        struct itimerval off = {{0, 0}, {0, 0}};
        setitimer(ITIMER_REAL, &off, NULL);
    } else {
        atomic_store(&stop, 1);
        pthread_join(killer, NULL);
    }
    /* Block the signal before reading the counters the handler updates. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, use_timer ? SIGALRM : SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);
    _exit(write(out, &rep, sizeof rep) == sizeof rep ? 0 : 3);
}

static void phase(int use_timer) {
    const char *name = use_timer ? "SIGALRM from setitimer" : "SIGUSR1 from a sibling thread";
    int p[2];
    if (pipe(p) < 0) {
        printf("Bail out! pipe: %s\n", strerror(errno));
        exit(1);
    }
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        run_phase(use_timer, p[1]);
    }
    close(p[1]);
    /* Watch the child: a deadlock is a timeout, an abort a signal. */
    int status = 0;
    time_t start = time(NULL);
    pid_t done;
    while ((done = waitpid(pid, &status, WNOHANG)) == 0 && time(NULL) - start < WATCHDOG_S) {
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    if (done == 0) {
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        ok(0, "%s: the child finished (deadlocked: killed after %d s)", name, WATCHDOG_S);
        close(p[0]);
        return;
    }
    if (WIFSIGNALED(status))
        ok(0, "%s: the child finished (killed by signal %d, %s)", name, WTERMSIG(status),
           strsignal(WTERMSIG(status)));
    else
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the child finished (status %d)",
           name, WEXITSTATUS(status));
    struct report r = {0};
    int got = (int)read(p[0], &r, sizeof r) == (int)sizeof r;
    close(p[0]);
    ok(got, "%s: the child reported", name);
    diag("%s: %ld failing calls, %ld signals handled, %ld failing calls in the handler", name,
         r.calls, r.handled, r.handler_calls);
    is_int(r.calls, calls_per_phase(), "%s: every call of the interrupted thread returned", name);
    is_int(r.wrong, 0, "%s: every interrupted call returned its code and errno", name);
    is_int(r.bad_messages, 0, "%s: the message is always a csock message", name);
    ok(r.handled > 0, "%s: signals were handled (%ld)", name, r.handled);
    is_int(r.handler_wrong, 0, "%s: every call in the handler returned its code and errno", name);
}

int main(void) {
    /* The plain case first: the first failure of the process and of the thread. */
    csock_socket s;
    is_int(csock_adopt(&s, -1, -1, -1, -1), -EBADF, "a failing call outside any handler");
    ok(strstr(csock_last_error(), "negative file descriptor") != NULL, "its message: %s",
       csock_last_error());
    phase(1);
    phase(0);
    return done_testing();
}
