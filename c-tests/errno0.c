/*
 * errno0: a system call that fails without setting errno (it returns -1 with errno 0) is
 * reported as -EIO with errno EIO, never as success, and leaves every out-parameter unwritten.
 *
 * The C library calls that csock makes are interposed by this program (its definitions come
 * first in the lookup of libcsock's references): armed, one of them fails with the errno of the
 * case, 0 included; disarmed, it makes the system call itself. A seccomp filter cannot produce
 * such a failure: SECCOMP_RET_ERRNO with errno 0 makes the call return 0, a success. The control
 * cases arm the same calls with a real errno, which csock must return as it is: they show that
 * the interposition is in effect.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>

#include "tap.h"

enum call { C_NONE, C_SOCKET, C_SOCKETPAIR, C_GETSOCKOPT, C_FCNTL, C_ACCEPT4, C_GETSOCKNAME,
            C_GETPEERNAME, C_IOCTL, C_CLOSE, C_SHUTDOWN, C_CONNECT, C_LISTEN, C_SENDMSG,
            C_RECVMSG };
static enum call armed;
static int armed_errno;

/* Disarms (one failure per arming) and fails with the armed errno. */
static int fail_armed(void) {
    armed = C_NONE;
    errno = armed_errno;
    return -1;
}

int socket(int family, int type, int proto) {
    if (armed == C_SOCKET) return fail_armed();
    return (int)syscall(SYS_socket, family, type, proto);
}

int socketpair(int family, int type, int proto, int sv[2]) {
    if (armed == C_SOCKETPAIR) return fail_armed();
    return (int)syscall(SYS_socketpair, family, type, proto, sv);
}

int getsockopt(int fd, int level, int name, void *value, socklen_t *len) {
    if (armed == C_GETSOCKOPT) return fail_armed();
    return (int)syscall(SYS_getsockopt, fd, level, name, value, len);
}

int fcntl(int fd, int cmd, ...) {
    va_list ap;
    va_start(ap, cmd);
    long arg = va_arg(ap, long);
    va_end(ap);
    if (armed == C_FCNTL) return fail_armed();
    return (int)syscall(SYS_fcntl, fd, cmd, arg);
}

int ioctl(int fd, unsigned long request, ...) {
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    if (armed == C_IOCTL) return fail_armed();
    return (int)syscall(SYS_ioctl, fd, request, arg);
}

int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags) {
    if (armed == C_ACCEPT4) return fail_armed();
    return (int)syscall(SYS_accept4, fd, addr, len, flags);
}

int getsockname(int fd, struct sockaddr *addr, socklen_t *len) {
    if (armed == C_GETSOCKNAME) return fail_armed();
    return (int)syscall(SYS_getsockname, fd, addr, len);
}

int getpeername(int fd, struct sockaddr *addr, socklen_t *len) {
    if (armed == C_GETPEERNAME) return fail_armed();
    return (int)syscall(SYS_getpeername, fd, addr, len);
}

int shutdown(int fd, int how) {
    if (armed == C_SHUTDOWN) return fail_armed();
    return (int)syscall(SYS_shutdown, fd, how);
}

int connect(int fd, const struct sockaddr *addr, socklen_t len) {
    if (armed == C_CONNECT) return fail_armed();
    return (int)syscall(SYS_connect, fd, addr, len);
}

int listen(int fd, int backlog) {
    if (armed == C_LISTEN) return fail_armed();
    return (int)syscall(SYS_listen, fd, backlog);
}

ssize_t sendmsg(int fd, const struct msghdr *msg, int flags) {
    if (armed == C_SENDMSG) return fail_armed();
    return syscall(SYS_sendmsg, fd, msg, flags);
}

ssize_t recvmsg(int fd, struct msghdr *msg, int flags) {
    if (armed == C_RECVMSG) return fail_armed();
    return syscall(SYS_recvmsg, fd, msg, flags);
}

/* The descriptor is closed, then the call reports a failure without errno. */
int close(int fd) {
    int r = (int)syscall(SYS_close, fd);
    if (armed == C_CLOSE) return fail_armed();
    return r;
}

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};

static csock_socket listener, client, bound, pair[2];
static struct sockaddr_in listener_addr;

