/*
 * csock_create_connection: resolution once, attempts in the resolver's order, the attempt report
 * (on success and on failure), per-attempt and total timeouts, source addresses with
 * IP_BIND_ADDRESS_NO_PORT, resolver codes, opts->size rules, a hook's refusal mid-way, EMFILE on
 * the second attempt, signals, and Happy Eyeballs: two or four addresses for one name, from a
 * private /etc/hosts in a mount namespace (and, for more addresses, a network namespace) that a
 * child process makes for itself. Descriptor counts before and after every path.
 */
#include <csock.h>

#include <limits.h>
#include <netdb.h>
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tap.h"
#include "net.h"
#include "interrupt.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};
#define CAP 8

static csock_attempt tried[CAP + 2];
static csock_connect_opts opts;

/* Fresh options with a report of CAP entries (sentinel bytes past them). */
static csock_connect_opts *fresh(void) {
    memset(tried, 0xA5, sizeof tried);
    memset(&opts, 0, sizeof opts);
    opts.size = sizeof opts;
    opts.attempts = tried;
    opts.attempts_cap = CAP;
    opts.attempts_len = 12345;
    return &opts;
}

static int opt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

static const char *addr_text(const csock_attempt *a) {
    static char text[8][128];
    static int k;
    char *t = text[k++ % 8];
    csock_format_addr((const struct sockaddr *)&a->addr, a->addrlen, 0, t, 128);
    return t;
}

static char *fmt_port(int port) {
    static char text[4][16];
    static int k;
    char *t = text[k++ % 4];
    snprintf(t, 16, "%d", port);
    return t;
}

/* Checks report entry i: address text, step and error. */
static void attempt_is(size_t i, const char *addr, int step, int error, const char *what) {
    is_str(addr_text(&tried[i]), addr, "%s: attempt %zu is %s", what, i, addr);
    is_int(tried[i].step, step, "%s: attempt %zu reached step %d", what, i, step);
    is_int(tried[i].error, error, "%s: attempt %zu error %d (%s)", what, i, error,
           csock_strerror(error));
}

/* A connection that must fail with rc: out untouched, no descriptor behind. */
static int conn_fails(const char *host, const char *port, int timeout, csock_connect_opts *o,
                      int rc, const char *what) {
    csock_socket s = SENTINEL;
    int before = count_fds();
    errno = 0;
    int got = csock_create_connection(&s, host, port, timeout, o);
    is_int(got, rc, "%s: returns %d (%s)", what, rc, csock_strerror(rc));
    is_int(errno, -rc, "%s: errno %d", what, -rc);
    ok(memcmp(&s, &SENTINEL, sizeof s) == 0, "%s: out untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
    diag("%s: %s", what, csock_last_error());
    return got;
}

/* A connection that must succeed: recorded values, close-on-exec, the mode asked for. */
static csock_socket conn_ok(const char *host, const char *port, int timeout,
                            csock_connect_opts *o, int family, int nonblock, const char *what) {
    csock_socket s = SENTINEL;
    int before = count_fds();
    is_int(csock_create_connection(&s, host, port, timeout, o), 0, "%s: connects", what);
    if (s.fd < 0 || s.fd == SENTINEL.fd) diag("%s: %s", what, csock_last_error());
    is_int(count_fds(), before + 1, "%s: exactly one descriptor added", what);
    ok(s.family == family && s.type == SOCK_STREAM && s.proto == IPPROTO_TCP,
       "%s: records (%d, SOCK_STREAM, 6): (%d, %d, %d)", what, family, s.family, s.type, s.proto);
    is_int(fd_cloexec(s.fd), 1, "%s: FD_CLOEXEC", what);
    is_int(fd_nonblock(s.fd), nonblock, "%s: O_NONBLOCK %d", what, nonblock);
    return s;
}

static int refuse_family;
static int hook(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)fd, (void)data;
    if (family == refuse_family && type == SOCK_STREAM && proto == IPPROTO_TCP) return -EACCES;
    return 0;
}

struct blocked {
    const char *host, *port; /* host NULL: 127.0.0.1 */
    int timeout, total, flags, delay;
    csock_attempt tried[4];
    size_t tried_len;
    volatile pid_t tid;
    int result;
    double elapsed;
    csock_socket s;
};

static void *blocked_conn(void *arg) {
    struct blocked *b = arg;
    csock_connect_opts o = {.size = sizeof o, .flags = b->flags, .total_timeout_ms = b->total,
                            .attempt_delay_ms = b->delay, .attempts = b->tried, .attempts_cap = 4};
    b->tid = gettid();
    b->s = SENTINEL;
    double t0 = net_now_ms();
    b->result = csock_create_connection(&b->s, b->host ? b->host : "127.0.0.1", b->port,
                                        b->timeout, &o);
    b->tried_len = o.attempts_len;
    b->elapsed = net_now_ms() - t0;
    return NULL;
}

