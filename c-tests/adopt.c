/*
 * csock_adopt: validation (always), detection, explicit values recorded as given, a descriptor
 * that is never changed, and failures that leave the caller's descriptor open and untouched.
 */
#include <csock.h>

#include <linux/netlink.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tap.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a};

static int untouched(const csock_socket *s) { return memcmp(s, &SENTINEL, sizeof *s) == 0; }

/* The descriptor's state as the kernel reports it, to compare before and after a call. */
struct fd_state {
    int fd_flags, status_flags;
    dev_t dev;
    ino_t ino;
};

static struct fd_state state_of(int fd) {
    struct fd_state st = {fcntl(fd, F_GETFD), fcntl(fd, F_GETFL), 0, 0};
    struct stat sb;
    if (fstat(fd, &sb) == 0) {
        st.dev = sb.st_dev;
        st.ino = sb.st_ino;
    }
    return st;
}

static int same_state(struct fd_state a, struct fd_state b) {
    return a.fd_flags >= 0 && a.fd_flags == b.fd_flags && a.status_flags == b.status_flags &&
           a.dev == b.dev && a.ino == b.ino;
}

/* Sets FD_CLOEXEC and O_NONBLOCK on fd as asked, with fcntl. */
static void set_flags(int fd, int cloexec, int nonblock) {
    fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0);
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, nonblock ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

/* Adopts fd expecting -err; checks errno, out, the descriptor and the descriptor count. */
static void adopt_fails(int fd, int family, int type, int proto, int err, const char *what) {
    csock_socket s = SENTINEL;
    struct fd_state before = state_of(fd);
    int fds = count_fds();
    errno = 0;
    is_int(csock_adopt(&s, fd, family, type, proto), -err, "%s: -%s", what, strerror(err));
    is_int(errno, err, "%s: errno set", what);
    ok(untouched(&s), "%s: out untouched", what);
    is_int(count_fds(), fds, "%s: descriptor count unchanged", what);
    if (fd >= 0 && before.fd_flags >= 0)
        ok(same_state(state_of(fd), before), "%s: descriptor still open and unchanged", what);
}

static void test_negative_and_closed(void) {
    adopt_fails(-1, -1, -1, -1, EBADF, "fd -1");
    ok(strstr(csock_last_error(), "negative file descriptor") != NULL,
       "fd -1: message says negative file descriptor");
    adopt_fails(-42, AF_INET, SOCK_STREAM, 0, EBADF, "fd -42, all explicit");
    ok(strstr(csock_last_error(), "negative file descriptor") != NULL,
       "fd -42: message says negative file descriptor");

    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    close(fd);
    adopt_fails(fd, -1, -1, -1, EBADF, "closed fd");
    diag("closed fd: %s", csock_last_error());
    adopt_fails(fd, AF_UNIX, SOCK_STREAM, 0, EBADF, "closed fd, all explicit");
    adopt_fails(fd, AF_UNIX, -1, 0, EBADF, "closed fd, type detected");
}

/* A pipe, a regular file, an eventfd and a directory: -ENOTSOCK whatever values are given. */
static void test_not_sockets(void) {
    char dir[] = "/tmp/csock-adopt-XXXXXX";
    if (!ok(mkdtemp(dir) != NULL, "temporary directory")) return;
    char path[sizeof dir + 16];
    snprintf(path, sizeof path, "%s/fileXXXXXX", dir);
    int pipefd[2];
    pipe(pipefd);
    const struct {
        int fd;
        const char *name;
    } fds[] = {
        {pipefd[0], "pipe"},
        {mkstemp(path), "regular file"},
        {eventfd(0, 0), "eventfd"},
        {open(dir, O_RDONLY | O_DIRECTORY), "directory"},
    };
    const struct {
        int family, type, proto;
        const char *name;
    } args[] = {
        {-1, -1, -1, "detected"},
        {AF_INET, SOCK_STREAM, 0, "all explicit"},
        {AF_UNIX, -1, -1, "family explicit"},
        {-1, SOCK_DGRAM, 17, "type and proto explicit"},
    };
    for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
        if (!ok(fds[i].fd >= 0, "%s opened", fds[i].name)) continue;
        for (size_t a = 0; a < sizeof args / sizeof args[0]; a++) {
            char what[96];
            snprintf(what, sizeof what, "%s, %s", fds[i].name, args[a].name);
            adopt_fails(fds[i].fd, args[a].family, args[a].type, args[a].proto, ENOTSOCK, what);
        }
        /* With all three given, one validating query still reaches the kernel. */
        char want[160];
        adopt_fails(fds[i].fd, AF_UNIX, SOCK_DGRAM, 0, ENOTSOCK, fds[i].name);
        snprintf(want, sizeof want, "csock_adopt(fd=%d): getsockopt(SO_TYPE): ENOTSOCK: %s",
                 fds[i].fd, strerror(ENOTSOCK));
        is_str(csock_last_error(), want, "%s, all explicit: validated by getsockopt(SO_TYPE)",
               fds[i].name);
        /* The four flag combinations survive a failed adoption. */
        for (int cloexec = 0; cloexec < 2; cloexec++)
            for (int nonblock = 0; nonblock < 2; nonblock++) {
                set_flags(fds[i].fd, cloexec, nonblock);
                csock_socket s;
                csock_adopt(&s, fds[i].fd, -1, -1, -1);
                is_int(fd_cloexec(fds[i].fd), cloexec, "%s: FD_CLOEXEC %d kept after failure",
                       fds[i].name, cloexec);
                is_int(fd_nonblock(fds[i].fd), nonblock, "%s: O_NONBLOCK %d kept after failure",
                       fds[i].name, nonblock);
            }
        close(fds[i].fd);
    }
    close(pipefd[1]);
    unlink(path);
    rmdir(dir);
}