/* One csock call per interposed function; `out` receives what the call writes on success. */
static int call_with(enum call c, void *out) {
    switch (c) {
    case C_SOCKET: return csock_open(out, AF_INET, SOCK_STREAM, 0);
    case C_SOCKETPAIR: return csock_socketpair(out, AF_UNIX, SOCK_STREAM, 0);
    case C_GETSOCKOPT: return csock_adopt(out, bound.fd, -1, -1, -1);
    case C_FCNTL: return csock_dup(out, &bound);
    case C_ACCEPT4: return csock_accept(&listener, out, NULL, NULL, SOCK_NONBLOCK);
    case C_GETSOCKNAME: {
        struct sockaddr_storage *a = out;
        return csock_getsockname(&bound, a, (socklen_t *)(a + 1));
    }
    case C_GETPEERNAME: {
        struct sockaddr_storage *a = out;
        return csock_getpeername(&client, a, (socklen_t *)(a + 1));
    }
    case C_IOCTL: return csock_set_blocking(&bound, false);
    case C_SHUTDOWN: return csock_shutdown(&client, SHUT_WR);
    case C_CLOSE: {
        csock_socket s;
        if (csock_open(&s, AF_UNIX, SOCK_DGRAM, 0) < 0) return INT_MIN;
        int fd = s.fd;
        armed = C_CLOSE;
        int r = csock_close(&s), err = errno;
        /* close reports what csock_close saw: the descriptor was closed, and sock->fd is -1. */
        if (s.fd != -1 || fd_open(fd)) return INT_MIN + 1;
        errno = err;
        return r;
    }
    case C_CONNECT: {
        csock_socket s;
        if (csock_open(&s, AF_INET, SOCK_STREAM, 0) < 0) return INT_MIN;
        armed = C_CONNECT;
        int r = csock_connect(&s, (struct sockaddr *)&listener_addr, sizeof listener_addr, -1, 0);
        int err = errno;
        csock_close(&s);
        errno = err;
        return r;
    }
    case C_LISTEN: return csock_create_server(out, "127.0.0.1", NULL, AF_INET, 4, 0);
    case C_SENDMSG: {
        char byte = 'x';
        struct iovec iov = {&byte, 1};
        return csock_send_fds(&pair[0], &iov, 1, &bound.fd, 1, 0, NULL, 0);
    }
    case C_RECVMSG: {
        /* Something to receive, so that only the interposed failure can fail the call. */
        if (send(pair[0].fd, "y", 1, 0) != 1) return INT_MIN;
        unsigned char *o = out;
        armed = C_RECVMSG;
        int r = csock_recv_fds(&pair[1], o, 1, (int *)(o + 8), 2, (size_t *)(o + 16), 0,
                               (int *)(o + 24), NULL, NULL);
        int err = errno;
        char drain;
        recv(pair[1].fd, &drain, 1, MSG_DONTWAIT);
        errno = err;
        return r;
    }
    default: return INT_MIN;
    }
}

static const char *const NAMES[] = {
    "", "socket (csock_open)", "socketpair (csock_socketpair)", "getsockopt (csock_adopt)",
    "fcntl (csock_dup)", "accept4 (csock_accept)", "getsockname (csock_getsockname)",
    "getpeername (csock_getpeername)", "ioctl (csock_set_blocking)", "close (csock_close)",
    "shutdown (csock_shutdown)", "connect (csock_connect)", "listen (csock_create_server)",
    "sendmsg (csock_send_fds)", "recvmsg (csock_recv_fds)"};

static void check(enum call c, int err) {
    unsigned char out[2 * sizeof(struct sockaddr_storage)], before[sizeof out];
    for (size_t i = 0; i < sizeof out; i += sizeof SENTINEL) memcpy(out + i, &SENTINEL, sizeof SENTINEL);
    memcpy(before, out, sizeof out);
    int fds = count_fds();
    int want = err == 0 ? EIO : err;
    armed = c == C_CLOSE || c == C_CONNECT || c == C_RECVMSG ? C_NONE : c;
    armed_errno = err;
    errno = 12345;
    int r = call_with(c, out);
    int got_errno = errno;
    int was_armed = armed == C_NONE;
    armed = C_NONE;
    ok(was_armed, "%s, errno %d: the interposed call was made", NAMES[c], err);
    is_int(r, -want, "%s fails without errno (%d): -%s", NAMES[c], err, strerrorname_np(want));
    is_int(got_errno, want, "%s, errno %d: errno is %s", NAMES[c], err, strerrorname_np(want));
    ok(memcmp(out, before, sizeof out) == 0, "%s, errno %d: out-parameters unwritten", NAMES[c],
       err);
    char name[32];
    snprintf(name, sizeof name, ": %s: ", strerrorname_np(want));
    ok(strstr(csock_last_error(), name) != NULL, "%s, errno %d: the message: %s", NAMES[c], err,
       csock_last_error());
    is_int(count_fds(), fds, "%s, errno %d: no descriptor left behind", NAMES[c], err);
}

int main(void) {
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    if (csock_open(&listener, AF_INET, SOCK_STREAM, 0) < 0 ||
        bind(listener.fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(listener.fd, 8) < 0 ||
        getsockname(listener.fd, (struct sockaddr *)&sin, &len) < 0 ||
        csock_open(&client, AF_INET, SOCK_STREAM, 0) < 0 ||
        connect(client.fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        csock_open(&bound, AF_UNIX, SOCK_DGRAM, 0) < 0 ||
        csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0) < 0) {
        printf("Bail out! setup: %s\n", strerror(errno));
        return 1;
    }
    listener_addr = sin;
    for (enum call c = C_SOCKET; c <= C_RECVMSG; c++) {
        check(c, EPERM); /* control: the interposed failure reaches the caller as it is */
        check(c, 0);
    }
    is_int(fd_nonblock(bound.fd), 0, "the failed csock_set_blocking changed nothing");
    csock_close(&listener);
    csock_close(&client);
    csock_close(&bound);
    csock_close(&pair[0]);
    csock_close(&pair[1]);
    return done_testing();
}
