/*
 * Audit hooks: what they see for csock_open and csock_adopt, their order, refusals and what a
 * refusal leaves behind, userdata, and hooks added from several threads while others create
 * sockets. Hooks are process-wide and cannot be removed, so this is one program; globals switch
 * refusal on and off.
 */
#include <csock.h>

#include <netinet/in.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/socket.h>

#include "tap.h"

static const csock_socket SENTINEL = {0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a, 0x5a5a5a5a};

static int untouched(const csock_socket *s) { return memcmp(s, &SENTINEL, sizeof *s) == 0; }

/* One call of a hook, as the hook saw it. */
struct call {
    int hook; /* which hook: its tag */
    char event[32];
    int fd, family, type, proto;
};

/* Calls seen on this thread (so other threads' creations never mix in). */
static _Thread_local struct call calls[16];
static _Thread_local int n_calls;

/* What the first hook returns: 0 allows; set to refuse. */
static atomic_int first_hook_answer;

static int record(const char *event, int fd, int family, int type, int proto, void *userdata) {
    if (n_calls < (int)(sizeof calls / sizeof calls[0])) {
        struct call *c = &calls[n_calls];
        c->hook = *(const int *)userdata;
        snprintf(c->event, sizeof c->event, "%s", event ? event : "(null)");
        c->fd = fd;
        c->family = family;
        c->type = type;
        c->proto = proto;
    }
    n_calls++;
    return 0;
}

static int first_hook(const char *event, int fd, int family, int type, int proto,
                      void *userdata) {
    record(event, fd, family, type, proto, userdata);
    return atomic_load(&first_hook_answer);
}

static const int TAG_FIRST = 101, TAG_SECOND = 202;

/* Both hooks saw one event each, in order, with these values. */
static void saw(int fd, int family, int type, int proto, const char *what) {
    if (!is_int(n_calls, 2, "%s: two hook calls", what)) return;
    is_int(calls[0].hook, TAG_FIRST, "%s: the first hook first (its userdata)", what);
    is_int(calls[1].hook, TAG_SECOND, "%s: the second hook second (its userdata)", what);
    for (int i = 0; i < 2; i++) {
        is_str(calls[i].event, "socket.__new__", "%s: hook %d: event", what, i + 1);
        is_int(calls[i].fd, fd, "%s: hook %d: fd", what, i + 1);
        is_int(calls[i].family, family, "%s: hook %d: family", what, i + 1);
        is_int(calls[i].type, type, "%s: hook %d: type", what, i + 1);
        is_int(calls[i].proto, proto, "%s: hook %d: proto", what, i + 1);
    }
}

static void test_add(void) {
    errno = 0;
    is_int(csock_audit_add(NULL, NULL), -EINVAL, "adding a NULL hook: -EINVAL");
    is_int(errno, EINVAL, "adding a NULL hook: errno EINVAL");
    csock_socket s;
    n_calls = 0;
    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0, "with no hook, open works");
    is_int(n_calls, 0, "and no hook ran (the NULL hook was not added)");
    csock_close(&s);
    is_int(csock_audit_add(first_hook, (void *)&TAG_FIRST), 0, "first hook added");
    is_int(csock_audit_add(record, (void *)&TAG_SECOND), 0, "second hook added");
}

static void test_open_events(void) {
    csock_socket s;
    n_calls = 0;
    is_int(csock_open(&s, -1, -1, -1), 0, "open with defaults");
    saw(-1, AF_INET, SOCK_STREAM, 0, "open(-1, -1, -1)");
    csock_close(&s);

    n_calls = 0;
    is_int(csock_open(&s, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, -1), 0,
           "open with flag bits");
    saw(-1, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
        "open(AF_UNIX, SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC, -1): type as given");
    is_int(s.type, SOCK_DGRAM, "but the recorded type has no flag bits");
    csock_close(&s);

    n_calls = 0;
    is_int(csock_open(&s, AF_INET6, -1, -1), 0, "open AF_INET6");
    saw(-1, AF_INET6, SOCK_STREAM, 0, "open(AF_INET6, -1, -1)");
    csock_close(&s);
}

static void test_adopt_events(void) {
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    csock_socket s;
    n_calls = 0;
    is_int(csock_adopt(&s, fd, -1, -1, -1), 0, "adopt, all detected");
    saw(fd, AF_INET, SOCK_DGRAM, IPPROTO_UDP, "adopt(inet dgram, -1, -1, -1): detected values");
    csock_close(&s);

    fd = socket(AF_UNIX, SOCK_SEQPACKET, 0);
    n_calls = 0;
    is_int(csock_adopt(&s, fd, AF_INET6, -1, 42), 0, "adopt, type detected");
    saw(fd, AF_INET6, SOCK_SEQPACKET, 42, "adopt(unix seqpacket, AF_INET6, -1, 42)");
    csock_close(&s);

    fd = socket(AF_UNIX, SOCK_STREAM, 0);
    n_calls = 0;
    is_int(csock_adopt(&s, fd, AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK, -1), 0,
           "adopt, explicit type with a flag bit");
    saw(fd, AF_UNIX, SOCK_DGRAM, 0, "adopt(unix stream, AF_UNIX, SOCK_DGRAM|SOCK_NONBLOCK, -1): "
                                     "the type that will be recorded");
    csock_close(&s);

    fd = socket(AF_INET, SOCK_STREAM, 0);
    close(fd);
    n_calls = 0;
    csock_adopt(&s, fd, AF_INET, SOCK_STREAM, 0);
    is_int(n_calls, 0, "a failed validation calls no hook");
}

