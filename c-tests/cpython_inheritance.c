/*
 * Ports of CPython's Lib/test/test_socket.py (3.11): InheritanceTest (every test),
 * NonblockConstantTest.test_SOCK_NONBLOCK, BasicSocketPairTest (testDefaults, testRecv,
 * testSend) and ContextManagersTest._testSocketClass. Each TAP name starts with the CPython test
 * it mirrors. Inheritability and blocking mode are read back from the kernel (fcntl), and the
 * inheritance tests also execute a child to see what it really inherits.
 *
 * NonblockConstantTest's timeout and setdefaulttimeout() parts have no csock counterpart (csock
 * has no timeouts); its blocking/non-blocking transitions are ported.
 */
#include <csock.h>

#include <sys/socket.h>
#include <sys/wait.h>

#include "tap.h"

/* Whether a freshly executed /bin/sh has descriptor fd open: 1, 0, or -1 if it did not run. */
static int child_inherits(int fd) {
    char script[64];
    snprintf(script, sizeof script, "test -e /proc/self/fd/%d", fd);
    pid_t pid = fork();
    if (pid == 0) {
        execl("/bin/sh", "sh", "-c", script, (char *)NULL);
        _exit(127);
    }
    int status;
    if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) return -1;
    return WEXITSTATUS(status) == 0 ? 1 : WEXITSTATUS(status) == 1 ? 0 : -1;
}

/* Checks what a socket says about inheritance, what fcntl says, and what a child gets. */
static void inheritable_is(const csock_socket *s, int want, const char *name) {
    is_int(csock_get_inheritable(s), want, "%s: get_inheritable() is %d", name, want);
    is_int(fd_cloexec(s->fd), !want, "%s: FD_CLOEXEC is %d", name, !want);
    is_int(child_inherits(s->fd), want, "%s: an executed child %s it", name,
           want ? "inherits" : "does not inherit");
}

/* InheritanceTest.test_SOCK_CLOEXEC */
static void test_sock_cloexec(void) {
    csock_socket s;
    is_int(csock_open(&s, AF_INET, SOCK_STREAM | SOCK_CLOEXEC, CSOCK_DEFAULT), 0,
           "test_SOCK_CLOEXEC: socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC)");
    is_int(s.type, SOCK_STREAM, "test_SOCK_CLOEXEC: type is SOCK_STREAM");
    inheritable_is(&s, 0, "test_SOCK_CLOEXEC");
    csock_close(&s);
}

/* InheritanceTest.test_default_inheritable */
static void test_default_inheritable(void) {
    csock_socket s;
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    inheritable_is(&s, 0, "test_default_inheritable");
    csock_close(&s);
}

/* InheritanceTest.test_dup */
static void test_dup(void) {
    csock_socket s, newsock;
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    csock_set_inheritable(&s, true); /* the copy must not take this from the original */
    is_int(csock_dup(&newsock, &s), 0, "test_dup: sock.dup()");
    csock_close(&s);
    inheritable_is(&newsock, 0, "test_dup");
    csock_close(&newsock);
}

/* InheritanceTest.test_set_inheritable */
static void test_set_inheritable(void) {
    csock_socket s;
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    is_int(csock_set_inheritable(&s, true), 0, "test_set_inheritable: set_inheritable(True)");
    inheritable_is(&s, 1, "test_set_inheritable (True)");
    is_int(csock_set_inheritable(&s, false), 0, "test_set_inheritable: set_inheritable(False)");
    inheritable_is(&s, 0, "test_set_inheritable (False)");
    csock_close(&s);
}

/* InheritanceTest.test_get_inheritable_cloexec: FD_CLOEXEC cleared behind csock's back. */
static void test_get_inheritable_cloexec(void) {
    csock_socket s;
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    is_int(csock_get_inheritable(&s), 0, "test_get_inheritable_cloexec: not inheritable");
    fcntl(s.fd, F_SETFD, fcntl(s.fd, F_GETFD) & ~FD_CLOEXEC);
    is_int(csock_get_inheritable(&s), 1,
           "test_get_inheritable_cloexec: inheritable once FD_CLOEXEC is cleared");
    csock_close(&s);
}

