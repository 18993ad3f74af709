/*
 * ops.c: runs csock operations between markers, for tests/syscalls/check.py to count the system
 * calls of each one under strace.
 *
 * A marker is a write(2) to descriptor -1, which fails with EBADF and does nothing else, but shows
 * in strace's output with its text:
 *
 *   write(-1, "BEGIN|csock_open, first in process|socket:SOCK_CLOEXEC fcntl:F_GETFD", ..)
 *   ... the system calls of the operation ...
 *   write(-1, "END", 3)
 *
 * The BEGIN marker names the operation and the system calls it must make, in order, each as
 * `name`, `name:text` (text that must appear in strace's line, such as a flag) or `name:!text`
 * (text that must not). An empty list means no system call at all. Nothing else runs between two
 * markers: this program writes nothing until the end, when it prints the number of segments it
 * ran and the operations whose results were wrong, and exits 1 if any were.
 *
 *   ops main | einval-first | socketpair-first | connect
 *
 * Each mode is its own process, because the one-time close-on-exec probe happens once per
 * process: "main" opens first, "einval-first" starts with an open that fails with EINVAL,
 * "socketpair-first" starts with a socketpair; "connect" counts connecting and serving.
 */
#include <csock.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static char wrong[4096]; /* what went wrong, printed at the end */
static const char *current;
static int segments;

static void marker(const char *text) {
    ssize_t ret = write(-1, text, strlen(text));
    (void)ret;
}

/* Starts the segment of operation `what`, which must make exactly the system calls `calls`. */
static void begin(const char *what, const char *calls) {
    char text[256];
    snprintf(text, sizeof text, "BEGIN|%s|%s", what, calls);
    current = what;
    segments++;
    marker(text);
}

static void end(void) { marker("END"); }

/* Records a wrong result of the current operation (printed at the end, not now). */
static void expect(long got, long want) {
    if (got == want) return;
    size_t used = strlen(wrong);
    snprintf(wrong + used, sizeof wrong - used, "%s: returned %ld, expected %ld\n", current, got,
             want);
}

static int hook_refuses_proto_99(const char *event, int fd, int family, int type, int proto,
                                 void *userdata) {
    (void)event, (void)fd, (void)family, (void)type, (void)userdata;
    return proto == 99 ? -EACCES : 0;
}

