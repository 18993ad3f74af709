/*
 * csock_inspect: what the kernel knows of any descriptor (family, type, protocol, and the
 * O_NONBLOCK / FD_CLOEXEC / SO_ACCEPTCONN bits), without taking, changing or closing it.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tap.h"

static const csock_info SENTINEL = {0x5a5a, 0x5b5b, 0x5c5c, 0x5d5d5d5du};

/* A descriptor's flags as the kernel has them: F_GETFD in the high half, F_GETFL in the low. */
static long long fd_state(int fd) {
    return fcntl(fd, F_GETFD) * 0x100000000LL + fcntl(fd, F_GETFL);
}

/* Inspects socket(family, type | SOCK_CLOEXEC, proto) and checks the detected values. */
static void detects(int family, int type, int proto, int want_proto, const char *what) {
    int fd = socket(family, type | SOCK_CLOEXEC, proto);
    if (fd < 0) {
        ok(1, "%s # SKIP socket: %s", what, strerror(errno));
        return;
    }
    csock_info info = SENTINEL;
    is_int(csock_inspect(fd, &info), 0, "%s: inspect", what);
    ok(info.family == family && info.type == type && info.proto == want_proto,
       "%s: family/type/proto %d/%d/%d", what, info.family, info.type, info.proto);
    is_int(info.flags, CSOCK_INFO_CLOEXEC, "%s: flags CLOEXEC only", what);
    close(fd);
}

/* A TCP or unix stream socket with the given O_NONBLOCK, FD_CLOEXEC and listening state. */
static int make(int family, int nonblock, int cloexec, int listening) {
    int fd = socket(family, SOCK_STREAM, 0);
    if (listening) {
        struct sockaddr_in sin = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        struct sockaddr_un sun = {.sun_family = AF_UNIX};
        /* Unix: autobind to an abstract name (an address of the family only). */
        if (family == AF_INET) bind(fd, (struct sockaddr *)&sin, sizeof sin);
        else bind(fd, (struct sockaddr *)&sun, sizeof(sa_family_t));
        if (listen(fd, 1) < 0) diag("listen: %s", strerror(errno));
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | (nonblock ? O_NONBLOCK : 0));
    fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
    return fd;
}

/* Expects csock_inspect(fd, info) to fail with -err, touching nothing. */
static void inspect_fails(int fd, csock_info *info, int err, const char *what) {
    long long state = fd >= 0 ? fd_state(fd) : 0;
    int before = count_fds();
    if (info) *info = SENTINEL;
    errno = 0;
    is_int(csock_inspect(fd, info), -err, "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    diag("%s", csock_last_error());
    ok(!info || memcmp(info, &SENTINEL, sizeof SENTINEL) == 0, "%s: info untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
    if (fd >= 0) is_int(fd_state(fd), state, "%s: descriptor flags unchanged", what);
}

int main(void) {
    is_int(CSOCK_INFO_NONBLOCK, 0x1, "CSOCK_INFO_NONBLOCK is 0x1");
    is_int(CSOCK_INFO_CLOEXEC, 0x2, "CSOCK_INFO_CLOEXEC is 0x2");
    is_int(CSOCK_INFO_LISTENING, 0x4, "CSOCK_INFO_LISTENING is 0x4");

    detects(AF_INET, SOCK_STREAM, 0, IPPROTO_TCP, "tcp");
    detects(AF_INET, SOCK_DGRAM, 0, IPPROTO_UDP, "udp");
    detects(AF_INET6, SOCK_STREAM, 0, IPPROTO_TCP, "tcp6");
    detects(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE, IPPROTO_UDPLITE, "udplite6");
    detects(AF_UNIX, SOCK_STREAM, 0, 0, "unix stream");
    detects(AF_UNIX, SOCK_DGRAM, 0, 0, "unix dgram");
    detects(AF_UNIX, SOCK_SEQPACKET, 0, 0, "unix seqpacket");
    detects(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, NETLINK_ROUTE, "netlink route");
    detects(AF_NETLINK, SOCK_DGRAM, NETLINK_GENERIC, NETLINK_GENERIC, "netlink generic");

    /* Every combination of the three flag bits, on TCP and unix sockets. */
    for (int family = AF_UNIX; family <= AF_INET; family++) {
        for (int bits = 0; bits < 8; bits++) {
            int nonblock = bits & 1, cloexec = (bits >> 1) & 1, listening = (bits >> 2) & 1;
            int fd = make(family, nonblock, cloexec, listening);
            long long state = fd_state(fd);
            csock_info info = SENTINEL;
            unsigned want = (nonblock ? CSOCK_INFO_NONBLOCK : 0) |
                            (cloexec ? CSOCK_INFO_CLOEXEC : 0) |
                            (listening ? CSOCK_INFO_LISTENING : 0);
            const char *name = family == AF_INET ? "tcp" : "unix";
            is_int(csock_inspect(fd, &info), 0, "%s nonblock=%d cloexec=%d listening=%d: inspect",
                   name, nonblock, cloexec, listening);
            is_int(info.flags, want, "%s nonblock=%d cloexec=%d listening=%d: flags 0x%x", name,
                   nonblock, cloexec, listening, want);
            is_int(info.family, family, "%s: family", name);
            is_int(fd_state(fd), state, "%s: descriptor flags unchanged afterwards", name);
            close(fd);
        }
    }

    /* The same descriptor reads differently after its state changes: nothing is cached. */
    int fd = make(AF_INET, 0, 1, 0);
    csock_info info;
    csock_inspect(fd, &info);
    is_int(info.flags, CSOCK_INFO_CLOEXEC, "before: cloexec only");
    fcntl(fd, F_SETFD, 0);
    fcntl(fd, F_SETFL, O_NONBLOCK);
    csock_inspect(fd, &info);
    is_int(info.flags, CSOCK_INFO_NONBLOCK, "after fcntl: nonblock only");
    is_int(fd_cloexec(fd), 0, "inspect did not set FD_CLOEXEC");
    is_int(fd_nonblock(fd), 1, "inspect did not clear O_NONBLOCK");

    /* Failures. */
    int p[2];
    if (pipe(p) < 0) return 1;
    inspect_fails(p[0], &info, ENOTSOCK, "pipe");
    int devnull = open("/dev/null", O_RDONLY);
    inspect_fails(devnull, &info, ENOTSOCK, "/dev/null");
    ok(fd_open(p[0]) && fd_open(devnull), "non-sockets still open");
    close(p[0]);
    close(p[1]);
    close(devnull);
    int closed = socket(AF_INET, SOCK_STREAM, 0);
    close(closed);
    inspect_fails(closed, &info, EBADF, "closed descriptor");
    inspect_fails(-1, &info, EBADF, "fd -1");
    inspect_fails(-1000, &info, EBADF, "fd -1000");
    is_str(csock_last_error(),
           "csock_inspect(fd=-1000): negative file descriptor: EBADF: Bad file descriptor",
           "message names the function and the check, no system call");
    inspect_fails(fd, NULL, EINVAL, "NULL info");
    ok(fd_open(fd), "socket still open after every call");
    close(fd);

    return done_testing();
}
