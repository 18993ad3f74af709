/*
 * load: csock under load, across threads. A loopback server made with csock_create_server, with
 * ACCEPTORS threads in csock_accept on it, serves CLIENTS threads that each connect with
 * csock_create_connection, send a request, read the answer and close; meanwhile PASSERS pairs of
 * threads play descriptor ping-pong over unix socket pairs with csock_send_fds / csock_recv_fds
 * (one to three descriptors a message, each closed with csock_close_fd once passed on).
 *
 * Checked: every call succeeds (zero errors), every answer and every descriptor is the one sent
 * (by inode), every descriptor received (accepted or passed) is close-on-exec, and the process
 * has exactly the descriptors it had before once everything is closed.
 *
 * CSOCK_LOAD_OPS sets the operations (default 4000): half of them connections (create_connection
 * + accept + request + close), half descriptor passes (send_fds + recv_fds + close_fd). `make
 * stress` runs 100,000 and more.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "tap.h"

#define DEFAULT_OPS 4000
#define CLIENTS 4
#define ACCEPTORS 2
#define PASSERS 2       /* pairs of ping-pong threads */
#define MAX_PASS 3      /* descriptors per message at most */
#define TIMEOUT_MS 10000 /* a guard against a hang, not a timing */
#define QUIT 0xffffffffu

static atomic_long errors, not_cloexec, wrong_data;
static atomic_long calls; /* csock calls made */
static atomic_long connections, passes;
static char port[16];
static csock_socket server;

static void error(const char *what, int rc) {
    if (atomic_fetch_add(&errors, 1) < 5)
        diag("%s failed: %d (%s): %s", what, rc, strerror(rc < 0 ? -rc : rc), csock_last_error());
}

static void count_call(void) { atomic_fetch_add(&calls, 1); }

static void check_cloexec(int fd) {
    if (fd_cloexec(fd) != 1) atomic_fetch_add(&not_cloexec, 1);
}

/* Reads or writes exactly n bytes; 0 or -errno. */
static int full(int fd, void *buf, size_t n, int writing) {
    for (size_t done = 0; done < n;) {
        ssize_t r = writing ? write(fd, (char *)buf + done, n - done)
                            : read(fd, (char *)buf + done, n - done);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return r == 0 ? -EPIPE : -errno;
        done += (size_t)r;
    }
    return 0;
}

/* ---- the server ---------------------------------------------------------------------------- */

static void *acceptor(void *arg) {
    (void)arg;
    for (;;) {
        csock_socket conn;
        int r = csock_accept(&server, &conn, NULL, NULL, 0);
        count_call();
        if (r < 0) {
            error("csock_accept", r);
            return NULL;
        }
        check_cloexec(conn.fd);
        uint32_t request;
        r = full(conn.fd, &request, sizeof request, 0);
        if (r == 0 && request != QUIT) {
            uint32_t answer = ~request;
            r = full(conn.fd, &answer, sizeof answer, 1);
        }
        if (r < 0) error("serving a request", r);
        r = csock_close(&conn);
        count_call();
        if (r < 0) error("csock_close (server side)", r);
        if (request == QUIT) return NULL;
    }
}

