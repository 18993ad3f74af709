/*
 * audit_threads: audit hooks added from several threads while others create sockets through
 * every creating path. Each hook records, per creating thread, which creations it saw (by the
 * creation's sequence number); after csock_audit_add returns, the adding thread reads how far
 * each creating thread had got. Checked afterwards:
 *
 * - every creation that started after a hook's csock_audit_add returned was seen by that hook,
 *   and once a hook has seen a thread's creation it sees all the later ones;
 * - hooks added by one thread are called in the order that thread added them;
 * - no hook is lost by concurrent appends: one more creation reaches every hook exactly once;
 * - every event is "socket.__new__", no creation fails, nothing crashes, nothing leaks.
 *
 * CSOCK_AUDIT_CREATIONS sets the creations per creating thread (default 10000).
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "tap.h"

#define CREATORS 3
#define ADDERS 4
#define PACED 16 /* hooks each adder adds spread over the creations */
#define BURST 240 /* then all at once, together with the other adders */
#define HOOKS_PER_ADDER (PACED + BURST)
#define HOOKS (ADDERS * HOOKS_PER_ADDER)
#define DEFAULT_CREATIONS 10000
#define MAIN CREATORS /* the main thread's slot in the per-thread records */

enum path { P_OPEN, P_SOCKETPAIR, P_DUP, P_FROMFD, P_ADOPT, P_ACCEPT, P_COUNT };

struct hook {
    int adder, j;             /* added by adder `adder` as its j-th hook */
    long snapshot[CREATORS];  /* how far each creator had started when the add returned */
    /* Per thread, written only by that thread (hooks run in the creating thread): */
    long first[CREATORS + 1]; /* first creation seen, 0 if none */
    long last[CREATORS + 1];  /* last creation seen */
    long seen[CREATORS + 1];  /* distinct creations seen */
};

static struct hook hooks[HOOKS];
static long creations = DEFAULT_CREATIONS;
static atomic_long started[CREATORS], created[CREATORS];
static atomic_int added, errors, order_violations, bad_events;

/* The creating thread's identity and current creation, for the hooks. */
static _Thread_local int tl_thread = -1;
static _Thread_local long tl_seq;
static _Thread_local long tl_key_seq = -1;
static _Thread_local int tl_key_fd, tl_last_j[ADDERS];

static int hook(const char *event, int fd, int family, int type, int proto, void *userdata) {
    (void)family, (void)type, (void)proto;
    struct hook *h = userdata;
    int t = tl_thread;
    if (t < 0) return 0;
    if (strcmp(event, "socket.__new__") != 0) atomic_fetch_add(&bad_events, 1);
    /* A new event (a socketpair raises two per creation): the walk starts again. */
    if (tl_key_seq != tl_seq || tl_key_fd != fd) {
        tl_key_seq = tl_seq;
        tl_key_fd = fd;
        for (int a = 0; a < ADDERS; a++) tl_last_j[a] = -1;
    }
    if (h->j <= tl_last_j[h->adder]) atomic_fetch_add(&order_violations, 1);
    tl_last_j[h->adder] = h->j;
    if (h->last[t] != tl_seq) {
        if (h->first[t] == 0) h->first[t] = tl_seq;
        h->last[t] = tl_seq;
        h->seen[t]++;
    }
    return 0;
}

static void fail(const char *what, int code) {
    if (atomic_fetch_add(&errors, 1) < 5)
        diag("%s failed: %s (%s)", what, strerror(-code), csock_last_error());
}

