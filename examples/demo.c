/*
 * demo.c: a tour of csock, CPython's socket.socket creation semantics for C.
 *
 *   1. csock_open: defaults, SOCK_NONBLOCK / SOCK_CLOEXEC, and what is recorded vs. the kernel
 *   2. csock_adopt: wrapping descriptors made elsewhere, detected or overridden, and a failure
 *   3. inheritance: a child started with fork+exec sees only the socket made inheritable
 *   4. audit hooks: every creation logged, one refused
 *
 * Build and run with `make demo`. Exits 0 when everything behaves as documented, 1 otherwise.
 */
/* pipe2(), dirfd() and readlink() are GNU and POSIX extensions: ask for them, so that this
 * file builds as a copy with nothing but `cc $(pkg-config --cflags --libs csock)`, whatever
 * the -std. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <csock.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static int checks, failures;

/* Every claim the demo prints is also checked; a wrong one makes the demo fail. */
static void check(bool ok, const char *claim) {
    checks++;
    if (!ok) {
        failures++;
        printf("  !! FAILED, expected: %s\n", claim);
    }
}

/* A call the demo needs in order to go on; stop with the library's message if it fails. */
static void need(int rc, const char *what) {
    if (rc < 0) {
        fprintf(stderr, "demo: %s failed: %s (%s)\n", what, strerror(-rc), csock_last_error());
        exit(1);
    }
}

/* "SOCK_STREAM|SOCK_NONBLOCK": a type with its flag bits spelled out. */
static const char *type_text(int type, char *buf, size_t size) {
    const char *name = csock_type_name(type);
    snprintf(buf, size, "%s%s%s", name ? name : "?", type & SOCK_NONBLOCK ? "|SOCK_NONBLOCK" : "",
             type & SOCK_CLOEXEC ? "|SOCK_CLOEXEC" : "");
    return buf;
}

static void print_repr(const char *label, const csock_socket *s) {
    char text[256];
    csock_repr(s, text, sizeof text);
    printf("  %-36s %s\n", label, text);
}

/* ---- 1. Creating sockets --------------------------------------------------------------------- */

#define OPEN_ROW(f, t, p) {#f ", " #t ", " #p, f, t, p}

static void demo_open(void) {
    static const struct { const char *call; int family, type, proto; } rows[] = {
        OPEN_ROW(CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT),
        OPEN_ROW(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0),
        OPEN_ROW(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, CSOCK_DEFAULT),
        OPEN_ROW(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0),
    };
    printf("\n1. csock_open: recorded values, and state read back from the kernel\n\n");
    printf("  %-54s %-8s %-11s %-5s %-8s %s\n", "csock_open(&s, ...)", "family", "type", "proto",
           "blocking", "inheritable");
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        csock_socket s = CSOCK_SOCKET_INIT;
        need(csock_open(&s, rows[i].family, rows[i].type, rows[i].proto), rows[i].call);
        int blocking = csock_get_blocking(&s), inheritable = csock_get_inheritable(&s);
        printf("  %-54s %-8s %-11s %-5d %-8d %d\n", rows[i].call, csock_family_name(s.family),
               csock_type_name(s.type), s.proto, blocking, inheritable);
        int given = rows[i].type == CSOCK_DEFAULT ? SOCK_STREAM : rows[i].type;
        check(s.type == (given & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)),
              "the recorded type never keeps SOCK_NONBLOCK or SOCK_CLOEXEC");
        check(blocking == !(given & SOCK_NONBLOCK),
              "SOCK_NONBLOCK (and only it) makes the descriptor non-blocking");
        check(inheritable == 0, "every socket csock creates is non-inheritable");
        csock_close(&s);
    }
    printf("  (type is recorded as SOCK_STREAM even when SOCK_NONBLOCK was passed: the kernel\n"
           "   holds the blocking mode, and csock_get_blocking reads it from there)\n");
}

/* ---- 2. Adopting descriptors made elsewhere -------------------------------------------------- */

/* A plain socket(2) descriptor, bound to loopback when it is AF_INET so the repr shows laddr. */
static int plain_socket(int family, int type, int proto) {
    int fd = socket(family, type, proto);
    if (fd >= 0 && family == AF_INET) {
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0) perror("demo: bind");
    }
    return fd;
}

static void adopt_row(const char *label, int fd, int family, int type, int proto, int want_proto) {
    csock_socket s = CSOCK_SOCKET_INIT;
    if (fd < 0) {
        printf("  %-36s skipped: %s\n", label, strerror(errno));  /* e.g. IPv6 disabled */
        return;
    }
    need(csock_adopt(&s, fd, family, type, proto), label);
    print_repr(label, &s);
    check(s.fd == fd && s.proto == want_proto, "adoption records detected or given values");
    check(csock_get_blocking(&s) == 1 && csock_get_inheritable(&s) == 1,
          "adoption changes neither the blocking mode nor close-on-exec");
    if (type != CSOCK_DEFAULT && type & SOCK_NONBLOCK)
        printf("  %-36s (flag cleared from type; csock_get_blocking = %d, unchanged)\n", "",
               csock_get_blocking(&s));
    csock_close(&s);
}

