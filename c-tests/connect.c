/*
 * csock_connect: CPython's internal_connect with the timeout an argument. Negative: one connect
 * and a wait without limit when it goes on; 0: one non-blocking attempt; positive: poll, then
 * SO_ERROR, -ETIMEDOUT when it runs out. The descriptor's blocking mode is read back after every
 * call, on every path; a signal never re-issues connect (the thread is seen waiting in poll
 * instead), CSOCK_EINTR returns -EINTR. Also csock_close_fd, csock_gai_error and csock_strerror.
 */
#include <csock.h>

#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>

#include "tap.h"
#include "seccomp.h"
#include "net.h"
#include "interrupt.h"

static struct sockaddr_storage fast, slow, refused;
static socklen_t fast_len, slow_len, refused_len;

/* A csock socket for AF_INET, blocking or not. */
static csock_socket tcp(int nonblock) {
    csock_socket s = {-1, -1, -1, -1};
    if (csock_open(&s, AF_INET, SOCK_STREAM | (nonblock ? SOCK_NONBLOCK : 0), 0) < 0)
        diag("csock_open: %s", csock_last_error());
    return s;
}

static int peer_is(int fd, const struct sockaddr_storage *want) {
    struct sockaddr_storage got;
    socklen_t len = sizeof got;
    return getpeername(fd, (struct sockaddr *)&got, &len) == 0 &&
           memcmp(&((struct sockaddr_in *)&got)->sin_port,
                  &((const struct sockaddr_in *)want)->sin_port, 2) == 0;
}

/* A connect that must fail with -err, leaving the mode as it was and no descriptor behind. */
static void connect_fails(int nonblock, const struct sockaddr_storage *to, socklen_t len,
                          int timeout, int flags, int err, const char *what) {
    csock_socket s = tcp(nonblock);
    int before = count_fds();
    errno = 0;
    is_int(csock_connect(&s, (const struct sockaddr *)to, len, timeout, flags), -err,
           "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno %s", what, strerrorname_np(err));
    is_int(fd_nonblock(s.fd), nonblock, "%s: O_NONBLOCK is %d afterwards, as before", what,
           nonblock);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
    diag("%s: %s", what, csock_last_error());
    csock_close(&s);
}

struct call {
    csock_socket *s;
    const struct sockaddr *addr;
    socklen_t len;
    int timeout, flags;
};
static int call_connect(void *arg) {
    struct call *c = arg;
    return csock_connect(c->s, c->addr, c->len, c->timeout, c->flags);
}

static int csock_close_fd_thunk(void *arg) { return csock_close_fd(*(int *)arg); }

/* --- signals --- */

static int in_poll(pid_t tid) {
    long nr = blocked_in(tid);
    return nr == SYS_poll || nr == SYS_ppoll;
}

struct blocked {
    int raw;                 /* 1: plain connect(2), the control */
    int nonblock;            /* the socket's mode */
    int timeout, flags;
    volatile pid_t tid;
    csock_socket s;
    int result, err;
    double elapsed_ms;
};

static void *blocked_connect(void *arg) {
    struct blocked *b = arg;
    b->tid = gettid();
    double t0 = net_now_ms();
    if (b->raw) {
        b->result = connect(b->s.fd, (struct sockaddr *)&slow, slow_len);
        b->err = errno;
    } else {
        b->result = csock_connect(&b->s, (struct sockaddr *)&slow, slow_len, b->timeout, b->flags);
        b->err = errno;
    }
    b->elapsed_ms = net_now_ms() - t0;
    return NULL;
}

/* The slow listener and the clients filling it; drain() accepts one so a SYN gets in again. */
static int slow_fd, fills[64], nfills;