/* One connection through csock_create_connection: request, answer, close. */
static int request(uint32_t value) {
    csock_socket c;
    csock_attempt attempts[2];
    csock_connect_opts opts = {.size = sizeof opts, .attempts = attempts, .attempts_cap = 2};
    int r = csock_create_connection(&c, "127.0.0.1", port, TIMEOUT_MS, &opts);
    count_call();
    if (r < 0) {
        error("csock_create_connection", r);
        return r;
    }
    check_cloexec(c.fd);
    if (opts.attempts_len != 1 || attempts[0].error != 0 || fd_nonblock(c.fd) != 0)
        atomic_fetch_add(&wrong_data, 1);
    uint32_t answer = 0;
    r = full(c.fd, &value, sizeof value, 1);
    if (r == 0 && value != QUIT) r = full(c.fd, &answer, sizeof answer, 0);
    if (r < 0) error("request", r);
    else if (value != QUIT && answer != ~value) atomic_fetch_add(&wrong_data, 1);
    /* An abortive close: no TIME_WAIT, so that ephemeral ports never run out under stress. */
    struct linger lg = {1, 0};
    setsockopt(c.fd, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
    int rc = csock_close(&c);
    count_call();
    if (rc < 0) error("csock_close (client side)", rc);
    return r;
}

struct client {
    pthread_t thread;
    long n;
    uint32_t seed;
};

static void *client(void *arg) {
    struct client *c = arg;
    for (long i = 0; i < c->n; i++) {
        if (request(c->seed + (uint32_t)i) < 0) return NULL;
        atomic_fetch_add(&connections, 1);
    }
    return NULL;
}

/* ---- descriptor ping-pong ----------------------------------------------------------------- */

struct passer {
    pthread_t thread;
    csock_socket end;   /* this thread's end of the pair */
    long n;             /* messages to receive and pass back */
    int first;          /* 1: this thread starts with the descriptors */
    int fds[MAX_PASS];  /* the descriptors it holds, nfds of them */
    size_t nfds;
    ino_t inode[MAX_PASS]; /* what each one must be */
};

static ino_t inode_of(int fd) {
    struct stat st;
    return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

/* Sends the descriptors held (with one byte of data, the count) and closes them. */
static int pass_on(struct passer *p) {
    unsigned char byte = (unsigned char)p->nfds;
    struct iovec iov = {&byte, 1};
    int r = csock_send_fds(&p->end, &iov, 1, p->fds, p->nfds, 0, NULL, 0);
    count_call();
    if (r != 1) {
        error("csock_send_fds", r);
        return -1;
    }
    for (size_t i = 0; i < p->nfds; i++) {
        r = csock_close_fd(p->fds[i]);
        count_call();
        if (r < 0) error("csock_close_fd", r);
    }
    p->nfds = 0;
    return 0;
}

/* Receives a message of descriptors into p->fds; checks them. */
static int take(struct passer *p) {
    unsigned char byte = 0;
    size_t n = 0;
    int msg_flags = 0;
    int r = csock_recv_fds(&p->end, &byte, 1, p->fds, MAX_PASS, &n, 0, &msg_flags, NULL, NULL);
    count_call();
    if (r != 1) {
        error("csock_recv_fds", r);
        return -1;
    }
    p->nfds = n;
    if (n != byte || (msg_flags & MSG_CTRUNC)) atomic_fetch_add(&wrong_data, 1);
    for (size_t i = 0; i < n; i++) {
        check_cloexec(p->fds[i]);
        if (inode_of(p->fds[i]) != p->inode[i]) atomic_fetch_add(&wrong_data, 1);
    }
    return 0;
}

static void *passer(void *arg) {
    struct passer *p = arg;
    if (p->first && pass_on(p) < 0) return NULL;
    for (long i = 0; i < p->n; i++) {
        if (take(p) < 0) return NULL;
        atomic_fetch_add(&passes, 1);
        /* The last message of the second thread stays with it, to be closed at the end. */
        if (!p->first && i == p->n - 1) break;
        if (pass_on(p) < 0) return NULL;
    }
    return NULL;
}

static long env_long(const char *name, long def) {
    const char *v = getenv(name);
    long n = v ? atol(v) : def;
    return n > 0 ? n : def;
}

int main(void) {
    long ops = env_long("CSOCK_LOAD_OPS", DEFAULT_OPS);
    long conns = ops / 2, npass = ops - conns;
    int baseline = count_fds();

    int r = csock_create_server(&server, "127.0.0.1", NULL, AF_INET, CSOCK_DEFAULT, 0);
    is_int(r, 0, "csock_create_server on 127.0.0.1, any port");
    if (r < 0) return done_testing();
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    csock_getsockname(&server, &ss, &len);
    snprintf(port, sizeof port, "%u", ntohs(((struct sockaddr_in *)&ss)->sin_port));

    pthread_t acc[ACCEPTORS];
    for (int i = 0; i < ACCEPTORS; i++) pthread_create(&acc[i], NULL, acceptor, NULL);
    struct client clients[CLIENTS];
    for (int i = 0; i < CLIENTS; i++) {
        clients[i].n = conns / CLIENTS + (i < conns % CLIENTS);
        clients[i].seed = (uint32_t)i << 24;
        pthread_create(&clients[i].thread, NULL, client, &clients[i]);
    }

    /* Each pair passes its descriptors back and forth: pipes and a socket, of known inodes. */
    struct passer pass[PASSERS][2];
    int fds_per_pair[PASSERS][MAX_PASS];
    for (int k = 0; k < PASSERS; k++) {
        csock_socket pair[2];
        if (csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0) < 0) {
            printf("Bail out! csock_socketpair: %s\n", csock_last_error());
            return 1;
        }
        int pipefd[2];
        csock_socket s;
        if (pipe(pipefd) < 0 || csock_open(&s, AF_INET6, SOCK_DGRAM, 0) < 0) {
            printf("Bail out! setup: %s\n", strerror(errno));
            return 1;
        }
        int held[MAX_PASS] = {pipefd[0], pipefd[1], s.fd};
        /* An odd number of messages, so that the second thread receives the last one (and
         * one more than the first thread). */
        long n = npass / PASSERS + (k < npass % PASSERS);
        n |= 1;
        for (int side = 0; side < 2; side++) {
            struct passer *p = &pass[k][side];
            *p = (struct passer){.end = pair[side], .first = side == 0};
            p->n = side == 0 ? n / 2 : n / 2 + 1;
            for (int i = 0; i < MAX_PASS; i++) p->inode[i] = inode_of(held[i]);
        }
        /* The number of descriptors a message carries is fixed for a pair: 1 + k % MAX_PASS. */
        pass[k][0].nfds = (size_t)(1 + k % MAX_PASS);
        for (size_t i = 0; i < pass[k][0].nfds; i++) pass[k][0].fds[i] = held[i];
        for (size_t i = pass[k][0].nfds; i < MAX_PASS; i++) close(held[i]);
        memcpy(fds_per_pair[k], held, sizeof held);
        for (int side = 0; side < 2; side++)
            pthread_create(&pass[k][side].thread, NULL, passer, &pass[k][side]);
    }

    for (int i = 0; i < CLIENTS; i++) pthread_join(clients[i].thread, NULL);
    for (int i = 0; i < ACCEPTORS; i++) request(QUIT);
    for (int i = 0; i < ACCEPTORS; i++) pthread_join(acc[i], NULL);
    for (int k = 0; k < PASSERS; k++) {
        for (int side = 0; side < 2; side++) pthread_join(pass[k][side].thread, NULL);
        /* The descriptors end with the second thread (or with the first after a failure). */
        for (int side = 0; side < 2; side++) {
            for (size_t i = 0; i < pass[k][side].nfds; i++) close(pass[k][side].fds[i]);
            csock_close(&pass[k][side].end);
        }
    }
    csock_close(&server);

    long made = atomic_load(&connections) + atomic_load(&passes), npass_odd = 0;
    for (int k = 0; k < PASSERS; k++) npass_odd += pass[k][0].n + pass[k][1].n;
    diag("%ld connections (create_connection + accept), %ld descriptor passes (send_fds + "
         "recv_fds), %ld csock calls in all", atomic_load(&connections), atomic_load(&passes),
         atomic_load(&calls));
    is_int(atomic_load(&errors), 0, "zero errors");
    is_int(atomic_load(&wrong_data), 0, "every answer, attempt report and descriptor as sent");
    is_int(atomic_load(&not_cloexec), 0, "every accepted and received descriptor close-on-exec");
    is_int(atomic_load(&connections), conns, "%ld connections served", conns);
    is_int(atomic_load(&passes), npass_odd, "%ld descriptor messages passed", npass_odd);
    ok(made >= ops, "%ld operations of the %ld asked", made, ops);
    is_int(count_fds(), baseline, "the descriptor count is back to its baseline (%d)", baseline);
    return done_testing();
}