static void demo_adopt(void) {
    int pair[2], pipefd[2];
    printf("\n2. csock_adopt: wrapping descriptors made with plain socket(2)/socketpair(2)\n\n");
    printf("  detected (family, type, proto all CSOCK_DEFAULT):\n");
    adopt_row("socket(AF_INET, SOCK_STREAM, 0)", plain_socket(AF_INET, SOCK_STREAM, 0),
              CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, IPPROTO_TCP);
    adopt_row("socket(AF_INET6, SOCK_DGRAM, 0)", plain_socket(AF_INET6, SOCK_DGRAM, 0),
              CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT, IPPROTO_UDP);
    need(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, pair) < 0 ? -errno : 0, "socketpair");
    adopt_row("socketpair(AF_UNIX, SOCK_SEQPACKET)", pair[0], CSOCK_DEFAULT, CSOCK_DEFAULT,
              CSOCK_DEFAULT, 0);
    adopt_row("socket(AF_NETLINK, SOCK_RAW, ROUTE)",
              plain_socket(AF_NETLINK, SOCK_RAW, NETLINK_ROUTE), CSOCK_DEFAULT, CSOCK_DEFAULT,
              CSOCK_DEFAULT, NETLINK_ROUTE);

    printf("\n  explicit values are recorded as given (they change only the representation):\n");
    adopt_row("TCP socket, claimed IPPROTO_SCTP", plain_socket(AF_INET, SOCK_STREAM, 0), AF_INET,
              SOCK_STREAM, IPPROTO_SCTP, IPPROTO_SCTP);
    adopt_row("other end, type has SOCK_NONBLOCK", pair[1], CSOCK_DEFAULT,
              SOCK_SEQPACKET | SOCK_NONBLOCK, CSOCK_DEFAULT, 0);

    printf("\n  a descriptor that is not a socket is refused, and stays the caller's:\n");
    need(pipe(pipefd) < 0 ? -errno : 0, "pipe");
    csock_socket s = {.fd = -7};
    int rc = csock_adopt(&s, pipefd[0], CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), err = errno;
    printf("  csock_adopt(&s, pipe) = %d (%s)\n  csock_last_error()     = \"%s\"\n", rc,
           strerror(-rc), csock_last_error());
    check(rc == -ENOTSOCK && err == ENOTSOCK, "a pipe gives -ENOTSOCK");
    check(s.fd == -7 && fcntl(pipefd[0], F_GETFD) >= 0, "out untouched, the pipe still open");
    close(pipefd[0]);
    close(pipefd[1]);
}

/* ---- 3. Inheritance across fork+exec --------------------------------------------------------- */

/* `demo --child`: print the descriptors this process inherited, except stdio and the listing's. */
static int child_main(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return 2;
    for (struct dirent *e; (e = readdir(dir));) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(dir)) printf("%d ", fd);
    }
    closedir(dir);
    printf("\n");
    return 0;
}

