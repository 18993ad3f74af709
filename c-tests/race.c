/*
 * race: no socket csock creates is ever inherited by a program that another thread forks and
 * executes at the same moment.
 *
 * Several threads create and close sockets through every creating path (csock_open,
 * csock_socketpair, csock_dup, csock_fromfd, csock_create_connection and csock_create_server,
 * csock_recv_fds of a descriptor passed over a unix socket pair, and csock_accept on a loopback
 * listener fed by a connecting thread and by the creators' connections), each keeping a ring of
 * them open, while the main thread forks and executes helpers/fdcount, which counts the
 * descriptors it inherited. The same harness run with the plain system calls (socket(),
 * socketpair(), dup(), fcntl(F_DUPFD), socket() + connect(), socket() + bind() + listen(),
 * recvmsg() without MSG_CMSG_CLOEXEC, accept4(), no close-on-exec) must report leaks, which shows
 * that the checker can see one.
 *
 * CSOCK_RACE_ROUNDS sets the number of fork+exec rounds per harness (default 400); CSOCK_FDCOUNT
 * the checker (default: helpers/fdcount next to this program).
 */
#include <csock.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "tap.h"
#include "inherit.h"

#define CREATORS 3
#define RING 8
#define DEFAULT_ROUNDS 400
#define FDCOUNT_MAX 100  /* as in helpers/fdcount.c: larger exit statuses are errors */
#define LIVENESS_MS 10000 /* a guard against a hang if the acceptor died, not a timing */

/* The creators' paths come first; accept (the acceptor thread's) is last. */
enum path {
    P_OPEN, P_SOCKETPAIR, P_DUP, P_FROMFD, P_CREATE_CONNECTION, P_CREATE_SERVER, P_RECV_FDS,
    P_ACCEPT, P_COUNT
};
static const char *const PATH_NAMES[P_COUNT] = {
    "open", "socketpair", "dup", "fromfd", "create_connection", "create_server", "recv_fds",
    "accept"};

struct harness {
    int plain; /* 1: the plain system calls, without close-on-exec */
    atomic_int stop;
    atomic_int errors;
    atomic_int wrong_flags; /* sockets whose close-on-exec or O_NONBLOCK was not as made */
    atomic_long made[P_COUNT];
    csock_socket listener;
    struct sockaddr_in addr;
    char port[16]; /* the listener's, for csock_create_connection */
};

static void fail(struct harness *h, const char *what, int code) {
    if (atomic_fetch_add(&h->errors, 1) < 5)
        diag("%s harness: %s failed: %s (%s)", h->plain ? "plain" : "csock", what,
             strerror(code < 0 ? -code : code), h->plain ? "" : csock_last_error());
}

/* A plain descriptor as a csock_socket, so both harnesses close the same way. */
static int wrap(csock_socket *out, int fd, int family) {
    if (fd < 0) return -errno;
    *out = (csock_socket){fd, family, SOCK_STREAM, 0};
    return 0;
}

/* A connection made through `p` sends one byte, which the acceptor waits for. */
static int hello(csock_socket *s, int r) {
    if (r == 0 && write(s->fd, "C", 1) != 1) r = -errno;
    return r;
}

/* Passes `base` over `carrier` (a unix socket pair) and receives it as a new descriptor in *out:
 * with csock_send_fds / csock_recv_fds, or plain sendmsg / recvmsg (no MSG_CMSG_CLOEXEC). */
static int pass_fd(int plain, const csock_socket carrier[2], const csock_socket *base,
                   csock_socket *out) {
    char byte = 'F';
    struct iovec iov = {&byte, 1};
    int fd = -1;
    if (!plain) {
        size_t n = 0;
        int r = csock_send_fds(&carrier[0], &iov, 1, &base->fd, 1, 0, NULL, 0);
        if (r < 0) return r;
        r = csock_recv_fds(&carrier[1], &byte, 1, &fd, 1, &n, 0, NULL, NULL, NULL);
        if (r < 0) return r;
        if (n != 1) return -EPROTO;
        return wrap(out, fd, AF_UNIX);
    }
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf,
                         .msg_controllen = sizeof control.buf};
    struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(c), &base->fd, sizeof(int));
    if (sendmsg(carrier[0].fd, &msg, 0) != 1) return -errno;
    msg.msg_controllen = sizeof control.buf;
    if (recvmsg(carrier[1].fd, &msg, 0) != 1) return -errno;
    c = CMSG_FIRSTHDR(&msg);
    if (!c || c->cmsg_type != SCM_RIGHTS) return -EPROTO;
    memcpy(&fd, CMSG_DATA(c), sizeof(int));
    return wrap(out, fd, AF_UNIX);
}

