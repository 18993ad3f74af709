/*
 * csock_dup: a close-on-exec duplicate that records the same family, type and protocol and
 * refers to the same socket.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "tap.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};

static int untouched(const csock_socket *s) { return memcmp(s, &SENTINEL, sizeof *s) == 0; }

/* Calls csock_dup(out, sock) expecting -err with `*out` untouched and no descriptor added. */
static void dup_fails(csock_socket *out, const csock_socket *sock, int err, const char *what) {
    if (out) *out = SENTINEL;
    int before = count_fds();
    errno = 0;
    is_int(csock_dup(out, sock), -err, "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    diag("%s", csock_last_error());
    ok(!out || untouched(out), "%s: out untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
}

/* Whether two descriptors refer to the same open socket (same inode). */
static int same_socket(int a, int b) {
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int main(void) {
    /* A bound TCP socket, made inheritable: the copy is still close-on-exec. */
    csock_socket orig, copy = SENTINEL;
    is_int(csock_open(&orig, AF_INET, SOCK_STREAM, CSOCK_DEFAULT), 0, "open tcp");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    is_int(bind(orig.fd, (struct sockaddr *)&sin, sizeof sin), 0, "bind 127.0.0.1:0");
    is_int(csock_set_inheritable(&orig, true), 0, "make the original inheritable");
    int before = count_fds();
    is_int(csock_dup(&copy, &orig), 0, "dup");
    ok(copy.fd >= 0 && copy.fd != orig.fd, "a new descriptor (%d, original %d)", copy.fd, orig.fd);
    is_int(copy.family, AF_INET, "family copied");
    is_int(copy.type, SOCK_STREAM, "type copied");
    is_int(copy.proto, 0, "proto copied as recorded (0, not the detected IPPROTO_TCP)");
    is_int(fd_cloexec(copy.fd), 1, "copy is FD_CLOEXEC");
    is_int(fd_cloexec(orig.fd), 0, "original stays inheritable");
    is_int(count_fds(), before + 1, "exactly one descriptor added");
    ok(same_socket(orig.fd, copy.fd), "both refer to the same socket (same inode)");

    struct sockaddr_storage a, b;
    socklen_t alen = sizeof a, blen = sizeof b;
    memset(&a, 0, sizeof a);
    memset(&b, 0, sizeof b);
    is_int(getsockname(orig.fd, (struct sockaddr *)&a, &alen), 0, "getsockname of original");
    is_int(getsockname(copy.fd, (struct sockaddr *)&b, &blen), 0, "getsockname of copy");
    ok(alen == blen && memcmp(&a, &b, alen) == 0, "same local address through both");
    is_int(csock_close(&orig), 0, "close the original");
    ok(fd_open(copy.fd), "copy still open after the original is closed");
    csock_close(&copy);

    /* Recorded values are copied, not detected again (an adopted socket with explicit values). */
    csock_socket adopted;
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    is_int(csock_adopt(&adopted, fd, AF_INET6, SOCK_RAW, 77), 0, "adopt with explicit values");
    is_int(csock_dup(&copy, &adopted), 0, "dup the adopted socket");
    ok(copy.family == AF_INET6 && copy.type == SOCK_RAW && copy.proto == 77,
       "copy records the same values (%d, %d, %d)", copy.family, copy.type, copy.proto);
    csock_close(&copy);
    csock_close(&adopted);

    /* Data sent through the copy arrives on the peer, and the other way. */
    csock_socket pair[2];
    is_int(csock_socketpair(pair, CSOCK_DEFAULT, SOCK_SEQPACKET | SOCK_NONBLOCK, CSOCK_DEFAULT), 0,
           "socketpair (seqpacket, non-blocking)");
    is_int(csock_dup(&copy, &pair[0]), 0, "dup one end");
    ok(copy.family == AF_UNIX && copy.type == SOCK_SEQPACKET && copy.proto == 0,
       "copy records AF_UNIX, SOCK_SEQPACKET, 0");
    is_int(fd_nonblock(copy.fd), 1, "copy shares the non-blocking mode");
    is_int(fd_cloexec(copy.fd), 1, "copy is FD_CLOEXEC");
    char buf[8] = {0};
    is_int(send(copy.fd, "ping", 4, 0), 4, "send through the copy");
    is_int(recv(pair[1].fd, buf, sizeof buf, 0), 4, "peer receives it");
    is_str(buf, "ping", "the same bytes");
    is_int(send(pair[1].fd, "pong", 4, 0), 4, "peer answers");
    memset(buf, 0, sizeof buf);
    is_int(recv(pair[0].fd, buf, sizeof buf, 0), 4, "original end receives the answer");
    is_str(buf, "pong", "the answer");
    is_int(csock_shutdown(&copy, SHUT_WR), 0, "shut down writing through the copy");
    is_int(recv(pair[1].fd, buf, sizeof buf, 0), 0, "peer sees end of stream: one socket");
    csock_close(&copy);
    csock_close(&pair[0]);
    csock_close(&pair[1]);

    /* csock_dup(&s, &s): the socket is read before it is overwritten with the copy. */
    {
        csock_socket s;
        is_int(csock_open(&s, AF_UNIX, SOCK_DGRAM, CSOCK_DEFAULT), 0, "aliased: open");
        int orig_fd = s.fd, before = count_fds();
        is_int(csock_dup(&s, &s), 0, "csock_dup(&s, &s) succeeds");
        ok(s.fd >= 0 && s.fd != orig_fd, "aliased: s now holds a new descriptor (%d, was %d)",
           s.fd, orig_fd);
        ok(s.family == AF_UNIX && s.type == SOCK_DGRAM && s.proto == 0,
           "aliased: the copy records AF_UNIX, SOCK_DGRAM, 0 (%d, %d, %d)", s.family, s.type,
           s.proto);
        is_int(count_fds(), before + 1, "aliased: exactly one descriptor added");
        ok(fd_open(orig_fd) && same_socket(s.fd, orig_fd), "aliased: the original is open, the "
           "copy refers to it");
        is_int(fd_cloexec(s.fd), 1, "aliased: the copy is close-on-exec");
        csock_close(&s);
        close(orig_fd);
        is_int(count_fds(), before - 1, "aliased: both closed");
        /* A failing aliased call leaves the value as it was. */
        csock_socket closed_s = {-1, AF_INET, SOCK_STREAM, 0}, want = closed_s;
        is_int(csock_dup(&closed_s, &closed_s), -EBADF, "csock_dup(&s, &s) of a closed socket");
        ok(memcmp(&closed_s, &want, sizeof want) == 0, "aliased failure: s untouched");
    }

    /* Failures. */
    csock_socket closed;
    csock_open(&closed, AF_INET, SOCK_STREAM, 0);
    csock_close(&closed);
    dup_fails(&copy, &closed, EBADF, "closed socket");
    csock_socket live;
    csock_open(&live, AF_UNIX, SOCK_STREAM, 0);
    dup_fails(NULL, &live, EINVAL, "NULL out");
    dup_fails(&copy, NULL, EINVAL, "NULL sock");
    dup_fails(NULL, NULL, EINVAL, "both NULL");
    int raw = live.fd;
    close(raw); /* closed behind csock's back */
    dup_fails(&copy, &live, EBADF, "descriptor closed behind its back");

    return done_testing();
}
