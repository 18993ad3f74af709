/*
 * demo.c: a tour of csock, CPython's socket.socket creation semantics for C.
 *
 *   1. csock_open: defaults, SOCK_NONBLOCK / SOCK_CLOEXEC, and what is recorded vs. the kernel
 *   2. csock_adopt: wrapping descriptors made elsewhere, detected or overridden, and a failure
 *   3. inheritance: a child started with fork+exec sees only the socket made inheritable
 *   4. passing descriptors: a socket handed over a unix socket by a child, received and adopted
 *   5. serving and connecting: a dual-stack server, a connection to "localhost" with its attempt
 *      report, and a Happy Eyeballs race won by the fast address (in a mount namespace of a
 *      child's own, when run as root)
 *   6. audit hooks: every creation logged, one refused
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
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
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

/* ---- 4. Passing descriptors ----------------------------------------------------------------- */

static void demo_fdpass(void) {
    csock_socket chan[2], got = {.fd = -1};
    printf("\n4. csock_send_fds / csock_recv_fds: a socket handed over a unix socket, adopted\n\n");
    need(csock_socketpair(chan, AF_UNIX, SOCK_STREAM, 0), "csock_socketpair");
    fflush(stdout);
    pid_t pid = fork();
    need(pid < 0 ? -errno : 0, "fork");
    if (pid == 0) {
        /* The child makes a UDP socket on loopback and hands it to the parent with one byte. */
        csock_socket udp;
        struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        char tag = 'U';
        struct iovec iov = {&tag, 1};
        int ok = csock_open(&udp, AF_INET, SOCK_DGRAM, CSOCK_DEFAULT) == 0 &&
                 bind(udp.fd, (struct sockaddr *)&sin, sizeof sin) == 0 &&
                 csock_send_fds(&chan[0], &iov, 1, &udp.fd, 1, 0, NULL, 0) == 1;
        _exit(ok ? 0 : 1);
    }
    csock_close(&chan[0]);
    char tag = 0;
    int fd = -1, msg_flags = -1, status = 0;
    size_t nfds = 0;
    int rc = csock_recv_fds(&chan[1], &tag, 1, &fd, 1, &nfds, 0, &msg_flags, NULL, NULL);
    need(rc, "csock_recv_fds");
    need(waitpid(pid, &status, 0) < 0 ? -errno : 0, "waitpid");
    printf("  child (pid %d): csock_open(AF_INET, SOCK_DGRAM), bind 127.0.0.1, csock_send_fds(\"U\", fd)\n",
           (int)pid);
    printf("  parent: csock_recv_fds = %d ('%c'), *nfds = %zu, fd %d, MSG_CTRUNC %s\n", rc, tag,
           nfds, fd, msg_flags & MSG_CTRUNC ? "set" : "not set");
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the child sent its socket");
    check(rc == 1 && nfds == 1 && !(msg_flags & MSG_CTRUNC), "one byte and one descriptor");
    csock_info info;
    need(csock_inspect(fd, &info), "csock_inspect");
    printf("  csock_inspect(fd %d): family %s, type %s, proto %d, close-on-exec %s\n", fd,
           csock_family_name(info.family), csock_type_name(info.type), info.proto,
           info.flags & CSOCK_INFO_CLOEXEC ? "yes" : "no");
    check(info.flags & CSOCK_INFO_CLOEXEC, "a received descriptor is close-on-exec from the start");
    need(csock_adopt(&got, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), "csock_adopt");
    print_repr("adopted:", &got);
    check(got.family == AF_INET && got.type == SOCK_DGRAM && got.proto == IPPROTO_UDP,
          "adoption detects AF_INET, SOCK_DGRAM, IPPROTO_UDP");
    check(csock_get_inheritable(&got) == 0, "and it stays non-inheritable");
    printf("  (socket.recv_fds would have returned an inheritable descriptor: a fork+exec in\n"
           "   another thread could leak it; csock_recv_fds asks the kernel for MSG_CMSG_CLOEXEC)\n");
    csock_close(&got);
    csock_close(&chan[1]);
}