/* Creates through `p` into out[0] (and out[1] for a pair); returns 0 or -errno. */
static int create(const struct harness *h, enum path p, const csock_socket *base,
                  const csock_socket carrier[2], csock_socket out[2]) {
    if (p == P_RECV_FDS) return pass_fd(h->plain, carrier, base, &out[0]);
    if (!h->plain) {
        switch (p) {
        case P_OPEN: return csock_open(&out[0], AF_UNIX, SOCK_STREAM, 0);
        case P_SOCKETPAIR: return csock_socketpair(out, AF_UNIX, SOCK_STREAM, 0);
        case P_DUP: return csock_dup(&out[0], base);
        case P_FROMFD: return csock_fromfd(&out[0], base->fd, -1, -1, -1);
        case P_CREATE_CONNECTION:
            return hello(&out[0], csock_create_connection(&out[0], "127.0.0.1", h->port,
                                                          LIVENESS_MS, NULL));
        case P_CREATE_SERVER:
            return csock_create_server(&out[0], "127.0.0.1", NULL, AF_INET, 1, 0);
        default: return -EINVAL;
        }
    }
    if (p == P_CREATE_CONNECTION || p == P_CREATE_SERVER) {
        int r = wrap(&out[0], socket(AF_INET, SOCK_STREAM, 0), AF_INET);
        struct sockaddr_in any = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (r < 0) return r;
        if (p == P_CREATE_CONNECTION)
            return hello(&out[0], connect(out[0].fd, (const struct sockaddr *)&h->addr,
                                          sizeof h->addr) < 0 ? -errno : 0);
        return bind(out[0].fd, (struct sockaddr *)&any, sizeof any) < 0 ||
                       listen(out[0].fd, 1) < 0 ? -errno : 0;
    }
    switch (p) {
    case P_OPEN: return wrap(&out[0], socket(AF_UNIX, SOCK_STREAM, 0), AF_UNIX);
    case P_SOCKETPAIR: {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return -errno;
        wrap(&out[0], sv[0], AF_UNIX);
        return wrap(&out[1], sv[1], AF_UNIX);
    }
    case P_DUP: return wrap(&out[0], dup(base->fd), AF_UNIX);
    case P_FROMFD: return wrap(&out[0], fcntl(base->fd, F_DUPFD, 0), AF_UNIX);
    default: return -EINVAL;
    }
}

static void *creator(void *arg) {
    struct harness *h = arg;
    csock_socket base, carrier[2], ring[RING][2];
    for (int i = 0; i < RING; i++) ring[i][0].fd = ring[i][1].fd = -1;
    int r = csock_open(&base, AF_UNIX, SOCK_DGRAM, 0);
    if (r == 0) r = csock_socketpair(carrier, AF_UNIX, SOCK_STREAM, 0);
    if (r < 0) {
        fail(h, "csock_open(base) or csock_socketpair(carrier)", r);
        return NULL;
    }
    for (unsigned n = 0; !atomic_load(&h->stop); n++) {
        csock_socket *slot = ring[n % RING];
        enum path p = (enum path)(n % P_ACCEPT);
        csock_close(&slot[0]);
        csock_close(&slot[1]);
        r = create(h, p, &base, carrier, slot);
        if (r < 0) {
            fail(h, PATH_NAMES[p], r);
            break;
        }
        for (int end = 0; end < 2; end++)
            if (slot[end].fd >= 0 && fd_cloexec(slot[end].fd) != !h->plain)
                atomic_fetch_add(&h->wrong_flags, 1);
        atomic_fetch_add(&h->made[p], 1);
    }
    for (int i = 0; i < RING; i++) csock_close(&ring[i][0]), csock_close(&ring[i][1]);
    csock_close(&base);
    csock_close(&carrier[0]);
    csock_close(&carrier[1]);
    return NULL;
}

