/*
 * Ports of CPython's Lib/test/test_socket.py (3.11), class GeneralModuleTests: the cases about
 * construction, adoption of a descriptor (fileno=), type flags, repr, detach and close. Each
 * TAP name starts with the CPython test it mirrors.
 *
 * Not ported, because C's types already rule them out: test_socket_fileno_rejects_float and
 * test_socket_fileno_rejects_other_types (fileno is an int). Where CPython raises ValueError
 * (a negative fileno), csock returns -EBADF with the same message (README, deliberate difference 12).
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "tap.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a};

static int untouched(const csock_socket *s) { return memcmp(s, &SENTINEL, sizeof *s) == 0; }

static const char *repr_of(const csock_socket *s) {
    static char buf[512];
    return csock_repr(s, buf, sizeof buf) >= 0 ? buf : "";
}

static int bind_loopback4(const csock_socket *s) {
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    return bind(s->fd, (struct sockaddr *)&a, sizeof a);
}

static int bind_loopback6(const csock_socket *s) {
    struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    return bind(s->fd, (struct sockaddr *)&a, sizeof a);
}

static int bound_port(const csock_socket *s) {
    struct sockaddr_in a;
    socklen_t len = sizeof a;
    return getsockname(s->fd, (struct sockaddr *)&a, &len) == 0 ? ntohs(a.sin_port) : -1;
}

/* GeneralModuleTests.test_repr */
static void test_repr(void) {
    csock_socket s;
    is_int(csock_open(&s, AF_INET, SOCK_STREAM, CSOCK_DEFAULT), 0, "test_repr: open");
    char want[64];
    snprintf(want, sizeof want, "fd=%d,", s.fd);
    ok(strstr(repr_of(&s), want) != NULL, "test_repr: shows %s", want);
    ok(strstr(repr_of(&s), "family=AF_INET,") != NULL, "test_repr: shows the family");
    ok(strstr(repr_of(&s), "type=SOCK_STREAM,") != NULL, "test_repr: shows the type");
    ok(strstr(repr_of(&s), "proto=0") != NULL, "test_repr: shows proto=0");
    ok(strstr(repr_of(&s), "raddr") == NULL, "test_repr: no raddr before connecting");
    is_int(bind_loopback4(&s), 0, "test_repr: bind 127.0.0.1:0");
    snprintf(want, sizeof want, "laddr=127.0.0.1:%d>", bound_port(&s));
    ok(strstr(repr_of(&s), want) != NULL, "test_repr: shows %s once bound", want);
    is_int(csock_close(&s), 0, "test_repr: close");
    ok(strstr(repr_of(&s), "[closed]") != NULL, "test_repr: [closed] after close");
    ok(strstr(repr_of(&s), "laddr") == NULL, "test_repr: no laddr after close");
}

/* GeneralModuleTests.test_csocket_repr: the closed form keeps family, type and proto. */
static void test_csocket_repr(void) {
    csock_socket s;
    csock_open(&s, AF_INET, SOCK_STREAM, 0);
    csock_close(&s);
    is_str(repr_of(&s), "<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>",
           "test_csocket_repr: closed socket");
}

/* GeneralModuleTests.testNewAttributes */
static void test_new_attributes(void) {
    csock_socket s;
    is_int(csock_open(&s, AF_INET, SOCK_STREAM, CSOCK_DEFAULT), 0, "testNewAttributes: open");
    is_int(s.family, AF_INET, "testNewAttributes: family");
    is_int(s.type, SOCK_STREAM, "testNewAttributes: type (never with SOCK_CLOEXEC)");
    is_int(s.proto, 0, "testNewAttributes: proto");
    csock_close(&s);
}

/* GeneralModuleTests.test_str_for_enums: the names CPython's enums print. */
static void test_str_for_enums(void) {
    is_str(csock_family_name(AF_INET), "AF_INET", "test_str_for_enums: AF_INET");
    is_str(csock_type_name(SOCK_STREAM), "SOCK_STREAM", "test_str_for_enums: SOCK_STREAM");
}

