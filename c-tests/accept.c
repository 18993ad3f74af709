/*
 * csock_accept: accept4(SOCK_CLOEXEC | flags) on real loopback and unix listeners; the new socket
 * records the listener's values, is close-on-exec, blocking unless SOCK_NONBLOCK; addr/addrlen as
 * accept(2); bad flags rejected without a system call; retried on EINTR.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tap.h"
#include "seccomp.h"
#include "interrupt.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};

static int untouched(const csock_socket *s) { return memcmp(s, &SENTINEL, sizeof *s) == 0; }

/* A listener on 127.0.0.1 with a kernel-chosen port; its address goes to *where. */
static csock_socket tcp_listener(int type, int proto, struct sockaddr_in *where) {
    csock_socket l = SENTINEL;
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof *where;
    if (csock_open(&l, AF_INET, type, proto) < 0 ||
        bind(l.fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(l.fd, 8) < 0 ||
        getsockname(l.fd, (struct sockaddr *)where, &len) < 0)
        diag("tcp listener: %s", strerror(errno));
    return l;
}

/* A client connected to `to`, or -1. */
static int client(int family, const void *to, socklen_t len) {
    int fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd >= 0 && connect(fd, to, len) < 0) {
        diag("connect: %s", strerror(errno));
        close(fd);
        return -1;
    }
    return fd;
}

/* 1 when the listener has a connection waiting. */
static int pending(const csock_socket *l) {
    struct pollfd p = {.fd = l->fd, .events = POLLIN};
    return poll(&p, 1, 0) == 1;
}