/* The resolver's order for a name, as text: what csock must follow. */
static int resolved(const char *host, const char *port, char out[][128], int max) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(host, port, &hints, &res)) return -1;
    int n = 0;
    for (struct addrinfo *a = res; a && n < max; a = a->ai_next, n++)
        csock_format_addr(a->ai_addr, a->ai_addrlen, 0, out[n], 128);
    freeaddrinfo(res);
    return n;
}

/* ---- the namespace part: run in a child; its TAP lines continue the parent's numbering ---- */

static void happy_eyeballs_two(void) {
    /* Two addresses for one name, one of each family; the resolver's first is made slow. */
    int port = 0, lfd[2], fills[2][64], nfill[2];
    const char *ips[2] = {"::1", "127.0.0.2"};
    lfd[0] = listener_at(ips[0], 0, 0);
    port = bound_port(lfd[0]);
    lfd[1] = listener_at(ips[1], port, 128);
    if (hosts_namespace("::1 he.test\n127.0.0.2 he.test\n") < 0) {
        ok(1, "mount namespace with a private /etc/hosts # SKIP %s", strerror(errno));
        return;
    }
    char order[4][128];
    int n = resolved("he.test", fmt_port(port), order, 4);
    is_int(n, 2, "he.test resolves to two addresses in the namespace");
    int slow = strncmp(order[0], "[::1]", 5) == 0 ? 0 : 1; /* the listener of the first */
    int fast = 1 - slow;
    /* The slow one: a full accept queue; the fast one: room. */
    close(lfd[slow]);
    lfd[slow] = listener_at(ips[slow], port, 0);
    nfill[slow] = fill_backlog(ips[slow], port, fills[slow], 64);
    nfill[fast] = 0;
    ok(nfill[slow] >= 1, "the first address (%s) is slow: its accept queue is full", order[0]);
    int fast_family = fast == 0 ? AF_INET6 : AF_INET;

    /* One at a time, timeout 300: the first times out, the second connects. */
    double t0 = net_now_ms();
    csock_socket s = conn_ok("he.test", fmt_port(port), 300, fresh(), fast_family, 0,
                             "sequential, timeout 300");
    double took = net_now_ms() - t0;
    ok(took >= 290, "sequential: waited for the first address's timeout (%.0f ms)", took);
    is_int(opts.attempts_len, 2, "sequential: two attempts");
    attempt_is(0, order[0], CSOCK_STEP_CONNECT, -ETIMEDOUT, "sequential");
    attempt_is(1, order[1], CSOCK_STEP_CONNECT, 0, "sequential");
    csock_close(&s);

    /* Happy Eyeballs, delay 50: the second starts after 50 ms and wins; the first is closed. */
    csock_connect_opts *o = fresh();
    o->attempt_delay_ms = 50;
    t0 = net_now_ms();
    int before = count_fds();
    s = conn_ok("he.test", fmt_port(port), CSOCK_DEFAULT, o, fast_family, 0,
                "Happy Eyeballs, delay 50");
    took = net_now_ms() - t0;
    ok(took >= 45 && took < 1000, "Happy Eyeballs: the fast address won after the delay "
                                  "(%.0f ms)", took);
    is_int(count_fds(), before + 1, "Happy Eyeballs: the loser is closed (only the winner is "
                                    "left)");
    is_int(opts.attempts_len, 2, "Happy Eyeballs: two attempts");
    attempt_is(0, order[0], CSOCK_STEP_CONNECT, -ECANCELED, "Happy Eyeballs");
    attempt_is(1, order[1], CSOCK_STEP_CONNECT, 0, "Happy Eyeballs");
    csock_close(&s);

    /* A delay below 10 ms is 10 ms. */
    o = fresh();
    o->attempt_delay_ms = 1;
    t0 = net_now_ms();
    s = conn_ok("he.test", fmt_port(port), CSOCK_DEFAULT, o, fast_family, 0, "delay 1");
    took = net_now_ms() - t0;
    ok(took >= 9, "delay 1: the second attempt starts after at least 10 ms (%.1f ms)", took);
    csock_close(&s);

    /* SOCK_NONBLOCK: the winner stays non-blocking; without it, it is blocking again. */
    o = fresh();
    o->attempt_delay_ms = 20;
    o->flags = SOCK_NONBLOCK;
    s = conn_ok("he.test", fmt_port(port), 1000, o, fast_family, 1, "Happy Eyeballs, "
                                                                   "SOCK_NONBLOCK");
    csock_close(&s);

    /* A first attempt that fails at once does not wait for the delay. */
    close(lfd[slow]);
    for (int i = 0; i < nfill[slow]; i++) close(fills[slow][i]);
    lfd[slow] = -1; /* nothing listens there now: refused */
    o = fresh();
    o->attempt_delay_ms = 2000;
    t0 = net_now_ms();
    s = conn_ok("he.test", fmt_port(port), CSOCK_DEFAULT, o, fast_family, 0,
                "Happy Eyeballs, the first refused");
    took = net_now_ms() - t0;
    ok(took < 1000, "the first refused: the next starts at once, not after 2000 ms (%.0f ms)",
       took);
    attempt_is(0, order[0], CSOCK_STEP_CONNECT, -ECONNREFUSED, "the first refused");
    attempt_is(1, order[1], CSOCK_STEP_CONNECT, 0, "the first refused");
    csock_close(&s);

    /* EMFILE on the second attempt: the first is slow again and holds a descriptor. */
    lfd[slow] = listener_at(ips[slow], port, 0);
    nfill[slow] = fill_backlog(ips[slow], port, fills[slow], 64);
    if (under_valgrind()) {
        ok(1, "EMFILE on the second attempt # SKIP valgrind emulates RLIMIT_NOFILE");
        goto hook;
    }
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    int spare[64], ns = 0;
    low.rlim_cur = count_fds() + 16;
    setrlimit(RLIMIT_NOFILE, &low);
    for (int fd; ns < 64 && (fd = dup(0)) >= 0;) spare[ns++] = fd; /* every number taken */
    close(spare[--ns]);                                             /* but one */
    o = fresh();
    o->attempt_delay_ms = 20;
    conn_fails("he.test", fmt_port(port), 300, o, -ETIMEDOUT,
               "Happy Eyeballs, EMFILE on the second attempt");
    for (int i = 0; i < ns; i++) close(spare[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    is_int(opts.attempts_len, 2, "EMFILE on the second: both reported");
    attempt_is(0, order[0], CSOCK_STEP_CONNECT, -ETIMEDOUT, "EMFILE on the second");
    attempt_is(1, order[1], CSOCK_STEP_SOCKET, -EMFILE, "EMFILE on the second");

hook:
    /* A hook that refuses the second attempt's family ends the call, the first is closed. */
    refuse_family = fast_family;
    o = fresh();
    o->attempt_delay_ms = 20;
    conn_fails("he.test", fmt_port(port), CSOCK_DEFAULT, o, -EACCES,
               "Happy Eyeballs, a hook refuses the second");
    attempt_is(1, order[1], CSOCK_STEP_SOCKET, -EACCES, "a hook refuses the second");
    is_int(tried[0].error, -ECANCELED, "a hook refuses the second: the first is closed, "
                                       "reported -ECANCELED");
    refuse_family = -1;

    /* CSOCK_EINTR during the race's poll: -EINTR, the attempt in flight closed. */
    struct blocked b = {.host = "he.test", .port = fmt_port(port), .timeout = -1,
                        .flags = CSOCK_EINTR, .delay = 5000};
    pthread_t t;
    before = count_fds();
    pthread_create(&t, NULL, blocked_conn, &b);
    WAIT_UNTIL(b.tid && (blocked_in(b.tid) == SYS_poll || blocked_in(b.tid) == SYS_ppoll));
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    is_int(b.result, -EINTR, "Happy Eyeballs, CSOCK_EINTR: an interrupted race returns -EINTR");
    ok(b.elapsed < 4000, "Happy Eyeballs, CSOCK_EINTR: at once (%.0f ms)", b.elapsed);
    is_int(count_fds(), before, "Happy Eyeballs, CSOCK_EINTR: the attempt in flight is closed");
    is_int(b.tried_len, 1, "Happy Eyeballs, CSOCK_EINTR: one attempt was in flight");
    is_int(b.tried[0].error, -ECANCELED, "Happy Eyeballs, CSOCK_EINTR: reported -ECANCELED");

    for (int i = 0; i < 2; i++)
        if (lfd[i] >= 0) close(lfd[i]);
    for (int i = 0; i < nfill[slow]; i++) close(fills[slow][i]);
}

/* Four addresses, two per family, in a network namespace of the child's own. */
static void happy_eyeballs_four(void) {
    if (unshare(CLONE_NEWNET) < 0 ||
        system("ip link set lo up && ip -6 addr add fd00:c50c::2/128 dev lo nodad && "
               "ip -6 addr add fd00:c50c::3/128 dev lo nodad") != 0) {
        ok(1, "network namespace with two more IPv6 addresses # SKIP");
        return;
    }
    const char *ips[4] = {"fd00:c50c::2", "fd00:c50c::3", "127.0.0.2", "127.0.0.3"};
    int lfd[4], fills[4][64], nfill[4] = {0}, port = 0;
    for (int i = 0; i < 4; i++) {
        lfd[i] = listener_at(ips[i], port, 0);
        if (i == 0) port = bound_port(lfd[0]);
    }
    if (hosts_namespace("fd00:c50c::2 four.test\nfd00:c50c::3 four.test\n"
                        "127.0.0.2 four.test\n127.0.0.3 four.test\n") < 0) {
        ok(1, "private /etc/hosts # SKIP");
        return;
    }
    char order[4][128];
    int n = resolved("four.test", fmt_port(port), order, 4);
    is_int(n, 4, "four.test resolves to four addresses");
    /* The interleaving of the resolver's order, by family, its first family first. */
    int fam[4], idx[4], k = 0;
    for (int i = 0; i < 4; i++) fam[i] = order[i][0] == '[';
    int a[4], na = 0, b[4], nb = 0;
    for (int i = 0; i < 4; i++) (fam[i] == fam[0] ? a : b)[fam[i] == fam[0] ? na++ : nb++] = i;
    for (int i = 0, j = 0; k < 4;) {
        if (i < na) idx[k++] = a[i++];
        if (j < nb && k < 4) idx[k++] = b[j++];
    }
    ok(strcmp(order[idx[1]], order[1]) != 0,
       "the interleaved order (%s, %s, %s, %s) differs from the resolver's (%s, %s, %s, %s)",
       order[idx[0]], order[idx[1]], order[idx[2]], order[idx[3]], order[0], order[1], order[2],
       order[3]);
    /* lof[i]: the listener of the i-th address tried. Every address but the last is slow. */
    int lof[4];
    for (int i = 0; i < 4; i++) {
        char ip[64];
        snprintf(ip, sizeof ip, "%s", order[idx[i]] + (order[idx[i]][0] == '['));
        *strrchr(ip, order[idx[i]][0] == '[' ? ']' : ':') = 0;
        lof[i] = 0;
        for (int j = 0; j < 4; j++)
            if (!strcmp(ips[j], ip)) lof[i] = j;
        if (i < 3) nfill[lof[i]] = fill_backlog(ip, port, fills[lof[i]], 64);
    }
    csock_connect_opts *o = fresh();
    o->attempt_delay_ms = 30;
    double t0 = net_now_ms();
    int before = count_fds();
    csock_socket s = SENTINEL;
    is_int(csock_create_connection(&s, "four.test", fmt_port(port), CSOCK_DEFAULT, o), 0,
           "four addresses: connects");
    double took = net_now_ms() - t0;
    is_int(count_fds(), before + 1, "four addresses: the three losers are closed");
    ok(took >= 85, "four addresses: the last started after three delays (%.0f ms)", took);
    is_int(opts.attempts_len, 4, "four addresses: four attempts");
    for (int i = 0; i < 4; i++)
        attempt_is(i, order[idx[i]], CSOCK_STEP_CONNECT, i < 3 ? -ECANCELED : 0,
                   "four addresses, interleaved");
    csock_close(&s);

    /* When the attempt started last fails, the next starts at once, though an earlier one is
     * still in flight: the first slow, the second refused, the third answers. */
    for (int i = 0; i < 4; i++) {
        close(lfd[i]);
        for (int j = 0; j < nfill[i]; j++) close(fills[i][j]);
        nfill[i] = 0;
        lfd[i] = -1;
    }
    lfd[lof[0]] = listener_at(ips[lof[0]], port, 0);
    nfill[lof[0]] = fill_backlog(ips[lof[0]], port, fills[lof[0]], 64);
    lfd[lof[2]] = listener_at(ips[lof[2]], port, 16);
    lfd[lof[3]] = listener_at(ips[lof[3]], port, 0);
    nfill[lof[3]] = fill_backlog(ips[lof[3]], port, fills[lof[3]], 64);
    o = fresh();
    o->attempt_delay_ms = 500;
    t0 = net_now_ms();
    before = count_fds();
    s = SENTINEL;
    is_int(csock_create_connection(&s, "four.test", fmt_port(port), CSOCK_DEFAULT, o), 0,
           "slow, refused, fast: connects");
    took = net_now_ms() - t0;
    is_int(count_fds(), before + 1, "slow, refused, fast: the slow attempt is closed");
    ok(took >= 490 && took < 950, "slow, refused, fast: the third started when the second "
                                  "failed, not a delay later (%.0f ms, a delay is 500)", took);
    is_int(opts.attempts_len, 3, "slow, refused, fast: three attempts");
    attempt_is(0, order[idx[0]], CSOCK_STEP_CONNECT, -ECANCELED, "slow, refused, fast");
    attempt_is(1, order[idx[1]], CSOCK_STEP_CONNECT, -ECONNREFUSED, "slow, refused, fast");
    attempt_is(2, order[idx[2]], CSOCK_STEP_CONNECT, 0, "slow, refused, fast");
    csock_close(&s);
    for (int i = 0; i < 4; i++) {
        if (lfd[i] >= 0) close(lfd[i]);
        for (int j = 0; j < nfill[i]; j++) close(fills[i][j]);
        nfill[i] = 0;
    }
    for (int i = 0; i < 4; i++) lfd[i] = listener_at(ips[i], port, 0);

    /* The total timeout ends the race: every attempt in flight is reported with it. */
    for (int i = 0; i < 4; i++) {
        close(lfd[i]);
        for (int j = 0; j < nfill[i]; j++) close(fills[i][j]);
        lfd[i] = listener_at(ips[i], port, 0);
        nfill[i] = fill_backlog(ips[i], port, fills[i], 64);
    }
    o = fresh();
    o->attempt_delay_ms = 20;
    o->total_timeout_ms = 250;
    t0 = net_now_ms();
    conn_fails("four.test", fmt_port(port), CSOCK_DEFAULT, o, -ETIMEDOUT,
               "four slow addresses, total 250");
    took = net_now_ms() - t0;
    ok(took >= 245 && took < 1000, "total 250: ended by then (%.0f ms)", took);
    is_int(opts.attempts_len, 4, "total 250: all four tried");
    int all = 1;
    for (int i = 0; i < 4; i++) all &= tried[i].error == -ETIMEDOUT;
    ok(all, "total 250: each reported with -ETIMEDOUT");
    const char *msg = csock_last_error();
    int named = 1;
    for (int i = 0; i < 4; i++) named &= strstr(msg, order[i]) != NULL;
    ok(named, "total 250: the message names every address tried");
    for (int i = 0; i < 4; i++) {
        close(lfd[i]);
        for (int j = 0; j < nfill[i]; j++) close(fills[i][j]);
    }
}

/* Runs f in a child; its TAP lines continue our numbering, and its counts come back. */
static void in_child(void (*f)(void)) {
    int p[2];
    if (pipe(p) < 0) return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        f();
        int counts[2] = {tap_count, tap_failures};
        _exit(write(p[1], counts, sizeof counts) == sizeof counts ? 0 : 1);
    }
    close(p[1]);
    int counts[2];
    if (read(p[0], counts, sizeof counts) == sizeof counts) {
        tap_count = counts[0];
        tap_failures = counts[1];
    } else {
        ok(0, "the namespace child reported");
    }
    close(p[0]);
    waitpid(pid, NULL, 0);
}

int main(void) {
    int holder;
    const char *closed = fmt_port(closed_port4(&holder));
    int fast_fd = listener_at("127.0.0.1", 0, 128);
    char fast[16];
    snprintf(fast, sizeof fast, "%d", bound_port(fast_fd));
    int slow_fd = listener_at("127.0.0.1", 0, 0), fills[64];
    char slow[16];
    snprintf(slow, sizeof slow, "%d", bound_port(slow_fd));
    int nfills = fill_backlog("127.0.0.1", atoi(slow), fills, 64);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%s", fast);
    csock_audit_add(hook, NULL);
    refuse_family = -1;

    /* Numeric IPv4, no opts. */
    csock_socket s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, NULL, AF_INET, 0, "numeric, "
                                                                                "NULL opts");
    struct sockaddr_storage peer;
    socklen_t len = sizeof peer;
    getpeername(s.fd, (struct sockaddr *)&peer, &len);
    char text[128];
    csock_format_addr((struct sockaddr *)&peer, len, 0, text, sizeof text);
    is_str(text, want, "numeric: connected to the listener");
    csock_close(&s);

    /* The report on success. */
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, fresh(), AF_INET, 0, "numeric, report");
    is_int(opts.attempts_len, 1, "report: one attempt");
    attempt_is(0, want, CSOCK_STEP_CONNECT, 0, "report");
    is_int(tried[0].addrlen, sizeof(struct sockaddr_in), "report: addrlen of a sockaddr_in");
    ok(((unsigned char *)&tried[1])[0] == 0xA5, "report: nothing written past the attempts");
    csock_close(&s);

    /* A zeroed struct with size set behaves as NULL; timeouts and SOCK_NONBLOCK. */
    csock_connect_opts z = {.size = sizeof z};
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &z, AF_INET, 0, "zeroed opts");
    is_int(z.attempts_len, 1, "zeroed opts: attempts_len still counts the attempt");
    csock_close(&s);
    s = conn_ok("127.0.0.1", fast, 5000, NULL, AF_INET, 0, "timeout 5000: blocking again");
    csock_close(&s);
    z.flags = SOCK_NONBLOCK;
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &z, AF_INET, 1, "SOCK_NONBLOCK, no timeout");
    csock_close(&s);
    s = conn_ok("127.0.0.1", fast, 5000, &z, AF_INET, 1, "SOCK_NONBLOCK, timeout 5000");
    csock_close(&s);
    z.flags = CSOCK_EINTR;
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &z, AF_INET, 0, "CSOCK_EINTR, no signal");
    csock_close(&s);

    /* Refused: the last error, the report written on failure, the message naming it. */
    snprintf(want, sizeof want, "127.0.0.1:%s", closed);
    conn_fails("127.0.0.1", closed, CSOCK_DEFAULT, fresh(), -ECONNREFUSED, "refused");
    is_int(opts.attempts_len, 1, "refused: attempts_len 1");
    attempt_is(0, want, CSOCK_STEP_CONNECT, -ECONNREFUSED, "refused");
    ok(strstr(csock_last_error(), want) && strstr(csock_last_error(), "ECONNREFUSED"),
       "refused: the message names the address and why");
    conn_fails("127.0.0.1", closed, 0, fresh(), -EINPROGRESS, "refused, timeout 0");

    /* host NULL is loopback: every address in the resolver's order. */
    char order[4][128];
    int n = resolved(NULL, fast, order, 4);
    ok(n == 2, "host NULL resolves to two loopback addresses (%d)", n);
    s = conn_ok(NULL, fast, CSOCK_DEFAULT, fresh(), AF_INET, 0,
                "host NULL: the IPv4 listener is reached");
    is_int(opts.attempts_len, (size_t)n, "host NULL: every address up to the one that connects");
    if (n == 2 && order[0][0] == '[') {
        attempt_is(0, order[0], CSOCK_STEP_CONNECT, -ECONNREFUSED, "host NULL");
        attempt_is(1, order[1], CSOCK_STEP_CONNECT, 0, "host NULL");
    }
    csock_close(&s);
    /* Both refused: the last error, both named. */
    conn_fails(NULL, closed, CSOCK_DEFAULT, fresh(), -ECONNREFUSED, "host NULL, both refused");
    is_int(opts.attempts_len, 2, "both refused: two attempts reported");
    ok(strstr(csock_last_error(), order[0]) == NULL || strstr(csock_last_error(), "2 addresses"),
       "both refused: the message counts two addresses");
    /* A report with room for one: attempts_len says two. */
    fresh()->attempts_cap = 1;
    conn_fails(NULL, closed, CSOCK_DEFAULT, &opts, -ECONNREFUSED, "cap 1");
    is_int(opts.attempts_len, 2, "cap 1: attempts_len is 2, more than the cap");
    ok(((unsigned char *)&tried[1])[0] == 0xA5, "cap 1: only one entry written");

    /* "localhost" (from /etc/hosts, no DNS). */
    s = conn_ok("localhost", fast, CSOCK_DEFAULT, fresh(), AF_INET, 0, "\"localhost\"");
    csock_close(&s);

    /* Resolver failures and bad arguments. */
    conn_fails("127.0.0.1", "no-such-service", CSOCK_DEFAULT, fresh(),
               -(CSOCK_EAI_BASE - EAI_SERVICE), "a bad service name");
    is_int(csock_gai_error(-(CSOCK_EAI_BASE - EAI_SERVICE)), EAI_SERVICE,
           "a bad service name: csock_gai_error gives EAI_SERVICE");
    is_int(opts.attempts_len, 0, "a bad service name: attempts_len 0, no socket made");
    ok(strstr(csock_last_error(), "getaddrinfo: EAI_SERVICE") != NULL,
       "a bad service name: the message names getaddrinfo and EAI_SERVICE");
    conn_fails("127.0.0.1", "70000", CSOCK_DEFAULT, NULL, -EINVAL, "port 70000");
    conn_fails("127.0.0.1", NULL, CSOCK_DEFAULT, NULL, -EINVAL, "port NULL");
    is_int(csock_create_connection(NULL, "127.0.0.1", fast, -1, NULL), -EINVAL, "out NULL");
    fresh()->flags = SOCK_CLOEXEC;
    conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, &opts, -EINVAL, "opts->flags SOCK_CLOEXEC");
    fresh()->size = 0;
    conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, &opts, -EINVAL, "opts->size 0");
    is_int(opts.attempts_len, 12345, "opts->size 0: nothing written");
    fresh()->size = 4;
    conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, &opts, -EINVAL, "opts->size 4");
    struct {
        csock_connect_opts o;
        unsigned char more[16];
    } big;
    memset(&big, 0, sizeof big);
    big.o.size = sizeof big;
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &big.o, AF_INET, 0,
                "opts->size larger, zero bytes past the struct");
    csock_close(&s);
    big.more[7] = 1;
    conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, &big.o, -EINVAL,
               "opts->size larger, a non-zero byte past the struct");
    /* An older, shorter struct: fields past its size are not read, not written. */
    fresh()->size = offsetof(csock_connect_opts, attempts);
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &opts, AF_INET, 0, "opts->size without the "
                                                                     "report fields");
    ok(((unsigned char *)&tried[0])[0] == 0xA5 && opts.attempts_len == 12345,
       "a shorter struct: the report fields past its size are untouched");
    csock_close(&s);

    /* Timeouts: per attempt, and the total. */
    double t0 = net_now_ms();
    conn_fails("127.0.0.1", slow, 200, fresh(), -ETIMEDOUT, "timeout 200, full listener");
    double took = net_now_ms() - t0;
    ok(took >= 195 && took < 2000, "timeout 200: took %.0f ms", took);
    snprintf(want, sizeof want, "127.0.0.1:%s", slow);
    attempt_is(0, want, CSOCK_STEP_CONNECT, -ETIMEDOUT, "timeout 200");
    fresh()->total_timeout_ms = 250;
    t0 = net_now_ms();
    conn_fails("127.0.0.1", slow, CSOCK_DEFAULT, &opts, -ETIMEDOUT, "total 250, no per-attempt");
    took = net_now_ms() - t0;
    ok(took >= 245 && took < 2000, "total 250: took %.0f ms", took);

    /* Source addresses. */
    fresh()->source_host = "127.0.0.1";
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &opts, AF_INET, 0, "source 127.0.0.1");
    is_int(opt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT), 1,
           "source port 0: IP_BIND_ADDRESS_NO_PORT set");
    struct sockaddr_in local;
    len = sizeof local;
    getsockname(s.fd, (struct sockaddr *)&local, &len);
    is_int(local.sin_addr.s_addr, htonl(INADDR_LOOPBACK), "source: bound to 127.0.0.1");
    csock_close(&s);
    int spare_holder;
    const char *spare_port = fmt_port(closed_port4(&spare_holder));
    close(spare_holder); /* a port that was free a moment ago */
    fresh()->source_host = "127.0.0.1";
    opts.source_port = spare_port;
    s = conn_ok("127.0.0.1", fast, CSOCK_DEFAULT, &opts, AF_INET, 0, "source port given");
    is_int(opt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT), 0,
           "source port given: no IP_BIND_ADDRESS_NO_PORT");
    len = sizeof local;
    getsockname(s.fd, (struct sockaddr *)&local, &len);
    is_int(ntohs(local.sin_port), atoi(spare_port), "source port given: bound to it");
    csock_close(&s);
    fresh()->source_host = "::1";
    int rc = conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, &opts, -(CSOCK_EAI_BASE - EAI_ADDRFAMILY),
                        "source ::1 for an IPv4 address");
    is_int(tried[0].step, CSOCK_STEP_BIND, "source of the wrong family: fails at CSOCK_STEP_BIND");
    is_int(csock_gai_error(rc), EAI_ADDRFAMILY, "source of the wrong family: EAI_ADDRFAMILY");
    if (n == 2 && order[0][0] == '[') {
        fresh()->source_host = "127.0.0.1";
        s = conn_ok(NULL, fast, CSOCK_DEFAULT, &opts, AF_INET, 0,
                    "host NULL, source 127.0.0.1: the IPv6 attempt cannot bind, the IPv4 one "
                    "connects");
        is_int(tried[0].step, CSOCK_STEP_BIND, "the IPv6 attempt failed at CSOCK_STEP_BIND");
        is_int(tried[1].error, 0, "the IPv4 attempt connected");
        csock_close(&s);
    }
    /* An IPv6 source with port 0: IP_BIND_ADDRESS_NO_PORT on an AF_INET6 socket too. */
    int v6 = listener_at("::1", 0, 16);
    const char *v6port = fmt_port(bound_port(v6));
    fresh()->source_host = "::1";
    s = conn_ok("::1", v6port, CSOCK_DEFAULT, &opts, AF_INET6, 0, "source ::1");
    is_int(opt(s.fd, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT), 1,
           "source ::1, port 0: IP_BIND_ADDRESS_NO_PORT set on the AF_INET6 socket");
    struct sockaddr_in6 local6;
    len = sizeof local6;
    getsockname(s.fd, (struct sockaddr *)&local6, &len);
    ok(IN6_IS_ADDR_LOOPBACK(&local6.sin6_addr), "source ::1: bound to ::1");
    csock_close(&s);
    close(v6);
    fresh()->source_host = "192.0.2.199";
    conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, &opts, -EADDRNOTAVAIL, "a non-local source");
    is_int(tried[0].step, CSOCK_STEP_BIND, "a non-local source: fails at CSOCK_STEP_BIND");

    /* A hook's refusal mid-way: the first attempt ran, the second is refused. */
    if (n == 2 && order[0][0] == '[') {
        refuse_family = AF_INET;
        conn_fails(NULL, fast, CSOCK_DEFAULT, fresh(), -EACCES, "a hook refuses the second");
        is_int(opts.attempts_len, 2, "hook: two attempts reported");
        is_int(tried[0].error, -ECONNREFUSED, "hook: the first was refused by the kernel");
        attempt_is(1, order[1], CSOCK_STEP_SOCKET, -EACCES, "hook");
        refuse_family = -1;
    }
    refuse_family = AF_INET;
    conn_fails("127.0.0.1", fast, CSOCK_DEFAULT, fresh(), -EACCES, "a hook refuses the only one");
    refuse_family = -1;

    /* Out of descriptors on every attempt: EMFILE, nothing left. */
    struct rlimit old, low;
    if (under_valgrind()) {
        ok(1, "out of descriptors # SKIP valgrind emulates RLIMIT_NOFILE");
        goto signals;
    }
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = count_fds() + 1;
    setrlimit(RLIMIT_NOFILE, &low);
    int spare[4], ns = 0;
    for (int fd; ns < 4 && (fd = dup(0)) >= 0;) spare[ns++] = fd;
    conn_fails(NULL, fast, CSOCK_DEFAULT, fresh(), -EMFILE, "out of descriptors");
    is_int(tried[1].error, -EMFILE, "out of descriptors: the second attempt too");
    for (int i = 0; i < ns; i++) close(spare[i]);
    setrlimit(RLIMIT_NOFILE, &old);

