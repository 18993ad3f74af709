/*
 * csock_create_server and csock_has_dualstack_ipv6: socket options read back with getsockopt, the
 * backlog read back from the kernel (sock_diag), addresses with getsockname, the bind message as
 * CPython's, EMFILE reported as such, and descriptor counts before and after every failure.
 */
#include <csock.h>

#include <netdb.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/un.h>

#include "tap.h"
#include "seccomp.h"
#include "net.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5b5b, 0x5c5c, 0x5d5d};

static int opt(int fd, int level, int name) {
    int v = -1;
    socklen_t len = sizeof v;
    return getsockopt(fd, level, name, &v, &len) == 0 ? v : -1;
}

static int somaxconn(void) {
    int v = 4096;
    FILE *f = fopen("/proc/sys/net/core/somaxconn", "r");
    if (f) {
        if (fscanf(f, "%d", &v) != 1) v = 4096;
        fclose(f);
    }
    return v;
}

/* A server that must fail with `rc`, leaving `out` untouched and no descriptor behind. */
static void server_fails(const char *host, const char *port, int family, int backlog,
                         unsigned flags, int rc, const char *what) {
    csock_socket s = SENTINEL;
    int before = count_fds();
    errno = 0;
    is_int(csock_create_server(&s, host, port, family, backlog, flags), rc, "%s: returns %d", what,
           rc);
    is_int(errno, -rc, "%s: errno %d", what, -rc);
    ok(memcmp(&s, &SENTINEL, sizeof s) == 0, "%s: out untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
    diag("%s: %s", what, csock_last_error());
}

/* Checks a listener's recorded values and kernel state. */
static void listener_ok(const csock_socket *s, int family, int nonblock, const char *what) {
    ok(s->fd >= 0 && s->family == family && s->type == SOCK_STREAM && s->proto == 0,
       "%s: records family %d, SOCK_STREAM, 0", what, family);
    is_int(opt(s->fd, SOL_SOCKET, SO_ACCEPTCONN), 1, "%s: listening (SO_ACCEPTCONN)", what);
    is_int(opt(s->fd, SOL_SOCKET, SO_REUSEADDR), 1, "%s: SO_REUSEADDR 1", what);
    is_int(fd_cloexec(s->fd), 1, "%s: FD_CLOEXEC", what);
    is_int(fd_nonblock(s->fd), nonblock, "%s: O_NONBLOCK %d", what, nonblock);
}

struct call {
    const char *host, *port;
    int family, backlog;
    unsigned flags;
};
static int call_server(void *arg) {
    struct call *c = arg;
    csock_socket s;
    return csock_create_server(&s, c->host, c->port, c->family, c->backlog, c->flags);
}

static int refuse;
static int hook(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)fd, (void)data;
    if (refuse) diag("hook sees %d %d %d", family, type, proto);
    return refuse && family == AF_INET && type == SOCK_STREAM && proto == 0 ? -EACCES : 0;
}

