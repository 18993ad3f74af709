/*
 * exhaustion: with the descriptor table full (RLIMIT_NOFILE lowered, the free slots filled with
 * dup()s), every creating function fails with -EMFILE, leaves its out-parameters untouched and
 * leaks nothing; adoption, which creates nothing, still works; csock_socketpair with exactly one
 * free slot leaves no half pair; and everything works again once descriptors are freed.
 *
 * The functions of 0.2 too: csock_create_connection and csock_create_server fail with -EMFILE
 * (the attempt report says where), csock_has_dualstack_ipv6 reports -EMFILE rather than "no";
 * descriptors arriving in csock_recv_fds with no room in the table are cut off (MSG_CTRUNC),
 * with no descriptor left behind; with one free slot, csock_create_connection whose first attempt
 * fails and whose second finds the table full (an audit hook takes the slot between the two)
 * leaks neither attempt's socket; and everything works again afterwards.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "tap.h"

#define HEADROOM 16 /* free slots left above the highest open descriptor when lowering the limit */
#define MAX_FILL 256

static const csock_socket SENTINEL = {-0x5a5a, -0x5a5b, -0x5a5c, -0x5a5d};

struct outcome {
    int ret, err;
};

/* The result of a call and the errno it left, read before anything else can change it. */
static struct outcome done(int ret) { return (struct outcome){ret, errno}; }

static int limit; /* the lowered soft limit */

/* Open descriptors below the limit, counted without opening one (the table may be full). */
static int open_below_limit(void) {
    int n = 0;
    for (int fd = 0; fd < limit; fd++) n += fcntl(fd, F_GETFD) >= 0;
    return n;
}

/* A failure with EMFILE that left `size` bytes at `out` as `sentinel` and the table as it was. */
static void is_emfile(struct outcome o, const void *out, const void *sentinel, size_t size,
                      int fds, const char *what) {
    is_int(o.ret, -EMFILE, "%s: -EMFILE", what);
    is_int(o.err, EMFILE, "%s: errno EMFILE", what);
    const char *msg = csock_last_error();
    ok(strstr(msg, "EMFILE") != NULL, "%s: the message names EMFILE (%s)", what, msg);
    ok(memcmp(out, sentinel, size) == 0, "%s: out-parameters untouched", what);
    is_int(open_below_limit(), fds, "%s: no descriptor left behind", what);
}

/* A socket csock made: open, close-on-exec, recorded as asked. */
static void is_made(struct outcome o, const csock_socket *s, int family, int type,
                    const char *what) {
    is_int(o.ret, 0, "%s: succeeds", what);
    is_int(fd_cloexec(s->fd), 1, "%s: close-on-exec", what);
    ok(s->family == family && s->type == type, "%s: recorded family %d type %d", what, s->family,
       s->type);
}

/* Sends `n` descriptors of `fd` with one data byte over `sock`; 1 or -errno. */
static int send_copies(const csock_socket *sock, int fd, size_t n) {
    int fds[4] = {fd, fd, fd, fd};
    char byte = 'x';
    struct iovec iov = {&byte, 1};
    return csock_send_fds(sock, &iov, 1, fds, n, 0, NULL, 0);
}

/* Audit hook: when armed, the call with the given number takes the last free slot (for the
 * test to close afterwards). */
static int arm_at, hook_calls, taken = -1, taken_from = -1;
static int slot_taker(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)fd, (void)family, (void)type, (void)proto, (void)data;
    if (arm_at && ++hook_calls == arm_at) taken = dup(taken_from);
    return 0;
}

static unsigned short port_of(int fd, int peer) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    int r = peer ? getpeername(fd, (struct sockaddr *)&a, &len)
                 : getsockname(fd, (struct sockaddr *)&a, &len);
    return r < 0 ? 0 : ntohs(a.sin_port);
}