/* Expects csock_accept to fail with -err, touching nothing and leaving no descriptor. */
static void accept_fails(const csock_socket *l, csock_socket *out, int use_addr, int flags,
                         int err, const char *what) {
    struct sockaddr_storage addr, addr_before;
    socklen_t addrlen = sizeof addr, *lenp = use_addr == 1 ? NULL : &addrlen;
    memset(&addr, 0xAA, sizeof addr);
    addr_before = addr;
    if (out) *out = SENTINEL;
    int before = count_fds();
    errno = 0;
    is_int(csock_accept(l, out, use_addr ? (struct sockaddr *)&addr : NULL, lenp, flags), -err,
           "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    diag("%s", csock_last_error());
    ok(!out || untouched(out), "%s: out untouched", what);
    ok(memcmp(&addr, &addr_before, sizeof addr) == 0 && addrlen == sizeof addr,
       "%s: addr and addrlen untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
}

/* Checks an accepted socket's recorded values and kernel flags. */
static void accepted_ok(const csock_socket *c, const csock_socket *l, int nonblock,
                        const char *what) {
    ok(c->fd >= 0 && c->fd != l->fd, "%s: a new descriptor", what);
    ok(c->family == l->family && c->type == l->type && c->proto == l->proto,
       "%s: records the listener's family/type/proto (%d, %d, %d)", what, c->family, c->type,
       c->proto);
    is_int(fd_cloexec(c->fd), 1, "%s: FD_CLOEXEC", what);
    is_int(fd_nonblock(c->fd), nonblock, "%s: O_NONBLOCK is %d", what, nonblock);
}

struct accept_call {
    const csock_socket *l;
    int flags;
};
static int call_accept(void *arg) {
    struct accept_call *a = arg;
    csock_socket out;
    return csock_accept(a->l, &out, NULL, NULL, a->flags);
}

/* A hook that refuses creations while `refuse` is set. */
static int refuse;
static int refusing_hook(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)fd, (void)family, (void)type, (void)proto, (void)data;
    return refuse ? -EACCES : 0;
}

/* --- EINTR: a blocking accept in a thread, interrupted by a handler without SA_RESTART. --- */

struct blocked {
    const csock_socket *l;
    int raw;            /* 1: plain accept4 (the control), 0: csock_accept */
    int flags;          /* csock_accept's flags */
    volatile pid_t tid; /* set by the thread before it blocks */
    int result, err;
    int eintr_message; /* the thread's csock_last_error() names accept4 and EINTR */
    csock_socket out;
};

static void *blocked_accept(void *arg) {
    struct blocked *b = arg;
    b->tid = gettid();
    if (b->raw) {
        b->result = accept4(b->l->fd, NULL, NULL, SOCK_CLOEXEC);
        b->err = errno;
    } else {
        b->result = csock_accept(b->l, &b->out, NULL, NULL, b->flags);
        b->err = errno;
        b->eintr_message = strstr(csock_last_error(), "accept4: EINTR") != NULL;
    }
    return NULL;
}

/*
 * Starts a blocking accept (csock's, or plain accept4 when raw), waits until the thread is
 * blocked in accept4, signals it, waits for the handler, then connects. Fills *b.
 */
static void interrupted_accept(struct blocked *b) {
    struct sockaddr_in where;
    csock_socket l = tcp_listener(SOCK_STREAM, CSOCK_DEFAULT, &where);
    b->l = &l;
    b->tid = 0;
    signals = 0;
    pthread_t t;
    pthread_create(&t, NULL, blocked_accept, b);
    WAIT_UNTIL(b->tid != 0 && blocked_in(b->tid) == SYS_accept4);
    ok(blocked_in(b->tid) == SYS_accept4, "%s: thread is blocked in accept4",
       b->raw ? "control" : "csock");
    pthread_kill(t, SIGUSR1);
    WAIT_UNTIL(signals > 0);
    is_int(signals, 1, "%s: the handler ran while accept was blocked",
           b->raw ? "control" : "csock");
    int c = client(AF_INET, &where, sizeof where);
    pthread_join(t, NULL);
    if (b->result >= 0 && b->raw) close(b->result);
    close(c);
    csock_close(&l);
}

int main(void) {
    struct sockaddr_in where;
    struct sockaddr_storage addr;
    socklen_t addrlen;
    csock_socket c;

    /* TCP: the accepted socket, and its peer address like accept(2). */
    csock_socket l = tcp_listener(SOCK_STREAM, CSOCK_DEFAULT, &where);
    int cl = client(AF_INET, &where, sizeof where);
    struct sockaddr_in cl_addr;
    socklen_t cl_len = sizeof cl_addr;
    getsockname(cl, (struct sockaddr *)&cl_addr, &cl_len);
    memset(&addr, 0xAA, sizeof addr);
    addrlen = sizeof addr;
    int before = count_fds();
    is_int(csock_accept(&l, &c, (struct sockaddr *)&addr, &addrlen, 0), 0, "tcp: accept");
    is_int(count_fds(), before + 1, "tcp: one descriptor added");
    accepted_ok(&c, &l, 0, "tcp");
    is_int(c.proto, 0, "tcp: proto is the listener's recorded 0, not the detected 6");
    is_int(addrlen, sizeof(struct sockaddr_in), "tcp: *addrlen is sizeof(sockaddr_in)");
    ok(memcmp(&addr, &cl_addr, sizeof cl_addr) == 0, "tcp: addr is the client's address");
    ok(((unsigned char *)&addr)[sizeof cl_addr] == 0xAA &&
           ((unsigned char *)&addr)[sizeof addr - 1] == 0xAA,
       "tcp: bytes past *addrlen untouched, as accept(2)");
    struct sockaddr_in peer;
    socklen_t peer_len = sizeof peer;
    getpeername(c.fd, (struct sockaddr *)&peer, &peer_len);
    ok(memcmp(&peer, &cl_addr, sizeof peer) == 0, "tcp: connected to that client");
    char buf[4] = {0};
    ok(send(cl, "hi", 2, 0) == 2 && recv(c.fd, buf, sizeof buf, 0) == 2 && !strcmp(buf, "hi"),
       "tcp: data flows");
    csock_close(&c);
    close(cl);

    /* SOCK_NONBLOCK. */
    cl = client(AF_INET, &where, sizeof where);
    is_int(csock_accept(&l, &c, NULL, NULL, SOCK_NONBLOCK), 0, "SOCK_NONBLOCK: accept");
    accepted_ok(&c, &l, 1, "SOCK_NONBLOCK");
    errno = 0;
    ok(recv(c.fd, buf, sizeof buf, 0) < 0 && errno == EAGAIN, "SOCK_NONBLOCK: recv gives EAGAIN");
    csock_close(&c);
    close(cl);

    /* Truncation: *addrlen holds the real length, only the room given is written. */
    for (socklen_t room = 0; room <= 8; room += 4) {
        cl = client(AF_INET, &where, sizeof where);
        getsockname(cl, (struct sockaddr *)&cl_addr, &cl_len);
        memset(&addr, 0xAA, sizeof addr);
        addrlen = room;
        is_int(csock_accept(&l, &c, (struct sockaddr *)&addr, &addrlen, 0), 0,
               "addrlen %u: accept", room);
        is_int(addrlen, sizeof(struct sockaddr_in), "addrlen %u: *addrlen is the real length",
               room);
        ok(memcmp(&addr, &cl_addr, room) == 0, "addrlen %u: the first %u bytes written", room,
           room);
        ok(((unsigned char *)&addr)[room] == 0xAA, "addrlen %u: nothing written past the room",
           room);
        csock_close(&c);
        close(cl);
    }

    /* addr NULL with addrlen given: addrlen left alone, as accept(2). */
    cl = client(AF_INET, &where, sizeof where);
    addrlen = 12345;
    is_int(csock_accept(&l, &c, NULL, &addrlen, 0), 0, "addr NULL, addrlen given: accept");
    is_int(addrlen, 12345, "addr NULL: *addrlen untouched");
    csock_close(&c);
    close(cl);

    /* Errors that must not consume the pending connection (listener non-blocking: no hang). */
    csock_set_blocking(&l, false);
    cl = client(AF_INET, &where, sizeof where);
    ok(pending(&l), "a connection is pending");
    accept_fails(&l, &c, 0, SOCK_CLOEXEC, EINVAL, "flags SOCK_CLOEXEC");
    accept_fails(&l, &c, 0, 0x40000000, EINVAL, "flags 0x40000000");
    accept_fails(&l, &c, 0, SOCK_NONBLOCK | 1, EINVAL, "flags SOCK_NONBLOCK|1");
    accept_fails(&l, &c, 0, -1, EINVAL, "flags -1");
    accept_fails(&l, &c, 1, 0, EINVAL, "addr given, addrlen NULL");
    accept_fails(NULL, &c, 0, 0, EINVAL, "NULL listener");
    accept_fails(&l, NULL, 0, 0, EINVAL, "NULL out");
    static const int accepts[] = {SYS_accept, SYS_accept4};
    struct accept_call bad = {&l, SOCK_CLOEXEC}, good = {&l, 0};
    no_syscall_is(without_syscalls(accepts, 2, call_accept, &good), -ENOSYS,
                  "control: with accept4 blocked, a good accept fails with -ENOSYS");
    no_syscall_is(without_syscalls(accepts, 2, call_accept, &bad), -EINVAL,
                  "flags SOCK_CLOEXEC: -EINVAL without a system call");
    bad.flags = 0x40000000;
    no_syscall_is(without_syscalls(accepts, 2, call_accept, &bad), -EINVAL,
                  "flags 0x40000000: -EINVAL without a system call");
    ok(pending(&l), "the connection is still pending after every rejected call");
    is_int(csock_accept(&l, &c, NULL, NULL, 0), 0, "and is accepted afterwards");
    is_int(fd_nonblock(c.fd), 0, "accepted from a non-blocking listener: blocking (flags 0)");
    csock_close(&c);
    close(cl);

    /* Nothing pending on a non-blocking listener. */
    accept_fails(&l, &c, 0, 0, EAGAIN, "nothing pending");
    accept_fails(&l, &c, 0, SOCK_NONBLOCK, EAGAIN, "nothing pending, SOCK_NONBLOCK");

    /* A hook's refusal: the connection is taken and closed again, nothing is left behind. */
    csock_audit_add(refusing_hook, NULL);
    cl = client(AF_INET, &where, sizeof where);
    refuse = 1;
    accept_fails(&l, &c, 0, 0, EACCES, "hook refuses");
    refuse = 0;
    struct pollfd eof = {.fd = cl, .events = POLLIN};
    ok(poll(&eof, 1, 10000) == 1 && recv(cl, buf, sizeof buf, MSG_DONTWAIT) == 0,
       "hook refuses: the client sees the connection closed");
    close(cl);

    /* Sockets that cannot accept. */
    csock_socket other;
    csock_open(&other, AF_INET, SOCK_STREAM, 0);
    accept_fails(&other, &c, 0, 0, EINVAL, "not listening");
    csock_close(&other);
    csock_open(&other, AF_INET, SOCK_DGRAM, 0);
    accept_fails(&other, &c, 0, 0, EOPNOTSUPP, "udp");
    csock_close(&other);

    /* A closed listener. */
    csock_socket closed = l;
    csock_close(&closed);
    accept_fails(&closed, &c, 0, 0, EBADF, "closed listener");

    /* The listener's recorded values are copied, not detected. */
    int raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, IPPROTO_TCP);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof where;
    bind(raw, (struct sockaddr *)&sin, sizeof sin);
    listen(raw, 1);
    getsockname(raw, (struct sockaddr *)&where, &len);
    csock_adopt(&l, raw, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    is_int(l.proto, IPPROTO_TCP, "adopted listener: proto detected as 6");
    cl = client(AF_INET, &where, sizeof where);
    is_int(csock_accept(&l, &c, NULL, NULL, 0), 0, "adopted listener: accept");
    accepted_ok(&c, &l, 0, "adopted listener");
    csock_close(&c);
    close(cl);
    csock_close(&l);

    /* Unix listener in a private directory. */
    char dir[] = "/tmp/csock-accept-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    struct sockaddr_un sun = {.sun_family = AF_UNIX}, csun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/listener", dir);
    snprintf(csun.sun_path, sizeof csun.sun_path, "%s/client", dir);
    is_int(csock_open(&l, AF_UNIX, SOCK_STREAM, CSOCK_DEFAULT), 0, "unix: listener");
    ok(bind(l.fd, (struct sockaddr *)&sun, sizeof sun) == 0 && listen(l.fd, 4) == 0,
       "unix: bound and listening");

    cl = client(AF_UNIX, &sun, sizeof sun);
    memset(&addr, 0xAA, sizeof addr);
    addrlen = sizeof addr;
    is_int(csock_accept(&l, &c, (struct sockaddr *)&addr, &addrlen, 0), 0, "unix: accept");
    accepted_ok(&c, &l, 0, "unix");
    ok(c.family == AF_UNIX && c.type == SOCK_STREAM && c.proto == 0,
       "unix: AF_UNIX, SOCK_STREAM, 0");
    is_int(addrlen, sizeof(sa_family_t), "unix: an unnamed client has a family-only address");
    is_int(((struct sockaddr_un *)&addr)->sun_family, AF_UNIX, "unix: family AF_UNIX");
    csock_close(&c);
    close(cl);

    cl = socket(AF_UNIX, SOCK_STREAM, 0);
    bind(cl, (struct sockaddr *)&csun, sizeof csun);
    connect(cl, (struct sockaddr *)&sun, sizeof sun);
    memset(&addr, 0xAA, sizeof addr);
    addrlen = sizeof addr;
    is_int(csock_accept(&l, &c, (struct sockaddr *)&addr, &addrlen, SOCK_NONBLOCK), 0,
           "unix, bound client: accept");
    accepted_ok(&c, &l, 1, "unix, bound client");
    is_int(addrlen, offsetof(struct sockaddr_un, sun_path) + strlen(csun.sun_path) + 1,
           "unix: *addrlen covers the path and its NUL");
    is_str(((struct sockaddr_un *)&addr)->sun_path, csun.sun_path, "unix: the client's path");
    csock_close(&c);
    close(cl);
    csock_close(&l);
    unlink(sun.sun_path);
    unlink(csun.sun_path);
    ok(rmdir(dir) == 0, "unix: temporary directory removed");

    /* EINTR: a handler installed without SA_RESTART. */
    interrupt_setup();
    struct blocked control = {.raw = 1};
    interrupted_accept(&control);
    ok(control.result == -1 && control.err == EINTR,
       "control: plain accept4 is interrupted with EINTR (result %d, %s)", control.result,
       strerrorname_np(control.err));
    struct blocked b = {.raw = 0};
    before = count_fds();
    interrupted_accept(&b);
    is_int(b.result, 0, "csock_accept retries after EINTR and returns the connection");
    /* The listener is gone; what it recorded: AF_INET, SOCK_STREAM, 0. */
    accepted_ok(&b.out, &(csock_socket){-2, AF_INET, SOCK_STREAM, 0}, 0, "after EINTR");
    csock_close(&b.out);
    is_int(count_fds(), before, "after EINTR: nothing left behind");

    /* CSOCK_EINTR: the interrupted accept returns -EINTR, so a handler's flag gets control. */
    struct blocked interrupted = {.raw = 0, .flags = CSOCK_EINTR};
    memset(&interrupted.out, 0x5a, sizeof interrupted.out);
    before = count_fds();
    interrupted_accept(&interrupted);
    is_int(interrupted.result, -EINTR, "CSOCK_EINTR: csock_accept returns -EINTR");
    is_int(interrupted.err, EINTR, "CSOCK_EINTR: errno is EINTR");
    ok(interrupted.out.fd == 0x5a5a5a5a, "CSOCK_EINTR: out untouched");
    is_int(count_fds(), before, "CSOCK_EINTR: nothing left behind");
    ok(interrupted.eintr_message, "CSOCK_EINTR: the message names accept4 and EINTR");

    /* CSOCK_EINTR with SOCK_NONBLOCK is accepted; any other bit still is not. */
    {
        struct sockaddr_in where;
        csock_socket l = tcp_listener(SOCK_STREAM, CSOCK_DEFAULT, &where), got;
        csock_set_blocking(&l, false);
        is_int(csock_accept(&l, &got, NULL, NULL, SOCK_NONBLOCK | CSOCK_EINTR), -EAGAIN,
               "SOCK_NONBLOCK | CSOCK_EINTR: accepted flags, -EAGAIN with nothing pending");
        is_int(csock_accept(&l, &got, NULL, NULL, CSOCK_EINTR | SOCK_CLOEXEC), -EINVAL,
               "CSOCK_EINTR | SOCK_CLOEXEC: -EINVAL");
        csock_close(&l);
    }

    /* csock_accept(&l, &l, ...): the listener is read before it is overwritten with the
     * connection, and the address and its length are right. */
    {
        struct sockaddr_in where;
        csock_socket l = tcp_listener(SOCK_STREAM, CSOCK_DEFAULT, &where);
        int listen_fd = l.fd, c = client(AF_INET, &where, sizeof where);
        struct sockaddr_storage peer;
        socklen_t peerlen = sizeof peer;
        int before = count_fds();
        is_int(csock_accept(&l, &l, (struct sockaddr *)&peer, &peerlen, 0), 0,
               "csock_accept(&l, &l, ...) succeeds");
        ok(l.fd >= 0 && l.fd != listen_fd, "aliased: l now holds the connection (%d, listener %d)",
           l.fd, listen_fd);
        ok(l.family == AF_INET && l.type == SOCK_STREAM && l.proto == 0,
           "aliased: the connection records the listener's values (%d, %d, %d)", l.family,
           l.type, l.proto);
        is_int(count_fds(), before + 1, "aliased: exactly one descriptor added");
        is_int(fd_cloexec(l.fd), 1, "aliased: the connection is close-on-exec");
        struct sockaddr_in mine;
        socklen_t minelen = sizeof mine;
        getsockname(c, (struct sockaddr *)&mine, &minelen);
        ok(peerlen == sizeof(struct sockaddr_in) &&
               ((struct sockaddr_in *)&peer)->sin_port == mine.sin_port,
           "aliased: the address is the client's");
        int listening = -1;
        socklen_t optlen = sizeof listening;
        getsockopt(listen_fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &optlen);
        is_int(listening, 1, "aliased: the listening descriptor is still open and listening");
        ok(write(c, "x", 1) == 1 && read(l.fd, &listening, 1) == 1, "aliased: connected");
        csock_close(&l);
        close(listen_fd);
        close(c);
        is_int(count_fds(), before - 2, "aliased: everything closed");
    }

    return done_testing();
}
