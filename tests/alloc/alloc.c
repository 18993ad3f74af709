/*
 * alloc.c: csock's operations make no heap allocation, in steady state and on failure paths.
 *
 * This program replaces malloc and its relatives (as the C library allows: the executable's
 * definitions take precedence for the whole process, libcsock.so included) with versions that
 * count each call in a per-thread counter and forward to the C library's own allocator. Every
 * operation is called once to warm up, then ROUNDS more times while the counter must stay at 0.
 * Two controls prove that the counter sees allocations at all: one made by this program, and one
 * made inside libcsock.so (csock_audit_add allocates the hook's list node).
 *
 * TAP output; run by `make alloc-test`.
 */
#include <csock.h>

#include "../../c-tests/tap.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>

/* ---- counting allocator ---- */

extern void *__libc_malloc(size_t size);
extern void *__libc_calloc(size_t n, size_t size);
extern void *__libc_realloc(void *ptr, size_t size);
extern void *__libc_memalign(size_t align, size_t size);
extern void __libc_free(void *ptr);

static _Thread_local long allocations;

void *malloc(size_t size) {
    allocations++;
    return __libc_malloc(size);
}

void *calloc(size_t n, size_t size) {
    allocations++;
    return __libc_calloc(n, size);
}

void *realloc(void *ptr, size_t size) {
    allocations++;
    return __libc_realloc(ptr, size);
}

void *memalign(size_t align, size_t size) {
    allocations++;
    return __libc_memalign(align, size);
}

void *aligned_alloc(size_t align, size_t size) { return memalign(align, size); }

int posix_memalign(void **out, size_t align, size_t size) {
    if (align % sizeof(void *) != 0 || (align & (align - 1)) != 0) return EINVAL;
    void *p = memalign(align, size);
    if (!p) return ENOMEM;
    *out = p;
    return 0;
}

void *valloc(size_t size) { return memalign((size_t)sysconf(_SC_PAGESIZE), size); }

void *pvalloc(size_t size) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    return memalign(page, (size + page - 1) / page * page);
}

void free(void *ptr) { __libc_free(ptr); }

/* ---- measuring ---- */

#define ROUNDS 100

static int wrong; /* calls that did not return what they should */

static void expect(long got, long want) {
    if (got != want) {
        if (!wrong) diag("returned %ld, expected %ld (%s)", got, want, csock_last_error());
        wrong++;
    }
}

/* Runs the statements once to warm up, then ROUNDS times, and checks that those allocated
   nothing and that every call returned what it should. */
#define NO_ALLOCATIONS(name, ...)                                                              \
    do {                                                                                       \
        wrong = 0;                                                                             \
        {__VA_ARGS__}                                                                          \
        long before_ = allocations;                                                            \
        for (int round_ = 0; round_ < ROUNDS; round_++) {__VA_ARGS__}                          \
        long made_ = allocations - before_;                                                    \
        ok(made_ == 0 && wrong == 0, "%s: no allocation in %d calls", name, ROUNDS);           \
        if (made_) diag("%ld allocations", made_);                                             \
        if (wrong) diag("%d calls returned something else than expected", wrong);              \
    } while (0)

/* Refuses protocol 99 with EACCES and 98 with an errno that has no name; allows the rest. */
static int hook(const char *event, int fd, int family, int type, int proto, void *data) {
    (void)event, (void)fd, (void)family, (void)type, (void)data;
    return proto == 99 ? -EACCES : proto == 98 ? -4000 : 0;
}

/* The first failure in a new thread writes that thread's message buffer: nothing allocated. */
static void *first_failure_in_thread(void *result) {
    csock_socket s;
    long before = allocations;
    int rc = csock_adopt(&s, -1, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT);
    bool message = strstr(csock_last_error(), "EBADF") != NULL;
    long *out = result;
    out[0] = allocations - before;
    out[1] = rc == -EBADF && message;
    return NULL;
}

