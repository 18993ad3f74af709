/*
 * activated_echo.c: a line echo server that can be socket-activated.
 *
 * Started by systemd (a .socket unit) or by systemd-socket-activate, it serves on the listeners
 * it is given (csock_listen_fds: every one adopted with its family, type and protocol detected,
 * and made close-on-exec). Started by hand, it opens its own TCP listener with csock_open.
 *
 *   activated_echo [IPV4-ADDRESS [PORT]]      default 127.0.0.1 7777; port 0: any free port
 *
 *   systemd-socket-activate -l 127.0.0.1:7777 -l /tmp/echo.sock --fdname=tcp:local \
 *       build/examples/activated_echo
 *
 * It prints "listening on ADDRESS (NAME)" for each listener on standard output, echoes every
 * line each client sends, serves all listeners and clients with one poll loop, and exits 0 on
 * SIGTERM or SIGINT after closing every socket.
 */
/* sigprocmask() and sigset_t are POSIX extensions: ask for them, so that this file builds
 * as a copy with nothing but `cc $(pkg-config --cflags --libs csock)`, whatever the -std. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <csock.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_LISTENERS 16
#define MAX_CLIENTS 64
#define LINE_MAX_BYTES 4096

struct client {
    csock_socket sock;
    size_t len;
    char buf[LINE_MAX_BYTES];
};

static csock_listen_fd listeners[MAX_LISTENERS];
static int n_listeners;
static struct client clients[MAX_CLIENTS];
static int n_clients;
static volatile sig_atomic_t stop_signal;

static void on_signal(int sig) { stop_signal = sig; }

static int fail(const char *what, int rc) {
    const char *why = rc < 0 ? csock_last_error() : strerror(errno);
    fprintf(stderr, "activated_echo: %s: %s\n", what, why);
    return 1;
}

/* Not activated: one TCP listener of our own. */
static int open_listener(const char *host, const char *port_text) {
    struct sockaddr_in sin = {.sin_family = AF_INET};
    char *end;
    unsigned long port = strtoul(port_text, &end, 10);
    if (*end || port > 65535 || inet_pton(AF_INET, host, &sin.sin_addr) != 1) {
        fprintf(stderr, "usage: activated_echo [IPV4-ADDRESS [PORT]]\n");
        return 1;
    }
    sin.sin_port = htons((unsigned short)port);

    csock_listen_fd *l = &listeners[0];
    int rc = csock_open(&l->sock, AF_INET, SOCK_STREAM, CSOCK_DEFAULT);
    if (rc < 0) return fail("csock_open", rc);
    int one = 1;
    if (setsockopt(l->sock.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(l->sock.fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(l->sock.fd, 64) < 0) {
        int err = errno;
        csock_close(&l->sock);
        errno = err;
        return fail(host, 0);
    }
    snprintf(l->name, sizeof l->name, "own");
    n_listeners = 1;
    return 0;
}

/* Writes all of buf; a client that is gone is dropped by its next read. */
static void send_all(const csock_socket *sock, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = send(sock->fd, buf, len, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return;
        buf += n;
        len -= (size_t)n;
    }
}

static void accept_client(const csock_socket *listener) {
    csock_socket sock = CSOCK_SOCKET_INIT;
    /* The listener is non-blocking: a connection gone since poll gives -EAGAIN, not a hang. */
    int rc = csock_accept(listener, &sock, NULL, NULL, 0);
    if (rc < 0) {
        if (rc != -EAGAIN && rc != -ECONNABORTED) fprintf(stderr, "%s\n", csock_last_error());
        return;
    }
    if (n_clients == MAX_CLIENTS) {
        csock_close(&sock);
        return;
    }
    clients[n_clients++] = (struct client){.sock = sock};
}

/* Reads what the client sent and echoes each complete line; 0 once the client is done. */
static int serve_client(struct client *c) {
    ssize_t n = read(c->sock.fd, c->buf + c->len, sizeof c->buf - c->len);
    if (n < 0 && errno == EINTR) return 1;
    if (n <= 0) {
        send_all(&c->sock, c->buf, c->len); /* a last line without its newline */
        return 0;
    }
    c->len += (size_t)n;
    char *start = c->buf, *newline;
    while ((newline = memchr(start, '\n', c->len - (size_t)(start - c->buf))) != NULL) {
        send_all(&c->sock, start, (size_t)(newline + 1 - start));
        start = newline + 1;
    }
    c->len -= (size_t)(start - c->buf);
    memmove(c->buf, start, c->len);
    if (c->len == sizeof c->buf) { /* a line longer than the buffer: echo what we have */
        send_all(&c->sock, c->buf, c->len);
        c->len = 0;
    }
    return 1;
}

int main(int argc, char **argv) {
    /* The listeners systemd passed, if it started us; the variables are removed so that a child
     * we might start does not take them for its own. */
    int n = csock_listen_fds(listeners, MAX_LISTENERS, CSOCK_LISTEN_UNSET_ENV);
    if (n < 0) return fail("csock_listen_fds", n);
    n_listeners = n;
    if (n == 0 && open_listener(argc > 1 ? argv[1] : "127.0.0.1", argc > 2 ? argv[2] : "7777"))
        return 1;

    for (int i = 0; i < n_listeners; i++) {
        struct sockaddr_storage addr;
        socklen_t len = sizeof addr;
        char text[256] = "?";
        if (csock_getsockname(&listeners[i].sock, &addr, &len) == 0)
            csock_format_addr((struct sockaddr *)&addr, len, listeners[i].sock.proto, text,
                              sizeof text);
        int rc = csock_set_blocking(&listeners[i].sock, false);
        if (rc < 0) return fail("csock_set_blocking", rc);
        printf("listening on %s (%s)\n", text, listeners[i].name);
    }
    fflush(stdout);

    /* SIGTERM and SIGINT are blocked except inside ppoll, so one cannot slip in between the
     * check of stop_signal and the wait. */
    sigset_t blocked, during_poll;
    sigemptyset(&blocked);
    sigaddset(&blocked, SIGTERM);
    sigaddset(&blocked, SIGINT);
    sigprocmask(SIG_BLOCK, &blocked, &during_poll);
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    struct pollfd pfd[MAX_LISTENERS + MAX_CLIENTS];
    while (!stop_signal) {
        for (int i = 0; i < n_listeners; i++)
            pfd[i] = (struct pollfd){.fd = listeners[i].sock.fd, .events = POLLIN};
        for (int i = 0; i < n_clients; i++)
            pfd[n_listeners + i] = (struct pollfd){.fd = clients[i].sock.fd, .events = POLLIN};
        if (ppoll(pfd, (nfds_t)(n_listeners + n_clients), NULL, &during_poll) < 0) {
            if (errno == EINTR) continue;
            return fail("ppoll", 0);
        }
        /* Clients first (accepting would move them in pfd), last to first (removal swaps). */
        for (int i = n_clients - 1; i >= 0; i--) {
            if (!pfd[n_listeners + i].revents || serve_client(&clients[i])) continue;
            csock_close(&clients[i].sock);
            clients[i] = clients[--n_clients];
        }
        for (int i = 0; i < n_listeners; i++)
            if (pfd[i].revents & POLLIN) accept_client(&listeners[i].sock);
    }

    fprintf(stderr, "activated_echo: stopping on signal %d\n", (int)stop_signal);
    for (int i = 0; i < n_clients; i++) csock_close(&clients[i].sock);
    for (int i = 0; i < n_listeners; i++) csock_close(&listeners[i].sock);
    return 0;
}
