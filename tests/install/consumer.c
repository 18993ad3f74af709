/*
 * A program using an installed csock the way any C program would: the header from the include
 * directory pkg-config names, the library linked shared or static. It checks the header's macros
 * and struct layouts at compile time and its version against the library's, opens and closes a
 * socket, and prints what it found.
 *
 *   consumer [expected-version]
 *
 * Prints "csock_version=X.Y.Z" and exits 0 when every check passes; otherwise prints each failed
 * check to stderr and exits 1.
 */
#include <csock.h>

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#if !defined(CSOCK_VERSION_MAJOR) || !defined(CSOCK_VERSION_MINOR) || !defined(CSOCK_VERSION_PATCH)
#error "csock.h does not define CSOCK_VERSION_MAJOR, CSOCK_VERSION_MINOR and CSOCK_VERSION_PATCH"
#endif

#if CSOCK_DEFAULT != -1
#error "CSOCK_DEFAULT is not -1"
#endif

#if CSOCK_INFO_NONBLOCK != 0x1 || CSOCK_INFO_CLOEXEC != 0x2 || CSOCK_INFO_LISTENING != 0x4
#error "CSOCK_INFO_* bits differ from the contract"
#endif

#if CSOCK_LISTEN_UNSET_ENV != 0x1
#error "CSOCK_LISTEN_UNSET_ENV is not 0x1"
#endif

/* The layouts of the public structs are part of the ABI that every 0.x release keeps. */
#define LAYOUT(name, cond) typedef char layout_##name[(cond) ? 1 : -1]
LAYOUT(socket_size, sizeof(csock_socket) == 4 * sizeof(int));
LAYOUT(socket_fields, offsetof(csock_socket, fd) == 0 &&
                          offsetof(csock_socket, family) == sizeof(int) &&
                          offsetof(csock_socket, type) == 2 * sizeof(int) &&
                          offsetof(csock_socket, proto) == 3 * sizeof(int));
LAYOUT(info_size, sizeof(csock_info) == 3 * sizeof(int) + sizeof(uint32_t));
LAYOUT(info_flags, offsetof(csock_info, flags) == 3 * sizeof(int));
LAYOUT(listen_fd_size, sizeof(csock_listen_fd) == sizeof(csock_socket) + 256);
LAYOUT(listen_fd_name, offsetof(csock_listen_fd, name) == sizeof(csock_socket));

static int failures;

static void check(int pass, const char *what) {
    if (!pass) {
        fprintf(stderr, "consumer: failed: %s\n", what);
        failures++;
    }
}

int main(int argc, char **argv) {
    char macros[64];
    char repr[128];
    const char *version = csock_version();
    csock_socket sock = CSOCK_SOCKET_INIT;
    int fd, flags;

    snprintf(macros, sizeof macros, "%d.%d.%d", CSOCK_VERSION_MAJOR, CSOCK_VERSION_MINOR,
             CSOCK_VERSION_PATCH);
    check(version != NULL && strcmp(version, macros) == 0,
          "csock_version() equals CSOCK_VERSION_MAJOR.MINOR.PATCH");
    if (argc > 1) check(strcmp(macros, argv[1]) == 0, "the header's version is the expected one");

    check(csock_open(&sock, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT) == 0,
          "csock_open(CSOCK_DEFAULT x3) returns 0");
    fd = sock.fd;
    check(fd >= 0, "the socket has a descriptor");
    check(sock.family == AF_INET && sock.type == SOCK_STREAM && sock.proto == 0,
          "the defaults are AF_INET, SOCK_STREAM, 0");
    flags = fcntl(fd, F_GETFD);
    check(flags >= 0 && (flags & FD_CLOEXEC), "the kernel has FD_CLOEXEC set on it");
    check(csock_get_inheritable(&sock) == 0, "csock_get_inheritable() reads 0");
    check(csock_repr(&sock, repr, sizeof repr) > 0 && strncmp(repr, "<csock fd=", 10) == 0,
          "csock_repr() describes it");
    check(csock_close(&sock) == 0 && sock.fd == -1, "csock_close() returns 0 and clears fd");
    errno = 0;
    check(fd < 0 || (fcntl(fd, F_GETFD) == -1 && errno == EBADF), "the descriptor is closed");

    check(csock_adopt(&sock, -1, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT) == -EBADF,
          "csock_adopt(fd=-1) returns -EBADF");
    check(csock_last_error()[0] != '\0', "csock_last_error() explains the failure");

    printf("csock_version=%s\n", version ? version : "(null)");
    return failures ? 1 : 0;
}