/* Waits for `fd` to be readable, so a dead peer gives an error instead of a hang. */
static int readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    int r;
    while ((r = poll(&p, 1, LIVENESS_MS)) < 0 && errno == EINTR) {
    }
    return r > 0 ? 0 : -ETIMEDOUT;
}

/* One connection to the listener: sends `what`, then waits until the acceptor closes it. */
static int connect_once(struct harness *h, char what) {
    csock_socket c;
    int r = h->plain ? wrap(&c, socket(AF_INET, SOCK_STREAM, 0), AF_INET)
                     : csock_open(&c, AF_INET, SOCK_STREAM, 0);
    if (r < 0) return r;
    char byte;
    if (connect(c.fd, (const struct sockaddr *)&h->addr, sizeof h->addr) < 0 ||
        write(c.fd, &what, 1) != 1)
        r = -errno;
    else if ((r = readable(c.fd)) == 0 && read(c.fd, &byte, 1) != 0)
        r = -EPROTO;
    csock_close(&c);
    return r;
}

static void *connector(void *arg) {
    struct harness *h = arg;
    while (!atomic_load(&h->stop)) {
        int r = connect_once(h, 'C');
        if (r < 0) {
            fail(h, "connect", r);
            break;
        }
    }
    return NULL;
}

/* Accepts until a connection sends 'Q'; every other connection is accepted non-blocking. */
static void *acceptor(void *arg) {
    struct harness *h = arg;
    unsigned n = 0;
    for (char byte = 0; byte != 'Q'; n++) {
        csock_socket conn;
        int flags = n % 2 ? SOCK_NONBLOCK : 0;
        int r = h->plain ? wrap(&conn, accept4(h->listener.fd, NULL, NULL, flags), AF_INET)
                         : csock_accept(&h->listener, &conn, NULL, NULL, flags);
        if (r < 0) {
            fail(h, PATH_NAMES[P_ACCEPT], r);
            return NULL;
        }
        atomic_fetch_add(&h->made[P_ACCEPT], 1);
        if (fd_cloexec(conn.fd) != !h->plain || fd_nonblock(conn.fd) != (flags != 0))
            atomic_fetch_add(&h->wrong_flags, 1);
        if (readable(conn.fd) < 0 || read(conn.fd, &byte, 1) != 1) byte = 0;
        csock_close(&conn);
    }
    return NULL;
}

/* Forks and executes the checker; returns the number of descriptors it inherited, or -1. */
static int run_checker(const char *checker, int verbose) {
    char *const argv[] = {(char *)checker, verbose ? "-v" : NULL, NULL};
    pid_t pid = fork();
    if (pid == 0) {
        execv(checker, argv);
        _exit(127);
    }
    if (pid < 0) return -1;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return -1;
    if (!WIFEXITED(status) || WEXITSTATUS(status) > FDCOUNT_MAX) return -1;
    return WEXITSTATUS(status);
}

static int all_paths_made(struct harness *h) {
    for (int p = 0; p < P_COUNT; p++)
        if (atomic_load(&h->made[p]) == 0) return 0;
    return 1;
}

/*
 * Runs `rounds` fork+exec rounds while the threads create sockets; returns the total number of
 * descriptors the checker inherited. Rounds that could not run count in h->errors.
 */
