/*
 * net.h: loopback fixtures for the connect and serve tests. Include after tap.h.
 *
 *   listener4(ip, port, backlog)   a plain TCP listener (port 0: any), its port from bound_port()
 *   fill_backlog(fd, addr, len)    connects until the listener's accept queue is full: a SYN to it
 *                                  is then dropped, so a connect to it hangs (a "slow" address)
 *   closed_port4()                 a loopback port nobody listens on (connect: ECONNREFUSED)
 *   diag_backlog(family, port)     the backlog of a TCP listener, read from the kernel with
 *                                  sock_diag (inet_diag's idiag_wqueue of a listener)
 *   hosts_namespace(lines)         moves this process into a mount namespace of its own in which
 *                                  /etc/hosts holds `lines` (root only; 0 on success)
 */
#ifndef CSOCK_TEST_NET_H
#define CSOCK_TEST_NET_H

#include <arpa/inet.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

static inline double net_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* 1 under valgrind, which only emulates RLIMIT_NOFILE (its own descriptors live above the limit,
 * and a socket() can get past it): the descriptor-exhaustion checks are skipped there (the ASan
 * build runs them). */
static inline int under_valgrind(void) {
    const char *preload = getenv("LD_PRELOAD");
    return preload && strstr(preload, "vgpreload") != NULL;
}

/* An IPv4 or IPv6 socket address for a numeric `ip` and `port`. */
static inline socklen_t net_addr(const char *ip, int port, struct sockaddr_storage *ss) {
    memset(ss, 0, sizeof *ss);
    struct sockaddr_in *in4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, ip, &in4->sin_addr) == 1) {
        in4->sin_family = AF_INET;
        in4->sin_port = htons(port);
        return sizeof *in4;
    }
    if (inet_pton(AF_INET6, ip, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons(port);
        return sizeof *in6;
    }
    return 0;
}

static inline int bound_port(int fd) {
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) return -1;
    return ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
                                    : ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A plain TCP listener on ip:port (made without csock), or -1. */
static inline int listener_at(const char *ip, int port, int backlog) {
    struct sockaddr_storage ss;
    socklen_t len = net_addr(ip, port, &ss);
    int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (ss.ss_family == AF_INET6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
    if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, backlog) < 0) {
        diag("listener %s:%d: %s", ip, port, strerror(errno));
        if (fd >= 0) close(fd);
        return -1;
    }
    return fd;
}

/*
 * Fills the accept queue of the listener at ip:port: connects (non-blocking) until a connect does
 * not complete within 300 ms. The clients that got in go to fills[] (at most max; the count is
 * returned); the one that did not is closed. After this a SYN to the listener is dropped.
 */
static inline int fill_backlog(const char *ip, int port, int *fills, int max) {
    struct sockaddr_storage ss;
    socklen_t len = net_addr(ip, port, &ss);
    int n = 0;
    while (n < max) {
        int c = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (connect(c, (struct sockaddr *)&ss, len) == 0) {
            fills[n++] = c;
            continue;
        }
        struct pollfd p = {.fd = c, .events = POLLOUT};
        int err = 0;
        socklen_t el = sizeof err;
        if (poll(&p, 1, 300) == 1 && getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 &&
            err == 0) {
            fills[n++] = c;
            continue;
        }
        close(c);
        return n;
    }
    return n;
}

/* A loopback port nobody listens on: bound, never listening, so nobody else gets it meanwhile. */
static inline int closed_port4(int *holder) {
    struct sockaddr_storage ss;
    socklen_t len = net_addr("127.0.0.1", 0, &ss);
    *holder = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(*holder, (struct sockaddr *)&ss, len) < 0) return -1;
    return bound_port(*holder);
}

/* The backlog of the TCP listener on `port` (of `family`), from sock_diag; -1 if not found. */
static inline long diag_backlog(int family, int port) {
    int nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (nl < 0) return -1;
    struct {
        struct nlmsghdr nlh;
        struct inet_diag_req_v2 req;
    } msg = {
        .nlh = {.nlmsg_len = sizeof msg, .nlmsg_type = SOCK_DIAG_BY_FAMILY,
                .nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP},
        .req = {.sdiag_family = (unsigned char)family, .sdiag_protocol = IPPROTO_TCP,
                .idiag_states = 1u << 10 /* TCP_LISTEN */},
    };
    long found = -1;
    if (send(nl, &msg, sizeof msg, 0) != (ssize_t)sizeof msg) goto out;
    for (;;) {
        static char buf[32768];
        ssize_t n = recv(nl, buf, sizeof buf, 0);
        if (n <= 0) goto out;
        for (struct nlmsghdr *h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_DONE || h->nlmsg_type == NLMSG_ERROR) goto out;
            struct inet_diag_msg *m = NLMSG_DATA(h);
            if (ntohs(m->id.idiag_sport) == port) found = m->idiag_wqueue;
        }
    }
out:
    close(nl);
    return found;
}

/*
 * Moves this process into a mount namespace of its own in which /etc/hosts holds `lines`. Only
 * for a child process (fork first): the parent's view is never changed. 0 on success.
 */
static inline int hosts_namespace(const char *lines) {
    char path[] = "/tmp/csock-hosts-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    ssize_t len = (ssize_t)strlen(lines);
    int ok = write(fd, lines, len) == len;
    close(fd);
    chmod(path, 0644);
    if (!ok || unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
        mount(path, "/etc/hosts", NULL, MS_BIND, NULL) < 0) {
        unlink(path);
        return -1;
    }
    unlink(path); /* the bind mount keeps the file */
    return 0;
}

#endif
