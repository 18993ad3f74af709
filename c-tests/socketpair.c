/*
 * csock_socketpair: defaults AF_UNIX, SOCK_STREAM, 0; both ends close-on-exec; flag bits honoured
 * and cleared from the recorded type; either both ends or neither.
 */
#include <csock.h>

#include <sys/resource.h>
#include <sys/socket.h>

#include "tap.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};

static int sockopt(int fd, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    return getsockopt(fd, SOL_SOCKET, name, &v, &len) == 0 ? v : -errno;
}

/* What the audit hook saw: the descriptors, and the type of the last event. */
static int seen_fds[8], seen, seen_type, refuse_at = -1;
static int hook(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)family, (void)proto, (void)data;
    if (seen < 8) seen_fds[seen] = fd;
    seen_type = type;
    return seen++ == refuse_at ? -EACCES : 0;
}

/* Creates a pair with (family, type, proto) and checks both ends against the kernel. */
static void pair_ok(int family, int type, int proto, int want_family, int want_type,
                    const char *what) {
    csock_socket pair[2] = {SENTINEL, SENTINEL};
    int before = count_fds();
    seen = 0;
    is_int(csock_socketpair(pair, family, type, proto), 0, "%s: socketpair", what);
    is_int(count_fds(), before + 2, "%s: two descriptors added", what);
    is_int(seen, 2, "%s: audited once per end", what);
    ok(seen_fds[0] == pair[0].fd && seen_fds[1] == pair[1].fd, "%s: hook saw both ends", what);
    int audited_type = type == CSOCK_DEFAULT ? SOCK_STREAM : type;
    is_int(seen_type, audited_type, "%s: hook saw the type as given, flag bits included", what);
    int nonblock = type != CSOCK_DEFAULT && (type & SOCK_NONBLOCK) != 0;
    for (int i = 0; i < 2; i++) {
        int fd = pair[i].fd;
        is_int(pair[i].family, want_family, "%s: end %d records the family", what, i);
        is_int(pair[i].type, want_type, "%s: end %d records the type without flags", what, i);
        is_int(pair[i].proto, 0, "%s: end %d records proto 0", what, i);
        is_int(sockopt(fd, SO_DOMAIN), want_family, "%s: end %d is AF_UNIX in the kernel", what, i);
        is_int(sockopt(fd, SO_TYPE), want_type, "%s: end %d has that type in the kernel", what, i);
        is_int(fd_cloexec(fd), 1, "%s: end %d is FD_CLOEXEC", what, i);
        is_int(fd_nonblock(fd), nonblock, "%s: end %d O_NONBLOCK is %d", what, i, nonblock);
    }
    char buf[4] = {0};
    ok(send(pair[0].fd, "ab", 2, 0) == 2 && recv(pair[1].fd, buf, sizeof buf, 0) == 2 &&
           memcmp(buf, "ab", 2) == 0,
       "%s: connected 0 -> 1", what);
    ok(send(pair[1].fd, "cd", 2, 0) == 2 && recv(pair[0].fd, buf, sizeof buf, 0) == 2 &&
           memcmp(buf, "cd", 2) == 0,
       "%s: connected 1 -> 0", what);
    if (nonblock) {
        errno = 0;
        ok(recv(pair[0].fd, buf, sizeof buf, 0) < 0 && errno == EAGAIN,
           "%s: empty non-blocking end gives EAGAIN", what);
    }
    int fds[2] = {pair[0].fd, pair[1].fd};
    csock_close(&pair[0]);
    csock_close(&pair[1]);
    ok(!fd_open(fds[0]) && !fd_open(fds[1]), "%s: both ends close", what);
    is_int(count_fds(), before, "%s: descriptor count back to before", what);
}

/* Expects csock_socketpair to fail with -err, leaving the pair untouched and no descriptor. */
static void pair_fails(int family, int type, int proto, int err, const char *what) {
    csock_socket pair[2] = {SENTINEL, SENTINEL};
    int before = count_fds();
    errno = 0;
    is_int(csock_socketpair(pair, family, type, proto), -err, "%s: returns -%s", what,
           strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    diag("%s", csock_last_error());
    ok(memcmp(&pair[0], &SENTINEL, sizeof SENTINEL) == 0 &&
           memcmp(&pair[1], &SENTINEL, sizeof SENTINEL) == 0,
       "%s: pair untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged (no half pair)", what);
}

int main(void) {
    is_int(csock_audit_add(hook, NULL), 0, "add a recording hook");

    pair_ok(CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, AF_UNIX, SOCK_STREAM, "defaults");
    pair_ok(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, AF_UNIX, SOCK_STREAM, "SOCK_NONBLOCK");
    pair_ok(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, AF_UNIX, SOCK_STREAM, "SOCK_CLOEXEC");
    pair_ok(CSOCK_DEFAULT, SOCK_DGRAM, CSOCK_DEFAULT, AF_UNIX, SOCK_DGRAM, "SOCK_DGRAM");
    pair_ok(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, AF_UNIX, SOCK_SEQPACKET,
            "SOCK_SEQPACKET with both flags");

    /* The kernel's own errors. */
    pair_fails(AF_INET, CSOCK_DEFAULT, CSOCK_DEFAULT, EOPNOTSUPP, "AF_INET");
    is_str(csock_last_error(),
           "csock_socketpair(family=2, type=-1, proto=-1): socketpair: EOPNOTSUPP: "
           "Operation not supported",
           "message names the function, the call and the errno");
    pair_fails(AF_UNIX, 999, 0, EINVAL, "type 999");
    pair_fails(AF_UNIX, SOCK_STREAM, 5, EPROTONOSUPPORT, "proto 5");
    pair_fails(12345, SOCK_STREAM, 0, EAFNOSUPPORT, "family 12345");
    errno = 0;
    is_int(csock_socketpair(NULL, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -EINVAL,
           "NULL pair gives -EINVAL");
    is_int(errno, EINVAL, "NULL pair: errno EINVAL");

    /* A refusal of the second end closes the first too. */
    seen = 0;
    refuse_at = 1;
    pair_fails(CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, EACCES, "hook refuses the second end");
    refuse_at = -1;

    /* Room for one descriptor only: -EMFILE, and the one that fitted is not left behind. */
    struct rlimit saved, one;
    getrlimit(RLIMIT_NOFILE, &saved);
    int lowest = dup(1);
    close(lowest);
    one = saved;
    one.rlim_cur = (rlim_t)lowest + 1;
    is_int(setrlimit(RLIMIT_NOFILE, &one), 0, "limit descriptors to one free slot (%d)", lowest);
    int probe = dup(1);
    errno = 0;
    ok(probe == lowest && dup(1) < 0 && errno == EMFILE, "exactly one descriptor fits");
    close(probe);
    /* Under an emulated limit (valgrind keeps its own), the kernel may still hand out a pair. */
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0) {
        close(sv[0]);
        close(sv[1]);
        ok(1, "one free descriptor # SKIP the limit is emulated, not the kernel's");
    } else {
        pair_fails(CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, EMFILE, "one free descriptor");
        pair_fails(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0, EMFILE, "one free descriptor, dgram");
    }
    is_int(setrlimit(RLIMIT_NOFILE, &saved), 0, "limit restored");
    pair_ok(CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, AF_UNIX, SOCK_STREAM, "after the limit");

    return done_testing();
}