/* Everything but the one-time probe, which "main" has already done in its first open. */
static void steady_state(void) {
    csock_socket s, t, u;
    csock_info info;

    begin("csock_open, defaults", "socket:SOCK_CLOEXEC");
    expect(csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
    end();
    begin("csock_close", "close");
    expect(csock_close(&s), 0);
    end();
    begin("csock_close, already closed", "");
    expect(csock_close(&s), 0);
    end();
    begin("csock_open, SOCK_NONBLOCK", "socket:SOCK_NONBLOCK");
    expect(csock_open(&s, AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0), 0);
    end();
    csock_close(&s);
    begin("csock_open, bad type, after the probe", "socket");
    expect(csock_open(&s, AF_INET, 999, 0), -EINVAL);
    end();

    /* The socket the next operations work on. */
    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    int fd = s.fd;

    begin("csock_adopt, detecting all three", "getsockopt:SO_DOMAIN getsockopt:SO_TYPE "
                                              "getsockopt:SO_PROTOCOL");
    expect(csock_adopt(&t, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
    end();
    begin("csock_adopt, all three explicit", "getsockopt:SO_TYPE");
    expect(csock_adopt(&t, fd, AF_INET, SOCK_STREAM, 0), 0);
    end();
    begin("csock_adopt, family explicit", "getsockopt:SO_TYPE getsockopt:SO_PROTOCOL");
    expect(csock_adopt(&t, fd, AF_INET, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
    end();
    begin("csock_adopt, negative fd", "");
    expect(csock_adopt(&t, -3, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -EBADF);
    end();
    int pipefd[2];
    expect(pipe(pipefd), 0);
    begin("csock_adopt, a pipe", "getsockopt:SO_DOMAIN");
    expect(csock_adopt(&t, pipefd[0], CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -ENOTSOCK);
    end();
    close(pipefd[0]);
    close(pipefd[1]);
    begin("csock_adopt, closed descriptor, explicit", "getsockopt:SO_TYPE");
    expect(csock_adopt(&t, pipefd[0], AF_INET, SOCK_STREAM, 0), -EBADF);
    end();

    begin("csock_fromfd, detecting", "fcntl:F_DUPFD_CLOEXEC getsockopt:SO_DOMAIN "
                                     "getsockopt:SO_TYPE getsockopt:SO_PROTOCOL");
    expect(csock_fromfd(&t, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
    end();
    csock_close(&t);
    begin("csock_fromfd, explicit", "fcntl:F_DUPFD_CLOEXEC getsockopt:SO_TYPE");
    expect(csock_fromfd(&t, fd, AF_INET, SOCK_STREAM, 0), 0);
    end();
    csock_close(&t);
    begin("csock_dup", "fcntl:F_DUPFD_CLOEXEC");
    expect(csock_dup(&t, &s), 0);
    end();
    csock_close(&t);

    begin("csock_set_blocking(false)", "ioctl:FIONBIO");
    expect(csock_set_blocking(&s, false), 0);
    end();
    begin("csock_set_blocking(true)", "ioctl:FIONBIO");
    expect(csock_set_blocking(&s, true), 0);
    end();
    begin("csock_set_inheritable(true)", "ioctl:FIONCLEX");
    expect(csock_set_inheritable(&s, true), 0);
    end();
    begin("csock_set_inheritable(false)", "ioctl:FIOCLEX");
    expect(csock_set_inheritable(&s, false), 0);
    end();
    begin("csock_get_blocking", "fcntl:F_GETFL");
    expect(csock_get_blocking(&s), 1);
    end();
    begin("csock_get_inheritable", "fcntl:F_GETFD");
    expect(csock_get_inheritable(&s), 0);
    end();
    begin("csock_inspect", "getsockopt:SO_DOMAIN getsockopt:SO_TYPE getsockopt:SO_PROTOCOL "
                           "fcntl:F_GETFL fcntl:F_GETFD getsockopt:SO_ACCEPTCONN");
    expect(csock_inspect(fd, &info), 0);
    end();
    begin("csock_getsockname", "getsockname");
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    expect(csock_getsockname(&s, &addr, &len), 0);
    end();
    begin("csock_format_addr", "");
    char text[128];
    expect(csock_format_addr((struct sockaddr *)&addr, len, 0, text, sizeof text) > 0, 1);
    end();
    begin("csock_family_name, csock_constant, csock_version", "");
    int value;
    int64_t value64;
    expect(csock_family_name(AF_INET) != NULL, 1);
    expect(csock_constant("SOCK_STREAM", &value), 0);
    expect(csock_constant64("INADDR_NONE", &value64), 0);
    expect(csock_version() != NULL, 1);
    end();
    begin("csock_last_error", "");
    expect(csock_last_error()[0] != 0, 1);
    end();
    begin("csock_shutdown, bad how", "");
    expect(csock_shutdown(&s, 42), -EINVAL);
    end();
    begin("csock_shutdown", "shutdown");
    expect(csock_shutdown(&s, SHUT_RDWR), -ENOTCONN);
    end();
    begin("csock_detach", "");
    expect(csock_detach(&s), fd);
    end();
    close(fd);

    /* A listener with a connection waiting. */
    begin("csock_socketpair", "socketpair:SOCK_CLOEXEC");
    csock_socket pair[2];
    expect(csock_socketpair(pair, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
    end();
    csock_close(&pair[0]);
    csock_close(&pair[1]);
    struct sockaddr_un un = {.sun_family = AF_UNIX};
    snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "csock-syscalls-%d", (int)getpid());
    socklen_t unlen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(un.sun_path + 1);
    expect(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0);
    expect(bind(s.fd, (struct sockaddr *)&un, unlen), 0);
    expect(listen(s.fd, 1), 0);
    expect(csock_open(&t, AF_UNIX, SOCK_STREAM, 0), 0);
    expect(connect(t.fd, (struct sockaddr *)&un, unlen), 0);
    begin("csock_accept, flags other than SOCK_NONBLOCK", "");
    expect(csock_accept(&s, &u, NULL, NULL, SOCK_CLOEXEC), -EINVAL);
    end();
    begin("csock_accept", "accept4:SOCK_CLOEXEC");
    expect(csock_accept(&s, &u, NULL, NULL, 0), 0);
    end();
    begin("csock_getpeername", "getpeername");
    len = sizeof addr;
    expect(csock_getpeername(&u, &addr, &len), 0);
    end();
    begin("csock_repr, open socket", "getsockname getpeername");
    expect(csock_repr(&u, text, sizeof text) > 0, 1);
    end();
    /* Passing descriptors: one sendmsg with MSG_NOSIGNAL, one recvmsg with MSG_CMSG_CLOEXEC. */
    {
        char byte = 'x';
        struct iovec iov = {&byte, 1};
        int fd = t.fd, got = -1;
        size_t n = 0;
        begin("csock_send_fds", "sendmsg:MSG_NOSIGNAL");
        expect(csock_send_fds(&t, &iov, 1, &fd, 1, 0, NULL, 0), 1);
        end();
        begin("csock_recv_fds", "recvmsg:MSG_CMSG_CLOEXEC");
        expect(csock_recv_fds(&u, &byte, 1, &got, 1, &n, 0, NULL, NULL, NULL), 1);
        end();
        close(got);
        begin("csock_send_fds, descriptors without a data byte on a stream socket", "");
        expect(csock_send_fds(&t, NULL, 0, &fd, 1, 0, NULL, 0), -EINVAL);
        end();
        begin("csock_send_fds, more than 253 descriptors", "");
        expect(csock_send_fds(&t, &iov, 1, &fd, 254, 0, NULL, 0), -EINVAL);
        end();
    }
    csock_close(&u);
    csock_close(&t);

    /* Every operation on a closed socket: -EBADF (or nothing to do) without a system call. */
    csock_close(&s);
    begin("operations on a closed socket", "");
    expect(csock_close(&s), 0);
    expect(csock_detach(&s), -EBADF);
    expect(csock_dup(&t, &s), -EBADF);
    expect(csock_shutdown(&s, SHUT_RDWR), -EBADF);
    expect(csock_set_blocking(&s, false), -EBADF);
    expect(csock_get_blocking(&s), -EBADF);
    expect(csock_set_inheritable(&s, true), -EBADF);
    expect(csock_get_inheritable(&s), -EBADF);
    expect(csock_accept(&s, &u, NULL, NULL, 0), -EBADF);
    {
        char byte = 'x';
        size_t n;
        expect(csock_send_fds(&s, NULL, 0, NULL, 0, 0, NULL, 0), -EBADF);
        expect(csock_recv_fds(&s, &byte, 1, NULL, 0, &n, 0, NULL, NULL, NULL), -EBADF);
    }
    len = sizeof addr;
    expect(csock_getsockname(&s, &addr, &len), -EBADF);
    expect(csock_getpeername(&s, &addr, &len), -EBADF);
    expect(csock_repr(&s, text, sizeof text) > 0, 1);
    end();
    begin("NULL pointers", "");
    expect(csock_open(NULL, AF_INET, SOCK_STREAM, 0), -EINVAL);
    expect(csock_adopt(NULL, 0, AF_INET, SOCK_STREAM, 0), -EINVAL);
    expect(csock_close(NULL), -EINVAL);
    expect(csock_inspect(0, NULL), -EINVAL);
    end();

    /* With a hook: allowing still costs no system call, refusing stops before the kernel. */
    expect(csock_audit_add(hook_refuses_proto_99, NULL), 0);
    begin("csock_open, a hook allows", "socket:SOCK_CLOEXEC");
    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    end();
    fd = s.fd;
    begin("csock_open, a hook refuses", "");
    expect(csock_open(&t, AF_INET, SOCK_STREAM, 99), -EACCES);
    end();
    begin("csock_adopt, a hook refuses after detection",
          "getsockopt:SO_DOMAIN getsockopt:SO_TYPE");
    expect(csock_adopt(&t, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, 99), -EACCES);
    end();
    csock_close(&s);
}

static void main_mode(void) {
    csock_socket s;
    for (int i = 0; i < 3; i++) {
        if (i == 0)
            begin("csock_open, first in process: probes close-on-exec once",
                  "socket:SOCK_CLOEXEC fcntl:F_GETFD");
        else
            begin(i == 1 ? "csock_open, second" : "csock_open, third", "socket:SOCK_CLOEXEC");
        expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
        end();
        csock_close(&s);
    }
    begin("the first failure of a thread maps its message page, once", "mmap");
    expect(csock_open(NULL, AF_INET, SOCK_STREAM, 0), -EINVAL);
    end();
    begin("the second failure of a thread: no system call", "");
    expect(csock_open(NULL, AF_INET, SOCK_STREAM, 0), -EINVAL);
    end();
    steady_state();
}

/* A first open failing with EINVAL for its own reasons proves nothing: the probe stays due. */
static void einval_first_mode(void) {
    csock_socket s;
    begin("csock_open, bad type, first in process: one retry without the flag, and the "
          "thread's message page",
          "socket:SOCK_CLOEXEC socket:!SOCK_CLOEXEC mmap");
    expect(csock_open(&s, AF_INET, 999, 0), -EINVAL);
    end();
    begin("csock_open, first success after it: probes once", "socket:SOCK_CLOEXEC fcntl:F_GETFD");
    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    end();
    csock_close(&s);
    begin("csock_open, after the probe", "socket:SOCK_CLOEXEC");
    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    end();
    csock_close(&s);
}

/* socketpair and open share the probe: whichever succeeds first makes it. */
static void socketpair_first_mode(void) {
    csock_socket pair[2], s;
    begin("csock_socketpair, first in process: probes once",
          "socketpair:SOCK_CLOEXEC fcntl:F_GETFD");
    expect(csock_socketpair(pair, AF_UNIX, SOCK_STREAM, 0), 0);
    end();
    csock_close(&pair[0]);
    csock_close(&pair[1]);
    begin("csock_open, after a socketpair", "socket:SOCK_CLOEXEC");
    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    end();
    csock_close(&s);
    begin("csock_socketpair, second", "socketpair:SOCK_CLOEXEC");
    expect(csock_socketpair(pair, AF_UNIX, SOCK_DGRAM, 0), 0);
    end();
    csock_close(&pair[0]);
    csock_close(&pair[1]);
}

/* Connecting and serving: csock_connect, csock_create_connection, csock_create_server,
 * csock_has_dualstack_ipv6, csock_close_fd, the resolver codes. */
static void connect_mode(void) {
    csock_socket s, l, c;
    char port[16];
    /* Warm-up outside any segment: the close-on-exec probe, the message page, and the C
     * library's first getaddrinfo (its allocator's set-up). */
    expect(csock_create_server(&l, "127.0.0.1", NULL, AF_INET, 64, 0), 0);
    struct sockaddr_in where;
    socklen_t wlen = sizeof where;
    expect(getsockname(l.fd, (struct sockaddr *)&where, &wlen), 0);
    snprintf(port, sizeof port, "%d", ntohs(where.sin_port));
    expect(csock_create_connection(&c, "127.0.0.1", port, CSOCK_DEFAULT, NULL), 0);
    csock_close(&c);
    expect(csock_open(NULL, AF_INET, SOCK_STREAM, 0), -EINVAL);

    begin("csock_create_connection, numeric IPv4, no timeout", "socket:SOCK_CLOEXEC connect");
    expect(csock_create_connection(&c, "127.0.0.1", port, CSOCK_DEFAULT, NULL), 0);
    end();
    csock_close(&c);
    begin("csock_create_connection, numeric IPv4, timeout 5000",
          "socket:SOCK_NONBLOCK connect poll getsockopt:SO_ERROR ioctl:FIONBIO");
    expect(csock_create_connection(&c, "127.0.0.1", port, 5000, NULL), 0);
    end();
    csock_close(&c);
    csock_connect_opts nb = {.size = sizeof nb, .flags = SOCK_NONBLOCK};
    begin("csock_create_connection, SOCK_NONBLOCK, no timeout",
          "socket:SOCK_NONBLOCK connect poll getsockopt:SO_ERROR");
    expect(csock_create_connection(&c, "127.0.0.1", port, CSOCK_DEFAULT, &nb), 0);
    end();
    csock_close(&c);
    csock_connect_opts race = {.size = sizeof race, .attempt_delay_ms = 250};
    begin("csock_create_connection, Happy Eyeballs, one address",
          "socket:SOCK_NONBLOCK connect poll getsockopt:SO_ERROR ioctl:FIONBIO");
    expect(csock_create_connection(&c, "127.0.0.1", port, CSOCK_DEFAULT, &race), 0);
    end();
    csock_close(&c);
    csock_connect_opts src = {.size = sizeof src, .source_host = "127.0.0.1"};
    begin("csock_create_connection, source 127.0.0.1 port 0",
          "socket:SOCK_CLOEXEC setsockopt:IP_BIND_ADDRESS_NO_PORT bind connect");
    expect(csock_create_connection(&c, "127.0.0.1", port, CSOCK_DEFAULT, &src), 0);
    end();
    csock_close(&c);
    csock_connect_opts bad = {.size = sizeof bad, .flags = SOCK_CLOEXEC};
    begin("csock_create_connection, bad flags", "");
    expect(csock_create_connection(&c, "127.0.0.1", port, CSOCK_DEFAULT, &bad), -EINVAL);
    end();
    begin("csock_create_connection, port 70000", "");
    expect(csock_create_connection(&c, "127.0.0.1", "70000", CSOCK_DEFAULT, NULL), -EINVAL);
    end();

    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    begin("csock_connect, blocking, no timeout", "connect");
    expect(csock_connect(&s, (struct sockaddr *)&where, wlen, CSOCK_DEFAULT, 0), 0);
    end();
    csock_close(&s);
    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    begin("csock_connect, blocking, timeout 5000",
          "fcntl:F_GETFL ioctl:FIONBIO connect poll getsockopt:SO_ERROR ioctl:FIONBIO");
    expect(csock_connect(&s, (struct sockaddr *)&where, wlen, 5000, 0), 0);
    end();
    begin("csock_connect, bad flags", "");
    expect(csock_connect(&s, (struct sockaddr *)&where, wlen, 5000, 1), -EINVAL);
    end();
    csock_close(&s);

    /* Drain the listener: every connection above is pending on it. */
    csock_set_blocking(&l, false);
    while (csock_accept(&l, &c, NULL, NULL, 0) == 0) csock_close(&c);
    csock_close(&l);

    begin("csock_create_server, numeric IPv4",
          "socket:SOCK_CLOEXEC setsockopt:SO_REUSEADDR bind listen");
    expect(csock_create_server(&l, "127.0.0.1", "0", AF_INET, CSOCK_DEFAULT, 0), 0);
    end();
    csock_close(&l);
    begin("csock_create_server, numeric IPv6",
          "socket:AF_INET6 setsockopt:SO_REUSEADDR setsockopt:IPV6_V6ONLY bind listen");
    expect(csock_create_server(&l, "::1", "0", AF_INET6, CSOCK_DEFAULT, 0), 0);
    end();
    csock_close(&l);
    begin("csock_create_server, REUSE_PORT and SOCK_NONBLOCK",
          "socket:SOCK_NONBLOCK setsockopt:SO_REUSEADDR setsockopt:SO_REUSEPORT bind listen");
    expect(csock_create_server(&l, "127.0.0.1", "0", AF_INET, 5,
                               CSOCK_SERVER_REUSE_PORT | SOCK_NONBLOCK), 0);
    end();
    csock_close(&l);
    begin("csock_create_server, DUALSTACK with AF_INET", "");
    expect(csock_create_server(&l, NULL, NULL, AF_INET, -1, CSOCK_SERVER_DUALSTACK), -EINVAL);
    end();
    begin("csock_has_dualstack_ipv6", "socket:AF_INET6 setsockopt:IPV6_V6ONLY close");
    expect(csock_has_dualstack_ipv6(), 1);
    end();

    int fd = dup(0);
    begin("csock_close_fd", "close");
    expect(csock_close_fd(fd), 0);
    end();
    begin("csock_close_fd(-1)", "");
    expect(csock_close_fd(-1), -EBADF);
    end();
    begin("csock_gai_error, csock_strerror", "");
    expect(csock_gai_error(-4098), EAI_NONAME);
    expect(csock_strerror(-4098) != NULL, 1);
    expect(csock_strerror(-ECONNREFUSED) != NULL, 1);
    end();
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "";
    if (strcmp(mode, "main") == 0)
        main_mode();
    else if (strcmp(mode, "einval-first") == 0)
        einval_first_mode();
    else if (strcmp(mode, "socketpair-first") == 0)
        socketpair_first_mode();
    else if (strcmp(mode, "connect") == 0)
        connect_mode();
    else {
        fprintf(stderr, "usage: %s main | einval-first | socketpair-first | connect\n", argv[0]);
        return 2;
    }
    printf("segments %d\n%s", segments, wrong);
    return wrong[0] ? 1 : 0;
}