int main(void) {
    csock_socket s, t;
    char text[256];

    /* Numeric IPv4, defaults. */
    int before = count_fds();
    is_int(csock_create_server(&s, "127.0.0.1", NULL, CSOCK_DEFAULT, CSOCK_DEFAULT, 0), 0,
           "127.0.0.1, port NULL: 0");
    is_int(count_fds(), before + 1, "one descriptor");
    listener_ok(&s, AF_INET, 0, "127.0.0.1");
    is_int(opt(s.fd, SOL_SOCKET, SO_REUSEPORT), 0, "127.0.0.1: SO_REUSEPORT not set");
    int port = bound_port(s.fd);
    ok(port > 0, "port NULL: a free port (%d)", port);
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    getsockname(s.fd, (struct sockaddr *)&ss, &len);
    csock_format_addr((struct sockaddr *)&ss, len, 0, text, sizeof text);
    char want[64];
    snprintf(want, sizeof want, "127.0.0.1:%d", port);
    is_str(text, want, "bound to 127.0.0.1");
    is_int(diag_backlog(AF_INET, port), 128, "backlog CSOCK_DEFAULT: the kernel's is 128");

    /* Binding the same address again: the kernel's error, CPython's message tail. */
    char portstr[16];
    snprintf(portstr, sizeof portstr, "%d", port);
    server_fails("127.0.0.1", portstr, AF_INET, -1, 0, -EADDRINUSE, "the same port again");
    char tail[256];
    snprintf(tail, sizeof tail, "(while attempting to bind on address 127.0.0.1:%d)", port);
    const char *msg = csock_last_error();
    ok(strlen(msg) > strlen(tail) && strcmp(msg + strlen(msg) - strlen(tail), tail) == 0,
       "the message ends as CPython's: %s", tail);
    ok(strstr(msg, "bind: EADDRINUSE") != NULL, "the message names bind and EADDRINUSE");
    csock_close(&s);

    /* Backlogs read back from the kernel. */
    static const struct { int given, want; } backlogs[] = {{5, 5}, {0, 0}, {-2, 0}, {-100, 0},
                                                           {1, 1}};
    for (size_t i = 0; i < sizeof backlogs / sizeof backlogs[0]; i++) {
        is_int(csock_create_server(&s, "127.0.0.1", "0", AF_INET, backlogs[i].given, 0), 0,
               "backlog %d: created", backlogs[i].given);
        is_int(diag_backlog(AF_INET, bound_port(s.fd)), backlogs[i].want,
               "backlog %d: the kernel's is %d", backlogs[i].given, backlogs[i].want);
        csock_close(&s);
    }
    int max = somaxconn();
    is_int(csock_create_server(&s, NULL, "0", AF_INET, max + 1000, 0), 0, "backlog above somaxconn");
    is_int(diag_backlog(AF_INET, bound_port(s.fd)), max, "backlog %d: the kernel caps it at %d",
           max + 1000, max);
    len = sizeof ss;
    getsockname(s.fd, (struct sockaddr *)&ss, &len);
    is_int(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY), "host NULL: wildcard");
    csock_close(&s);
    is_int(csock_create_server(&s, "", NULL, AF_INET, -1, 0), 0, "host \"\": created");
    len = sizeof ss;
    getsockname(s.fd, (struct sockaddr *)&ss, &len);
    is_int(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_ANY), "host \"\": wildcard");
    csock_close(&s);

    /* SOCK_NONBLOCK and SO_REUSEPORT. */
    is_int(csock_create_server(&s, "127.0.0.1", "0", AF_INET, -1,
                               SOCK_NONBLOCK | CSOCK_SERVER_REUSE_PORT), 0,
           "SOCK_NONBLOCK | REUSE_PORT: created");
    listener_ok(&s, AF_INET, 1, "SOCK_NONBLOCK | REUSE_PORT");
    is_int(opt(s.fd, SOL_SOCKET, SO_REUSEPORT), 1, "REUSE_PORT: SO_REUSEPORT 1");
    snprintf(portstr, sizeof portstr, "%d", bound_port(s.fd));
    is_int(csock_create_server(&t, "127.0.0.1", portstr, AF_INET, -1, CSOCK_SERVER_REUSE_PORT), 0,
           "REUSE_PORT: a second server on the same port");
    csock_close(&t);
    csock_close(&s);

    /* A name is resolved (localhost is in /etc/hosts); a service name is resolved too. */
    is_int(csock_create_server(&s, "localhost", NULL, AF_INET, -1, 0), 0, "\"localhost\": created");
    len = sizeof ss;
    getsockname(s.fd, (struct sockaddr *)&ss, &len);
    is_int(((struct sockaddr_in *)&ss)->sin_addr.s_addr, htonl(INADDR_LOOPBACK),
           "\"localhost\": bound to 127.0.0.1");
    csock_close(&s);
    struct servent *se = getservbyname("http", "tcp");
    if (se) {
        /* Port 80 is free in a test machine; bind as root is allowed. */
        int rc = csock_create_server(&s, "127.0.0.1", "http", AF_INET, -1, 0);
        if (rc == 0) {
            is_int(bound_port(s.fd), 80, "service \"http\": port 80");
            csock_close(&s);
        } else {
            ok(rc == -EADDRINUSE, "service \"http\": port 80 taken (%d) # SKIP", rc);
        }
    } else {
        ok(1, "service \"http\": no /etc/services # SKIP");
    }

    /* Resolver failures: codes of their own, no socket made. */
    server_fails("127.0.0.1", "no-such-service", AF_INET, -1, 0, -(CSOCK_EAI_BASE - EAI_SERVICE),
                 "a bad service name");
    is_int(csock_gai_error(-(CSOCK_EAI_BASE - EAI_SERVICE)), EAI_SERVICE,
           "a bad service name: csock_gai_error gives EAI_SERVICE");
    ok(strstr(csock_last_error(), "getaddrinfo: EAI_SERVICE: Servname not supported") != NULL,
       "a bad service name: the message names getaddrinfo and EAI_SERVICE");
    server_fails("127.0.0.1", "70000", AF_INET, -1, 0, -EINVAL, "port 70000");
    server_fails("::1", NULL, AF_INET, -1, 0, -(CSOCK_EAI_BASE - EAI_ADDRFAMILY) ,
                 "an IPv6 address for AF_INET");

    /* Errors without a system call. */
    server_fails(NULL, NULL, AF_INET, -1, CSOCK_SERVER_DUALSTACK, -EINVAL, "DUALSTACK, AF_INET");
    server_fails(NULL, NULL, AF_INET, -1, 0x4, -EINVAL, "flags 0x4");
    server_fails(NULL, NULL, AF_INET, -1, SOCK_CLOEXEC, -EINVAL, "flags SOCK_CLOEXEC");
    server_fails(NULL, NULL, AF_PACKET, -1, 0, -EAFNOSUPPORT, "AF_PACKET");
    server_fails("/tmp/x", "1", AF_UNIX, -1, 0, -EINVAL, "AF_UNIX with a port");
    is_int(csock_create_server(NULL, NULL, NULL, AF_INET, -1, 0), -EINVAL, "out NULL: -EINVAL");
    static const int sockets[] = {SYS_socket};
    struct call good = {"127.0.0.1", NULL, AF_INET, -1, 0};
    no_syscall_is(without_syscalls(sockets, 1, call_server, &good), -ENOSYS,
                  "control: with socket blocked, a good call fails with -ENOSYS");
    struct call bad = {NULL, NULL, AF_INET, -1, CSOCK_SERVER_DUALSTACK};
    no_syscall_is(without_syscalls(sockets, 1, call_server, &bad), -EINVAL,
                  "DUALSTACK with AF_INET: -EINVAL without a system call");
    bad = (struct call){NULL, NULL, AF_INET, -1, 0x100};
    no_syscall_is(without_syscalls(sockets, 1, call_server, &bad), -EINVAL,
                  "unknown flags: -EINVAL without a system call");

    /* Bind to an address that is not local: the kernel's error. */
    server_fails("192.0.2.199", NULL, AF_INET, -1, 0, -EADDRNOTAVAIL, "a non-local address");
    ok(strstr(csock_last_error(), "(while attempting to bind on address 192.0.2.199:0)") != NULL,
       "a non-local address: the message names it");

    /* IPv6: V6ONLY 1, or 0 with DUALSTACK (and then an IPv4 client gets in). */
    is_int(csock_create_server(&s, "::1", NULL, AF_INET6, -1, 0), 0, "::1: created");
    listener_ok(&s, AF_INET6, 0, "::1");
    is_int(opt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY), 1, "::1: IPV6_V6ONLY 1");
    is_int(diag_backlog(AF_INET6, bound_port(s.fd)), 128, "::1: backlog 128 read back");
    csock_close(&s);
    is_int(csock_has_dualstack_ipv6(), 1, "csock_has_dualstack_ipv6: 1 on Linux");
    before = count_fds();
    is_int(csock_create_server(&s, NULL, NULL, AF_INET6, -1, CSOCK_SERVER_DUALSTACK), 0,
           "dual-stack: created");
    listener_ok(&s, AF_INET6, 0, "dual-stack");
    is_int(opt(s.fd, IPPROTO_IPV6, IPV6_V6ONLY), 0, "dual-stack: IPV6_V6ONLY 0");
    struct sockaddr_storage to;
    socklen_t tolen = net_addr("127.0.0.1", bound_port(s.fd), &to);
    int c = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    is_int(connect(c, (struct sockaddr *)&to, tolen), 0, "dual-stack: an IPv4 client connects");
    csock_socket conn;
    struct sockaddr_storage peer;
    socklen_t peerlen = sizeof peer;
    is_int(csock_accept(&s, &conn, (struct sockaddr *)&peer, &peerlen, 0), 0,
           "dual-stack: accepted");
    csock_format_addr((struct sockaddr *)&peer, peerlen, 0, text, sizeof text);
    ok(strncmp(text, "[::ffff:127.0.0.1]:", 19) == 0, "dual-stack: the peer is v4-mapped (%s)",
       text);
    csock_close(&conn);
    close(c);
    csock_close(&s);
    is_int(count_fds(), before, "dual-stack: all closed again");
    server_fails("127.0.0.1", NULL, AF_INET6, -1, 0, -(CSOCK_EAI_BASE - EAI_ADDRFAMILY),
                 "an IPv4 address for AF_INET6");
    is_int(csock_create_server(&s, "::1", NULL, AF_INET6, 7, CSOCK_SERVER_REUSE_PORT), 0,
           "::1, REUSE_PORT, backlog 7");
    is_int(opt(s.fd, SOL_SOCKET, SO_REUSEPORT), 1, "::1: SO_REUSEPORT 1");
    is_int(diag_backlog(AF_INET6, bound_port(s.fd)), 7, "::1: backlog 7 read back");
    csock_close(&s);

    /* AF_UNIX: a path and an abstract name; never SO_REUSEPORT. */
    char dir[] = "/tmp/csock-server-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    char path[128];
    snprintf(path, sizeof path, "%s/sock", dir);
    is_int(csock_create_server(&s, path, NULL, AF_UNIX, -1, CSOCK_SERVER_REUSE_PORT), 0,
           "AF_UNIX path, REUSE_PORT: created");
    listener_ok(&s, AF_UNIX, 0, "AF_UNIX path");
    is_int(opt(s.fd, SOL_SOCKET, SO_REUSEPORT), 0, "AF_UNIX: SO_REUSEPORT never set");
    struct sockaddr_un un;
    len = sizeof un;
    getsockname(s.fd, (struct sockaddr *)&un, &len);
    is_str(un.sun_path, path, "AF_UNIX: bound to the path");
    server_fails(path, NULL, AF_UNIX, -1, 0, -EADDRINUSE, "AF_UNIX: the same path again");
    snprintf(tail, sizeof tail, "(while attempting to bind on address %s)", path);
    ok(strstr(csock_last_error(), tail) != NULL, "AF_UNIX: the message names the path");
    csock_close(&s);
    unlink(path);
    rmdir(dir);
    char name[64];
    snprintf(name, sizeof name, "@csock-server-%d", (int)getpid());
    is_int(csock_create_server(&s, name, NULL, AF_UNIX, 3, SOCK_NONBLOCK), 0,
           "AF_UNIX abstract name: created");
    listener_ok(&s, AF_UNIX, 1, "AF_UNIX abstract");
    len = sizeof un;
    getsockname(s.fd, (struct sockaddr *)&un, &len);
    csock_format_addr((struct sockaddr *)&un, len, 0, text, sizeof text);
    is_str(text, name, "AF_UNIX: bound to the abstract name");
    is_int(len, offsetof(struct sockaddr_un, sun_path) + strlen(name),
           "AF_UNIX abstract: the length has no trailing NUL");
    csock_close(&s);
    char longpath[200];
    memset(longpath, 'p', 150);
    longpath[150] = 0;
    server_fails(longpath, NULL, AF_UNIX, -1, 0, -ENAMETOOLONG, "AF_UNIX path too long");

    /* A hook's refusal: its error, no socket. */
    csock_audit_add(hook, NULL);
    refuse = 1;
    server_fails("127.0.0.1", NULL, AF_INET, -1, 0, -EACCES, "a hook refuses");
    refuse = 0;

    /* Out of descriptors: -EMFILE, for the server and for the dual-stack probe. */
    if (under_valgrind()) {
        ok(1, "out of descriptors # SKIP valgrind emulates RLIMIT_NOFILE");
        return done_testing();
    }
    struct rlimit old, low;
    getrlimit(RLIMIT_NOFILE, &old);
    low = old;
    low.rlim_cur = count_fds() + 1; /* room for none: count_fds's own directory is closed */
    setrlimit(RLIMIT_NOFILE, &low);
    int spare[4], n = 0;
    for (int fd; n < 4 && (fd = dup(0)) >= 0;) spare[n++] = fd;
    server_fails("127.0.0.1", NULL, AF_INET, -1, 0, -EMFILE, "out of descriptors");
    before = count_fds();
    is_int(csock_has_dualstack_ipv6(), -EMFILE, "csock_has_dualstack_ipv6 out of descriptors: "
                                                "-EMFILE, not \"no\"");
    is_int(count_fds(), before, "csock_has_dualstack_ipv6: nothing left behind");
    for (int i = 0; i < n; i++) close(spare[i]);
    setrlimit(RLIMIT_NOFILE, &old);
    before = count_fds();
    is_int(csock_has_dualstack_ipv6(), 1, "csock_has_dualstack_ipv6 again: 1");
    is_int(count_fds(), before, "csock_has_dualstack_ipv6: the probe is closed");

    return done_testing();
}
