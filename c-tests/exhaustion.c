/*
 * exhaustion: with the descriptor table full (RLIMIT_NOFILE lowered, the free slots filled with
 * dup()s), every creating function fails with -EMFILE, leaves its out-parameters untouched and
 * leaks nothing; adoption, which creates nothing, still works; csock_socketpair with exactly one
 * free slot leaves no half pair; and everything works again once descriptors are freed.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>

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
    if (!ready || raw < 0 || devnull < 0) {
        printf("Bail out! setup failed: %s\n", strerror(errno));
        return 1;
    }

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

    csock_close(&listener);
    csock_close(&client);
    csock_close(&src);
    close(raw);
    close(devnull);
    is_int(count_fds(), fds_start, "every descriptor is closed again");
    /* The calls since the last failure succeeded, and success leaves the message alone. */
    char want[160];
    snprintf(want, sizeof want, "csock_socketpair(family=%d, type=%d, proto=0): socketpair: "
             "EMFILE: %s", AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, strerror(EMFILE));
    is_str(csock_last_error(), want, "the last failure's message is still there");
    return done_testing();
}
