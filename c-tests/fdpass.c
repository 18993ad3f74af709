/*
 * csock_send_fds / csock_recv_fds: descriptors passed over unix sockets with SCM_RIGHTS. Every
 * received descriptor is close-on-exec (read back with fcntl) and refers to the file sent; at
 * most maxfds arrive, with MSG_CTRUNC and exactly the reported descriptors gained; flags and
 * addresses reach the kernel; a closed peer is -EPIPE with SIGPIPE at its default disposition;
 * bad arguments are -EINVAL without a system call; EINTR is retried unless CSOCK_EINTR; a failed
 * call writes nothing and leaves nothing open; a received descriptor never reaches a fork+exec'd
 * child (the plain recvmsg control's does). Descriptor counts are checked before and after.
 */
#include <csock.h>

#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tap.h"
#include "seccomp.h"
#include "interrupt.h"
#include "inherit.h"

#ifndef SO_PASSPIDFD
#define SO_PASSPIDFD 76
#endif

#define SENTINEL_FD 0x5a5a5a5a
#define SENTINEL_N ((size_t)0x5b5b5b5b)
#define SENTINEL_FLAGS 0x5c5c5c5c
#define MAXN 300

/* A pair of csock sockets of the given type. */
static void pair_of(int type, csock_socket p[2]) {
    if (csock_socketpair(p, AF_UNIX, type, 0) < 0) diag("socketpair: %s", csock_last_error());
}

static void close_pair(csock_socket p[2]) {
    csock_close(&p[0]);
    csock_close(&p[1]);
}

/* Sends `data` (len bytes) with n descriptors; returns csock_send_fds's result. */
static int send_n(const csock_socket *s, const char *data, size_t len, const int *fds, size_t n,
                  int flags) {
    struct iovec iov = {(void *)data, len};
    return csock_send_fds(s, &iov, len ? 1 : 0, fds, n, flags, NULL, 0);
}

/* What one csock_recv_fds call returned, with the out-parameters pre-filled with sentinels. */
struct got {
    int rc, err;
    char buf[64];
    int fds[MAXN];
    size_t n;
    int flags;
};

static void recv_into(const csock_socket *s, struct got *g, size_t len, size_t maxfds, int flags) {
    memset(g->buf, 0, sizeof g->buf);
    for (int i = 0; i < MAXN; i++) g->fds[i] = SENTINEL_FD;
    g->n = SENTINEL_N;
    g->flags = SENTINEL_FLAGS;
    errno = 0;
    g->rc = csock_recv_fds(s, g->buf, len, g->fds, maxfds, &g->n, flags, &g->flags, NULL, NULL);
    g->err = errno;
}

/* 1 when nothing of g was written. */
static int untouched(const struct got *g) {
    for (int i = 0; i < MAXN; i++)
        if (g->fds[i] != SENTINEL_FD) return 0;
    return g->n == SENTINEL_N && g->flags == SENTINEL_FLAGS;
}