/* A loopback listener for the accept path. */
static int listener_open(csock_socket *l, struct sockaddr_in *addr) {
    socklen_t len = sizeof *addr;
    *addr = (struct sockaddr_in){.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int r = csock_open(l, AF_INET, SOCK_STREAM, 0);
    if (r == 0 && (bind(l->fd, (struct sockaddr *)addr, sizeof *addr) < 0 || listen(l->fd, 8) < 0 ||
                   getsockname(l->fd, (struct sockaddr *)addr, &len) < 0))
        r = -errno;
    return r;
}

/* One creation through `p`; everything it makes is closed again. */
static int create(enum path p, const csock_socket *base, const csock_socket *listener,
                  const struct sockaddr_in *addr) {
    csock_socket s[2] = {{.fd = -1}, {.fd = -1}};
    int r, client = -1;
    switch (p) {
    case P_OPEN: r = csock_open(&s[0], AF_UNIX, SOCK_STREAM, 0); break;
    case P_SOCKETPAIR: r = csock_socketpair(s, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0); break;
    case P_DUP: r = csock_dup(&s[0], base); break;
    case P_FROMFD: r = csock_fromfd(&s[0], base->fd, -1, -1, -1); break;
    case P_ADOPT: {
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        r = fd < 0 ? -errno : csock_adopt(&s[0], fd, -1, -1, -1);
        if (r < 0 && fd >= 0) close(fd);
        break;
    }
    default:
        client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (client < 0 || connect(client, (const struct sockaddr *)addr, sizeof *addr) < 0)
            r = -errno;
        else
            r = csock_accept(listener, &s[0], NULL, NULL, 0);
    }
    /* What was made is close-on-exec (and the pair non-blocking, as asked). */
    for (int i = 0; i < 2; i++)
        if (s[i].fd >= 0 &&
            (fd_cloexec(s[i].fd) != 1 || fd_nonblock(s[i].fd) != (p == P_SOCKETPAIR)))
            r = -EBADFD;
    csock_close(&s[0]);
    csock_close(&s[1]);
    if (client >= 0) close(client);
    return r;
}

static void *creator(void *arg) {
    int t = (int)(intptr_t)arg;
    csock_socket base, listener;
    struct sockaddr_in addr;
    int r = csock_open(&base, AF_UNIX, SOCK_STREAM, 0);
    if (r == 0) r = listener_open(&listener, &addr);
    if (r < 0) {
        fail("setup", r);
        atomic_store(&started[t], creations);
        atomic_store(&created[t], creations);
        return NULL;
    }
    tl_thread = t;
    for (long seq = 1; seq <= creations; seq++) {
        atomic_store(&started[t], seq);
        atomic_thread_fence(memory_order_seq_cst);
        tl_seq = seq;
        r = create((enum path)(seq % P_COUNT), &base, &listener, &addr);
        if (r < 0) fail("a creation", r);
        atomic_store(&created[t], seq);
    }
    tl_thread = -1;
    csock_close(&base);
    csock_close(&listener);
    return NULL;
}

/*
 * The burst, once the creations are over (so that the adders have the processors): before each
 * add, every adder waits for the others, spinning, so that they walk the same list and reach its
 * tail together, and their appends contend.
 */
static atomic_int arrived, generation;

static void all_adders_ready(void) {
    int gen = atomic_load(&generation);
    if (atomic_fetch_add(&arrived, 1) == ADDERS - 1) {
        atomic_store(&arrived, 0);
        atomic_fetch_add(&generation, 1);
        return;
    }
    for (unsigned spins = 1; atomic_load(&generation) == gen; spins++)
        if (spins % 4096 == 0) sched_yield();
}

/* Adds PACED hooks spread over the creators' progress (no clock involved), then the burst. */
static void *adder(void *arg) {
    int a = (int)(intptr_t)arg;
    for (int j = 0; j < HOOKS_PER_ADDER; j++) {
        if (j < PACED) {
            long target = creations * (j + 1) / (PACED + 2);
            while (atomic_load(&started[(a + j) % CREATORS]) < target) sched_yield();
        } else {
            for (int t = 0; j == PACED && t < CREATORS; t++)
                while (atomic_load(&created[t]) < creations) sched_yield();
            all_adders_ready();
        }
        struct hook *h = &hooks[a * HOOKS_PER_ADDER + j];
        h->adder = a;
        h->j = j;
        int r = csock_audit_add(hook, h);
        if (r < 0) {
            fail("csock_audit_add", r);
            continue;
        }
        atomic_thread_fence(memory_order_seq_cst);
        for (int t = 0; t < CREATORS; t++) h->snapshot[t] = atomic_load(&started[t]);
        atomic_fetch_add(&added, 1);
    }
    return NULL;
}

int main(void) {
    const char *env = getenv("CSOCK_AUDIT_CREATIONS");
    if (env && atol(env) > 0) creations = atol(env);
    int fds_before = count_fds();

    pthread_t creators[CREATORS], adders[ADDERS];
    for (int t = 0; t < CREATORS; t++)
        pthread_create(&creators[t], NULL, creator, (void *)(intptr_t)t);
    for (int a = 0; a < ADDERS; a++) pthread_create(&adders[a], NULL, adder, (void *)(intptr_t)a);
    for (int a = 0; a < ADDERS; a++) pthread_join(adders[a], NULL);
    for (int t = 0; t < CREATORS; t++) pthread_join(creators[t], NULL);

    is_int(atomic_load(&errors), 0, "every creation and every csock_audit_add succeeded");
    is_int(atomic_load(&added), HOOKS, "%d hooks added from %d threads", HOOKS, ADDERS);

    /* Seen from the add on: every creation that started after the add returned. */
    int missed = 0, gaps = 0, concurrent = 0;
    for (int k = 0; k < HOOKS; k++) {
        struct hook *h = &hooks[k];
        for (int t = 0; t < CREATORS; t++) {
            long after = h->snapshot[t] + 1; /* the first creation that started after the add */
            if (after <= creations && (h->first[t] == 0 || h->first[t] > after)) {
                if (missed++ < 5)
                    diag("hook %d (adder %d #%d) missed thread %d's creation %ld (first seen %ld)",
                         k, h->adder, h->j, t, after, h->first[t]);
            }
            if (h->first[t] && h->seen[t] != creations - h->first[t] + 1) {
                if (gaps++ < 5)
                    diag("hook %d saw %ld of thread %d's creations %ld..%ld", k, h->seen[t], t,
                         h->first[t], creations);
            }
            concurrent += h->snapshot[t] > 0 && h->snapshot[t] < creations;
        }
    }
    is_int(missed, 0, "every creation that started after a hook was added was seen by it");
    is_int(gaps, 0, "once a hook saw a thread's creation, it saw all the later ones");
    ok(concurrent > 0, "hooks were added while creations ran (%d hook/thread pairs)", concurrent);
    is_int(atomic_load(&order_violations), 0, "each thread's hooks are called in the order added");
    is_int(atomic_load(&bad_events), 0, "every event is socket.__new__");

    /* One more creation reaches every hook exactly once: no append was lost. */
    tl_thread = MAIN;
    tl_seq = 1;
    csock_socket s;
    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0, "a creation after the threads");
    int fd = s.fd;
    csock_close(&s);
    ok(!fd_open(fd), "csock_close closed it");
    tl_thread = -1;
    int reached = 0;
    for (int k = 0; k < HOOKS; k++) reached += hooks[k].seen[MAIN] == 1;
    is_int(reached, HOOKS, "it reached each of the %d hooks once", HOOKS);

    long total = 0;
    for (int k = 0; k < HOOKS; k++)
        for (int t = 0; t < CREATORS; t++) total += hooks[k].seen[t];
    diag("%d threads x %ld creations, %d hooks from %d threads, %ld (hook, creation) calls seen",
         CREATORS, creations, HOOKS, ADDERS, total);
    is_int(count_fds(), fds_before, "no descriptor left open");
    is_str(csock_last_error(), "", "no csock call failed on the main thread");
    return done_testing();
}
