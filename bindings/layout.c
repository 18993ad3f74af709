/*
 * Prints the layout the C compiler gives the header's types, one line each, for the bindings'
 * tests to compare their own declarations with (the bindings that declare structs by hand, and
 * LuaJIT's stubs of the system types):
 *
 *   csock_socket size 16 align 4
 *   csock_socket.fd offset 0 size 4
 */
#include <csock.h>
#include <stdalign.h>
#include <stdio.h>

#define TYPE(t) printf("%s size %zu align %zu\n", #t, sizeof(t), alignof(t))
#define FIELD(t, f) printf("%s.%s offset %zu size %zu\n", #t, #f, offsetof(t, f), sizeof(((t *)0)->f))

int main(void) {
    TYPE(csock_socket);
    FIELD(csock_socket, fd);
    FIELD(csock_socket, family);
    FIELD(csock_socket, type);
    FIELD(csock_socket, proto);
    TYPE(csock_info);
    FIELD(csock_info, family);
    FIELD(csock_info, type);
    FIELD(csock_info, proto);
    FIELD(csock_info, flags);
    TYPE(csock_listen_fd);
    FIELD(csock_listen_fd, sock);
    FIELD(csock_listen_fd, name);
    TYPE(socklen_t);
    printf("sockaddr_storage size %zu align %zu\n", sizeof(struct sockaddr_storage),
           alignof(struct sockaddr_storage));
#ifdef CSOCK_STEP_SOCKET
    TYPE(csock_attempt);
    FIELD(csock_attempt, addr);
    FIELD(csock_attempt, addrlen);
    FIELD(csock_attempt, step);
    FIELD(csock_attempt, error);
    TYPE(csock_connect_opts);
    FIELD(csock_connect_opts, size);
    FIELD(csock_connect_opts, source_host);
    FIELD(csock_connect_opts, source_port);
    FIELD(csock_connect_opts, total_timeout_ms);
    FIELD(csock_connect_opts, attempt_delay_ms);
    FIELD(csock_connect_opts, flags);
    FIELD(csock_connect_opts, attempts);
    FIELD(csock_connect_opts, attempts_cap);
    FIELD(csock_connect_opts, attempts_len);
#endif
    return 0;
}
