/*
 * csock_close, csock_detach and csock_shutdown: what happens to the descriptor, observed through
 * the kernel.
 */
#include <csock.h>

#include <sys/socket.h>

#include "tap.h"

/* A connected unix stream pair made with socketpair(2) and adopted. */
static int adopted_pair(csock_socket pair[2]) {
    int fds[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds) != 0) return -1;
    if (csock_adopt(&pair[0], fds[0], -1, -1, -1) != 0) return -1;
    return csock_adopt(&pair[1], fds[1], -1, -1, -1);
}

/* recv without blocking: the byte count, or -errno. */
static int try_recv(const csock_socket *s) {
    char buf[8];
    ssize_t n = recv(s->fd, buf, sizeof buf, MSG_DONTWAIT);
    return n < 0 ? -errno : (int)n;
}

/* send without SIGPIPE: the byte count, or -errno. */
static int try_send(const csock_socket *s) {
    ssize_t n = send(s->fd, "x", 1, MSG_NOSIGNAL | MSG_DONTWAIT);
    return n < 0 ? -errno : (int)n;
}

static void test_close(void) {
    csock_socket s;
    csock_open(&s, AF_UNIX, SOCK_STREAM, 0);
    int fd = s.fd, fds = count_fds();
    is_int(csock_close(&s), 0, "close: 0");
    is_int(s.fd, -1, "close: fd set to -1");
    ok(!fd_open(fd), "close: the descriptor is closed");
    is_int(count_fds(), fds - 1, "close: one descriptor fewer");
    is_int(s.family, AF_UNIX, "close: recorded family kept");
    is_int(csock_close(&s), 0, "close again: 0");
    is_int(s.fd, -1, "close again: fd still -1");
    is_int(count_fds(), fds - 1, "close again: closes nothing else");

    csock_open(&s, AF_UNIX, SOCK_STREAM, 0);
    close(s.fd);
    errno = 0;
    is_int(csock_close(&s), -EBADF, "closed behind its back: -EBADF");
    is_int(errno, EBADF, "closed behind its back: errno EBADF");
    is_int(s.fd, -1, "closed behind its back: fd set to -1");
    ok(strstr(csock_last_error(), "close") != NULL && strstr(csock_last_error(), "EBADF"),
       "closed behind its back: message names close and EBADF");

    errno = 0;
    is_int(csock_close(NULL), -EINVAL, "close NULL: -EINVAL");
    is_int(errno, EINVAL, "close NULL: errno EINVAL");
}

static void test_detach(void) {
    csock_socket s;
    csock_open(&s, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    int fd = s.fd, fds = count_fds();
    is_int(csock_detach(&s), fd, "detach returns the descriptor");
    is_int(s.fd, -1, "detach sets fd to -1");
    ok(fd_open(fd), "the detached descriptor stays open");
    is_int(fd_cloexec(fd), 1, "and keeps FD_CLOEXEC");
    is_int(fd_nonblock(fd), 1, "and keeps O_NONBLOCK");
    is_int(count_fds(), fds, "detach closes nothing");
    errno = 0;
    is_int(csock_detach(&s), -EBADF, "detach again: -EBADF");
    is_int(errno, EBADF, "detach again: errno EBADF");
    is_int(csock_close(&s), 0, "closing the detached socket is a no-op");
    ok(fd_open(fd), "and leaves the descriptor open");
    is_int(close(fd), 0, "the caller closes it");
    is_int(csock_detach(NULL), -EINVAL, "detach NULL: -EINVAL");
}

static void test_shutdown(void) {
    csock_socket p[2];
    if (!ok(adopted_pair(p) == 0, "pair adopted")) return;
    is_int(try_recv(&p[1]), -EAGAIN, "before shutdown: nothing to read");
    is_int(try_send(&p[0]), 1, "before shutdown: send works");
    is_int(try_recv(&p[1]), 1, "before shutdown: the byte arrives");

    const int invalid[] = {-1, 3, 99};
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        errno = 0;
        is_int(csock_shutdown(&p[0], invalid[i]), -EINVAL, "how %d: -EINVAL", invalid[i]);
        is_int(errno, EINVAL, "how %d: errno EINVAL", invalid[i]);
        const char *msg = csock_last_error();
        ok(strstr(msg, "csock_shutdown(") && !strstr(msg, ": shutdown:"),
           "how %d: refused before any shutdown(2) call", invalid[i]);
    }
    is_int(try_send(&p[0]), 1, "after invalid hows: send still works");
    is_int(try_recv(&p[1]), 1, "after invalid hows: the byte still arrives");

    csock_close(&p[0]);
    csock_close(&p[1]);

    /* After shutdown(p[0], how): p[0] sends, p[1] sends, p[0] reads, p[1] reads. */
    const struct {
        int how;
        const char *name;
        int self_send, peer_send, self_recv, peer_recv;
    } hows[] = {
        {SHUT_WR, "SHUT_WR", -EPIPE, 1, 1, 0},
        {SHUT_RD, "SHUT_RD", 1, -EPIPE, 0, 1},
        {SHUT_RDWR, "SHUT_RDWR", -EPIPE, -EPIPE, 0, 0},
    };
    for (size_t i = 0; i < sizeof hows / sizeof hows[0]; i++) {
        const char *name = hows[i].name;
        if (!ok(adopted_pair(p) == 0, "%s: pair adopted", name)) return;
        is_int(csock_shutdown(&p[0], hows[i].how), 0, "%s: 0", name);
        is_int(try_send(&p[0]), hows[i].self_send, "%s: sending (MSG_NOSIGNAL)", name);
        is_int(try_send(&p[1]), hows[i].peer_send, "%s: the peer sending", name);
        is_int(try_recv(&p[0]), hows[i].self_recv, "%s: reading (0 is end of file)", name);
        is_int(try_recv(&p[1]), hows[i].peer_recv, "%s: the peer reading", name);
        if (i + 1 < sizeof hows / sizeof hows[0]) {
            csock_close(&p[0]);
            csock_close(&p[1]);
        }
    }

    csock_close(&p[0]);
    errno = 0;
    is_int(csock_shutdown(&p[0], SHUT_RDWR), -EBADF, "shutdown on a closed socket: -EBADF");
    is_int(errno, EBADF, "shutdown on a closed socket: errno EBADF");
    char want[96];
    snprintf(want, sizeof want, "csock_shutdown(fd=-1, how=%d): socket is closed: EBADF: %s",
             SHUT_RDWR, strerror(EBADF));
    is_str(csock_last_error(), want, "shutdown on a closed socket: no shutdown(2) was made");
    is_int(csock_shutdown(&p[0], 99), -EBADF, "closed socket, invalid how: -EBADF");
    is_int(csock_shutdown(NULL, SHUT_RD), -EINVAL, "shutdown NULL: -EINVAL");
    csock_close(&p[1]);
}

int main(void) {
    int fds = count_fds();
    test_close();
    test_detach();
    test_shutdown();
    is_int(count_fds(), fds, "no descriptor leaked by the whole program");
    diag("last message: %s", csock_last_error());
    return done_testing();
}