signals:
    /* Signals: CSOCK_EINTR returns -EINTR; without it a total deadline still holds. */
    interrupt_setup();
    struct blocked b = {.port = slow, .timeout = -1, .flags = CSOCK_EINTR};
    pthread_t t;
    int before = count_fds();
    pthread_create(&t, NULL, blocked_conn, &b);
    WAIT_UNTIL(b.tid && blocked_in(b.tid) == SYS_connect);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    is_int(b.result, -EINTR, "CSOCK_EINTR: an interrupted attempt returns -EINTR");
    ok(memcmp(&b.s, &SENTINEL, sizeof b.s) == 0, "CSOCK_EINTR: out untouched");
    is_int(count_fds(), before, "CSOCK_EINTR: the attempt's socket is closed");
    struct blocked r = {.port = slow, .timeout = 600};
    pthread_create(&t, NULL, blocked_conn, &r);
    WAIT_UNTIL(r.tid && (blocked_in(r.tid) == SYS_poll || blocked_in(r.tid) == SYS_ppoll));
    usleep(200 * 1000);
    pthread_kill(t, SIGUSR1);
    pthread_join(t, NULL);
    is_int(r.result, -ETIMEDOUT, "a signal during the wait: resumed, then -ETIMEDOUT");
    ok(r.elapsed >= 590 && r.elapsed < 1200, "a signal during the wait: 600 ms in all (%.0f ms)",
       r.elapsed);

    for (int i = 0; i < nfills; i++) close(fills[i]);
    close(slow_fd);

    /* Happy Eyeballs, in namespaces of a child's own (tests run as root). */
    if (geteuid() == 0) {
        in_child(happy_eyeballs_two);
        in_child(happy_eyeballs_four);
    } else {
        ok(1, "Happy Eyeballs with a private /etc/hosts # SKIP not root");
    }
    close(fast_fd);
    close(holder);
    return done_testing();
}