int main(void) {
    int holder;
    int port = closed_port4(&holder);
    refused_len = net_addr("127.0.0.1", port, &refused);
    int fast_fd = listener_at("127.0.0.1", 0, 128);
    fast_len = net_addr("127.0.0.1", bound_port(fast_fd), &fast);
    slow_fd = listener_at("127.0.0.1", 0, 0);
    slow_len = net_addr("127.0.0.1", bound_port(slow_fd), &slow);
    nfills = fill_backlog("127.0.0.1", bound_port(slow_fd), fills, 64);
    ok(nfills >= 1, "the slow listener's accept queue is full (%d connections)", nfills);

    /* Negative timeout, blocking socket: one connect, done. */
    csock_socket s = tcp(0);
    is_int(csock_connect(&s, (struct sockaddr *)&fast, fast_len, CSOCK_DEFAULT, 0), 0,
           "blocking, no timeout: connects");
    ok(peer_is(s.fd, &fast), "blocking, no timeout: connected to the listener");
    is_int(fd_nonblock(s.fd), 0, "blocking, no timeout: still blocking");
    csock_close(&s);

    /* Negative timeout, non-blocking socket: EINPROGRESS is waited for. */
    s = tcp(1);
    is_int(csock_connect(&s, (struct sockaddr *)&fast, fast_len, -1, 0), 0,
           "non-blocking, no timeout: waits and connects");
    ok(peer_is(s.fd, &fast), "non-blocking, no timeout: connected");
    is_int(fd_nonblock(s.fd), 1, "non-blocking, no timeout: still non-blocking");
    csock_close(&s);

    /* Positive timeout that is enough: connected, blocking again. */
    for (int nb = 0; nb <= 1; nb++) {
        s = tcp(nb);
        is_int(csock_connect(&s, (struct sockaddr *)&fast, fast_len, 5000, 0), 0,
               "timeout 5000, %s: connects", nb ? "non-blocking" : "blocking");
        ok(peer_is(s.fd, &fast), "timeout 5000, %s: connected", nb ? "non-blocking" : "blocking");
        is_int(fd_nonblock(s.fd), nb, "timeout 5000: O_NONBLOCK %d afterwards, as before", nb);
        csock_close(&s);
    }

    /* Timeout 0: one non-blocking attempt; EINPROGRESS when it goes on. */
    s = tcp(0);
    int rc = csock_connect(&s, (struct sockaddr *)&fast, fast_len, 0, 0);
    ok(rc == 0 || rc == -EINPROGRESS, "timeout 0 to a listener: 0 or -EINPROGRESS (%d)", rc);
    is_int(fd_nonblock(s.fd), 0, "timeout 0: blocking again afterwards");
    csock_close(&s);
    connect_fails(0, &slow, slow_len, 0, 0, EINPROGRESS, "timeout 0, blocking, full listener");
    connect_fails(1, &slow, slow_len, 0, 0, EINPROGRESS, "timeout 0, non-blocking, full listener");

    /* Refused, on every mode. */
    connect_fails(0, &refused, refused_len, -1, 0, ECONNREFUSED, "refused, blocking, no timeout");
    connect_fails(1, &refused, refused_len, -1, 0, ECONNREFUSED, "refused, non-blocking");
    connect_fails(0, &refused, refused_len, 2000, 0, ECONNREFUSED, "refused, timeout 2000");
    ok(strstr(csock_last_error(), "ECONNREFUSED") && strstr(csock_last_error(), "127.0.0.1:"),
       "the message names the address and the errno");

    /* Timeouts against the full listener. */
    double t0 = net_now_ms();
    connect_fails(0, &slow, slow_len, 200, 0, ETIMEDOUT, "timeout 200, blocking, full listener");
    double took = net_now_ms() - t0;
    ok(took >= 195 && took < 2000, "timeout 200: took %.0f ms", took);
    connect_fails(1, &slow, slow_len, 100, 0, ETIMEDOUT, "timeout 100, non-blocking");

    /* Bad arguments: -EINVAL / -EBADF without a system call. */
    s = tcp(0);
    connect_fails(0, &fast, sizeof(struct sockaddr_storage) + 1, 0, 0, EINVAL,
                  "len above sizeof(sockaddr_storage)");
    is_int(csock_connect(&s, NULL, 16, -1, 0), -EINVAL, "addr NULL: -EINVAL");
    is_int(csock_connect(NULL, (struct sockaddr *)&fast, fast_len, -1, 0), -EINVAL,
           "sock NULL: -EINVAL");
    is_int(csock_connect(&s, (struct sockaddr *)&fast, fast_len, -1, 1), -EINVAL,
           "flags 1: -EINVAL");
    is_int(csock_connect(&s, (struct sockaddr *)&fast, fast_len, -1, SOCK_NONBLOCK), -EINVAL,
           "flags SOCK_NONBLOCK: -EINVAL");
    static const int calls[] = {SYS_connect, SYS_poll, SYS_ppoll, SYS_fcntl, SYS_ioctl};
    struct call good = {&s, (struct sockaddr *)&fast, fast_len, 100, 0};
    no_syscall_is(without_syscalls(calls, 5, call_connect, &good), -ENOSYS,
                  "control: with connect blocked, a good call fails with -ENOSYS");
    struct call bad = good;
    bad.flags = 0x40000000;
    no_syscall_is(without_syscalls(calls, 5, call_connect, &bad), -EINVAL,
                  "unknown flags: -EINVAL without a system call");
    bad = good;
    bad.addr = NULL;
    no_syscall_is(without_syscalls(calls, 5, call_connect, &bad), -EINVAL,
                  "addr NULL: -EINVAL without a system call");
    bad = good;
    bad.len = sizeof(struct sockaddr_storage) + 1;
    no_syscall_is(without_syscalls(calls, 5, call_connect, &bad), -EINVAL,
                  "len too large: -EINVAL without a system call");
    csock_socket closed = s;
    csock_close(&closed);
    bad = good;
    bad.s = &closed;
    no_syscall_is(without_syscalls(calls, 5, call_connect, &bad), -EBADF,
                  "closed socket: -EBADF without a system call");
    is_int(csock_connect(&closed, (struct sockaddr *)&fast, fast_len, -1, 0), -EBADF,
           "closed socket: -EBADF");

    /* Signals: a handler without SA_RESTART. */
    interrupt_setup();

    /* Control: a plain blocking connect to the full listener is interrupted with EINTR. */
    struct blocked ctl = {.raw = 1};
    ctl.s = tcp(0);
    pthread_t t;
    signals = 0;
    pthread_create(&t, NULL, blocked_connect, &ctl);
    WAIT_UNTIL(ctl.tid && blocked_in(ctl.tid) == SYS_connect);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    ok(ctl.result == -1 && ctl.err == EINTR, "control: plain connect returns EINTR (%d, %s)",
       ctl.result, strerrorname_np(ctl.err));
    csock_close(&ctl.s);

    /* No timeout, no CSOCK_EINTR: after the signal csock waits in poll, never connects again;
     * once the listener has room the connection completes. */
    struct blocked b = {.timeout = -1};
    b.s = tcp(0);
    signals = 0;
    pthread_create(&t, NULL, blocked_connect, &b);
    WAIT_UNTIL(b.tid && blocked_in(b.tid) == SYS_connect);
    ok(blocked_in(b.tid) == SYS_connect, "no timeout: the thread is blocked in connect");
    pthread_kill(t, SIGUSR1);
    WAIT_UNTIL(signals > 0 && in_poll(b.tid));
    ok(in_poll(b.tid), "no timeout, after EINTR: the thread waits in poll (connect not re-issued)");
    int a = accept(slow_fd, NULL, NULL); /* room for one: the SYN's retransmission gets in */
    pthread_join(t, NULL);
    is_int(b.result, 0, "no timeout, after EINTR: the connection completes");
    is_int(fd_nonblock(b.s.fd), 0, "no timeout, after EINTR: still blocking");
    close(a);
    csock_close(&b.s);
    /* The slow listener is full again. */
    if (nfills < 64) nfills += fill_backlog("127.0.0.1", bound_port(slow_fd), fills + nfills,
                                            64 - nfills);

    /* CSOCK_EINTR during connect on a blocking socket: -EINTR, mode unchanged. */
    struct blocked e = {.timeout = -1, .flags = CSOCK_EINTR};
    e.s = tcp(0);
    int before = count_fds();
    pthread_create(&t, NULL, blocked_connect, &e);
    WAIT_UNTIL(e.tid && blocked_in(e.tid) == SYS_connect);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    is_int(e.result, -EINTR, "CSOCK_EINTR, interrupted connect: -EINTR");
    is_int(e.err, EINTR, "CSOCK_EINTR: errno EINTR");
    is_int(fd_nonblock(e.s.fd), 0, "CSOCK_EINTR: still blocking");
    is_int(count_fds(), before, "CSOCK_EINTR: no descriptor added");
    csock_close(&e.s);

    /* CSOCK_EINTR during the wait of a timed connect: -EINTR, blocking again. */
    struct blocked w = {.timeout = 5000, .flags = CSOCK_EINTR};
    w.s = tcp(0);
    pthread_create(&t, NULL, blocked_connect, &w);
    WAIT_UNTIL(w.tid && in_poll(w.tid));
    ok(in_poll(w.tid), "timeout 5000: the thread waits in poll");
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    is_int(w.result, -EINTR, "CSOCK_EINTR, interrupted wait: -EINTR");
    ok(w.elapsed_ms < 4000, "CSOCK_EINTR: returned early (%.0f ms)", w.elapsed_ms);
    is_int(fd_nonblock(w.s.fd), 0, "CSOCK_EINTR, interrupted wait: blocking again");
    csock_close(&w.s);

    /* Without CSOCK_EINTR the wait resumes with the time left: the total stays the timeout. */
    struct blocked r = {.timeout = 600};
    r.s = tcp(0);
    pthread_create(&t, NULL, blocked_connect, &r);
    WAIT_UNTIL(r.tid && in_poll(r.tid));
    usleep(300 * 1000);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    is_int(r.result, -ETIMEDOUT, "timeout 600, a signal at 300 ms: -ETIMEDOUT all the same");
    ok(r.elapsed_ms >= 590 && r.elapsed_ms < 1100,
       "timeout 600, a signal at 300 ms: the wait resumed with the time left (%.0f ms)",
       r.elapsed_ms);
    is_int(fd_nonblock(r.s.fd), 0, "timeout 600, interrupted: blocking again");
    csock_close(&r.s);

    /* csock_close_fd: socket.close(fd). */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    before = count_fds();
    is_int(csock_close_fd(fd), 0, "csock_close_fd: 0");
    is_int(count_fds(), before - 1, "csock_close_fd: the descriptor is gone");
    is_int(csock_close_fd(fd), -EBADF, "csock_close_fd twice: -EBADF");
    is_int(csock_close_fd(-1), -EBADF, "csock_close_fd(-1): -EBADF");
    static const int closes[] = {SYS_close};
    int minus_one = -1;
    no_syscall_is(without_syscalls(closes, 1, csock_close_fd_thunk, &minus_one),
                  -EBADF, "csock_close_fd(-1): without a system call");

    /* csock_gai_error and csock_strerror for every resolver code. */
    static const int eai[] = {EAI_BADFLAGS, EAI_NONAME, EAI_AGAIN, EAI_FAIL, EAI_NODATA,
                              EAI_FAMILY, EAI_SOCKTYPE, EAI_SERVICE, EAI_ADDRFAMILY, EAI_MEMORY,
                              EAI_SYSTEM, EAI_INPROGRESS, EAI_CANCELED, EAI_NOTCANCELED,
                              EAI_ALLDONE, EAI_INTR, EAI_IDN_ENCODE};
    int all = 1;
    for (size_t i = 0; i < sizeof eai / sizeof eai[0]; i++) {
        int code = -(CSOCK_EAI_BASE - eai[i]);
        if (csock_gai_error(code) != eai[i] || strcmp(csock_strerror(code), gai_strerror(eai[i]))) {
            diag("EAI %d: gai_error %d, strerror '%s'", eai[i], csock_gai_error(code),
                 csock_strerror(code));
            all = 0;
        }
    }
    ok(all, "every resolver code: csock_gai_error gives its EAI value, csock_strerror "
            "gai_strerror's text");
    is_int(csock_gai_error(-4098), EAI_NONAME, "csock_gai_error(-4098) is EAI_NONAME");
    is_int(csock_gai_error(-ENOENT), 0, "csock_gai_error(-ENOENT) is 0");
    is_int(csock_gai_error(0), 0, "csock_gai_error(0) is 0");
    is_int(csock_gai_error(INT_MIN), 0, "csock_gai_error(INT_MIN) is 0");
    all = 1;
    for (int e = 1; e < 134; e++)
        if (strcmp(csock_strerror(-e), strerror(e)) && strncmp(strerror(e), "Unknown", 7)) {
            diag("errno %d: '%s' vs '%s'", e, csock_strerror(-e), strerror(e));
            all = 0;
        }
    ok(all, "csock_strerror(-errno) is strerror's text for every errno");
    is_str(csock_strerror(0), "Success", "csock_strerror(0)");
    is_str(csock_strerror(-41), "Unknown error", "csock_strerror of an unknown errno");
    is_str(csock_strerror(INT_MIN), "Unknown error", "csock_strerror(INT_MIN): never NULL");
    is_str(csock_strerror(-4096 - 12), "Unknown error", "csock_strerror of an unknown EAI");

    for (int i = 0; i < nfills; i++) close(fills[i]);
    close(slow_fd);
    close(fast_fd);
    close(holder);
    return done_testing();
}