/* Family, type and protocol detected from sockets made with socket(2) directly. */
static void test_detection(void) {
    const struct {
        int family, type, proto, want_proto;
        const char *name;
    } cases[] = {
        {AF_INET, SOCK_STREAM, 0, IPPROTO_TCP, "inet stream"},
        {AF_INET, SOCK_DGRAM, 0, IPPROTO_UDP, "inet dgram"},
        {AF_INET6, SOCK_STREAM, 0, IPPROTO_TCP, "inet6 stream"},
        {AF_INET6, SOCK_DGRAM, 0, IPPROTO_UDP, "inet6 dgram"},
        {AF_UNIX, SOCK_STREAM, 0, 0, "unix stream"},
        {AF_UNIX, SOCK_DGRAM, 0, 0, "unix dgram"},
        {AF_UNIX, SOCK_SEQPACKET, 0, 0, "unix seqpacket"},
        {AF_NETLINK, SOCK_RAW, NETLINK_ROUTE, NETLINK_ROUTE, "netlink route"},
        {AF_NETLINK, SOCK_DGRAM, NETLINK_GENERIC, NETLINK_GENERIC, "netlink generic"},
        {AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0, IPPROTO_TCP, "inet stream, non-blocking"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = socket(cases[i].family, cases[i].type, cases[i].proto);
        if (!ok(fd >= 0, "%s: socket(2)", cases[i].name)) continue;
        csock_socket s;
        is_int(csock_adopt(&s, fd, -1, -1, -1), 0, "%s: adopted", cases[i].name);
        is_int(s.fd, fd, "%s: fd", cases[i].name);
        is_int(s.family, cases[i].family, "%s: family detected", cases[i].name);
        is_int(s.type, cases[i].type & ~SOCK_NONBLOCK, "%s: type detected", cases[i].name);
        is_int(s.proto, cases[i].want_proto, "%s: proto detected", cases[i].name);
        is_int(csock_close(&s), 0, "%s: closed", cases[i].name);
        ok(!fd_open(fd), "%s: closing the socket closed the descriptor", cases[i].name);
    }
}

/* Explicit values are recorded as given, never checked, flag bits cleared from the type. */
static void test_explicit_and_mixed(void) {
    const struct {
        int family, type, proto;             /* the real socket */
        int a_family, a_type, a_proto;       /* given to csock_adopt */
        int want_family, want_type, want_proto;
        const char *name;
    } cases[] = {
        {AF_UNIX, SOCK_STREAM, 0, AF_INET, SOCK_DGRAM, 17, AF_INET, SOCK_DGRAM, 17,
         "unix stream claimed as AF_INET/SOCK_DGRAM/17"},
        {AF_UNIX, SOCK_STREAM, 0, AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 17, AF_INET,
         SOCK_DGRAM, 17, "explicit type with both flag bits"},
        {AF_UNIX, SOCK_DGRAM, 0, -1, SOCK_STREAM | SOCK_NONBLOCK, -1, AF_UNIX, SOCK_STREAM, 0,
         "explicit type with SOCK_NONBLOCK, family and proto detected"},
        {AF_UNIX, SOCK_DGRAM, 0, AF_INET6, -1, -1, AF_INET6, SOCK_DGRAM, 0,
         "explicit family, type and proto detected"},
        {AF_INET, SOCK_DGRAM, 0, -1, SOCK_STREAM, -1, AF_INET, SOCK_STREAM, IPPROTO_UDP,
         "explicit type, family and proto detected"},
        {AF_INET, SOCK_STREAM, 0, -1, -1, 99, AF_INET, SOCK_STREAM, 99,
         "explicit proto, family and type detected"},
        {AF_INET6, SOCK_DGRAM, 0, AF_UNIX, SOCK_SEQPACKET, -1, AF_UNIX, SOCK_SEQPACKET,
         IPPROTO_UDP, "explicit family and type, proto detected"},
        {AF_UNIX, SOCK_SEQPACKET, 0, -1, SOCK_CLOEXEC, -1, AF_UNIX, 0, 0,
         "explicit type of flag bits only is recorded as 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int fd = socket(cases[i].family, cases[i].type, cases[i].proto);
        if (!ok(fd >= 0, "%s: socket(2)", cases[i].name)) continue;
        struct fd_state before = state_of(fd);
        csock_socket s;
        is_int(csock_adopt(&s, fd, cases[i].a_family, cases[i].a_type, cases[i].a_proto), 0,
               "%s: adopted", cases[i].name);
        is_int(s.family, cases[i].want_family, "%s: family", cases[i].name);
        is_int(s.type, cases[i].want_type, "%s: type", cases[i].name);
        is_int(s.proto, cases[i].want_proto, "%s: proto", cases[i].name);
        ok(same_state(state_of(fd), before), "%s: descriptor flags unchanged", cases[i].name);
        csock_close(&s);
    }
}

/* Adoption never changes FD_CLOEXEC or O_NONBLOCK, in all four combinations. */
static void test_descriptor_unchanged(void) {
    for (int cloexec = 0; cloexec < 2; cloexec++)
        for (int nonblock = 0; nonblock < 2; nonblock++) {
            const struct {
                int family, type, proto;
                const char *name;
            } args[] = {
                {-1, -1, -1, "detected"},
                {AF_UNIX, SOCK_STREAM, 0, "explicit"},
                {AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, "explicit with flags"},
            };
            for (size_t a = 0; a < sizeof args / sizeof args[0]; a++) {
                int fd = socket(AF_UNIX, SOCK_STREAM, 0);
                set_flags(fd, cloexec, nonblock);
                csock_socket s;
                is_int(csock_adopt(&s, fd, args[a].family, args[a].type, args[a].proto), 0,
                       "cloexec=%d nonblock=%d %s: adopted", cloexec, nonblock, args[a].name);
                is_int(fd_cloexec(fd), cloexec, "cloexec=%d nonblock=%d %s: FD_CLOEXEC kept",
                       cloexec, nonblock, args[a].name);
                is_int(fd_nonblock(fd), nonblock, "cloexec=%d nonblock=%d %s: O_NONBLOCK kept",
                       cloexec, nonblock, args[a].name);
                is_int(csock_get_blocking(&s), !nonblock,
                       "cloexec=%d nonblock=%d %s: csock_get_blocking reads the kernel", cloexec,
                       nonblock, args[a].name);
                csock_close(&s);
            }
        }
}

/*
 * In a child, a socket on descriptor `target` (0, 1 or 2) is adopted. Exit status: 0 on success,
 * otherwise a bit per failed check.
 */
static int adopt_std_child(int target) {
    int sock = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (sock < 0 || dup2(sock, target) != target) return 64;
    close(sock);
    int status = 0;
    csock_socket s;
    if (csock_adopt(&s, target, -1, -1, -1) != 0) return 1;
    if (s.fd != target) status |= 2;
    if (s.family != AF_UNIX || s.type != SOCK_DGRAM || s.proto != 0) status |= 4;
    if (csock_close(&s) != 0 || fd_open(target)) status |= 8;
    return status;
}

static void test_standard_descriptors(void) {
    for (int target = 0; target <= 2; target++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) _exit(adopt_std_child(target));
        int status = -1;
        waitpid(pid, &status, 0);
        is_int(WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status), 0,
               "a socket on fd %d is adopted, detected and closed (child)", target);
    }
}

static void test_null_out(void) {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    struct fd_state before = state_of(fd);
    int fds = count_fds();
    errno = 0;
    is_int(csock_adopt(NULL, fd, -1, -1, -1), -EINVAL, "NULL out: -EINVAL");
    is_int(errno, EINVAL, "NULL out: errno EINVAL");
    ok(same_state(state_of(fd), before), "NULL out: descriptor open and unchanged");
    is_int(count_fds(), fds, "NULL out: descriptor count unchanged");
    is_int(csock_adopt(NULL, -1, -1, -1, -1), -EINVAL, "NULL out with fd -1: -EINVAL");
    ok(strstr(csock_last_error(), "csock_adopt(fd=") != NULL, "the message names csock_adopt");
    close(fd);
}

int main(void) {
    int fds = count_fds();
    test_negative_and_closed();
    test_not_sockets();
    test_detection();
    test_explicit_and_mixed();
    test_descriptor_unchanged();
    test_standard_descriptors();
    test_null_out();
    is_int(count_fds(), fds, "no descriptor leaked by the whole program");
    return done_testing();
}