static void test_open_refused(int answer, int want, const char *what) {
    atomic_store(&first_hook_answer, answer);
    csock_socket s = SENTINEL;
    int fds = count_fds();
    n_calls = 0;
    errno = 0;
    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), -want, "%s: open returns -%s", what,
           strerror(want));
    is_int(errno, want, "%s: errno set", what);
    ok(untouched(&s), "%s: out untouched", what);
    is_int(count_fds(), fds, "%s: no socket created", what);
    is_int(n_calls, 1, "%s: the later hook was not called", what);
    char text[256];
    snprintf(text, sizeof text,
             "csock_open(family=1, type=1, proto=0): audit hook refused socket.__new__(fd=-1, "
             "family=AF_UNIX, type=SOCK_STREAM, proto=0): %s: %s",
             strerrorname_np(want), strerror(want));
    is_str(csock_last_error(), text, "%s: the message names the hook and the values it saw", what);
    atomic_store(&first_hook_answer, 0);
}

/* The message shows what the hook saw, with names where known: the flags csock_open passes on,
   the values adoption detected (not the -1 it was given), numbers where there is no name. */
static void test_refusal_messages(void) {
    csock_socket s = SENTINEL;
    char want[256];
    atomic_store(&first_hook_answer, -EACCES);
    csock_open(&s, AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    ok(strstr(csock_last_error(), "socket.__new__(fd=-1, family=AF_INET6, "
                                  "type=SOCK_DGRAM|SOCK_NONBLOCK|SOCK_CLOEXEC, proto=0): "
                                  "EACCES") != NULL,
       "open refused: the hook's type with its flag bits (%s)", csock_last_error());
    csock_open(&s, 12345, 77, 3);
    ok(strstr(csock_last_error(), "socket.__new__(fd=-1, family=12345, type=77, proto=3)") != NULL,
       "open refused: numbers where there is no name (%s)", csock_last_error());
    atomic_store(&first_hook_answer, 0);
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    atomic_store(&first_hook_answer, -EACCES);
    csock_adopt(&s, fd, -1, -1, -1);
    atomic_store(&first_hook_answer, 0);
    snprintf(want, sizeof want,
             "csock_adopt(fd=%d): audit hook refused socket.__new__(fd=%d, family=AF_INET6, "
             "type=SOCK_STREAM, proto=6): EACCES: Permission denied", fd, fd);
    is_str(csock_last_error(), want, "adopt refused: the detected values, not -1");
    close(fd);
}

static void test_adopt_refused(void) {
    for (int cloexec = 0; cloexec < 2; cloexec++)
        for (int nonblock = 0; nonblock < 2; nonblock++) {
            int fd = socket(AF_UNIX, SOCK_STREAM | (cloexec ? SOCK_CLOEXEC : 0) |
                                         (nonblock ? SOCK_NONBLOCK : 0),
                            0);
            csock_socket s = SENTINEL;
            int fds = count_fds();
            atomic_store(&first_hook_answer, -EACCES);
            n_calls = 0;
            errno = 0;
            is_int(csock_adopt(&s, fd, -1, -1, -1), -EACCES,
                   "adopt refused (cloexec=%d nonblock=%d): -EACCES", cloexec, nonblock);
            atomic_store(&first_hook_answer, 0);
            is_int(errno, EACCES, "adopt refused: errno EACCES");
            ok(untouched(&s), "adopt refused: out untouched");
            is_int(n_calls, 1, "adopt refused: the later hook was not called");
            ok(fd_open(fd), "adopt refused: the descriptor is still open");
            is_int(fd_cloexec(fd), cloexec, "adopt refused: FD_CLOEXEC unchanged");
            is_int(fd_nonblock(fd), nonblock, "adopt refused: O_NONBLOCK unchanged");
            is_int(count_fds(), fds, "adopt refused: descriptor count unchanged");
            is_int(csock_adopt(&s, fd, -1, -1, -1), 0, "allowed again: adopted");
            is_int(s.fd, fd, "allowed again: the same descriptor");
            csock_close(&s);
        }
}

/*
 * Threads: creators open and close sockets while adders add hooks. Each hook remembers, per
 * thread, the creation it last saw and its position in the chain; a creation must be seen by every
 * hook whose addition had finished before the creation started, in the order they were added.
 */
enum { LATE_HOOKS = 12, CREATORS = 4, ADDERS = 3, ROUNDS = 300 };
static int late_tags[LATE_HOOKS];
static atomic_int late_added;  /* hooks whose csock_audit_add has returned, in order (see add) */
static pthread_mutex_t add_lock = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local long current_creation;
static _Thread_local long seen_by[LATE_HOOKS];
static _Thread_local int position_of[LATE_HOOKS];
static _Thread_local int position;

static int late_hook(const char *event, int fd, int family, int type, int proto, void *userdata) {
    (void)event, (void)fd, (void)family, (void)type, (void)proto;
    int k = *(const int *)userdata;
    seen_by[k] = current_creation;
    position_of[k] = position++;
    return 0;
}

struct creator_result {
    int failures, unseen, out_of_order, creations;
    int partial; /* creations that started while some, not all, late hooks were in */
};

static void *creator(void *arg) {
    struct creator_result *r = arg;
    for (long i = 1; i <= ROUNDS; i++) {
        int registered = atomic_load(&late_added);
        current_creation = i;
        position = 0;
        csock_socket s;
        if (csock_open(&s, AF_UNIX, SOCK_STREAM, 0) != 0) {
            r->failures++;
            continue;
        }
        r->creations++;
        r->partial += registered > 0 && registered < LATE_HOOKS;
        csock_close(&s);
        for (int k = 0; k < registered; k++) {
            if (seen_by[k] != i) r->unseen++;
            if (k > 0 && seen_by[k - 1] == i && position_of[k] <= position_of[k - 1])
                r->out_of_order++;
        }
    }
    return NULL;
}

/*
 * Adds hooks until all are in. The lock only keeps tag order equal to chain order, so the
 * counter's prefix is exactly the hooks already in the chain; the library's own list handles
 * the concurrency with creators.
 */
static void *adder(void *arg) {
    int *failures = arg;
    for (;;) {
        pthread_mutex_lock(&add_lock);
        int k = atomic_load(&late_added);
        if (k == LATE_HOOKS) {
            pthread_mutex_unlock(&add_lock);
            return NULL;
        }
        late_tags[k] = k;
        if (csock_audit_add(late_hook, &late_tags[k]) != 0) (*failures)++;
        atomic_store(&late_added, k + 1);
        pthread_mutex_unlock(&add_lock);
        sched_yield();
    }
}

static void test_threads(void) {
    diag("%d late hooks added from %d threads while %d threads make %d sockets each", LATE_HOOKS,
         ADDERS, CREATORS, ROUNDS);
    pthread_t creators[CREATORS], adders[ADDERS];
    struct creator_result results[CREATORS] = {{0, 0, 0, 0, 0}};
    int add_failures[ADDERS] = {0};
    for (int i = 0; i < CREATORS; i++) pthread_create(&creators[i], NULL, creator, &results[i]);
    for (int i = 0; i < ADDERS; i++) pthread_create(&adders[i], NULL, adder, &add_failures[i]);
    struct creator_result total = {0, 0, 0, 0, 0};
    int adds_failed = 0;
    for (int i = 0; i < ADDERS; i++) {
        pthread_join(adders[i], NULL);
        adds_failed += add_failures[i];
    }
    for (int i = 0; i < CREATORS; i++) {
        pthread_join(creators[i], NULL);
        total.failures += results[i].failures;
        total.unseen += results[i].unseen;
        total.out_of_order += results[i].out_of_order;
        total.creations += results[i].creations;
        total.partial += results[i].partial;
    }
    diag("threads: %d creations overlapped the additions", total.partial);
    is_int(adds_failed, 0, "threads: every csock_audit_add succeeded");
    is_int(total.failures, 0, "threads: every open succeeded");
    is_int(total.creations, CREATORS * ROUNDS, "threads: every creation ran");
    is_int(total.unseen, 0, "threads: every creation seen by each hook added before it started");
    is_int(total.out_of_order, 0, "threads: hooks ran in the order they were added");

    /* After the threads: this thread's creation goes through the whole chain, in order. */
    current_creation = -7;
    position = 0;
    n_calls = 0;
    csock_socket s;
    is_int(csock_open(&s, AF_UNIX, SOCK_STREAM, 0), 0, "after the threads: open");
    csock_close(&s);
    int all_seen = 1, in_order = 1;
    for (int k = 0; k < LATE_HOOKS; k++) {
        all_seen &= seen_by[k] == -7;
        if (k > 0) in_order &= position_of[k] == position_of[k - 1] + 1;
    }
    ok(all_seen, "after the threads: every late hook saw the creation");
    ok(in_order, "after the threads: late hooks ran in the order they were added");
    is_int(n_calls, 2, "after the threads: the first two hooks ran too");
}

int main(void) {
    test_add();
    test_open_events();
    test_adopt_events();
    test_open_refused(-EACCES, EACCES, "refused with -EACCES");
    test_open_refused(-EROFS, EROFS, "refused with -EROFS");
    test_open_refused(1, EPERM, "refused with 1");
    test_open_refused(42, EPERM, "refused with 42");
    test_adopt_refused();
    test_refusal_messages();
    test_threads();
    return done_testing();
}