/* GeneralModuleTests.testCloseException: a second owner closed the descriptor. */
static void test_close_exception(void) {
    csock_socket sock, other;
    csock_open(&sock, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    is_int(bind_loopback4(&sock), 0, "testCloseException: bind");
    is_int(csock_adopt(&other, sock.fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0,
           "testCloseException: socket(fileno=sock.fileno())");
    is_int(csock_close(&other), 0, "testCloseException: ... .close()");
    int fds = count_fds();
    errno = 0;
    is_int(csock_close(&sock), -EBADF, "testCloseException: sock.close() gives -EBADF");
    is_int(errno, EBADF, "testCloseException: errno EBADF");
    is_int(sock.fd, -1, "testCloseException: the socket is closed all the same");
    is_int(count_fds(), fds, "testCloseException: nothing else was closed");
}

/* GeneralModuleTests.test_socket_close: the descriptor closed behind the socket's back. */
static void test_socket_close(void) {
    csock_socket sock;
    struct sockaddr_storage addr;
    socklen_t len;
    csock_open(&sock, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    bind_loopback4(&sock);
    is_int(close(sock.fd), 0, "test_socket_close: socket.close(sock.fileno())");
    is_int(csock_getsockname(&sock, &addr, &len), -EBADF,
           "test_socket_close: the next operation fails with -EBADF");
    is_int(csock_close(&sock), -EBADF, "test_socket_close: sock.close() fails with -EBADF");
    is_int(csock_close(&sock), 0, "test_socket_close: closing again is a no-op");
}

/* GeneralModuleTests.test_socket_consistent_sock_type */
static void test_consistent_sock_type(void) {
    csock_socket s;
    int type = SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
    is_int(csock_open(&s, AF_INET, type, CSOCK_DEFAULT), 0,
           "test_socket_consistent_sock_type: open with both flags");
    is_int(s.type, SOCK_STREAM, "test_socket_consistent_sock_type: type is SOCK_STREAM");
    csock_set_blocking(&s, true);
    is_int(s.type, SOCK_STREAM, "test_socket_consistent_sock_type: after setblocking(True)");
    is_int(fd_nonblock(s.fd), 0, "test_socket_consistent_sock_type: now blocking");
    csock_set_blocking(&s, false);
    is_int(s.type, SOCK_STREAM, "test_socket_consistent_sock_type: after setblocking(False)");
    is_int(fd_nonblock(s.fd), 1, "test_socket_consistent_sock_type: now non-blocking");
    csock_close(&s);
}

/* The largest value with a name, +1: CPython takes max() of its enum the same way. */
static int first_unknown(const char *(*name)(int), int limit) {
    int last = 0;
    for (int v = 1; v < limit; v++)
        if (name(v)) last = v;
    return last + 1;
}

/* GeneralModuleTests.test_unknown_socket_family_repr */
static void test_unknown_family_repr(void) {
    csock_socket sock, s;
    csock_open(&sock, AF_INET, SOCK_STREAM, 0);
    int fd = csock_detach(&sock);
    int family = first_unknown(csock_family_name, 256);
    int type = first_unknown(csock_type_name, 256);
    ok(csock_family_name(family) == NULL && csock_type_name(type) == NULL,
       "test_unknown_socket_family_repr: family %d and type %d have no name", family, type);
    is_int(csock_adopt(&s, fd, family, type, 23), 0,
           "test_unknown_socket_family_repr: adopt with unknown values");
    is_int(s.family, family, "test_unknown_socket_family_repr: family recorded as given");
    is_int(s.type, type, "test_unknown_socket_family_repr: type recorded as given");
    is_int(s.proto, 23, "test_unknown_socket_family_repr: proto recorded as given");
    char want[64];
    snprintf(want, sizeof want, "family=%d, type=%d, proto=23", family, type);
    ok(strstr(repr_of(&s), want) != NULL, "test_unknown_socket_family_repr: repr shows %s",
       want);
    csock_close(&s);
}

/* GeneralModuleTests._test_socket_fileno: adopt s's descriptor with nothing given. */
static void check_fileno(csock_socket *s, int family, int type, const char *what) {
    is_int(s->family, family, "test_socket_fileno %s: family", what);
    is_int(s->type, type, "test_socket_fileno %s: type", what);
    int fd = s->fd;
    csock_socket s2;
    is_int(csock_adopt(&s2, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0,
           "test_socket_fileno %s: socket(fileno=fd)", what);
    is_int(csock_detach(s), fd, "test_socket_fileno %s: detach the old one", what);
    is_int(s2.family, family, "test_socket_fileno %s: s2.family", what);
    is_int(s2.type, type, "test_socket_fileno %s: s2.type", what);
    is_int(s2.fd, fd, "test_socket_fileno %s: s2.fileno()", what);
    csock_close(&s2);
}

/* GeneralModuleTests.test_socket_fileno */
static void test_socket_fileno(void) {
    csock_socket s;
    csock_open(&s, AF_INET, SOCK_STREAM, CSOCK_DEFAULT);
    is_int(bind_loopback4(&s), 0, "test_socket_fileno: bind inet stream");
    check_fileno(&s, AF_INET, SOCK_STREAM, "AF_INET SOCK_STREAM");
    csock_open(&s, AF_INET, SOCK_DGRAM, CSOCK_DEFAULT);
    is_int(bind_loopback4(&s), 0, "test_socket_fileno: bind inet dgram");
    check_fileno(&s, AF_INET, SOCK_DGRAM, "AF_INET SOCK_DGRAM");
    if (csock_open(&s, AF_INET6, SOCK_STREAM, CSOCK_DEFAULT) == 0) {
        if (bind_loopback6(&s) == 0)
            check_fileno(&s, AF_INET6, SOCK_STREAM, "AF_INET6 SOCK_STREAM");
        else
            diag("test_socket_fileno: ::1 not configured, AF_INET6 part not run");
        csock_close(&s);
    }
    char dir[] = "/tmp/csock-cpython-XXXXXX";
    ok(mkdtemp(dir) != NULL, "test_socket_fileno: mkdtemp");
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    snprintf(a.sun_path, sizeof a.sun_path, "%s/socket", dir);
    csock_open(&s, AF_UNIX, SOCK_STREAM, CSOCK_DEFAULT);
    is_int(bind(s.fd, (struct sockaddr *)&a, sizeof a), 0, "test_socket_fileno: bind unix");
    check_fileno(&s, AF_UNIX, SOCK_STREAM, "AF_UNIX SOCK_STREAM");
    unlink(a.sun_path);
    rmdir(dir);
}

/* GeneralModuleTests.test_socket_fileno_rejects_invalid_socket (-1) and
 * test_socket_fileno_rejects_negative (-42). */
static void test_fileno_rejects_negative(void) {
    static const int fds[] = {-1, -42};
    for (size_t i = 0; i < 2; i++) {
        const char *name = fds[i] == -1 ? "test_socket_fileno_rejects_invalid_socket"
                                        : "test_socket_fileno_rejects_negative";
        csock_socket s = SENTINEL;
        is_int(csock_adopt(&s, fds[i], AF_INET, SOCK_STREAM, CSOCK_DEFAULT), -EBADF,
               "%s: fileno=%d gives -EBADF", name, fds[i]);
        ok(strstr(csock_last_error(), "negative file descriptor") != NULL,
           "%s: message says negative file descriptor", name);
        ok(untouched(&s), "%s: out untouched", name);
    }
}

/* GeneralModuleTests.test_socket_fileno_requires_valid_fd (os_helper.make_bad_fd) */
static void test_fileno_requires_valid_fd(void) {
    int bad = open("/dev/null", O_RDONLY);
    close(bad);
    csock_socket s = SENTINEL;
    is_int(csock_adopt(&s, bad, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -EBADF,
           "test_socket_fileno_requires_valid_fd: socket(fileno=bad) gives -EBADF");
    is_int(csock_adopt(&s, bad, AF_INET, SOCK_STREAM, CSOCK_DEFAULT), -EBADF,
           "test_socket_fileno_requires_valid_fd: with AF_INET, SOCK_STREAM too");
    is_int(csock_adopt(&s, bad, AF_INET, SOCK_STREAM, 0), -EBADF,
           "test_socket_fileno_requires_valid_fd: with all three values given too");
    ok(untouched(&s), "test_socket_fileno_requires_valid_fd: out untouched");
}

/* GeneralModuleTests.test_socket_fileno_requires_socket_fd (a NamedTemporaryFile) */
static void test_fileno_requires_socket_fd(void) {
    char path[] = "/tmp/csock-cpython-file-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "test_socket_fileno_requires_socket_fd: temporary file");
    unlink(path);
    csock_socket s = SENTINEL;
    int fds = count_fds();
    is_int(csock_adopt(&s, fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -ENOTSOCK,
           "test_socket_fileno_requires_socket_fd: socket(fileno=file) gives -ENOTSOCK");
    is_int(csock_adopt(&s, fd, AF_INET, SOCK_STREAM, CSOCK_DEFAULT), -ENOTSOCK,
           "test_socket_fileno_requires_socket_fd: with AF_INET, SOCK_STREAM: -ENOTSOCK");
    ok(untouched(&s), "test_socket_fileno_requires_socket_fd: out untouched");
    is_int(count_fds(), fds, "test_socket_fileno_requires_socket_fd: nothing closed");
    ok(fd_open(fd), "test_socket_fileno_requires_socket_fd: the file is still open");
    close(fd);
}

int main(void) {
    test_repr();
    test_csocket_repr();
    test_new_attributes();
    test_str_for_enums();
    test_close_exception();
    test_socket_close();
    test_consistent_sock_type();
    test_unknown_family_repr();
    test_socket_fileno();
    test_fileno_rejects_negative();
    test_fileno_requires_valid_fd();
    test_fileno_requires_socket_fd();
    return done_testing();
}