/* Start this same program with --child, its stdout a pipe; read what it printed into buf. */
static void run_child(const char *argv0, char *buf, size_t size) {
    char self[4096];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    const char *path = n > 0 ? (self[n] = '\0', self) : argv0;
    int out[2];
    need(pipe2(out, O_CLOEXEC) < 0 ? -errno : 0, "pipe2");
    fflush(stdout);
    pid_t pid = fork();
    need(pid < 0 ? -errno : 0, "fork");
    if (pid == 0) {
        dup2(out[1], STDOUT_FILENO); /* the copy on fd 1 is inheritable; out[] are not */
        execl(path, argv0, "--child", (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    size_t len = 0;
    while (len < size - 1 && (n = read(out[0], buf + len, size - 1 - len)) > 0) len += (size_t)n;
    buf[len] = '\0';
    close(out[0]);
    int status;
    need(waitpid(pid, &status, 0) < 0 ? -errno : 0, "waitpid");
    printf("  child `%s --child` (pid %d) lists its descriptors: %s", argv0, (int)pid, buf);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child ran and exited 0");
}

/* The descriptor numbers the child printed, "7 10 " -> {7, 10}; returns how many. */
static int parse_fds(const char *text, int *fds, int cap) {
    int n = 0;
    for (char *end; n < cap; text = end) {
        long fd = strtol(text, &end, 10);
        if (end == text) break;
        fds[n++] = (int)fd;
    }
    return n;
}

static void demo_inherit(const char *argv0) {
    enum { N = 5, SHARED = 4 }; /* socks[SHARED] is the one made inheritable */
    static const char *what[N] = {
        "csock_open(AF_INET, SOCK_STREAM)", "csock_open(AF_INET, SOCK_DGRAM)",
        "csock_socketpair(AF_UNIX) end 0",  "csock_socketpair(AF_UNIX) end 1",
        "csock_open + csock_set_inheritable",
    };
    csock_socket socks[N];
    for (size_t i = 0; i < N; i++) socks[i] = (csock_socket)CSOCK_SOCKET_INIT;
    char text[1024];
    int seen[64];
    printf("\n3. inheritance: which of the parent's sockets a fork+exec'd child receives\n\n");
    need(csock_open(&socks[0], AF_INET, SOCK_STREAM, CSOCK_DEFAULT), what[0]);
    need(csock_open(&socks[1], AF_INET, SOCK_DGRAM, CSOCK_DEFAULT), what[1]);
    need(csock_socketpair(&socks[2], CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), what[2]);
    need(csock_open(&socks[SHARED], AF_UNIX, SOCK_DGRAM, CSOCK_DEFAULT), what[SHARED]);
    need(csock_set_inheritable(&socks[SHARED], true), "csock_set_inheritable");
    run_child(argv0, text, sizeof text);
    int nseen = parse_fds(text, seen, 64);

    printf("\n  %-36s %-4s %-11s %s\n", "parent's socket", "fd", "inheritable", "seen by child");
    for (int i = 0; i < N; i++) {
        bool saw = false;
        for (int j = 0; j < nseen; j++) saw |= seen[j] == socks[i].fd;
        printf("  %-36s %-4d %-11d %s\n", what[i], socks[i].fd, csock_get_inheritable(&socks[i]),
               saw ? "yes" : "no");
        check(saw == (i == SHARED),
              i == SHARED ? "the socket made inheritable reaches the child"
                          : "a non-inheritable socket stays out of the child");
    }
    /* Anything else the child lists came to the demo from its own parent (a shell, make). */
    for (int j = 0; j < nseen; j++) {
        bool ours = false;
        for (int i = 0; i < N; i++) ours |= seen[j] == socks[i].fd;
        if (!ours) printf("  (fd %d: not a demo socket; the demo itself inherited it)\n", seen[j]);
    }
    for (int i = 0; i < N; i++) csock_close(&socks[i]);
}

/* ---- 4. Audit hooks -------------------------------------------------------------------------- */

/* Logs every creation, and refuses AF_INET6 datagram sockets with -EACCES. */
static int audit_hook(const char *event, int fd, int family, int type, int proto, void *userdata) {
    char tbuf[64];
    bool refuse = family == AF_INET6 && (type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) == SOCK_DGRAM;
    ++*(int *)userdata;
    printf("    hook: %-15s fd=%-3d %-9s %-26s proto=%-3d -> %s\n", event, fd,
           csock_family_name(family), type_text(type, tbuf, sizeof tbuf), proto,
           refuse ? "refuse (-EACCES)" : "allow");
    return refuse ? -EACCES : 0;
}

static void demo_audit(void) {
    static int events;
    csock_socket a, pair[2], adopted, refused = {.fd = -7};
    printf("\n4. audit hooks: every \"socket.__new__\" is seen, one creation is refused\n\n");
    need(csock_audit_add(audit_hook, &events), "csock_audit_add");

    printf("  csock_open(&a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, CSOCK_DEFAULT):\n");
    need(csock_open(&a, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, CSOCK_DEFAULT), "csock_open");
    printf("  csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0):\n");
    need(csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0), "csock_socketpair");
    printf("  csock_adopt(&adopted, socket(AF_UNIX, SOCK_DGRAM, 0), detect all):\n");
    need(csock_adopt(&adopted, plain_socket(AF_UNIX, SOCK_DGRAM, 0), CSOCK_DEFAULT, CSOCK_DEFAULT,
                     CSOCK_DEFAULT), "csock_adopt");
    printf("  csock_open(&refused, AF_INET6, SOCK_DGRAM, CSOCK_DEFAULT):\n");
    int rc = csock_open(&refused, AF_INET6, SOCK_DGRAM, CSOCK_DEFAULT), err = errno;
    printf("    -> %d (%s), errno %d\n    -> csock_last_error() = \"%s\"\n", rc, strerror(-rc),
           err, csock_last_error());

    check(events == 5, "the hook saw 5 events (open, 2 socketpair ends, adopt, refused open)");
    check(rc == -EACCES && err == EACCES, "a refusal returns the hook's error");
    check(refused.fd == -7, "a refused csock_open leaves *out untouched");
    csock_close(&a);
    csock_close(&pair[0]);
    csock_close(&pair[1]);
    csock_close(&adopted);
}

int main(int argc, char **argv) {
    if (argc > 1 && strcmp(argv[1], "--child") == 0) return child_main();

    printf("csock %s: CPython's socket.socket creation semantics, from C\n", csock_version());
    demo_open();
    demo_adopt();
    demo_inherit(argv[0]);
    demo_audit(); /* last, so the hook sees only this section's creations */

    if (failures) {
        fprintf(stderr, "\ndemo: %d of %d checks FAILED (see \"!! FAILED\" lines above)\n",
                failures, checks);
        return 1;
    }
    printf("\ndemo: all %d checks passed\n", checks);
    return 0;
}
