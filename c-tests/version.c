/*
 * csock_version_number() and the CSOCK_VERSION_NUMBER macro; CSOCK_SOCKET_INIT, the closed
 * socket value, in static, automatic and nested initialisers.
 */
#include <csock.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "tap.h"

#if !defined(CSOCK_VERSION_NUMBER)
#error "csock.h does not define CSOCK_VERSION_NUMBER"
#endif
#if CSOCK_VERSION_NUMBER != CSOCK_VERSION_MAJOR * 10000 + CSOCK_VERSION_MINOR * 100 + CSOCK_VERSION_PATCH
#error "CSOCK_VERSION_NUMBER is not MAJOR * 10000 + MINOR * 100 + PATCH"
#endif

/* Usable where a constant initialiser is required. */
static csock_socket static_sock = CSOCK_SOCKET_INIT;
static struct {
    int id;
    csock_socket sock;
} nested = {7, CSOCK_SOCKET_INIT};

static int all_closed(const csock_socket *s) {
    return s->fd == -1 && s->family == -1 && s->type == -1 && s->proto == -1;
}

static void test_version_number(void) {
    int major = -1, minor = -1, patch = -1;
    is_int(csock_version_number(), CSOCK_VERSION_NUMBER,
           "csock_version_number() is the header's CSOCK_VERSION_NUMBER");
    is_int(sscanf(csock_version(), "%d.%d.%d", &major, &minor, &patch), 3,
           "csock_version() is MAJOR.MINOR.PATCH");
    is_int(csock_version_number(), major * 10000 + minor * 100 + patch,
           "csock_version_number() is MAJOR * 10000 + MINOR * 100 + PATCH of csock_version()");
    is_int(CSOCK_VERSION_NUMBER,
           CSOCK_VERSION_MAJOR * 10000 + CSOCK_VERSION_MINOR * 100 + CSOCK_VERSION_PATCH,
           "CSOCK_VERSION_NUMBER is MAJOR * 10000 + MINOR * 100 + PATCH of the macros");
    errno = 1234;
    (void)csock_version_number();
    is_int(errno, 1234, "csock_version_number() leaves errno alone");
}

static void test_socket_init(void) {
    csock_socket s = CSOCK_SOCKET_INIT;
    csock_socket pair[2] = {CSOCK_SOCKET_INIT, CSOCK_SOCKET_INIT};
    ok(all_closed(&s), "CSOCK_SOCKET_INIT: fd, family, type and proto are -1");
    ok(all_closed(&static_sock), "... in a static initialiser");
    ok(all_closed(&nested.sock) && nested.id == 7, "... nested in a struct initialiser");
    ok(all_closed(&pair[0]) && all_closed(&pair[1]), "... in an array initialiser");
    if (!fd_open(0)) dup2(open("/dev/null", O_RDONLY | O_CLOEXEC), 0); /* a descriptor 0 to lose */
    ok(fd_open(0), "descriptor 0 (standard input) is open before the cleanup");
    is_int(csock_close(&s), 0, "csock_close() of a CSOCK_SOCKET_INIT socket is a no-op");
    ok(fd_open(0), "standard input is still open: nothing was closed");
    is_int(csock_get_blocking(&s), -EBADF, "operations on it give -EBADF");
    is_int(csock_detach(&s), -EBADF, "csock_detach() of it gives -EBADF");
    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0, "it can be used as an out-parameter");
    ok(s.fd >= 0 && s.family == AF_UNIX, "which overwrites every field");
    is_int(csock_close(&s), 0, "and closed again");
    is_int(s.fd, -1, "after csock_close() fd is -1 again");
}

int main(void) {
    test_version_number();
    test_socket_init();
    return done_testing();
}