/* 1 when a and b are the same open file (device and inode). */
static int same_file(int a, int b) {
    struct stat sa, sb;
    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

static void close_got(struct got *g) {
    for (size_t i = 0; g->n != SENTINEL_N && i < g->n; i++) close(g->fds[i]);
}

/* Checks that g received n descriptors, each close-on-exec and the same file as want[i]. */
static void received_ok(const struct got *g, const int *want, size_t n, const char *what) {
    is_int(g->n, n, "%s: *nfds is %zu", what, n);
    int cloexec = 1, same = 1;
    for (size_t i = 0; i < n && i < g->n; i++) {
        cloexec &= fd_cloexec(g->fds[i]) == 1;
        same &= same_file(g->fds[i], want[i]);
    }
    ok(cloexec, "%s: every received descriptor is FD_CLOEXEC (fcntl)", what);
    ok(same, "%s: each refers to the file sent, in order", what);
    ok(g->n >= MAXN || g->fds[g->n] == SENTINEL_FD, "%s: the entry past *nfds is untouched",
       what);
}

/* --- EINTR --------------------------------------------------------------------------------- */

struct blocked {
    const csock_socket *s;
    int mode; /* 0: csock_recv_fds, 1: plain recvmsg, 2: csock_send_fds */
    int flags;
    size_t len;
    volatile pid_t tid;
    struct got g;
    int message_ok;
};

static void *blocked_call(void *arg) {
    struct blocked *b = arg;
    b->tid = gettid();
    if (b->mode == 1) {
        char byte;
        struct iovec iov = {&byte, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
        b->g.rc = (int)recvmsg(b->s->fd, &m, 0);
        b->g.err = errno;
    } else if (b->mode == 0) {
        recv_into(b->s, &b->g, b->len, 4, b->flags);
        b->message_ok = strstr(csock_last_error(), "recvmsg: EINTR") != NULL;
    } else {
        static char chunk[65536];
        int one = 0;
        b->g.rc = send_n(b->s, chunk, sizeof chunk, &one, 1, b->flags);
        b->g.err = errno;
        b->message_ok = strstr(csock_last_error(), "sendmsg: EINTR") != NULL;
    }
    return NULL;
}

/* Starts b in a thread, waits until it blocks in `nr`, signals it and waits for the handler. */
static pthread_t start_and_interrupt(struct blocked *b, long nr, const char *what) {
    pthread_t t;
    b->tid = 0;
    signals = 0;
    pthread_create(&t, NULL, blocked_call, b);
    WAIT_UNTIL(b->tid != 0 && blocked_in(b->tid) == nr);
    ok(blocked_in(b->tid) == nr, "%s: the thread is blocked in the system call", what);
    pthread_kill(t, SIGUSR1);
    WAIT_UNTIL(signals > 0);
    is_int(signals, 1, "%s: the handler ran while the call was blocked", what);
    return t;
}

/* --- seccomp: calls that must not reach the kernel ------------------------------------------ */

struct bad_call {
    int which;
    csock_socket *s;
};

static int call_bad(void *arg) {
    struct bad_call *c = arg;
    int fds[MAXN] = {0};
    size_t n;
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    struct sockaddr_storage big;
    memset(&big, 0, sizeof big);
    switch (c->which) {
    case 0: return csock_send_fds(c->s, &iov, 1, fds, 1, 0, NULL, 0); /* the good control */
    case 1: return csock_send_fds(c->s, &iov, 1, fds, 254, 0, NULL, 0);
    case 2: return csock_send_fds(c->s, NULL, 0, fds, 1, 0, NULL, 0);
    case 3: return csock_send_fds(c->s, &iov, 1, NULL, 1, 0, NULL, 0);
    case 4: return csock_send_fds(c->s, NULL, 1, fds, 1, 0, NULL, 0);
    case 5: return csock_send_fds(NULL, &iov, 1, fds, 1, 0, NULL, 0);
    case 6:
        return csock_send_fds(c->s, &iov, 1, fds, 1, 0, (struct sockaddr *)&big, sizeof big + 1);
    case 7: return csock_recv_fds(c->s, &byte, 1, fds, 1, NULL, 0, NULL, NULL, NULL);
    case 8: return csock_recv_fds(c->s, NULL, 1, fds, 1, &n, 0, NULL, NULL, NULL);
    case 9: return csock_recv_fds(c->s, &byte, 1, NULL, 1, &n, 0, NULL, NULL, NULL);
    case 10: return csock_recv_fds(NULL, &byte, 1, fds, 1, &n, 0, NULL, NULL, NULL);
    case 11: {
        struct iovec empty = {&byte, 0};
        return csock_send_fds(c->s, &empty, 1, fds, 1, 0, NULL, 0);
    }
    case 12: return csock_send_fds(c->s, &iov, 1, fds, SIZE_MAX, 0, NULL, 0);
    default: return INT_MIN;
    }
}

/* --- fork+exec: does a received descriptor reach a child? ----------------------------------- */

static void checker_path(char *buf, size_t size) {
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n < 0 ? 0 : n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(buf, size, "%s/helpers/fdcount", slash ? self : ".");
}

/* Forks and executes the checker: the number of descriptors it inherited, or -1. */
static int run_checker(const char *checker) {
    pid_t pid = fork();
    if (pid == 0) {
        execl(checker, checker, "-v", (char *)NULL);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) > 100)
        return -1;
    return WEXITSTATUS(status);
}

int main(void) {
    csock_socket p[2], d[2];
    struct got g;
    int pipefd[2];
    shelter_inherited();
    signal(SIGPIPE, SIG_DFL);
    if (pipe2(pipefd, O_CLOEXEC) < 0) return 1;

    /* Basic: data and three descriptors over a stream socket. */
    pair_of(SOCK_STREAM, p);
    int three[3] = {pipefd[0], pipefd[1], p[0].fd};
    int before = count_fds();
    is_int(send_n(&p[0], "hi", 2, three, 3, 0), 2, "stream: 2 bytes sent with 3 descriptors");
    is_int(count_fds(), before, "stream: sending adds no descriptor");
    recv_into(&p[1], &g, sizeof g.buf, 8, 0);
    is_int(g.rc, 2, "stream: 2 bytes received");
    is_str(g.buf, "hi", "stream: the data");
    received_ok(&g, three, 3, "stream");
    is_int(g.flags, 0, "stream: *msg_flags is 0");
    is_int(count_fds(), before + 3, "stream: exactly 3 descriptors gained");
    close_got(&g);
    is_int(count_fds(), before, "stream: back to the count before");

    /* maxfds = SIZE_MAX is valid: only the entries that arrive are written. */
    send_n(&p[0], "x", 1, three, 2, 0);
    recv_into(&p[1], &g, 1, SIZE_MAX, 0);
    is_int(g.rc, 1, "maxfds SIZE_MAX: received");
    received_ok(&g, three, 2, "maxfds SIZE_MAX");
    close_got(&g);

    /* MSG_CTRUNC: more descriptors than maxfds. */
    static const struct { size_t sent, maxfds; } cuts[] = {{5, 2}, {2, 1}, {4, 3}, {3, 0}};
    for (size_t c = 0; c < sizeof cuts / sizeof cuts[0]; c++) {
        int many[8];
        for (size_t i = 0; i < cuts[c].sent; i++) many[i] = i % 2 ? pipefd[1] : pipefd[0];
        char what[64];
        snprintf(what, sizeof what, "%zu sent, maxfds %zu", cuts[c].sent, cuts[c].maxfds);
        before = count_fds();
        send_n(&p[0], "x", 1, many, cuts[c].sent, 0);
        recv_into(&p[1], &g, 1, cuts[c].maxfds, 0);
        is_int(g.rc, 1, "%s: the data byte", what);
        received_ok(&g, many, cuts[c].maxfds, what);
        ok(g.flags & MSG_CTRUNC, "%s: MSG_CTRUNC reported", what);
        is_int(count_fds(), before + (int)cuts[c].maxfds, "%s: exactly %zu descriptors gained",
               what, cuts[c].maxfds);
        close_got(&g);
    }
    /* maxfds 0 with fds NULL: allowed, and MSG_CTRUNC reports the descriptors sent. */
    before = count_fds();
    send_n(&p[0], "x", 1, three, 1, 0);
    size_t n0 = SENTINEL_N;
    int fl0 = 0;
    char byte;
    is_int(csock_recv_fds(&p[1], &byte, 1, NULL, 0, &n0, 0, &fl0, NULL, NULL), 1,
           "maxfds 0, fds NULL: the data byte");
    is_int(n0, 0, "maxfds 0: *nfds is 0");
    ok(fl0 & MSG_CTRUNC, "maxfds 0: MSG_CTRUNC");
    is_int(count_fds(), before, "maxfds 0: no descriptor gained");

    /* No descriptors at all: a plain message, *nfds 0, no MSG_CTRUNC. */
    is_int(send_n(&p[0], "y", 1, NULL, 0, 0), 1, "no descriptors: sent");
    recv_into(&p[1], &g, 1, 4, 0);
    ok(g.rc == 1 && g.n == 0 && g.flags == 0 && g.fds[0] == SENTINEL_FD,
       "no descriptors: 1 byte, *nfds 0, flags 0, fds untouched");

    /* 253 descriptors (SCM_MAX_FD) are accepted and all arrive. */
    int max[253];
    for (int i = 0; i < 253; i++) max[i] = pipefd[i % 2];
    before = count_fds();
    is_int(send_n(&p[0], "m", 1, max, 253, 0), 1, "253 descriptors: sent");
    recv_into(&p[1], &g, 1, 253, 0);
    received_ok(&g, max, 253, "253 descriptors");
    is_int(g.flags & MSG_CTRUNC, 0, "253 descriptors: no MSG_CTRUNC");
    is_int(count_fds(), before + 253, "253 descriptors: exactly 253 gained");
    close_got(&g);
    is_int(count_fds(), before, "253 descriptors: all closed again");

    /* Credentials (SO_PASSCRED) come first: the descriptors still fit, none is lost. */
    int on = 1;
    setsockopt(p[1].fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
    for (size_t k = 1; k <= 3; k += 2) {
        before = count_fds();
        send_n(&p[0], "c", 1, three, k, 0);
        recv_into(&p[1], &g, 1, k, 0);
        char what[64];
        snprintf(what, sizeof what, "SO_PASSCRED, %zu sent, maxfds %zu", k, k);
        received_ok(&g, three, k, what);
        is_int(g.flags & MSG_CTRUNC, 0, "%s: no MSG_CTRUNC", what);
        is_int(count_fds(), before + (int)k, "%s: exactly %zu gained", what, k);
        close_got(&g);
    }
    on = 0;
    setsockopt(p[1].fd, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);

    /* SO_PASSPIDFD: the kernel installs a pidfd too; csock closes it (the caller cannot see it). */
    on = 1;
    if (setsockopt(p[1].fd, SOL_SOCKET, SO_PASSPIDFD, &on, sizeof on) == 0) {
        before = count_fds();
        send_n(&p[0], "p", 1, three, 1, 0);
        recv_into(&p[1], &g, 1, 1, 0);
        received_ok(&g, three, 1, "SO_PASSPIDFD");
        is_int(count_fds(), before + 1, "SO_PASSPIDFD: exactly the 1 passed descriptor gained");
        close_got(&g);
        /* The control: plain recvmsg sees the pidfd, a descriptor of its own. */
        send_n(&p[0], "p", 1, three, 1, 0);
        char x;
        union {
            struct cmsghdr h;
            char buf[256];
        } u;
        struct iovec iov = {&x, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                           .msg_controllen = sizeof u.buf};
        int pidfds = 0, rights = 0;
        before = count_fds();
        if (recvmsg(p[1].fd, &m, MSG_CMSG_CLOEXEC) == 1)
            for (struct cmsghdr *c = CMSG_FIRSTHDR(&m); c; c = CMSG_NXTHDR(&m, c)) {
                int fd;
                memcpy(&fd, CMSG_DATA(c), sizeof fd);
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == 4 /* SCM_PIDFD */) pidfds++;
                if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) rights++;
                if (c->cmsg_level == SOL_SOCKET && (c->cmsg_type == 4 || c->cmsg_type == SCM_RIGHTS))
                    close(fd);
            }
        ok(pidfds == 1 && rights == 1,
           "control: plain recvmsg with SO_PASSPIDFD gets a pidfd besides the descriptor (%d, %d)",
           pidfds, rights);
        is_int(count_fds(), before, "control: both closed again");
        on = 0;
        setsockopt(p[1].fd, SOL_SOCKET, SO_PASSPIDFD, &on, sizeof on);
    } else {
        ok(1, "SO_PASSPIDFD # SKIP not supported by this kernel");
    }

    /* Flags reach the kernel. MSG_PEEK: the message stays, with new descriptors each time. */
    before = count_fds();
    send_n(&p[0], "pk", 2, three, 2, 0);
    recv_into(&p[1], &g, sizeof g.buf, 4, MSG_PEEK);
    is_int(g.rc, 2, "MSG_PEEK: 2 bytes peeked");
    received_ok(&g, three, 2, "MSG_PEEK");
    is_int(count_fds(), before + 2, "MSG_PEEK: 2 descriptors gained");
    close_got(&g);
    recv_into(&p[1], &g, sizeof g.buf, 4, 0);
    ok(g.rc == 2 && !strcmp(g.buf, "pk"), "after MSG_PEEK: the message is still there");
    received_ok(&g, three, 2, "after MSG_PEEK");
    close_got(&g);
    is_int(count_fds(), before, "MSG_PEEK: nothing left behind");

    /* MSG_DONTWAIT on an empty blocking socket: -EAGAIN, nothing written. */
    before = count_fds();
    recv_into(&p[1], &g, 1, 4, MSG_DONTWAIT);
    is_int(g.rc, -EAGAIN, "MSG_DONTWAIT, empty socket: -EAGAIN");
    is_int(g.err, EAGAIN, "MSG_DONTWAIT: errno EAGAIN");
    ok(untouched(&g), "MSG_DONTWAIT: no out-parameter written");
    is_int(count_fds(), before, "MSG_DONTWAIT: descriptor count unchanged");
    ok(csock_get_blocking(&p[1]) == 1, "MSG_DONTWAIT: the socket is still blocking");

    /* MSG_DONTWAIT on send: fill the socket, then -EAGAIN. */
    {
        csock_socket f[2];
        pair_of(SOCK_STREAM, f);
        static char chunk[4096];
        int rc;
        while ((rc = send_n(&f[0], chunk, sizeof chunk, NULL, 0, MSG_DONTWAIT)) > 0) {
        }
        is_int(rc, -EAGAIN, "send MSG_DONTWAIT on a full socket: -EAGAIN");
        is_int(send_n(&f[0], "z", 1, three, 1, MSG_DONTWAIT), -EAGAIN,
               "send MSG_DONTWAIT with a descriptor on a full socket: -EAGAIN");
        close_pair(f);
    }

    /* MSG_WAITALL: waits for the whole length (the control without it returns at once). */
    {
        is_int(send_n(&p[0], "ab", 2, NULL, 0, 0), 2, "MSG_WAITALL: first part sent");
        recv_into(&p[1], &g, 4, 4, MSG_PEEK);
        is_int(g.rc, 2, "control: without MSG_WAITALL, 2 of 4 bytes come at once");
        struct blocked b = {.s = &p[1], .mode = 0, .flags = MSG_WAITALL, .len = 4};
        pthread_t t;
        b.tid = 0;
        pthread_create(&t, NULL, blocked_call, &b);
        WAIT_UNTIL(b.tid != 0 && blocked_in(b.tid) == SYS_recvmsg);
        ok(blocked_in(b.tid) == SYS_recvmsg, "MSG_WAITALL: still waiting after 2 of 4 bytes");
        before = count_fds();
        send_n(&p[0], "cd", 2, three, 1, 0);
        pthread_join(t, NULL);
        is_int(b.g.rc, 4, "MSG_WAITALL: 4 bytes");
        is_str(b.g.buf, "abcd", "MSG_WAITALL: both parts");
        received_ok(&b.g, three, 1, "MSG_WAITALL");
        close_got(&b.g);
        is_int(count_fds(), before, "MSG_WAITALL: nothing left behind");
    }

    /* MSG_TRUNC on a datagram: the real length, as an int. */
    pair_of(SOCK_DGRAM, d);
    send_n(&d[0], "0123456789", 10, three, 1, 0);
    recv_into(&d[1], &g, 4, 4, MSG_TRUNC);
    is_int(g.rc, 10, "MSG_TRUNC: the datagram's real length");
    ok(g.flags & MSG_TRUNC, "MSG_TRUNC: reported in *msg_flags");
    received_ok(&g, three, 1, "MSG_TRUNC");
    close_got(&g);

    /* A datagram (and a seqpacket message) with descriptors and no data byte is allowed. */
    before = count_fds();
    is_int(send_n(&d[0], NULL, 0, three, 2, 0), 0, "datagram without data: 0 bytes sent");
    recv_into(&d[1], &g, 4, 4, 0);
    is_int(g.rc, 0, "datagram without data: 0 bytes received");
    received_ok(&g, three, 2, "datagram without data");
    close_got(&g);
    {
        csock_socket q[2];
        pair_of(SOCK_SEQPACKET, q);
        is_int(send_n(&q[0], NULL, 0, three, 1, 0), 0, "seqpacket without data: sent");
        recv_into(&q[1], &g, 4, 4, 0);
        ok(g.rc == 0, "seqpacket without data: 0 bytes received");
        received_ok(&g, three, 1, "seqpacket without data");
        close_got(&g);
        close_pair(q);
    }
    is_int(count_fds(), before, "without data: nothing left behind");

    /* ... but not on a stream socket, where the kernel would drop them: -EINVAL. */
    before = count_fds();
    is_int(send_n(&p[0], NULL, 0, three, 1, 0), -EINVAL, "stream without data: -EINVAL");
    diag("%s", csock_last_error());
    recv_into(&p[1], &g, 4, 4, MSG_DONTWAIT);
    is_int(g.rc, -EAGAIN, "stream without data: nothing was sent");
    {
        /* A stream socket recorded as SOCK_DGRAM: the kernel's type decides. */
        int sv[2];
        socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
        csock_socket lie;
        csock_adopt(&lie, sv[0], AF_UNIX, SOCK_DGRAM, 0);
        is_int(send_n(&lie, NULL, 0, three, 1, 0), -EINVAL,
               "stream recorded as SOCK_DGRAM, without data: -EINVAL (SO_TYPE read)");
        is_int(send_n(&lie, NULL, 0, NULL, 0, 0), 0, "stream without data and descriptors: 0");
        csock_close(&lie);
        close(sv[1]);
    }
    is_int(count_fds(), before, "stream without data: nothing left behind");

    /* -EINVAL without a system call (sendmsg, recvmsg and getsockopt fail with ENOSYS). */
    {
        static const int calls[] = {SYS_sendmsg, SYS_recvmsg, SYS_getsockopt, SYS_sendto,
                                    SYS_recvfrom};
        static const char *names[] = {
            "control: a good send fails with -ENOSYS",
            "nfds 254",
            "iov NULL, iovcnt 0, on a stream socket: no data byte",
            "fds NULL with nfds 1",
            "iov NULL with iovcnt 1",
            "sock NULL (send)",
            "addrlen larger than sockaddr_storage",
            "nfds NULL (recv)",
            "buf NULL with len 1",
            "fds NULL with maxfds 1",
            "sock NULL (recv)",
            "an empty iovec on a stream socket",
            "nfds SIZE_MAX",
        };
        for (int w = 0; w <= 12; w++) {
            struct bad_call c = {w, &p[0]};
            char what[128];
            snprintf(what, sizeof what, "%s: -%s without a system call", names[w],
                     w ? "EINVAL" : "ENOSYS");
            no_syscall_is(without_syscalls(calls, 5, call_bad, &c), w ? -EINVAL : -ENOSYS,
                          what);
        }
    }
    {
        csock_socket closed = {-1, -1, -1, -1};
        is_int(send_n(&closed, "x", 1, three, 1, 0), -EBADF, "closed socket: send -EBADF");
        recv_into(&closed, &g, 1, 4, 0);
        ok(g.rc == -EBADF && untouched(&g), "closed socket: recv -EBADF, nothing written");
    }

    /* Failures write nothing and leave nothing open: ENOTSOCK, EFAULT. */
    {
        csock_socket notsock = {pipefd[0], AF_UNIX, SOCK_STREAM, 0};
        before = count_fds();
        recv_into(&notsock, &g, 1, 4, 0);
        ok(g.rc == -ENOTSOCK && untouched(&g), "a pipe: -ENOTSOCK, nothing written");
        /* Read-only, so the kernel cannot write it (valgrind counts it addressable). */
        char *page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        send_n(&d[0], "f", 1, three, 3, 0);
        for (int i = 0; i < MAXN; i++) g.fds[i] = SENTINEL_FD;
        g.n = SENTINEL_N;
        g.flags = SENTINEL_FLAGS;
        int rc = csock_recv_fds(&d[1], page, 1, g.fds, 4, &g.n, 0, &g.flags, NULL, NULL);
        ok(rc == -EFAULT && untouched(&g), "an unwritable buffer: -EFAULT (%d), nothing written",
           rc);
        is_int(count_fds(), before, "failures: descriptor count unchanged");
        munmap(page, 4096);
    }

    /* addr honoured: an unbound datagram socket sends to a path (CPython drops the address). */
    {
        char dir[] = "/tmp/csock-fdpass-XXXXXX";
        if (!mkdtemp(dir)) return 1;
        struct sockaddr_un to = {.sun_family = AF_UNIX}, from = {.sun_family = AF_UNIX};
        snprintf(to.sun_path, sizeof to.sun_path, "%s/to", dir);
        snprintf(from.sun_path, sizeof from.sun_path, "%s/from", dir);
        csock_socket rx, tx, named;
        csock_open(&rx, AF_UNIX, SOCK_DGRAM, 0);
        csock_open(&tx, AF_UNIX, SOCK_DGRAM, 0);
        csock_open(&named, AF_UNIX, SOCK_DGRAM, 0);
        bind(rx.fd, (struct sockaddr *)&to, sizeof to);
        bind(named.fd, (struct sockaddr *)&from, sizeof from);
        struct iovec iov = {"a", 1};
        is_int(csock_send_fds(&tx, &iov, 1, three, 1, 0, NULL, 0), -ENOTCONN,
               "control: unconnected, without an address: -ENOTCONN");
        before = count_fds();
        is_int(csock_send_fds(&tx, &iov, 1, three, 1, 0, (struct sockaddr *)&to, sizeof to), 1,
               "unbound datagram socket: sent to a path");
        struct sockaddr_storage addr;
        socklen_t alen = 0xdead;
        memset(&addr, 0xAA, sizeof addr);
        size_t n = 0;
        int fd = -1;
        is_int(csock_recv_fds(&rx, &byte, 1, &fd, 1, &n, 0, NULL, &addr, &alen), 1,
               "the datagram arrives at the path");
        ok(n == 1 && same_file(fd, three[0]) && fd_cloexec(fd) == 1,
           "with its descriptor, close-on-exec");
        is_int(alen, 0, "an unbound sender has no address: *addrlen 0");
        ok(((unsigned char *)&addr)[sizeof addr - 1] == 0, "*addr overwritten whole (zeroed)");
        close(fd);
        is_int(csock_send_fds(&named, &iov, 1, three, 1, 0, (struct sockaddr *)&to, sizeof to), 1,
               "a bound sender: sent");
        is_int(csock_recv_fds(&rx, &byte, 1, &fd, 1, &n, 0, NULL, &addr, &alen), 1,
               "received with the sender's address");
        is_str(((struct sockaddr_un *)&addr)->sun_path, from.sun_path, "the sender's path");
        close(fd);
        is_int(count_fds(), before, "addr: nothing left behind");
        csock_close(&rx);
        csock_close(&tx);
        csock_close(&named);
        unlink(to.sun_path);
        unlink(from.sun_path);
        rmdir(dir);
    }

    /* SIGPIPE at its default disposition: -EPIPE, the process lives. */
    {
        csock_socket s[2];
        pair_of(SOCK_STREAM, s);
        csock_close(&s[1]);
        pid_t pid = fork();
        if (pid == 0) {
            char x = 'x';
            struct iovec iov = {&x, 1};
            struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
            sendmsg(s[0].fd, &m, 0);
            _exit(0);
        }
        int status = 0;
        waitpid(pid, &status, 0);
        ok(WIFSIGNALED(status) && WTERMSIG(status) == SIGPIPE,
           "control: plain sendmsg to a closed peer is killed by SIGPIPE");
        struct sigaction sa;
        sigaction(SIGPIPE, NULL, &sa);
        ok(sa.sa_handler == SIG_DFL, "SIGPIPE is at its default disposition");
        is_int(send_n(&s[0], "x", 1, three, 1, 0), -EPIPE,
               "csock_send_fds to a closed peer: -EPIPE, no SIGPIPE");
        is_int(send_n(&s[0], "x", 1, NULL, 0, 0), -EPIPE, "without descriptors too");
        csock_close(&s[0]);
    }

    /* EINTR: a handler installed without SA_RESTART. */
    {
        interrupt_setup();
        struct blocked control = {.s = &p[1], .mode = 1};
        pthread_t t = start_and_interrupt(&control, SYS_recvmsg, "control");
        pthread_join(t, NULL);
        ok(control.g.rc == -1 && control.g.err == EINTR, "control: plain recvmsg gives EINTR");

        before = count_fds();
        struct blocked b = {.s = &p[1], .mode = 0, .len = 1};
        t = start_and_interrupt(&b, SYS_recvmsg, "csock_recv_fds");
        ok(blocked_in(b.tid) == SYS_recvmsg, "csock_recv_fds: resumed after EINTR, still waiting");
        send_n(&p[0], "e", 1, three, 1, 0);
        pthread_join(t, NULL);
        is_int(b.g.rc, 1, "csock_recv_fds: retried after EINTR, gets the message");
        received_ok(&b.g, three, 1, "after EINTR");
        close_got(&b.g);
        is_int(count_fds(), before, "after EINTR: nothing left behind");

        struct blocked i = {.s = &p[1], .mode = 0, .len = 1, .flags = CSOCK_EINTR};
        t = start_and_interrupt(&i, SYS_recvmsg, "CSOCK_EINTR recv");
        pthread_join(t, NULL);
        is_int(i.g.rc, -EINTR, "CSOCK_EINTR: csock_recv_fds returns -EINTR");
        ok(untouched(&i.g), "CSOCK_EINTR: nothing written");
        ok(i.message_ok, "CSOCK_EINTR: the message names recvmsg and EINTR");
        is_int(count_fds(), before, "CSOCK_EINTR recv: descriptor count unchanged");

        csock_socket f[2];
        pair_of(SOCK_STREAM, f);
        static char chunk[4096];
        while (send_n(&f[0], chunk, sizeof chunk, NULL, 0, MSG_DONTWAIT) > 0) {
        }
        struct blocked s = {.s = &f[0], .mode = 2, .flags = CSOCK_EINTR};
        t = start_and_interrupt(&s, SYS_sendmsg, "CSOCK_EINTR send");
        pthread_join(t, NULL);
        is_int(s.g.rc, -EINTR, "CSOCK_EINTR: csock_send_fds on a full socket returns -EINTR");
        ok(s.message_ok, "CSOCK_EINTR: the message names sendmsg and EINTR");
        recv_into(&f[1], &g, 1, 4, MSG_DONTWAIT);
        is_int(g.n, 0, "CSOCK_EINTR send: no descriptor was sent");
        close_pair(f);
    }

    /* fork+exec: a received descriptor never reaches the child; plain recvmsg's does. */
    {
        char checker[PATH_MAX + 32];
        checker_path(checker, sizeof checker);
        is_int(run_checker(checker), 0, "checker (%s) finds nothing inherited at rest", checker);
        send_n(&p[0], "r", 1, three, 1, 0);
        recv_into(&p[1], &g, 1, 1, 0);
        is_int(g.n, 1, "received one descriptor");
        is_int(run_checker(checker), 0, "csock_recv_fds: the child inherits nothing");
        close_got(&g);
        send_n(&p[0], "r", 1, three, 1, 0);
        char x;
        union {
            struct cmsghdr h;
            char buf[CMSG_SPACE(sizeof(int))];
        } u;
        struct iovec iov = {&x, 1};
        struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf,
                           .msg_controllen = sizeof u.buf};
        int fd = -1;
        if (recvmsg(p[1].fd, &m, 0) == 1 && CMSG_FIRSTHDR(&m))
            memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&m)), sizeof fd);
        ok(fd >= 0 && fd_cloexec(fd) == 0, "control: plain recvmsg gives an inheritable fd");
        is_int(run_checker(checker), 1, "control: the child inherits plain recvmsg's descriptor");
        close(fd);
    }

    close_pair(p);
    close_pair(d);
    close(pipefd[0]);
    close(pipefd[1]);
    return done_testing();
}
