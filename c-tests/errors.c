/*
 * csock_last_error (per thread, set by failures only, naming the call, the system call and the
 * errno), return codes equal to -errno, csock_version and the constants.
 */
#include <csock.h>

#include <pthread.h>
#include <sys/socket.h>

#include "tap.h"

static int contains(const char *text, const char *part) {
    return text != NULL && strstr(text, part) != NULL;
}

/* Calls the failing expression, then checks its code against errno and the message. */
#define FAILS(call, err, ...)                                                                  \
    do {                                                                                       \
        errno = 0;                                                                             \
        int code_ = (call);                                                                    \
        int errno_ = errno;                                                                    \
        is_int(code_, -(err), "%s: returns -" #err, #call);                                    \
        is_int(code_, -errno_, "%s: the code is -errno", #call);                               \
        const char *parts_[] = {__VA_ARGS__};                                                  \
        for (size_t i_ = 0; i_ < sizeof parts_ / sizeof parts_[0]; i_++)                       \
            ok(contains(csock_last_error(), parts_[i_]), "%s: message contains '%s'", #call,   \
               parts_[i_]);                                                                    \
    } while (0)

/* What a thread saw; checked on the main thread (TAP output stays on one thread). */
struct thread_view {
    char before[256];   /* the message before this thread did anything */
    char after[256];    /* after its own failure */
    int code;
    pthread_barrier_t *failed;  /* waited on once this thread's failure is recorded */
    pthread_barrier_t *checked; /* waited on before the thread exits */
};

static void copy(char dst[256], const char *src) { snprintf(dst, 256, "%s", src ? src : "(null)"); }

/* Thread A: fails (adopting a pipe), then stays alive while B looks at its own message. */
static void *failing_thread(void *arg) {
    struct thread_view *v = arg;
    copy(v->before, csock_last_error());
    int p[2];
    if (pipe(p) == 0) {
        csock_socket s;
        v->code = csock_adopt(&s, p[0], -1, -1, -1);
        close(p[0]);
        close(p[1]);
    }
    copy(v->after, csock_last_error());
    pthread_barrier_wait(v->failed);
    pthread_barrier_wait(v->checked);
    return NULL;
}

/* Thread B: starts after A's failure, while A is alive; fails differently. */
static void *other_thread(void *arg) {
    struct thread_view *v = arg;
    copy(v->before, csock_last_error());
    csock_socket s;
    v->code = csock_open(&s, 12345, SOCK_STREAM, 0);
    copy(v->after, csock_last_error());
    return NULL;
}

static void test_thread_local(void) {
    pthread_barrier_t failed, checked;
    pthread_barrier_init(&failed, NULL, 2);
    pthread_barrier_init(&checked, NULL, 2);
    struct thread_view a = {.failed = &failed, .checked = &checked}, b = {0};
    char main_before[256];
    is_int(csock_shutdown(NULL, SHUT_RD), -EINVAL, "this thread fails first");
    copy(main_before, csock_last_error());

    pthread_t ta, tb;
    pthread_create(&ta, NULL, failing_thread, &a);
    pthread_barrier_wait(&failed);
    pthread_create(&tb, NULL, other_thread, &b);
    pthread_join(tb, NULL);
    is_str(csock_last_error(), main_before, "thread A's failure leaves this thread's message");
    pthread_barrier_wait(&checked);
    pthread_join(ta, NULL);
    pthread_barrier_destroy(&failed);
    pthread_barrier_destroy(&checked);

    is_str(a.before, "", "thread A: empty before any failure");
    is_int(a.code, -ENOTSOCK, "thread A: adopting a pipe fails with -ENOTSOCK");
    ok(contains(a.after, "ENOTSOCK"), "thread A: its message names ENOTSOCK");
    is_str(b.before, "", "thread B, started after A and this thread failed: empty");
    is_int(b.code, -EAFNOSUPPORT, "thread B: family 12345 fails with -EAFNOSUPPORT");
    ok(contains(b.after, "EAFNOSUPPORT") && !contains(b.after, "ENOTSOCK"),
       "thread B: its own message only");
    is_str(csock_last_error(), main_before, "and neither thread changed this thread's message");
}

static void test_messages(void) {
    int p[2];
    if (pipe(p) != 0) return;
    char adopt_fd[32];
    snprintf(adopt_fd, sizeof adopt_fd, "csock_adopt(fd=%d)", p[0]);
    csock_socket s;
    FAILS(csock_adopt(&s, p[0], -1, -1, -1), ENOTSOCK, adopt_fd, "getsockopt(SO_", "ENOTSOCK");
    diag("adopting a pipe: %s", csock_last_error());
    ok(fd_open(p[0]) && fd_cloexec(p[0]) == 0 && fd_nonblock(p[0]) == 0,
       "the pipe is left open and unchanged");
    FAILS(csock_adopt(&s, p[0], AF_UNIX, SOCK_STREAM, 0), ENOTSOCK, adopt_fd,
          "getsockopt(SO_TYPE)", "ENOTSOCK");
    FAILS(csock_adopt(&s, -3, -1, -1, -1), EBADF, "csock_adopt(fd=-3)",
          "negative file descriptor", "EBADF");
    FAILS(csock_open(&s, AF_INET, 999, 0), EINVAL, "csock_open(", "type=999", "socket", "EINVAL");
    FAILS(csock_open(&s, 12345, SOCK_STREAM, 0), EAFNOSUPPORT, "csock_open(", "family=12345",
          "socket", "EAFNOSUPPORT");
    FAILS(csock_open(NULL, -1, -1, -1), EINVAL, "csock_open(", "NULL", "EINVAL");
    FAILS(csock_audit_add(NULL, NULL), EINVAL, "csock_audit_add", "EINVAL");

    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0, "open succeeds");
    close(s.fd);
    FAILS(csock_close(&s), EBADF, "csock_close(fd=", "close", "EBADF");
    FAILS(csock_detach(&s), EBADF, "csock_detach", "socket is closed", "EBADF");
    close(p[0]);
    close(p[1]);
}

static void test_success_keeps_message(void) {
    csock_socket s;
    csock_open(&s, 12345, SOCK_STREAM, 0);
    char failed[256];
    copy(failed, csock_last_error());
    ok(contains(failed, "EAFNOSUPPORT"), "a failure is recorded");
    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0, "then csock_open succeeds");
    is_str(csock_last_error(), failed, "the success did not clear the message");
    is_int(csock_get_blocking(&s), 1, "then csock_get_blocking succeeds");
    is_int(csock_close(&s), 0, "then csock_close succeeds");
    is_str(csock_last_error(), failed, "still the last failure's message");
    csock_socket closed = s;
    is_int(csock_close(&closed), 0, "closing a closed socket is not a failure");
    is_str(csock_last_error(), failed, "and leaves the message");
    is_int(csock_shutdown(&s, SHUT_RD), -EBADF, "a new failure");
    ok(!contains(csock_last_error(), "EAFNOSUPPORT") && contains(csock_last_error(), "EBADF"),
       "replaces the message");
}

static void test_version(void) {
    is_str(csock_version(), "0.2.0", "csock_version() is 0.2.0");
    char numbers[32];
    snprintf(numbers, sizeof numbers, "%d.%d.%d", CSOCK_VERSION_MAJOR, CSOCK_VERSION_MINOR,
             CSOCK_VERSION_PATCH);
    is_str(csock_version(), numbers, "csock_version() matches the CSOCK_VERSION_* macros");
    is_int(CSOCK_DEFAULT, -1, "CSOCK_DEFAULT is -1");
    csock_socket s;
    is_int(csock_open(&s, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT), 0, "open with defaults");
    is_int(s.family, AF_INET, "CSOCK_DEFAULT family is AF_INET");
    csock_close(&s);
}

int main(void) {
    int fds = count_fds();
    is_str(csock_last_error(), "", "main thread: empty before any failure");
    test_thread_local(); /* first: this thread has not failed yet */
    test_messages();
    test_success_keeps_message();
    test_version();
    is_int(count_fds(), fds, "no descriptor leaked by the whole program");
    return done_testing();
}
