/*
 * bounds: a buffer's size or capacity is an upper bound. csock_format_addr, csock_repr and
 * csock_listen_fds given SIZE_MAX (or any size larger than the real buffer) write exactly what
 * they need into a buffer that is in fact large enough, and read exactly `len` bytes of an
 * address: each buffer here ends where an unmapped page begins, so one byte too many is a
 * SIGSEGV. Each case runs in a forked child, so that a crash (SIGSEGV, or the SIGABRT of a debug
 * build of the library that finds a slice over memory it was never given) fails that case only.
 *
 * `make debug-test` runs this (with every C test) against a debug build of the library too.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tap.h"

static size_t page;

/* `n` bytes that end where an unmapped page begins (filled with 0xee). */
static void *tail_buffer(size_t n) {
    unsigned char *m = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                            -1, 0);
    if (m == MAP_FAILED || munmap(m + page, page) != 0) {
        printf("Bail out! mmap: %s\n", strerror(errno));
        exit(1);
    }
    memset(m, 0xee, page);
    return m + page - n;
}

/* Runs case(arg) in a child; the child's exit status is its count of failed checks. */
static void in_child(const char *name, int (*test_case)(const void *), const void *arg) {
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) _exit(test_case(arg));
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFSIGNALED(status))
        ok(0, "%s: killed by signal %d (%s)", name, WTERMSIG(status), strsignal(WTERMSIG(status)));
    else
        ok(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s (%d failed checks)", name,
           WEXITSTATUS(status));
}

/* ---- csock_format_addr ---------------------------------------------------------------- */

struct addr_case {
    const void *addr;
    socklen_t len;
    int proto;
    const char *text;
};

/* The text with SIZE_MAX, size + 1000 and the exact size, each into a buffer of exactly the
 * text and its NUL, with the address itself also at the end of a mapping. */
static int format_case(const void *arg) {
    const struct addr_case *c = arg;
    int failed = 0;
    size_t need = strlen(c->text) + 1;
    void *addr = tail_buffer(c->len);
    memcpy(addr, c->addr, c->len);
    const size_t sizes[] = {SIZE_MAX, need + 1000, need, SIZE_MAX / 2 + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *buf = tail_buffer(need);
        int n = csock_format_addr(addr, c->len, c->proto, buf, sizes[i]);
        if (n != (int)need - 1 || memcmp(buf, c->text, need) != 0) {
            printf("# size %zu: got %d '%.*s', want '%s'\n", sizes[i], n, (int)need, buf,
                   c->text);
            failed++;
        }
    }
    /* Truncated: the buffer holds 4 bytes and the size says 4. */
    char *small = tail_buffer(4);
    int n = csock_format_addr(addr, c->len, c->proto, small, 4);
    if (n != (int)need - 1 || (need >= 4 && (memcmp(small, c->text, 3) != 0 || small[3] != 0))) {
        printf("# size 4: got %d\n", n);
        failed++;
    }
    return failed;
}

/* ---- csock_repr ----------------------------------------------------------------------- */

static int repr_case(const void *arg) {
    const csock_socket *s = arg;
    int failed = 0;
    int n = csock_repr(s, NULL, 0);
    if (n <= 0) return 1;
    char *want = malloc((size_t)n + 1);
    csock_repr(s, want, (size_t)n + 1);
    const size_t sizes[] = {SIZE_MAX, (size_t)n + 1 + 4096, (size_t)n + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char *buf = tail_buffer((size_t)n + 1);
        /* The socket itself at the end of a mapping too. */
        csock_socket *sock = tail_buffer(sizeof *s);
        *sock = *s;
        int got = csock_repr(sock, buf, sizes[i]);
        if (got != n || memcmp(buf, want, (size_t)n + 1) != 0) {
            printf("# size %zu: got %d '%s', want '%s'\n", sizes[i], got, buf, want);
            failed++;
        }
    }
    free(want);
    return failed;
}

/* ---- csock_listen_fds ----------------------------------------------------------------- */

/* In the child: two sockets at 3 and 4, LISTEN_* for this process, and an array of exactly
 * `room` entries at the end of a mapping, passed with capacity `cap`. */