/* ---- 5. Serving and connecting --------------------------------------------------------------- */

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static const char *step_name(int step) {
    return step == CSOCK_STEP_SOCKET ? "socket" : step == CSOCK_STEP_BIND ? "bind" : "connect";
}

static void print_report(const csock_connect_opts *o) {
    for (size_t i = 0; i < o->attempts_len && i < o->attempts_cap; i++) {
        char addr[128];
        const csock_attempt *a = &o->attempts[i];
        csock_format_addr((const struct sockaddr *)&a->addr, a->addrlen, 0, addr, sizeof addr);
        printf("    attempt %zu: %-22s reached %-7s -> %s\n", i + 1, addr, step_name(a->step),
               a->error ? csock_strerror(a->error) : "connected");
    }
}

/* A listener whose accept queue is full: a SYN to it is dropped, so connecting to it hangs. */
static int full_listener(const struct sockaddr *addr, socklen_t len, int *filler) {
    int l = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    if (addr->sa_family == AF_INET6) setsockopt(l, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    struct sockaddr_storage bound;
    socklen_t blen = sizeof bound;
    if (bind(l, addr, len) < 0 || listen(l, 0) < 0 ||
        getsockname(l, (struct sockaddr *)&bound, &blen) < 0)
        return -1;
    *filler = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (connect(*filler, (struct sockaddr *)&bound, blen) < 0) return -1;
    return l;
}

/* The race, in a child that gives itself a private /etc/hosts where race.test has two addresses:
 * the resolver's first is made slow (a full accept queue), the second answers. */
static int race_main(void) {
    char path[] = "/tmp/csock-demo-hosts-XXXXXX";
    int fd = mkstemp(path);
    const char *hosts = "::1 race.test\n127.0.0.2 race.test\n";
    bool ok = fd >= 0 && write(fd, hosts, strlen(hosts)) == (ssize_t)strlen(hosts);
    if (fd >= 0) close(fd);
    if (!ok || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(path, "/etc/hosts", NULL, MS_BIND, NULL) < 0) {
        unlink(path);
        printf("  (the race needs a mount namespace: %s; skipped)\n", strerror(errno));
        return 0;
    }
    unlink(path);
    /* Both addresses on one port: the first listener picks it. */
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo("race.test", "0", &hints, &res) || !res || !res->ai_next) {
        printf("  !! race.test does not resolve to two addresses\n");
        return 1;
    }
    int filler, slow = full_listener(res->ai_addr, res->ai_addrlen, &filler);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(slow, (struct sockaddr *)&ss, &len);
    int port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    memcpy(&ss, res->ai_next->ai_addr, res->ai_next->ai_addrlen);
    ((struct sockaddr_in *)&ss)->sin_port = htons(port);
    int fast = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (slow < 0 || bind(fast, (struct sockaddr *)&ss, res->ai_next->ai_addrlen) < 0 ||
        listen(fast, 16) < 0) {
        printf("  !! the race's listeners: %s\n", strerror(errno));
        return 1;
    }
    freeaddrinfo(res);
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);

    csock_attempt tried[4];
    csock_connect_opts o = {.size = sizeof o, .attempts = tried, .attempts_cap = 4};
    csock_socket s;
    printf("  race.test (private /etc/hosts: ::1 and 127.0.0.2), the first address made slow:\n");
    printf("  one at a time, timeout 300 ms per attempt:\n");
    double t0 = now_ms();
    need(csock_create_connection(&s, "race.test", portstr, 300, &o), "create_connection");
    double sequential = now_ms() - t0;
    print_report(&o);
    printf("    connected after %.0f ms\n", sequential);
    csock_close(&s);
    printf("  Happy Eyeballs, attempt_delay_ms = 50:\n");
    o.attempt_delay_ms = 50;
    t0 = now_ms();
    need(csock_create_connection(&s, "race.test", portstr, 300, &o), "create_connection");
    double raced = now_ms() - t0;
    print_report(&o);
    printf("    connected after %.0f ms: the fast address won, the slow attempt was closed\n",
           raced);
    check(o.attempts_len == 2 && tried[0].error == -ECANCELED && tried[1].error == 0,
          "the race: the second address won, the first was cancelled");
    check(raced < sequential && raced < 250, "the race is faster than one address at a time");
    csock_close(&s);
    close(filler);
    close(slow);
    close(fast);
    return failures ? 1 : 0;
}

