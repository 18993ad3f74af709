/*
 * Ports of CPython's Lib/test/test_socket.py (3.11) that run over a connected loopback TCP
 * pair: BasicTCPTest (testFromFd, testDup, testShutdown, testShutdown_overflow, testDetach),
 * TCPCloserTest.testClose and NonBlockingTCPTests (testSetBlocking, testInitNonBlocking,
 * testInheritFlagsBlocking, testAccept). Each TAP name starts with the CPython test it mirrors.
 *
 * CPython runs the client in a thread; here the client connects first (loopback connections
 * complete into the listener's backlog) and the server side then accepts, so no thread is
 * needed. Timeouts (settimeout) have no csock counterpart: only the blocking parts are ported.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

#include "tap.h"

static const char MSG[] = "Michael Gilfix was here\n";
#define MSG_LEN (sizeof MSG - 1)

/* SocketTCPTest + SocketConnectedTest: serv (listening), cli (connected), serv_conn. */
struct connected {
    csock_socket serv, cli, serv_conn;
    struct sockaddr_in addr;
};

static int listen_loopback(csock_socket *serv, struct sockaddr_in *addr) {
    socklen_t len = sizeof *addr;
    *addr = (struct sockaddr_in){.sin_family = AF_INET,
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (csock_open(serv, AF_INET, SOCK_STREAM, CSOCK_DEFAULT) < 0) return -1;
    if (bind(serv->fd, (struct sockaddr *)addr, sizeof *addr) < 0) return -1;
    if (getsockname(serv->fd, (struct sockaddr *)addr, &len) < 0) return -1;
    return listen(serv->fd, 5);
}

static int connect_client(csock_socket *cli, const struct sockaddr_in *addr) {
    if (csock_open(cli, AF_INET, SOCK_STREAM, CSOCK_DEFAULT) < 0) return -1;
    return connect(cli->fd, (const struct sockaddr *)addr, sizeof *addr);
}

static int set_up(struct connected *c, const char *name) {
    int rc = listen_loopback(&c->serv, &c->addr) == 0 && connect_client(&c->cli, &c->addr) == 0 &&
             csock_accept(&c->serv, &c->serv_conn, NULL, NULL, 0) == 0;
    ok(rc, "%s: connected loopback pair", name);
    return rc;
}

static void tear_down(struct connected *c) {
    csock_close(&c->serv_conn);
    csock_close(&c->cli);
    csock_close(&c->serv);
}

/* Receives exactly MSG on fd. */
static int got_msg(int fd) {
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    return n == (ssize_t)MSG_LEN && memcmp(buf, MSG, MSG_LEN) == 0;
}

static int send_msg(const csock_socket *s) {
    return send(s->fd, MSG, MSG_LEN, 0) == (ssize_t)MSG_LEN;
}

/* The server sends MSG; sock, a new socket for the client's connection, receives it. Then
 * everything is closed. */
static void served_through(struct connected *c, csock_socket *sock, const char *name) {
    ok(send_msg(&c->serv_conn), "%s: server sends", name);
    ok(got_msg(sock->fd), "%s: sock.recv() gets MSG", name);
    csock_close(sock);
    tear_down(c);
}

/* BasicTCPTest.testFromFd: socket.fromfd(fd, AF_INET, SOCK_STREAM) */
static void test_from_fd(void) {
    struct connected c;
    if (!set_up(&c, "testFromFd")) return;
    csock_socket sock;
    is_int(csock_fromfd(&sock, c.cli.fd, AF_INET, SOCK_STREAM, 0), 0, "testFromFd: fromfd");
    ok(sock.fd != c.cli.fd && fd_open(c.cli.fd), "testFromFd: a new descriptor, original open");
    is_int(fd_cloexec(sock.fd), 1, "testFromFd: the duplicate is not inheritable");
    served_through(&c, &sock, "testFromFd");
}

/* BasicTCPTest.testDup */
static void test_dup(void) {
    struct connected c;
    if (!set_up(&c, "testDup")) return;
    csock_socket sock;
    is_int(csock_dup(&sock, &c.cli), 0, "testDup: cli_conn.dup()");
    served_through(&c, &sock, "testDup");
}

/* BasicTCPTest.testShutdown and testShutdown_overflow */
static void test_shutdown(void) {
    struct connected c;
    if (!set_up(&c, "testShutdown")) return;
    ok(send_msg(&c.serv_conn), "testShutdown: server sends");
    is_int(csock_shutdown(&c.serv_conn, 2), 0, "testShutdown: serv_conn.shutdown(2)");
    ok(got_msg(c.cli.fd), "testShutdown: cli_conn.recv() gets MSG");
    char b;
    is_int(recv(c.cli.fd, &b, 1, 0), 0, "testShutdown: then end of stream");
    /* testShutdown_overflow: CPython raises OverflowError for INT_MAX + 1; csock takes an int,
     * and any how other than SHUT_RD/WR/RDWR is refused without a system call. */
    is_int(csock_shutdown(&c.cli, 3), -EINVAL, "testShutdown_overflow: how=3 gives -EINVAL");
    is_int(csock_shutdown(&c.cli, -1), -EINVAL, "testShutdown_overflow: how=-1 gives -EINVAL");
    tear_down(&c);
}

/* BasicTCPTest.testDetach */
static void test_detach(void) {
    struct connected c;
    if (!set_up(&c, "testDetach")) return;
    int fileno = c.cli.fd;
    int f = csock_detach(&c.cli);
    is_int(f, fileno, "testDetach: detach() returns fileno()");
    is_int(c.cli.fd, -1, "testDetach: cli_conn is closed (fd -1)");
    is_int(csock_get_blocking(&c.cli), -EBADF, "testDetach: cli_conn cannot be used anymore");
    is_int(csock_close(&c.cli), 0, "testDetach: cli_conn.close() is a no-op");
    ok(fd_open(f), "testDetach: the descriptor is still open");
    csock_socket sock;
    is_int(csock_adopt(&sock, f, AF_INET, SOCK_STREAM, CSOCK_DEFAULT), 0,
           "testDetach: socket(AF_INET, SOCK_STREAM, fileno=f)");
    served_through(&c, &sock, "testDetach");
}

/* TCPCloserTest.testClose */
static void test_close(void) {
    struct connected c;
    if (!set_up(&c, "testClose")) return;
    is_int(csock_close(&c.serv_conn), 0, "testClose: conn.close()");
    struct pollfd p = {.fd = c.cli.fd, .events = POLLIN};
    is_int(poll(&p, 1, 10000), 1, "testClose: the client becomes readable");
    char b;
    is_int(recv(c.cli.fd, &b, 1, 0), 0, "testClose: sd.recv(1) == b''");
    is_int(csock_close(&c.serv_conn), 0, "testClose: calling close() again is safe");
    is_int(csock_close(&c.serv_conn), 0, "testClose: ... and again");
    tear_down(&c);
}

/* NonBlockingTCPTests.testSetBlocking (the setblocking part; timeouts are CPython's own) */
static void test_set_blocking(void) {
    csock_socket serv;
    struct sockaddr_in addr;
    listen_loopback(&serv, &addr);
    is_int(csock_set_blocking(&serv, true), 0, "testSetBlocking: setblocking(True)");
    is_int(csock_get_blocking(&serv), 1, "testSetBlocking: getblocking() is True");
    is_int(fd_nonblock(serv.fd), 0, "testSetBlocking: O_NONBLOCK clear");
    is_int(csock_set_blocking(&serv, false), 0, "testSetBlocking: setblocking(False)");
    is_int(csock_get_blocking(&serv), 0, "testSetBlocking: getblocking() is False");
    is_int(fd_nonblock(serv.fd), 1, "testSetBlocking: O_NONBLOCK set");
    csock_close(&serv);
}

/* NonBlockingTCPTests.testInitNonBlocking */
static void test_init_non_blocking(void) {
    csock_socket serv;
    is_int(csock_open(&serv, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, CSOCK_DEFAULT), 0,
           "testInitNonBlocking: socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK)");
    is_int(csock_get_blocking(&serv), 0, "testInitNonBlocking: getblocking() is False");
    is_int(fd_nonblock(serv.fd), 1, "testInitNonBlocking: O_NONBLOCK set");
    is_int(serv.type, SOCK_STREAM, "testInitNonBlocking: type is SOCK_STREAM");
    csock_close(&serv);
}

/* NonBlockingTCPTests.testInheritFlagsBlocking: a listener that is non-blocking (CPython's
 * timeout makes it so) gives a blocking connection. */
static void test_inherit_flags_blocking(void) {
    struct connected c;
    if (listen_loopback(&c.serv, &c.addr) < 0 || connect_client(&c.cli, &c.addr) < 0) {
        ok(0, "testInheritFlagsBlocking: connected loopback pair");
        return;
    }
    csock_set_blocking(&c.serv, false);
    is_int(csock_accept(&c.serv, &c.serv_conn, NULL, NULL, 0), 0,
           "testInheritFlagsBlocking: accept() on a non-blocking listener");
    is_int(csock_get_blocking(&c.serv_conn), 1, "testInheritFlagsBlocking: conn is blocking");
    is_int(fd_nonblock(c.serv_conn.fd), 0, "testInheritFlagsBlocking: O_NONBLOCK clear");
    is_int(fd_cloexec(c.serv_conn.fd), 1, "testInheritFlagsBlocking: conn not inheritable");
    tear_down(&c);
}

/* NonBlockingTCPTests.testAccept */
static void test_accept(void) {
    struct connected c;
    listen_loopback(&c.serv, &c.addr);
    csock_set_blocking(&c.serv, false);
    csock_socket conn = {0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a};
    int fds = count_fds();
    errno = 0;
    is_int(csock_accept(&c.serv, &conn, NULL, NULL, 0), -EAGAIN,
           "testAccept: accept() before connect() fails with -EAGAIN (BlockingIOError)");
    is_int(errno, EAGAIN, "testAccept: errno EAGAIN");
    is_int(conn.fd, 0x5a5a5a5a, "testAccept: out untouched");
    is_int(count_fds(), fds, "testAccept: no descriptor made");
    is_int(connect_client(&c.cli, &c.addr), 0, "testAccept: client connects");
    struct pollfd p = {.fd = c.serv.fd, .events = POLLIN};
    is_int(poll(&p, 1, 10000), 1, "testAccept: select() says readable");
    struct sockaddr_in peer;
    socklen_t len = sizeof peer;
    is_int(csock_accept(&c.serv, &c.serv_conn, (struct sockaddr *)&peer, &len, 0), 0,
           "testAccept: non-blocking accept() does not block");
    is_int(peer.sin_family, AF_INET, "testAccept: peer address returned");
    is_int(csock_get_blocking(&c.serv_conn), 1, "testAccept: conn.gettimeout() is None");
    tear_down(&c);
}

int main(void) {
    test_from_fd();
    test_dup();
    test_shutdown();
    test_detach();
    test_close();
    test_set_blocking();
    test_init_non_blocking();
    test_inherit_flags_blocking();
    test_accept();
    return done_testing();
}
