/*
 * csock_repr: Python's repr of a socket, snprintf-style: names where known, numbers otherwise,
 * laddr/raddr only when known, and the [closed] form.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "tap.h"

/* csock_repr of `s` in a static buffer (NULL on failure). */
static const char *repr(const csock_socket *s) {
    static char buf[512];
    int n = csock_repr(s, buf, sizeof buf);
    if (n < 0 || (size_t)n != strlen(buf)) diag("csock_repr returned %d for '%s'", n, buf);
    return n < 0 ? NULL : buf;
}

/* The expected text, printf-style, in a static buffer. */
static const char *want(const char *fmt, ...) {
    static char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return buf;
}

/* The port of a bound inet socket. */
static int port(int fd, int peer) {
    struct sockaddr_in sin;
    socklen_t len = sizeof sin;
    (peer ? getpeername : getsockname)(fd, (struct sockaddr *)&sin, &len);
    return ntohs(sin.sin_port);
}

int main(void) {
    /* Open, unbound: Python shows the kernel's 0.0.0.0:0 too (a non-empty address). */
    csock_socket tcp;
    csock_open(&tcp, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    is_str(repr(&tcp),
           want("<csock fd=%d, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0.0.0.0:0>",
                tcp.fd),
           "open, unbound");

    /* Bound, listening. */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    bind(tcp.fd, (struct sockaddr *)&sin, sizeof sin);
    listen(tcp.fd, 1);
    int lport = port(tcp.fd, 0);
    is_str(repr(&tcp),
           want("<csock fd=%d, family=AF_INET, type=SOCK_STREAM, proto=0, "
                "laddr=127.0.0.1:%d>",
                tcp.fd, lport),
           "bound");

    /* Connected: laddr and raddr, and the accepted side. */
    csock_socket cl, conn;
    csock_open(&cl, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, IPPROTO_TCP);
    sin.sin_port = htons(lport);
    connect(cl.fd, (struct sockaddr *)&sin, sizeof sin);
    csock_accept(&tcp, &conn, NULL, NULL, 0);
    int cport = port(cl.fd, 0);
    is_str(repr(&cl),
           want("<csock fd=%d, family=AF_INET, type=SOCK_STREAM, proto=6, "
                "laddr=127.0.0.1:%d, raddr=127.0.0.1:%d>",
                cl.fd, cport, lport),
           "connected client: laddr and raddr");
    is_str(repr(&conn),
           want("<csock fd=%d, family=AF_INET, type=SOCK_STREAM, proto=0, "
                "laddr=127.0.0.1:%d, raddr=127.0.0.1:%d>",
                conn.fd, lport, cport),
           "accepted: laddr and raddr");

    /* snprintf semantics, against snprintf of the same text. */
    char text[512];
    int n = (int)strlen(strcpy(text, repr(&cl)));
    is_int(csock_repr(&cl, NULL, 0), n, "NULL buffer, size 0: the length");
    size_t sizes[] = {0, 1, 2, (size_t)n, (size_t)n + 1};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char got[520], expect[520];
        memset(got, 0x7e, sizeof got);
        memset(expect, 0x7e, sizeof expect);
        snprintf(expect, sizes[i], "%s", text);
        is_int(csock_repr(&cl, got, sizes[i]), n, "size %zu: returns the full length", sizes[i]);
        ok(memcmp(got, expect, sizeof got) == 0, "size %zu: buffer as snprintf leaves it",
           sizes[i]);
    }
    errno = 0;
    is_int(csock_repr(&cl, NULL, 16), -EINVAL, "NULL buffer, size 16: -EINVAL");
    is_int(errno, EINVAL, "errno EINVAL");
    memset(text, 0x7e, sizeof text);
    errno = 0;
    is_int(csock_repr(NULL, text, sizeof text), -EINVAL, "NULL sock: -EINVAL");
    is_int(errno, EINVAL, "NULL sock: errno EINVAL");
    ok(text[0] == 0x7e, "NULL sock: buffer untouched");

    /* Closed: no system call, the recorded values. */
    csock_close(&conn);
    csock_close(&cl);
    csock_close(&tcp);
    is_str(repr(&tcp), "<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>",
           "closed");
    is_int(csock_repr(&tcp, NULL, 0), strlen(repr(&tcp)), "closed: NULL buffer gives the length");

    /* Unix: a path listener; an unnamed peer has no raddr (Python: '' is not shown). */
    char dir[] = "/tmp/csock-repr-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    struct sockaddr_un sun = {.sun_family = AF_UNIX};
    snprintf(sun.sun_path, sizeof sun.sun_path, "%s/s", dir);
    csock_socket ul, uc;
    csock_open(&ul, AF_UNIX, SOCK_SEQPACKET, CSOCK_DEFAULT);
    bind(ul.fd, (struct sockaddr *)&sun, sizeof sun);
    listen(ul.fd, 1);
    is_str(repr(&ul),
           want("<csock fd=%d, family=AF_UNIX, type=SOCK_SEQPACKET, proto=0, laddr=%s>", ul.fd,
                sun.sun_path),
           "unix path listener");
    int raw = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    connect(raw, (struct sockaddr *)&sun, sizeof sun);
    csock_accept(&ul, &uc, NULL, NULL, 0);
    is_str(repr(&uc),
           want("<csock fd=%d, family=AF_UNIX, type=SOCK_SEQPACKET, proto=0, laddr=%s>", uc.fd,
                sun.sun_path),
           "unix accepted from an unnamed client: no raddr");
    csock_close(&uc);
    csock_close(&ul);
    close(raw);
    unlink(sun.sun_path);
    rmdir(dir);

    /* Abstract names. */
    struct sockaddr_un abs = {.sun_family = AF_UNIX, .sun_path = "\0csock-repr"};
    csock_open(&ul, AF_UNIX, SOCK_DGRAM, 0);
    bind(ul.fd, (struct sockaddr *)&abs, offsetof(struct sockaddr_un, sun_path) + 11);
    is_str(repr(&ul),
           want("<csock fd=%d, family=AF_UNIX, type=SOCK_DGRAM, proto=0, laddr=@csock-repr>",
                ul.fd),
           "unix abstract");
    csock_close(&ul);

    /* Unknown family and type numbers, recorded by adoption. */
    csock_socket pair[2], odd;
    csock_socketpair(pair, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    int fd = csock_detach(&pair[0]);
    is_int(csock_adopt(&odd, fd, 12345, CSOCK_DEFAULT, CSOCK_DEFAULT), 0,
           "adopt with explicit family 12345");
    is_int(odd.family, 12345, "family 12345 recorded");
    is_str(repr(&odd), want("<csock fd=%d, family=12345, type=SOCK_STREAM, proto=0>", fd),
           "unknown family: its number; unnamed unix: no laddr/raddr");
    odd.type = 77;
    odd.proto = -3;
    is_str(repr(&odd), want("<csock fd=%d, family=12345, type=77, proto=-3>", fd),
           "unknown type: its number");
    odd.family = AF_NETLINK;
    odd.type = SOCK_RAW;
    is_str(repr(&odd), want("<csock fd=%d, family=AF_NETLINK, type=SOCK_RAW, proto=-3>", fd),
           "AF_NETLINK and SOCK_RAW by name");
    csock_close(&odd);
    csock_close(&pair[1]);
    is_str(repr(&odd), "<csock [closed] fd=-1, family=AF_NETLINK, type=SOCK_RAW, proto=-3>",
           "closed, with the recorded values");

    return done_testing();
}