struct listen_case {
    size_t room, cap;
};

static int listen_case(const void *arg) {
    const struct listen_case *c = arg;
    int failed = 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) return 1;
    int dgram = socket(AF_INET, SOCK_DGRAM, 0);
    if (dup2(sv[0], 3) < 0 || dup2(dgram, 4) < 0) return 1;
    for (int fd = 5; fd < 64; fd++) close(fd); /* the originals of 3 and 4 among them */
    char pid[16];
    snprintf(pid, sizeof pid, "%d", (int)getpid());
    setenv("LISTEN_PID", pid, 1);
    setenv("LISTEN_FDS", "2", 1);
    setenv("LISTEN_FDNAMES", "first:second", 1);
    csock_listen_fd *out = tail_buffer(c->room * sizeof *out);
    int n = csock_listen_fds(out, c->cap, CSOCK_LISTEN_UNSET_ENV);
    if (n != 2) {
        printf("# cap %zu: returned %d: %s\n", c->cap, n, csock_last_error());
        return 1;
    }
    if (out[0].sock.fd != 3 || out[0].sock.family != AF_UNIX || strcmp(out[0].name, "first"))
        printf("# entry 0 wrong\n"), failed++;
    if (out[1].sock.fd != 4 || out[1].sock.type != SOCK_DGRAM || strcmp(out[1].name, "second"))
        printf("# entry 1 wrong\n"), failed++;
    if (getenv("LISTEN_FDS")) printf("# LISTEN_FDS still set\n"), failed++;
    return failed;
}

int main(void) {
    page = (size_t)sysconf(_SC_PAGESIZE);

    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(443),
                                .sin6_scope_id = 7};
    inet_pton(AF_INET6, "fe80::1:2", &sin6.sin6_addr);
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/run/some/app.sock"};
    struct sockaddr_un abs = {.sun_family = AF_UNIX, .sun_path = "\0abstract"};
    unsigned char odd[6] = {99, 0, 0xde, 0xad, 0xbe, 0xef};
    const struct addr_case cases[] = {
        {&sin, sizeof sin, 0, "127.0.0.1:8080"},
        {&sin6, sizeof sin6, 0, "[fe80::1:2%7]:443"},
        {&sun, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 19), 0, "/run/some/app.sock"},
        {&abs, (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 9), 0, "@abstract"},
        {odd, sizeof odd, 0, "family=99 deadbeef"},
        {&sin, 0, 0, ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "csock_format_addr '%s': SIZE_MAX and larger sizes",
                 cases[i].text);
        in_child(name, format_case, &cases[i]);
    }

    csock_socket closed = {-1, AF_INET6, SOCK_DGRAM, 17}, live;
    in_child("csock_repr of a closed socket: SIZE_MAX and larger sizes", repr_case, &closed);
    csock_open(&live, AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in any = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(live.fd, (struct sockaddr *)&any, sizeof any);
    in_child("csock_repr of a bound socket: SIZE_MAX and larger sizes", repr_case, &live);
    csock_close(&live);

    const struct listen_case lc[] = {
        {2, SIZE_MAX}, {2, 3}, {2, 2}, {2, SIZE_MAX / sizeof(csock_listen_fd) + 1}};
    for (size_t i = 0; i < sizeof lc / sizeof lc[0]; i++) {
        char name[96];
        snprintf(name, sizeof name, "csock_listen_fds: 2 entries of room, cap %zu", lc[i].cap);
        in_child(name, listen_case, &lc[i]);
    }

    /* The checks can fail: one byte short of the text is a crash. */
    {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *buf = tail_buffer(strlen("127.0.0.1:8080"));
            csock_format_addr((struct sockaddr *)&sin, sizeof sin, 0, buf, SIZE_MAX);
            _exit(0);
        }
        int status;
        waitpid(pid, &status, 0);
        /* A SIGSEGV, or the exit status of a sanitizer that caught it. */
        ok(!(WIFEXITED(status) && WEXITSTATUS(status) == 0),
           "control: a buffer one byte short of the text crashes (the guard page works)");
    }
    return done_testing();
}