int main(void) {
    int fds_start = count_fds();

    /* A listener with one connection waiting, a socket to duplicate, a plain one to adopt. */
    csock_socket listener, client, src;
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addrlen = sizeof addr;
    int ready = csock_open(&listener, AF_INET, SOCK_STREAM, 0) == 0 &&
                bind(listener.fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                listen(listener.fd, 4) == 0 &&
                getsockname(listener.fd, (struct sockaddr *)&addr, &addrlen) == 0 &&
                csock_open(&client, AF_INET, SOCK_STREAM, 0) == 0 &&
                connect(client.fd, (struct sockaddr *)&addr, sizeof addr) == 0 &&
                csock_open(&src, AF_UNIX, SOCK_DGRAM, 0) == 0;
    int raw = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    /* A datagram pair with three messages of descriptors queued: one for the full table, one for
     * one free slot, one for recovery. Queued descriptors take no slot of the receiver's. */
    csock_socket carrier[2];
    char port[16];
    snprintf(port, sizeof port, "%u", port_of(listener.fd, 0));
    if (!ready || raw < 0 || devnull < 0 ||
        csock_socketpair(carrier, AF_UNIX, SOCK_DGRAM, 0) != 0 ||
        send_copies(&carrier[0], devnull, 2) != 1 || send_copies(&carrier[0], devnull, 3) != 1 ||
        send_copies(&carrier[0], devnull, 2) != 1) {
        printf("Bail out! setup failed: %s\n", strerror(errno));
        return 1;
    }
    taken_from = devnull;

    /* Lower the soft limit to a little above the highest descriptor, then fill every slot. */
    struct rlimit saved, low;
    getrlimit(RLIMIT_NOFILE, &saved);
    int highest = devnull > raw ? devnull : raw;
    low = saved;
    low.rlim_cur = (rlim_t)highest + 1 + HEADROOM;
    limit = (int)low.rlim_cur;
    is_int(setrlimit(RLIMIT_NOFILE, &low), 0, "RLIMIT_NOFILE lowered to %d", limit);
    int fill[MAX_FILL], nfill = 0, fd;
    while (nfill < MAX_FILL && (fd = dup(devnull)) >= 0) fill[nfill++] = fd;
    is_int(errno, EMFILE, "the table is full after %d dup()s", nfill);
    int full = open_below_limit();
    diag("soft limit %d: %d descriptors of the test's, %d dup()s", limit, full - nfill, nfill);
    is_int(full, limit, "every slot below the limit is taken");

    /* Every creating function: -EMFILE, out untouched, nothing leaked. */
    csock_socket out = SENTINEL, pair[2] = {SENTINEL, SENTINEL};
    const csock_socket pair_sentinel[2] = {SENTINEL, SENTINEL};
    is_emfile(done(csock_open(&out, AF_INET, SOCK_STREAM, 0)), &out, &SENTINEL, sizeof out, full,
              "csock_open, table full");
    is_emfile(done(csock_open(&out, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, CSOCK_DEFAULT)), &out,
              &SENTINEL, sizeof out, full, "csock_open(SOCK_NONBLOCK), table full");
    is_emfile(done(csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0)), pair, pair_sentinel,
              sizeof pair, full, "csock_socketpair, table full");
    is_emfile(done(csock_fromfd(&out, src.fd, -1, -1, -1)), &out, &SENTINEL, sizeof out, full,
              "csock_fromfd, table full");
    is_emfile(done(csock_dup(&out, &src)), &out, &SENTINEL, sizeof out, full,
              "csock_dup, table full");
    ok(fd_cloexec(src.fd) == 1 && fd_nonblock(src.fd) == 0,
       "the duplicated socket is open and unchanged");

    /* accept: -EMFILE, and out, addr and addrlen untouched. */
    struct {
        csock_socket out;
        struct sockaddr_storage addr;
        socklen_t len;
    } acc, acc_sentinel;
    memset(&acc_sentinel, 0xa5, sizeof acc_sentinel);
    acc_sentinel.out = SENTINEL;
    acc_sentinel.len = sizeof acc.addr;
    for (int flags = 0; flags <= SOCK_NONBLOCK; flags += SOCK_NONBLOCK) {
        acc = acc_sentinel;
        struct outcome o = done(csock_accept(&listener, &acc.out, (struct sockaddr *)&acc.addr,
                                             &acc.len, flags));
        is_emfile(o, &acc, &acc_sentinel, sizeof acc, full,
                  flags ? "csock_accept(SOCK_NONBLOCK), table full" : "csock_accept, table full");
    }

    /* create_connection, create_server and has_dualstack_ipv6: -EMFILE, nothing written but
     * the attempt report, nothing leaked. */
    {
        csock_attempt attempts[2];
        memset(attempts, 0x5a, sizeof attempts);
        csock_connect_opts opts = {.size = sizeof opts, .attempts = attempts, .attempts_cap = 2};
        out = SENTINEL;
        is_emfile(done(csock_create_connection(&out, "127.0.0.1", port, 1000, &opts)), &out,
                  &SENTINEL, sizeof out, full, "csock_create_connection, table full");
        ok(opts.attempts_len == 1 && attempts[0].step == CSOCK_STEP_SOCKET &&
               attempts[0].error == -EMFILE,
           "csock_create_connection, table full: the attempt failed creating its socket "
           "(%zu attempts, step %d, error %d)", opts.attempts_len, attempts[0].step,
           attempts[0].error);
        is_emfile(done(csock_create_server(&out, "127.0.0.1", NULL, AF_INET, CSOCK_DEFAULT, 0)),
                  &out, &SENTINEL, sizeof out, full, "csock_create_server, table full");
        is_emfile(done(csock_create_server(&out, "@csock-exhaustion", NULL, AF_UNIX, 4, 0)), &out,
                  &SENTINEL, sizeof out, full, "csock_create_server(AF_UNIX), table full");
        struct outcome d = done(csock_has_dualstack_ipv6());
        is_int(d.ret, -EMFILE, "csock_has_dualstack_ipv6, table full: -EMFILE, not \"no\"");
        is_int(open_below_limit(), full, "csock_has_dualstack_ipv6: nothing left behind");
    }

    /* recv_fds: two descriptors arrive with no room for them: cut off, nothing left behind. */
    {
        int fds[4] = {-7, -7, -7, -7};
        size_t n = 99;
        int msg_flags = 0;
        char byte = 0;
        struct outcome o = done(csock_recv_fds(&carrier[1], &byte, 1, fds, 4, &n, 0, &msg_flags,
                                               NULL, NULL));
        if (o.ret == 1) {
            ok(msg_flags & MSG_CTRUNC, "csock_recv_fds, table full: MSG_CTRUNC");
            is_int(n, 0, "csock_recv_fds, table full: no descriptor received");
            ok(fds[0] == -7 && fds[1] == -7, "csock_recv_fds, table full: fds untouched");
        } else {
            is_int(o.ret, -EMFILE, "csock_recv_fds, table full: fails cleanly with -EMFILE");
            ok(n == 99 && fds[0] == -7, "csock_recv_fds, table full: nothing written");
        }
        is_int(open_below_limit(), full, "csock_recv_fds, table full: nothing left behind");
    }

    /* Adoption creates nothing: it works with a full table and changes nothing. */
    struct outcome o = done(csock_adopt(&out, raw, -1, -1, -1));
    is_int(o.ret, 0, "csock_adopt works with a full table");
    ok(out.fd == raw && out.family == AF_UNIX && out.type == SOCK_STREAM && out.proto == 0,
       "csock_adopt detected AF_UNIX, SOCK_STREAM, 0");
    ok(fd_cloexec(raw) == 0 && fd_nonblock(raw) == 1, "csock_adopt changed no flag");
    is_int(csock_detach(&out), raw, "csock_detach gives the descriptor back");
    csock_info info;
    is_int(csock_inspect(src.fd, &info), 0, "csock_inspect works with a full table");
    char text[128];
    ok(csock_repr(&listener, text, sizeof text) > 0, "csock_repr works with a full table: %s",
       text);
    is_int(open_below_limit(), full, "nothing opened by adopt, detach, inspect, repr");

    /* One free slot: a pair does not fit, and no half of it is left in the slot. */
    int freed = fill[--nfill];
    close(freed);
    pair[0] = pair[1] = SENTINEL;
    is_emfile(done(csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0)), pair, pair_sentinel,
              sizeof pair, full - 1, "csock_socketpair, one free slot");
    ok(!fd_open(freed), "the free slot is still free: no half pair");
    is_emfile(done(csock_socketpair(pair, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, 0)), pair,
              pair_sentinel, sizeof pair, full - 1, "csock_socketpair(SOCK_DGRAM), one free slot");

    /* ... but a single socket fits, through every path. */
    o = done(csock_open(&out, AF_INET, SOCK_STREAM, 0));
    is_made(o, &out, AF_INET, SOCK_STREAM, "csock_open, one free slot");
    is_int(out.fd, freed, "csock_open took the free slot");
    csock_close(&out);
    o = done(csock_fromfd(&out, src.fd, -1, -1, -1));
    is_made(o, &out, AF_UNIX, SOCK_DGRAM, "csock_fromfd, one free slot");
    csock_close(&out);
    o = done(csock_dup(&out, &src));
    is_made(o, &out, AF_UNIX, SOCK_DGRAM, "csock_dup, one free slot");
    csock_close(&out);
    is_int(open_below_limit(), full - 1, "one free slot again");

    /* recv_fds with one free slot: three descriptors arrive, one fits, the rest are cut off. */
    {
        int fds[4] = {-7, -7, -7, -7};
        size_t n = 99;
        int msg_flags = 0;
        char byte = 0;
        o = done(csock_recv_fds(&carrier[1], &byte, 1, fds, 4, &n, 0, &msg_flags, NULL, NULL));
        is_int(o.ret, 1, "csock_recv_fds, one free slot: the data byte");
        ok(msg_flags & MSG_CTRUNC, "csock_recv_fds, one free slot: MSG_CTRUNC");
        is_int(n, 1, "csock_recv_fds, one free slot: one descriptor received");
        is_int(fd_cloexec(fds[0]), 1, "csock_recv_fds, one free slot: it is close-on-exec");
        is_int(fds[1], -7, "csock_recv_fds, one free slot: entries past it untouched");
        is_int(open_below_limit(), full, "csock_recv_fds, one free slot: just the one installed");
        is_int(csock_close_fd(fds[0]), 0, "csock_close_fd of the received descriptor");
        is_int(open_below_limit(), full - 1, "one free slot again after csock_close_fd");
    }

    /* create_connection with one free slot, the table filling up between two attempts: host
     * NULL is loopback, [::1] then 127.0.0.1; nothing listens on [::1] at the listener's port,
     * so the first attempt fails (its socket took the free slot and must give it back); the
     * hook then takes the slot, so the second attempt's socket() fails with EMFILE. */
    {
        csock_audit_add(slot_taker, NULL);
        csock_attempt attempts[3];
        memset(attempts, 0, sizeof attempts);
        csock_connect_opts opts = {.size = sizeof opts, .attempts = attempts, .attempts_cap = 3};
        out = SENTINEL;
        hook_calls = 0;
        arm_at = 2;
        o = done(csock_create_connection(&out, NULL, port, 1000, &opts));
        arm_at = 0;
        is_int(o.ret, -EMFILE, "csock_create_connection, full between attempts: -EMFILE (the "
               "last attempt's error)");
        ok(memcmp(&out, &SENTINEL, sizeof out) == 0,
           "csock_create_connection, full between attempts: out untouched");
        is_int(hook_calls, 2, "two attempts audited");
        ok(taken >= 0, "the hook took the last free slot between the attempts");
        is_int(opts.attempts_len, 2, "two attempts reported");
        ok(attempts[0].error < 0 && attempts[0].error != -EMFILE,
           "the first attempt ([::1]) failed on its own (step %d, error %d)", attempts[0].step,
           attempts[0].error);
        ok(attempts[1].step == CSOCK_STEP_SOCKET && attempts[1].error == -EMFILE,
           "the second attempt (127.0.0.1) found the table full (step %d, error %d)",
           attempts[1].step, attempts[1].error);
        is_int(open_below_limit(), full, "the first attempt's socket is closed: only the "
               "hook's descriptor took the slot");
        close(taken);
        /* The same call with the slot free: the second attempt connects. */
        o = done(csock_create_connection(&out, NULL, port, 1000, &opts));
        is_int(o.ret, 0, "csock_create_connection, one free slot: connects on the second try");
        is_int(opts.attempts_len, 2, "... after two attempts");
        is_int(fd_cloexec(out.fd), 1, "... close-on-exec");
        is_int(out.fd, freed, "... in the free slot");
        csock_close(&out);
        is_int(open_below_limit(), full - 1, "one free slot again after create_connection");
        /* The listener has a second connection waiting now: accept it after recovery. */
    }

    /* Recovery: free the table, restore the limit. */
    while (nfill > 0) close(fill[--nfill]);
    is_int(setrlimit(RLIMIT_NOFILE, &saved), 0, "RLIMIT_NOFILE restored");
    acc = acc_sentinel;
    o = done(csock_accept(&listener, &acc.out, (struct sockaddr *)&acc.addr, &acc.len, 0));
    is_made(o, &acc.out, AF_INET, SOCK_STREAM, "csock_accept after recovery");
    is_int(port_of(acc.out.fd, 1), port_of(client.fd, 0),
           "the connection that waited through the failures is the one accepted");
    is_int(acc.len, sizeof(struct sockaddr_in), "csock_accept wrote the address length");
    csock_close(&acc.out);
    o = done(csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0));
    is_made(o, &pair[0], AF_UNIX, SOCK_STREAM, "csock_socketpair after recovery (end 0)");
    is_int(fd_cloexec(pair[1].fd), 1, "csock_socketpair after recovery (end 1): close-on-exec");
    ok(write(pair[0].fd, "x", 1) == 1 && read(pair[1].fd, text, 1) == 1 && text[0] == 'x',
       "the pair is connected");
    csock_close(&pair[0]);
    csock_close(&pair[1]);
    o = done(csock_open(&out, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT));
    is_made(o, &out, AF_INET, SOCK_STREAM, "csock_open after recovery");
    csock_close(&out);
    acc = acc_sentinel;
    o = done(csock_accept(&listener, &acc.out, NULL, NULL, 0));
    is_made(o, &acc.out, AF_INET, SOCK_STREAM, "csock_accept of create_connection's connection");
    csock_close(&acc.out);
    o = done(csock_create_connection(&out, "127.0.0.1", port, 1000, NULL));
    is_made(o, &out, AF_INET, SOCK_STREAM, "csock_create_connection after recovery");
    csock_close(&out);
    o = done(csock_create_server(&out, "127.0.0.1", NULL, AF_INET, CSOCK_DEFAULT, 0));
    is_made(o, &out, AF_INET, SOCK_STREAM, "csock_create_server after recovery");
    csock_close(&out);
    {
        int fds[4] = {-1, -1, -1, -1};
        size_t n = 0;
        int msg_flags = -1;
        char byte;
        o = done(csock_recv_fds(&carrier[1], &byte, 1, fds, 4, &n, 0, &msg_flags, NULL, NULL));
        ok(o.ret == 1 && n == 2 && msg_flags == 0 && fd_cloexec(fds[0]) == 1 &&
               fd_cloexec(fds[1]) == 1,
           "csock_recv_fds after recovery: both descriptors, close-on-exec, no MSG_CTRUNC");
        csock_close_fd(fds[0]);
        csock_close_fd(fds[1]);
    }
    csock_close(&carrier[0]);
    csock_close(&carrier[1]);

    csock_close(&listener);
    csock_close(&client);
    csock_close(&src);
    close(raw);
    close(devnull);
    is_int(count_fds(), fds_start, "every descriptor is closed again");
    /* The calls since the last failure succeeded, and success leaves the message alone: the
     * last failure is create_connection's, which names every address tried. */
    const char *msg = csock_last_error();
    ok(strncmp(msg, "csock_create_connection(", 24) == 0 && strstr(msg, "127.0.0.1:") &&
           strstr(msg, "EMFILE"),
       "the last failure's message is still there: %s", msg);
    return done_testing();
}
