/*
 * sockcat: the client side of the activation tests.
 *
 *   sockcat free-port          binds 127.0.0.1:0, prints the port the kernel chose, closes it
 *   sockcat ADDR [LINE]        connects to ADDR (unix:PATH or IPV4:PORT), sends LINE and a
 *                              newline if given, shuts down its sending side, and copies what
 *                              the peer sends until end of file to standard output
 *
 * A server that is still starting is waited for: the connection is retried while the path does
 * not exist yet or the connection is refused, up to about ten seconds, then sockcat fails.
 * Exit status 0 on success, 1 on failure (with a message on standard error).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static int fail(const char *what) {
    fprintf(stderr, "sockcat: %s: %s\n", what, strerror(errno));
    return 1;
}

static int free_port(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return fail("socket");
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof sin;
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 ||
        getsockname(fd, (struct sockaddr *)&sin, &len) < 0) {
        close(fd);
        return fail("bind 127.0.0.1:0");
    }
    printf("%u\n", ntohs(sin.sin_port));
    close(fd);
    return 0;
}

/* Fills addr from "unix:PATH" or "A.B.C.D:PORT"; returns its length, 0 if malformed. */
static socklen_t parse(const char *text, struct sockaddr_storage *addr) {
    memset(addr, 0, sizeof *addr);
    if (strncmp(text, "unix:", 5) == 0) {
        struct sockaddr_un *sun = (struct sockaddr_un *)addr;
        if (strlen(text + 5) >= sizeof sun->sun_path) return 0;
        sun->sun_family = AF_UNIX;
        strcpy(sun->sun_path, text + 5);
        return sizeof *sun;
    }
    const char *colon = strrchr(text, ':');
    char host[INET_ADDRSTRLEN];
    struct sockaddr_in *sin = (struct sockaddr_in *)addr;
    if (!colon || (size_t)(colon - text) >= sizeof host) return 0;
    memcpy(host, text, (size_t)(colon - text));
    host[colon - text] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || port == 0 || port > 65535 || inet_pton(AF_INET, host, &sin->sin_addr) != 1)
        return 0;
    sin->sin_family = AF_INET;
    sin->sin_port = htons((unsigned short)port);
    return sizeof *sin;
}

static int write_all(int fd, const char *buf, size_t len) {
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return -1;
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "free-port") == 0) return free_port();
    struct sockaddr_storage addr;
    socklen_t len = argc == 2 || argc == 3 ? parse(argv[1], &addr) : 0;
    if (len == 0) {
        fprintf(stderr, "usage: sockcat free-port | sockcat unix:PATH|IPV4:PORT [LINE]\n");
        return 1;
    }

    int fd = -1;
    for (int attempt = 0; fd < 0; attempt++) {
        fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0) return fail("socket");
        if (connect(fd, (struct sockaddr *)&addr, len) == 0) break;
        int err = errno;
        close(fd);
        fd = -1;
        errno = err;
        if ((err != ENOENT && err != ECONNREFUSED) || attempt == 1000) return fail(argv[1]);
        nanosleep(&(struct timespec){.tv_nsec = 10 * 1000 * 1000}, NULL);
    }

    if (argc == 3 && (write_all(fd, argv[2], strlen(argv[2])) < 0 || write_all(fd, "\n", 1) < 0))
        return fail("write");
    if (shutdown(fd, SHUT_WR) < 0) return fail("shutdown");
    char buf[4096];
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return fail("read");
        if (n == 0) break;
        if (fwrite(buf, 1, (size_t)n, stdout) != (size_t)n) return fail("fwrite");
    }
    close(fd);
    return fflush(stdout) == 0 ? 0 : fail("fflush");
}