/* InheritanceTest.test_set_inheritable_cloexec */
static void test_set_inheritable_cloexec(void) {
    csock_socket s;
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    is_int(fcntl(s.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC,
           "test_set_inheritable_cloexec: FD_CLOEXEC set");
    csock_set_inheritable(&s, true);
    is_int(fcntl(s.fd, F_GETFD) & FD_CLOEXEC, 0,
           "test_set_inheritable_cloexec: FD_CLOEXEC cleared by set_inheritable(True)");
    csock_close(&s);
}

/* InheritanceTest.test_socketpair */
static void test_socketpair(void) {
    csock_socket pair[2];
    is_int(csock_socketpair(pair, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0,
           "test_socketpair: socketpair()");
    inheritable_is(&pair[0], 0, "test_socketpair s1");
    inheritable_is(&pair[1], 0, "test_socketpair s2");
    csock_close(&pair[0]);
    csock_close(&pair[1]);
}

/* NonblockConstantTest.checkNonblock, without the timeout: type, getblocking(), O_NONBLOCK. */
static void check_nonblock(const csock_socket *s, int nonblock, const char *step) {
    is_int(s->type, SOCK_STREAM, "test_SOCK_NONBLOCK %s: type is SOCK_STREAM", step);
    is_int(fd_nonblock(s->fd), nonblock, "test_SOCK_NONBLOCK %s: O_NONBLOCK is %d", step,
           nonblock);
    is_int(csock_get_blocking(s), !nonblock, "test_SOCK_NONBLOCK %s: getblocking() is %d", step,
           !nonblock);
}

/* NonblockConstantTest.test_SOCK_NONBLOCK */
static void test_sock_nonblock(void) {
    csock_socket s;
    is_int(csock_open(&s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, CSOCK_DEFAULT), 0,
           "test_SOCK_NONBLOCK: socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK)");
    check_nonblock(&s, 1, "created");
    csock_set_blocking(&s, true);
    check_nonblock(&s, 0, "setblocking(True)");
    csock_set_blocking(&s, false);
    check_nonblock(&s, 1, "setblocking(False)");
    csock_set_blocking(&s, true);
    check_nonblock(&s, 0, "setblocking(True) again");
    csock_close(&s);
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    check_nonblock(&s, 0, "socket() with defaults");
    csock_close(&s);
}

/* BasicSocketPairTest._check_defaults, testDefaults, testRecv, testSend */
static void test_socketpair_basics(void) {
    csock_socket pair[2];
    is_int(csock_socketpair(pair, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0,
           "BasicSocketPairTest: socketpair()");
    for (int i = 0; i < 2; i++) {
        const char *name = i ? "BasicSocketPairTest._testDefaults (cli)"
                             : "BasicSocketPairTest.testDefaults (serv)";
        is_int(pair[i].family, AF_UNIX, "%s: family AF_UNIX", name);
        is_int(pair[i].type, SOCK_STREAM, "%s: type SOCK_STREAM", name);
        is_int(pair[i].proto, 0, "%s: proto 0", name);
    }
    char buf[16] = {0};
    ok(send(pair[1].fd, "Michael", 7, 0) == 7 && recv(pair[0].fd, buf, sizeof buf, 0) == 7 &&
           memcmp(buf, "Michael", 7) == 0,
       "BasicSocketPairTest.testRecv: serv receives what cli sent");
    ok(send(pair[0].fd, "Gilfix", 6, 0) == 6 && recv(pair[1].fd, buf, sizeof buf, 0) == 6 &&
           memcmp(buf, "Gilfix", 6) == 0,
       "BasicSocketPairTest.testSend: cli receives what serv sent");
    csock_close(&pair[0]);
    csock_close(&pair[1]);
}

/* ContextManagersTest._testSocketClass: closed on leaving, closing inside is fine, and a
 * closed socket refuses operations. */
static void test_socket_class(void) {
    csock_socket s;
    csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    int fd = s.fd;
    ok(s.fd >= 0, "_testSocketClass: open inside the block");
    is_int(csock_close(&s), 0, "_testSocketClass: closed on leaving the block");
    is_int(s.fd, -1, "_testSocketClass: sock._closed");
    ok(!fd_open(fd), "_testSocketClass: the descriptor is closed");
    is_int(csock_close(&s), 0, "_testSocketClass: close inside the block, then on leaving");
    is_int(csock_shutdown(&s, SHUT_RDWR), -EBADF,
           "_testSocketClass: an operation on the closed socket fails with -EBADF");
    is_int(csock_set_inheritable(&s, true), -EBADF,
           "_testSocketClass: set_inheritable on the closed socket fails with -EBADF");
}

int main(void) {
    test_sock_cloexec();
    test_default_inheritable();
    test_dup();
    test_set_inheritable();
    test_get_inheritable_cloexec();
    test_set_inheritable_cloexec();
    test_socketpair();
    test_sock_nonblock();
    test_socketpair_basics();
    test_socket_class();
    return done_testing();
}