static long race(struct harness *h, const char *checker, int rounds) {
    int r = csock_open(&h->listener, AF_INET, SOCK_STREAM, 0);
    socklen_t len = sizeof h->addr;
    h->addr = (struct sockaddr_in){.sin_family = AF_INET,
                                   .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (r < 0 || bind(h->listener.fd, (struct sockaddr *)&h->addr, sizeof h->addr) < 0 ||
        listen(h->listener.fd, 64) < 0 ||
        getsockname(h->listener.fd, (struct sockaddr *)&h->addr, &len) < 0) {
        fail(h, "listener", r < 0 ? r : -errno);
        return 0;
    }
    snprintf(h->port, sizeof h->port, "%u", ntohs(h->addr.sin_port));
    pthread_t creators[CREATORS], conn, acc;
    for (int i = 0; i < CREATORS; i++) pthread_create(&creators[i], NULL, creator, h);
    pthread_create(&acc, NULL, acceptor, h);
    pthread_create(&conn, NULL, connector, h);
    /* Every path is running before the first fork. */
    while (!all_paths_made(h) && atomic_load(&h->errors) == 0) sched_yield();

    long leaked = 0;
    for (int i = 0; i < rounds; i++) {
        int n = run_checker(checker, !h->plain);
        if (n < 0)
            fail(h, "fork+exec of the checker", ECHILD);
        else
            leaked += n;
    }

    atomic_store(&h->stop, 1);
    for (int i = 0; i < CREATORS; i++) pthread_join(creators[i], NULL);
    pthread_join(conn, NULL);
    r = connect_once(h, 'Q');
    if (r < 0) fail(h, "final connect", r);
    pthread_join(acc, NULL);
    csock_close(&h->listener);
    return leaked;
}

static void report(struct harness *h, int rounds, long leaked) {
    char made[256];
    int at = 0;
    for (int p = 0; p < P_COUNT && at < (int)sizeof made; p++)
        at += snprintf(made + at, sizeof made - (size_t)at, "%s%s %ld", p ? ", " : "",
                       PATH_NAMES[p], atomic_load(&h->made[p]));
    diag("%s: %d fork+exec rounds, %ld descriptors inherited; created: %s",
         h->plain ? "plain system calls" : "csock", rounds, leaked, made);
    is_int(atomic_load(&h->errors), 0, "%s harness: every creation and round ran",
           h->plain ? "plain" : "csock");
    is_int(atomic_load(&h->wrong_flags), 0, "%s harness: every socket was made %s",
           h->plain ? "plain" : "csock", h->plain ? "inheritable" : "close-on-exec");
    for (int p = 0; p < P_COUNT; p++)
        ok(atomic_load(&h->made[p]) > 0, "%s harness: %s ran concurrently with the forks",
           h->plain ? "plain" : "csock", PATH_NAMES[p]);
}

static void checker_path(char *buf, size_t size) {
    const char *env = getenv("CSOCK_FDCOUNT");
    if (env) {
        snprintf(buf, size, "%s", env);
        return;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n < 0 ? 0 : n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) *slash = '\0';
    snprintf(buf, size, "%s/helpers/fdcount", slash ? self : ".");
}

int main(void) {
    const char *env = getenv("CSOCK_RACE_ROUNDS");
    int rounds = env ? atoi(env) : DEFAULT_ROUNDS;
    if (rounds < 1) rounds = DEFAULT_ROUNDS;
    char checker[PATH_MAX + 32];
    checker_path(checker, sizeof checker);
    shelter_inherited();

    /* The checker itself: nothing when nothing is open, one for one inheritable socket. */
    is_int(run_checker(checker, 1), 0, "checker (%s) finds nothing inherited at rest", checker);
    int plain = socket(AF_UNIX, SOCK_STREAM, 0);
    ok(fd_open(plain) && fd_cloexec(plain) == 0, "control: socket() without SOCK_CLOEXEC");
    is_int(run_checker(checker, 0), 1, "checker finds one socket made without close-on-exec");
    close(plain);
    int fds_before = count_fds();

    static struct harness with_csock = {.plain = 0}, with_plain = {.plain = 1};
    long leaked = race(&with_csock, checker, rounds);
    report(&with_csock, rounds, leaked);
    is_int(leaked, 0, "csock: no descriptor inherited in %d fork+exec rounds", rounds);

    long leaked_plain = race(&with_plain, checker, rounds);
    report(&with_plain, rounds, leaked_plain);
    ok(leaked_plain > 0, "plain system calls: the same harness sees leaks (%ld in %d rounds)",
       leaked_plain, rounds);

    is_int(count_fds(), fds_before, "every descriptor the harnesses made is closed again");
    is_str(csock_last_error(), "", "no csock call failed on the forking thread");
    return done_testing();
}
