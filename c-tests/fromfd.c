/*
 * csock_fromfd: adopts a close-on-exec duplicate of a descriptor, detecting each CSOCK_DEFAULT
 * value, and never closes or changes the caller's descriptor, whether it succeeds or fails.
 */
#include <csock.h>

#include <limits.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tap.h"
#include "seccomp.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};

static int untouched(const csock_socket *s) { return memcmp(s, &SENTINEL, sizeof *s) == 0; }

/* A descriptor's flags as the kernel has them: F_GETFD in the high half, F_GETFL in the low. */
static long long fd_state(int fd) {
    return fcntl(fd, F_GETFD) * 0x100000000LL + fcntl(fd, F_GETFL);
}

/* A hook that refuses creations while `refuse` is set. */
static int refuse;
static int refusing_hook(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)fd, (void)family, (void)type, (void)proto, (void)data;
    return refuse ? -EACCES : 0;
}

/*
 * Calls csock_fromfd(fd, family, type, proto) expecting -err: checks the return, errno, that
 * `out` is untouched, that no descriptor is left behind and that `fd` keeps its flags.
 */
static void fromfd_fails(int fd, int family, int type, int proto, int err, const char *what) {
    csock_socket out = SENTINEL;
    long long state = fd_state(fd);
    int before = count_fds();
    errno = 0;
    int r = csock_fromfd(&out, fd, family, type, proto);
    is_int(r, -err, "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    diag("%s", csock_last_error());
    ok(untouched(&out), "%s: out untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged (duplicate closed)", what);
    is_int(fd_state(fd), state, "%s: caller's descriptor keeps its flags", what);
}

/* Adopts a duplicate of a fresh socket(family, type | extra, 0) and checks what is recorded. */
static void fromfd_detects(int family, int type, int extra, int want_proto, const char *what) {
    int fd = socket(family, type | extra, 0);
    long long state = fd_state(fd);
    int before = count_fds();
    csock_socket s = SENTINEL;
    is_int(csock_fromfd(&s, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0, "%s: fromfd",
           what);
    ok(s.fd >= 0 && s.fd != fd, "%s: a new descriptor (%d, original %d)", what, s.fd, fd);
    is_int(s.family, family, "%s: family detected", what);
    is_int(s.type, type, "%s: type detected", what);
    is_int(s.proto, want_proto, "%s: proto detected", what);
    is_int(fd_cloexec(s.fd), 1, "%s: duplicate is FD_CLOEXEC", what);
    is_int(fd_state(fd), state, "%s: original's flags unchanged", what);
    is_int(fd_nonblock(s.fd), (extra & SOCK_NONBLOCK) != 0, "%s: blocking mode shared, unchanged",
           what);
    is_int(count_fds(), before + 1, "%s: exactly one descriptor added", what);
    is_int(csock_close(&s), 0, "%s: close the duplicate", what);
    ok(fd_open(fd), "%s: original still open after closing the duplicate", what);
    close(fd);
}

static int call_fromfd(void *fd) {
    csock_socket s;
    return csock_fromfd(&s, *(int *)fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
}

int main(void) {
    /* Detection of every CSOCK_DEFAULT value, from inheritable and non-blocking originals. */
    fromfd_detects(AF_INET, SOCK_STREAM, 0, IPPROTO_TCP, "inheritable tcp");
    fromfd_detects(AF_INET, SOCK_DGRAM, SOCK_NONBLOCK, IPPROTO_UDP, "non-blocking udp");
    fromfd_detects(AF_UNIX, SOCK_SEQPACKET, SOCK_CLOEXEC, 0, "close-on-exec unix seqpacket");
    fromfd_detects(AF_INET6, SOCK_DGRAM, SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP,
                   "close-on-exec non-blocking udp6");

    /* Explicit values are recorded as given, each -1 detected, flag bits cleared from type. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    long long state = fd_state(fd);
    csock_socket s;
    is_int(csock_fromfd(&s, fd, AF_INET6, CSOCK_DEFAULT, 99), 0, "explicit family and proto");
    is_int(s.family, AF_INET6, "explicit family recorded as given, not checked");
    is_int(s.type, SOCK_STREAM, "type detected");
    is_int(s.proto, 99, "explicit proto recorded as given");
    csock_close(&s);
    is_int(csock_fromfd(&s, fd, CSOCK_DEFAULT, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        CSOCK_DEFAULT),
           0, "explicit type with flag bits");
    is_int(s.family, AF_INET, "family detected");
    is_int(s.type, SOCK_DGRAM, "explicit type recorded without its flag bits");
    is_int(s.proto, IPPROTO_TCP, "proto detected");
    is_int(fd_nonblock(s.fd), 0, "explicit SOCK_NONBLOCK does not make the duplicate non-blocking");
    csock_close(&s);
    is_int(fd_state(fd), state, "original's flags unchanged by every adoption");
    ok(fd_open(fd), "original still open");

    /* Failures: the caller's descriptor is never closed or changed, the duplicate never leaks. */
    int p[2];
    if (pipe(p) < 0) return 1;
    fromfd_fails(p[0], CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, ENOTSOCK, "pipe");
    fromfd_fails(p[1], AF_INET, SOCK_STREAM, 0, ENOTSOCK, "pipe with all values given");
    char msg[128];
    snprintf(msg, sizeof msg, "csock_fromfd(fd=%d): getsockopt(SO_TYPE): ENOTSOCK: %s", p[1],
             strerror(ENOTSOCK));
    is_str(csock_last_error(), msg, "message names the function, the call and the errno");
    ok(fd_open(p[0]) && fd_open(p[1]), "pipe still open after failed adoptions");
    ok(write(p[1], "x", 1) == 1, "pipe still usable");
    close(p[0]);
    close(p[1]);

    int closed = socket(AF_INET, SOCK_STREAM, 0);
    close(closed);
    fromfd_fails(closed, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, EBADF, "closed descriptor");
    fromfd_fails(-1, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, EBADF, "fd -1");
    fromfd_fails(INT_MIN, AF_INET, SOCK_STREAM, 0, EBADF, "fd INT_MIN");

    /* Every system call that could look at a descriptor fails in the child. */
    static const int fd_calls[] = {SYS_fcntl,      SYS_dup,         SYS_dup2,  SYS_dup3,
                                   SYS_getsockopt, SYS_getsockname, SYS_ioctl, SYS_fstat};
    size_t n_calls = sizeof fd_calls / sizeof fd_calls[0];
    int minus_one = -1, minus_seven = -7;
    no_syscall_is(without_syscalls(fd_calls, n_calls, call_fromfd, &fd), -ENOSYS,
                  "control: with fcntl/getsockopt blocked, fromfd of a socket fails with -ENOSYS");
    no_syscall_is(without_syscalls(fd_calls, n_calls, call_fromfd, &minus_one), -EBADF,
                  "fd -1 gives -EBADF without a system call");
    no_syscall_is(without_syscalls(fd_calls, n_calls, call_fromfd, &minus_seven), -EBADF,
                  "fd -7 gives -EBADF without a system call");

    /* NULL out. */
    int before = count_fds();
    errno = 0;
    is_int(csock_fromfd(NULL, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -EINVAL,
           "NULL out gives -EINVAL");
    is_int(errno, EINVAL, "NULL out: errno EINVAL");
    is_int(count_fds(), before, "NULL out: descriptor count unchanged");

    /* A hook's refusal: the duplicate is closed again, the original stays. */
    is_int(csock_audit_add(refusing_hook, NULL), 0, "add a refusing hook");
    refuse = 1;
    fromfd_fails(fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, EACCES, "hook refuses");
    refuse = 0;
    ok(fd_open(fd), "original still open after the refusal");
    is_int(close(fd), 0, "original closes normally");

    return done_testing();
}
