/*
 * instructions.c: the instructions each csock call costs, counted by callgrind.
 *
 * Every operation runs REPS times with collection on (CALLGRIND_TOGGLE_COLLECT) and is dumped
 * under its own name (CALLGRIND_DUMP_STATS_AT); bench/instructions.sh runs this program under
 * `valgrind --tool=callgrind --collect-atstart=no` and divides each dump's total by REPS. A row
 * with a bare version (the same system calls made directly) is reported as csock's excess over it.
 * Instruction counts do not depend on the machine's load, so one run is enough.
 * Outside valgrind the client requests do nothing and the program just runs the operations.
 *
 *   valgrind --tool=callgrind --collect-atstart=no build/bench/instructions
 */
#include <csock.h>

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <valgrind/callgrind.h>

#define REPS 1000

static int fd;        /* an AF_INET stream socket the operations work on */
static csock_socket sock; /* the same descriptor, adopted */
static volatile int sink;

/* Runs `body` REPS times with collection on, then dumps the counts as `name`. */
#define MEASURE(name, body)                                                                  \
    do {                                                                                     \
        CALLGRIND_TOGGLE_COLLECT;                                                            \
        for (int rep_ = 0; rep_ < REPS; rep_++) { body; }                                    \
        CALLGRIND_TOGGLE_COLLECT;                                                            \
        CALLGRIND_DUMP_STATS_AT(name);                                                       \
    } while (0)

static void *first_failure_of_a_thread(void *arg) {
    (void)arg;
    csock_socket s;
    /* One call per thread is a first failure: measured once, reported as one call. */
    CALLGRIND_TOGGLE_COLLECT;
    sink = csock_adopt(&s, -1, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    CALLGRIND_TOGGLE_COLLECT;
    CALLGRIND_DUMP_STATS_AT("first failure of a thread (x1)");
    return NULL;
}

int main(void) {
    csock_socket s;
    int value;
    int64_t value64;
    char text[256];
    struct sockaddr_in in4 = {.sin_family = AF_INET, .sin_port = htons(8080),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

    /* Warm-up: the one-time close-on-exec probe and this thread's message page. */
    if (csock_open(&sock, AF_INET, SOCK_STREAM, 0) != 0) return 1;
    fd = sock.fd;
    sink = csock_adopt(&s, -1, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);

    /* Successes, each next to the bare system calls doing the same work. */
    MEASURE("bare: socket + close", close(socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)));
    MEASURE("csock_open + csock_close",
            { csock_open(&s, AF_INET, SOCK_STREAM, 0); csock_close(&s); });
    MEASURE("bare: 3 x getsockopt", {
        socklen_t l = sizeof value;
        getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &value, &l);
        getsockopt(fd, SOL_SOCKET, SO_TYPE, &value, &l);
        getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &value, &l);
    });
    MEASURE("csock_adopt, detecting", csock_adopt(&s, fd, -1, -1, -1));
    MEASURE("bare: fcntl(F_DUPFD_CLOEXEC) + close", close(fcntl(fd, F_DUPFD_CLOEXEC, 0)));
    MEASURE("csock_dup + csock_close", { csock_dup(&s, &sock); csock_close(&s); });
    MEASURE("bare: ioctl(FIONBIO)", { int on = 0; ioctl(fd, FIONBIO, &on); });
    MEASURE("csock_set_blocking", csock_set_blocking(&sock, true));
    MEASURE("bare: fcntl(F_GETFD)", sink = fcntl(fd, F_GETFD));
    MEASURE("csock_get_inheritable", sink = csock_get_inheritable(&sock));
    MEASURE("csock_format_addr, 127.0.0.1:8080",
            csock_format_addr((struct sockaddr *)&in4, sizeof in4, 0, text, sizeof text));

    /* Failures: the whole call, message included. */
    MEASURE("failure: csock_adopt(fd=-1)", sink = csock_adopt(&s, -1, -1, -1, -1));
    MEASURE("failure: csock_open(NULL)", sink = csock_open(NULL, AF_INET, SOCK_STREAM, 0));
    MEASURE("failure: csock_shutdown(how=99)", sink = csock_shutdown(&sock, 99));
    MEASURE("failure: csock_open(type=999), one socket(2)",
            sink = csock_open(&s, AF_INET, 999, 0));
    MEASURE("csock_last_error, message written", sink = csock_last_error()[0]);
    MEASURE("failure: csock_adopt(fd=-1) + csock_last_error", {
        sink = csock_adopt(&s, -1, -1, -1, -1);
        sink = csock_last_error()[0];
    });

    /* Lookups. */
    MEASURE("csock_constant(\"AF_INET\")", csock_constant("AF_INET", &value));
    MEASURE("csock_constant(\"SOCK_STREAM\")", csock_constant("SOCK_STREAM", &value));
    MEASURE("csock_constant(\"IP_DEFAULT_MULTICAST_TTL\")",
            csock_constant("IP_DEFAULT_MULTICAST_TTL", &value));
    MEASURE("csock_constant(\"VM_SOCKETS_INVALID_VERSION\")",
            csock_constant("VM_SOCKETS_INVALID_VERSION", &value));
    MEASURE("csock_constant(\"IOCTL_VM_SOCKETS_GET_LOCAL_CID\"), the longest name",
            csock_constant("IOCTL_VM_SOCKETS_GET_LOCAL_CID", &value));
    MEASURE("csock_constant64(\"CAN_EFF_FLAG\")", csock_constant64("CAN_EFF_FLAG", &value64));
    MEASURE("miss: csock_constant(\"AF_NOPE\")", sink = csock_constant("AF_NOPE", &value));
    MEASURE("miss: csock_constant(\"AF_NOPE\") + csock_last_error", {
        sink = csock_constant("AF_NOPE", &value);
        sink = csock_last_error()[0];
    });
    MEASURE("csock_family_name(AF_INET6)", sink = csock_family_name(AF_INET6)[0]);
    MEASURE("csock_type_name(SOCK_DGRAM)", sink = csock_type_name(SOCK_DGRAM)[0]);

    pthread_t t;
    if (pthread_create(&t, NULL, first_failure_of_a_thread, NULL) == 0) pthread_join(t, NULL);
    csock_close(&sock);
    return 0;
}