int main(void) {
    /* Controls: the counter sees this program's allocations... */
    void *(*volatile alloc)(size_t) = malloc;
    long before = allocations;
    void *p = alloc(32);
    is_int(allocations - before, 1, "control: the counter sees a malloc");
    free(p);

    csock_socket s, t, u, pair[2];
    csock_socket many[ROUNDS + 1];
    csock_info info;
    struct sockaddr_storage addr;
    socklen_t len;
    char text[256];
    int value;
    int64_t value64;

    NO_ALLOCATIONS("csock_open + csock_close, AF_INET", {
        expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
        expect(csock_close(&s), 0);
    });
    NO_ALLOCATIONS("csock_open + csock_close, defaults and SOCK_NONBLOCK", {
        expect(csock_open(&s, CSOCK_DEFAULT, SOCK_STREAM | SOCK_NONBLOCK, CSOCK_DEFAULT), 0);
        expect(csock_close(&s), 0);
    });

    /* open and close measured apart: the warm-up and ROUNDS sockets open at once. */
    {
        int n = 0;
        NO_ALLOCATIONS("csock_open", {
            expect(csock_open(&many[n++], AF_UNIX, SOCK_DGRAM, 0), 0);
        });
        n = 0;
        NO_ALLOCATIONS("csock_close", { expect(csock_close(&many[n++]), 0); });
    }

    expect(csock_open(&s, AF_INET, SOCK_STREAM, 0), 0);
    NO_ALLOCATIONS("csock_adopt, detecting", {
        expect(csock_adopt(&t, s.fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
    });
    NO_ALLOCATIONS("csock_adopt, explicit", {
        expect(csock_adopt(&t, s.fd, AF_INET, SOCK_STREAM, 0), 0);
    });
    {
        int n = 0;
        NO_ALLOCATIONS("csock_dup", { expect(csock_dup(&many[n++], &s), 0); });
        for (int i = 0; i < n; i++) csock_close(&many[i]);
    }
    NO_ALLOCATIONS("csock_fromfd + csock_close", {
        expect(csock_fromfd(&t, s.fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
        expect(csock_close(&t), 0);
    });
    NO_ALLOCATIONS("csock_inspect", { expect(csock_inspect(s.fd, &info), 0); });
    NO_ALLOCATIONS("csock_set_blocking, csock_get_blocking", {
        expect(csock_set_blocking(&s, false), 0);
        expect(csock_get_blocking(&s), 0);
        expect(csock_set_blocking(&s, true), 0);
    });
    NO_ALLOCATIONS("csock_set_inheritable, csock_get_inheritable", {
        expect(csock_set_inheritable(&s, true), 0);
        expect(csock_get_inheritable(&s), 1);
        expect(csock_set_inheritable(&s, false), 0);
    });
    NO_ALLOCATIONS("csock_getsockname + csock_format_addr", {
        len = sizeof addr;
        expect(csock_getsockname(&s, &addr, &len), 0);
        expect(csock_format_addr((struct sockaddr *)&addr, len, 0, text, sizeof text), 9);
    });
    NO_ALLOCATIONS("csock_repr", { expect(csock_repr(&s, text, sizeof text) > 0, 1); });
    NO_ALLOCATIONS("csock_socketpair + csock_close", {
        expect(csock_socketpair(pair, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0);
        expect(csock_close(&pair[0]), 0);
        expect(csock_close(&pair[1]), 0);
    });

    struct sockaddr_in6 in6 = {.sin6_family = AF_INET6, .sin6_port = htons(8080),
                               .sin6_addr = IN6ADDR_LOOPBACK_INIT, .sin6_scope_id = 2};
    NO_ALLOCATIONS("csock_format_addr, IPv6 with scope", {
        expect(csock_format_addr((struct sockaddr *)&in6, sizeof in6, 0, text, sizeof text), 12);
    });
    NO_ALLOCATIONS("csock_constant(64), csock_family_name, csock_type_name, csock_version", {
        expect(csock_constant("SOCK_NONBLOCK", &value), 0);
        expect(csock_constant64("CAN_EFF_FLAG", &value64), 0);
        expect(csock_family_name(AF_INET6) != NULL, 1);
        expect(csock_type_name(SOCK_DGRAM) != NULL, 1);
        expect(csock_version() != NULL, 1);
    });

    /* accept: a listener with ROUNDS + 1 connections waiting. */
    {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        snprintf(un.sun_path + 1, sizeof un.sun_path - 1, "csock-alloc-%d", (int)getpid());
        socklen_t unlen = offsetof(struct sockaddr_un, sun_path) + 1 + strlen(un.sun_path + 1);
        expect(csock_open(&u, AF_UNIX, SOCK_STREAM, 0), 0);
        expect(bind(u.fd, (struct sockaddr *)&un, unlen), 0);
        expect(listen(u.fd, ROUNDS + 1), 0);
        for (int i = 0; i <= ROUNDS; i++) {
            expect(csock_open(&many[i], AF_UNIX, SOCK_STREAM, 0), 0);
            expect(connect(many[i].fd, (struct sockaddr *)&un, unlen), 0);
        }
        NO_ALLOCATIONS("csock_accept + csock_close", {
            len = sizeof addr;
            expect(csock_accept(&u, &t, (struct sockaddr *)&addr, &len, 0), 0);
            expect(csock_close(&t), 0);
        });
        for (int i = 0; i <= ROUNDS; i++) csock_close(&many[i]);
        csock_close(&u);
    }

    /* Passing descriptors: the control buffers live on the stack. */
    {
        csock_socket sp[2];
        expect(csock_socketpair(sp, AF_UNIX, SOCK_DGRAM, 0), 0);
        NO_ALLOCATIONS("csock_send_fds + csock_recv_fds", {
            char byte = 'x';
            struct iovec iov = {&byte, 1};
            int fds[2] = {sp[0].fd, sp[1].fd}, got[2] = {-1, -1};
            size_t n = 0;
            expect(csock_send_fds(&sp[0], &iov, 1, fds, 2, 0, NULL, 0), 1);
            expect(csock_recv_fds(&sp[1], &byte, 1, got, 1, &n, 0, NULL, NULL, NULL), 1);
            expect(n, 1);
            expect(close(got[0]), 0);
        });
        csock_close(&sp[0]);
        csock_close(&sp[1]);
    }

    /* Failure paths: the message goes into a fixed per-thread buffer. */
    int pipefd[2];
    expect(pipe(pipefd), 0);
    NO_ALLOCATIONS("failures: csock_adopt of a pipe, of a closed and a negative descriptor", {
        expect(csock_adopt(&t, pipefd[0], CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), -ENOTSOCK);
        expect(csock_adopt(&t, 1000, AF_INET, SOCK_STREAM, 0), -EBADF);
        expect(csock_adopt(&t, -1, AF_INET, SOCK_STREAM, 0), -EBADF);
        expect(csock_inspect(pipefd[0], &info), -ENOTSOCK);
    });
    close(pipefd[0]);
    close(pipefd[1]);
    NO_ALLOCATIONS("failures: csock_open with a bad type, family, protocol", {
        expect(csock_open(&t, AF_INET, 999, 0), -EINVAL);
        expect(csock_open(&t, 12345, SOCK_STREAM, 0), -EAFNOSUPPORT);
        expect(csock_open(&t, AF_INET, SOCK_STREAM, IPPROTO_UDP), -EPROTONOSUPPORT);
    });
    NO_ALLOCATIONS("failures: csock_last_error after them", {
        expect(csock_open(&t, AF_INET, 999, 0), -EINVAL);
        expect(strstr(csock_last_error(), "EINVAL") != NULL, 1);
    });
    NO_ALLOCATIONS("failures: csock_constant(64) of an unknown name, csock_shutdown, a bad how", {
        expect(csock_constant("NO_SUCH_NAME", &value), -ENOENT);
        expect(csock_constant64("NO_SUCH_NAME", &value64), -ENOENT);
        expect(csock_shutdown(&s, 42), -EINVAL);
    });
    csock_socket closed = s;
    expect(csock_close(&closed), 0);
    NO_ALLOCATIONS("failures: every operation on a closed socket", {
        expect(csock_dup(&t, &closed), -EBADF);
        expect(csock_set_blocking(&closed, true), -EBADF);
        expect(csock_get_inheritable(&closed), -EBADF);
        expect(csock_shutdown(&closed, SHUT_RDWR), -EBADF);
        expect(csock_detach(&closed), -EBADF);
        expect(csock_accept(&closed, &t, NULL, NULL, 0), -EBADF);
        len = sizeof addr;
        expect(csock_getsockname(&closed, &addr, &len), -EBADF);
        expect(csock_repr(&closed, text, sizeof text) > 0, 1);
        expect(csock_close(&closed), 0);
    });
    NO_ALLOCATIONS("failures: NULL pointers", {
        expect(csock_open(NULL, AF_INET, SOCK_STREAM, 0), -EINVAL);
        expect(csock_inspect(0, NULL), -EINVAL);
        expect(csock_format_addr(NULL, 16, 0, text, sizeof text), -EINVAL);
    });

    /* The first failure of a thread, not warmed up. */
    pthread_t thread;
    long result[2] = {-1, 0};
    if (pthread_create(&thread, NULL, first_failure_in_thread, result) == 0)
        pthread_join(thread, NULL);
    is_int(result[0], 0, "first failure in a new thread: no allocation");
    ok(result[1], "first failure in a new thread: -EBADF and its message");

    /* ...and the allocations made inside libcsock.so. */
    before = allocations;
    expect(csock_audit_add(hook, NULL), 0);
    ok(allocations - before >= 1, "control: the counter sees csock_audit_add's allocation");
    NO_ALLOCATIONS("with a hook: csock_open + csock_close", {
        expect(csock_open(&t, AF_INET, SOCK_STREAM, 0), 0);
        expect(csock_close(&t), 0);
    });
    NO_ALLOCATIONS("with a hook: refusals, one with an errno that has no name", {
        expect(csock_open(&t, AF_INET, SOCK_STREAM, 99), -EACCES);
        expect(csock_open(&t, AF_INET, SOCK_STREAM, 98), -4000);
        expect(strstr(csock_last_error(), "errno 4000") != NULL, 1);
    });

    return done_testing();
}