static void demo_serve(void) {
    printf("\n5. serving and connecting\n\n");
    csock_socket srv, c, conn;
    int dual = csock_has_dualstack_ipv6();
    printf("  csock_has_dualstack_ipv6() = %d\n", dual);
    need(csock_create_server(&srv, NULL, "0", AF_INET6, CSOCK_DEFAULT, CSOCK_SERVER_DUALSTACK),
         "csock_create_server");
    int v6only = -1;
    socklen_t len = sizeof v6only;
    getsockopt(srv.fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, &len);
    print_repr("dual-stack server:", &srv);
    printf("  %-36s IPV6_V6ONLY=%d, backlog 128\n", "", v6only);
    check(dual == 1 && v6only == 0, "a dual-stack server has IPV6_V6ONLY 0");

    struct sockaddr_in6 where;
    len = sizeof where;
    getsockname(srv.fd, (struct sockaddr *)&where, &len);
    char port[16];
    snprintf(port, sizeof port, "%d", ntohs(where.sin6_port));
    csock_attempt tried[4];
    csock_connect_opts o = {.size = sizeof o, .attempts = tried, .attempts_cap = 4};
    printf("\n  csock_create_connection(&c, \"localhost\", \"%s\", 1000, &opts):\n", port);
    double t0 = now_ms();
    need(csock_create_connection(&c, "localhost", port, 1000, &o), "csock_create_connection");
    double took = now_ms() - t0;
    print_report(&o);
    print_repr("connected:", &c);
    printf("  %-36s in %.2f ms, blocking=%d\n", "", took, csock_get_blocking(&c));
    check(o.attempts_len >= 1 && tried[o.attempts_len - 1].error == 0,
          "the report ends with the attempt that connected");
    check(csock_get_blocking(&c) == 1, "a connection made with a timeout is blocking again");
    need(csock_accept(&srv, &conn, NULL, NULL, 0), "csock_accept");
    print_repr("accepted by the server:", &conn);
    csock_close(&conn);
    csock_close(&c);

    printf("\n  a connection that fails names every address it tried:\n");
    csock_close(&srv); /* nobody listens on the port now */
    int rc = csock_create_connection(&c, NULL, port, 1000, &o);
    print_report(&o);
    printf("    -> %d (%s)\n    -> csock_last_error() = \"%s\"\n", rc, csock_strerror(rc),
           csock_last_error());
    check(rc == -ECONNREFUSED, "every address refused: the last error is returned");
    rc = csock_create_connection(&c, "localhost", "no-such-service", -1, NULL);
    printf("  a resolver failure has a code of its own: %d, csock_gai_error() = %d (%s)\n", rc,
           csock_gai_error(rc), csock_strerror(rc));
    check(csock_gai_error(rc) == EAI_SERVICE, "a bad service name is EAI_SERVICE");

    printf("\n  Happy Eyeballs:\n");
    if (geteuid() != 0) {
        printf("  (the race needs root for a private /etc/hosts; skipped)\n");
        return;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        int rc = race_main();
        fflush(stdout);
        _exit(rc);
    }
    int status = 1;
    waitpid(pid, &status, 0);
    check(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the race child passed its checks");
}

/* ---- 6. Audit hooks -------------------------------------------------------------------------- */

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
    printf("\n6. audit hooks: every \"socket.__new__\" is seen, one creation is refused\n\n");
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
    demo_fdpass();
    demo_serve();
    demo_audit(); /* last, so the hook sees only this section's creations */

    if (failures) {
        fprintf(stderr, "\ndemo: %d of %d checks FAILED (see \"!! FAILED\" lines above)\n",
                failures, checks);
        return 1;
    }
    printf("\ndemo: all %d checks passed\n", checks);
    return 0;
}
