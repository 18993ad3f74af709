/*
 * csock_listen_fds: the LISTEN_FDS protocol, driven by a fork+exec harness.
 *
 * Each case forks a child that places the descriptors of the case at 3, 4, ... with dup2 (so
 * they are inherited, not close-on-exec), closes every other descriptor above 2, sets LISTEN_PID
 * (its own pid, after fork and before exec, unless the case says otherwise), LISTEN_FDS and
 * LISTEN_FDNAMES, and execs helpers/activated_report, which calls csock_listen_fds and reports,
 * one "key=value" line each, the result, errno, the descriptors' flags read back with fcntl
 * before and after, the descriptor count before and after, the sockets and their names, the
 * audit events, whether the unused part of `out` is untouched, the environment afterwards and
 * the result of a second call. Two cases also install a seccomp filter in the child before the
 * exec, so that a system call of csock_listen_fds fails on one descriptor of the range.
 */
#include <csock.h>
#include <errno.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

/* This harness reads flags in the helper it runs, so some of tap.h's helpers go unused. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "tap.h"
#pragma GCC diagnostic pop

#define REPORT_MAX 16384
#define HIGH_FD 100 /* where the child parks its descriptors while it clears 3.. */

static char helper[PATH_MAX];
static int fioclex_eio_fd = -1; /* the child makes ioctl(fd, FIOCLEX) fail with EIO on it */

struct report {
    char text[REPORT_MAX];
    int status;
};

/*
 * kinds, one letter per descriptor from 3 on: u unix stream, g unix datagram, q unix seqpacket,
 * t TCP listener on 127.0.0.1, d UDP, p the read end of a pipe, f /dev/null, x closed.
 */
static int make_fd(char kind) {
    int fds[2];
    switch (kind) {
    case 'u': return socket(AF_UNIX, SOCK_STREAM, 0);
    case 'g': return socket(AF_UNIX, SOCK_DGRAM, 0);
    case 'q': return socket(AF_UNIX, SOCK_SEQPACKET, 0);
    case 'd': return socket(AF_INET, SOCK_DGRAM, 0);
    case 't': {
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        struct sockaddr_in sin = {.sin_family = AF_INET,
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        if (fd < 0 || bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0 || listen(fd, 4) < 0)
            return -1;
        return fd;
    }
    case 'p':
        if (pipe(fds) < 0) return -1;
        close(fds[1]);
        return fds[0];
    case 'f': return open("/dev/null", O_RDONLY);
    default: return -1;
    }
}

static void child_fail(const char *what) {
    /* stdout is the report pipe: the parent shows this line as the report. */
    printf("child_error=%s: %s\n", what, strerror(errno));
    fflush(stdout);
    _exit(3);
}

/* A seccomp filter, kept across exec: ioctl(fd, FIOCLEX) fails with EIO, all else is allowed. */
static int fail_fioclex(int fd) {
    struct sock_filter code[] = {
        /* 0 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
        /* 1 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_ioctl, 0, 5),    /* -> 2 : 7 */
        /* 2 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        /* 3 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)fd, 0, 3), /* -> 4 : 7 */
        /* 4 */ BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[1])),
        /* 5 */ BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, FIOCLEX, 0, 1),      /* -> 6 : 7 */
        /* 6 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EIO),
        /* 7 */ BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) return -1;
    return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog);
}

static void set_or_unset(const char *name, const char *value) {
    if (value ? setenv(name, value, 1) : unsetenv(name)) child_fail(name);
}

/* LISTEN_PID: "self" is the child's own pid, "parent" another live process's, else literal. */
static void child(int report_fd, const char *kinds, const char *pid, const char *count,
                  const char *names, const char *pidfdid, char *const *args) {
    if (dup2(report_fd, 1) < 0) child_fail("dup2(report)");
    int n = (int)strlen(kinds);
    for (int i = 0; i < n; i++) {
        if (kinds[i] == 'x') continue;
        int fd = make_fd(kinds[i]);
        if (fd < 0 || dup2(fd, HIGH_FD + i) < 0) child_fail("make_fd");
        close(fd);
    }
    for (int fd = 3; fd < HIGH_FD; fd++) close(fd);
    for (int i = 0; i < n; i++)
        if (kinds[i] != 'x' && dup2(HIGH_FD + i, 3 + i) < 0) child_fail("dup2");
    for (int i = 0; i < n; i++) close(HIGH_FD + i);

    char own[32];
    if (pid && strcmp(pid, "self") == 0) snprintf(own, sizeof own, "%d", (int)getpid());
    else if (pid && strcmp(pid, "parent") == 0) snprintf(own, sizeof own, "%d", (int)getppid());
    else if (pid) snprintf(own, sizeof own, "%s", pid);
    set_or_unset("LISTEN_PID", pid ? own : NULL);
    set_or_unset("LISTEN_FDS", count);
    set_or_unset("LISTEN_FDNAMES", names);
    set_or_unset("LISTEN_PIDFDID", pidfdid);
    if (fioclex_eio_fd >= 0 && fail_fioclex(fioclex_eio_fd) != 0) {
        printf("seccomp=unavailable: %s\n", strerror(errno));
        fflush(stdout);
        _exit(0);
    }
    execv(helper, args);
    child_fail("execv");
}

/* Shows the previous case's report when one of its checks failed. */
static void diag_failed_report(const struct report *r) {
    static int failures_shown;
    if (tap_failures == failures_shown) return;
    failures_shown = tap_failures;
    diag("exit status %d, report:", r->status);
    for (const char *line = r->text; *line;) {
        const char *end = strchr(line, '\n');
        int len = end ? (int)(end - line) : (int)strlen(line);
        diag("  %.*s", len, line);
        line += len + (end != NULL);
    }
}

/* Runs one case; the report's text is read until end of file and the child is reaped. */
static void run(struct report *r, const char *kinds, const char *pid, const char *count,
                const char *names, const char *pidfdid, const char *const *opts) {
    char span[32];
    snprintf(span, sizeof span, "span=%zu", strlen(kinds));
    char *args[16] = {helper, "probe", span};
    for (int i = 0; opts && opts[i] && i < 12; i++) args[3 + i] = (char *)opts[i];

    int p[2];
    diag_failed_report(r);
    r->text[0] = '\0';
    r->status = -1;
    if (pipe2(p, O_CLOEXEC) < 0) return;
    fflush(stdout);
    pid_t kid = fork();
    if (kid == 0) child(p[1], kinds, pid, count, names, pidfdid, args);
    close(p[1]);
    size_t len = 0;
    ssize_t got;
    while (kid > 0 && len < REPORT_MAX - 1 &&
           ((got = read(p[0], r->text + len, REPORT_MAX - 1 - len)) > 0 ||
            (got < 0 && errno == EINTR)))
        if (got > 0) len += (size_t)got;
    r->text[len] = '\0';
    close(p[0]);
    if (kid > 0)
        while (waitpid(kid, &r->status, 0) < 0 && errno == EINTR) {
        }
}

/* The value of "key=..." in the report, or NULL. Four calls can be used at once. */
static const char *get(const struct report *r, const char *key) {
    static char values[4][1024];
    static int next;
    char *value = values[next++ % 4];
    size_t klen = strlen(key);
    for (const char *line = r->text; *line;) {
        const char *end = strchr(line, '\n');
        size_t len = end ? (size_t)(end - line) : strlen(line);
        if (len > klen && strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t vlen = len - klen - 1;
            if (vlen > sizeof values[0] - 1) vlen = sizeof values[0] - 1;
            memcpy(value, line + klen + 1, vlen);
            value[vlen] = '\0';
            return value;
        }
        line = end ? end + 1 : line + len;
    }
    return NULL;
}

static long get_int(const struct report *r, const char *key) {
    const char *v = get(r, key);
    return v ? strtol(v, NULL, 10) : LONG_MIN;
}

/* What every failure, and every call that finds nothing to adopt, must leave as it was. */
static void nothing_changed(const struct report *r, const char *what, const char *cloexec) {
    is_int(WIFEXITED(r->status) ? WEXITSTATUS(r->status) : -1, 0, "%s: helper ran", what);
    is_str(get(r, "cloexec_before"), cloexec, "%s: close-on-exec of 3.. beforehand", what);
    is_str(get(r, "cloexec_after"), cloexec, "%s: close-on-exec of 3.. unchanged", what);
    is_str(get(r, "nonblock_after"), get(r, "nonblock_before"), "%s: blocking mode unchanged",
           what);
    is_int(get_int(r, "fds_after"), get_int(r, "fds_before"), "%s: descriptor count unchanged",
           what);
    is_int(get_int(r, "out_untouched"), 1, "%s: out untouched", what);
}

static const char *errno_name(int err) {
    switch (err) {
    case EINVAL: return "EINVAL";
    case ENOTSOCK: return "ENOTSOCK";
    case EBADF: return "EBADF";
    case ENOBUFS: return "ENOBUFS";
    case EACCES: return "EACCES";
    case EIO: return "EIO";
    default: return "an error";
    }
}

/* A failure with `err`, before or after auditing. */
static void failed(const struct report *r, const char *what, int err, const char *cloexec) {
    is_int(get_int(r, "ret"), -err, "%s: returns -%s", what, errno_name(err));
    is_int(get_int(r, "errno"), err, "%s: errno set", what);
    const char *msg = get(r, "last_error");
    ok(msg && strncmp(msg, "csock_listen_fds(", 17) == 0, "%s: message names the call (%s)",
       what, msg ? msg : "none");
    nothing_changed(r, what, cloexec);
}

static void fails(const struct report *r, const char *what, int err, const char *cloexec) {
    failed(r, what, err, cloexec);
    is_int(get_int(r, "audits"), 0, "%s: nothing audited", what);
}

static void env_unset(const struct report *r, const char *what) {
    static const char *const vars[] = {"env.LISTEN_PID", "env.LISTEN_FDS", "env.LISTEN_FDNAMES",
                                       "env.LISTEN_PIDFDID"};
    for (size_t i = 0; i < sizeof vars / sizeof vars[0]; i++)
        is_str(get(r, vars[i]), "unset", "%s: %s removed", what, vars[i] + 4);
    is_int(get_int(r, "second"), 0, "%s: a second call returns 0", what);
}

static void env_kept(const struct report *r, const char *what) {
    const char *before = get(r, "env_before.LISTEN_PID");
    ok(before && strcmp(before, "unset") != 0, "%s: LISTEN_PID was set", what);
    is_str(get(r, "env.LISTEN_PID"), get(r, "env_before.LISTEN_PID"), "%s: LISTEN_PID kept",
           what);
    is_str(get(r, "env.LISTEN_FDS"), get(r, "env_before.LISTEN_FDS"), "%s: LISTEN_FDS kept",
           what);
}

static void sock_is(const struct report *r, int i, int family, int type, int proto,
                    const char *name) {
    char key[16], want[512];
    snprintf(key, sizeof key, "sock%d", i);
    snprintf(want, sizeof want, "fd=%d family=%d type=%d proto=%d listening=%d cloexec=1 name=%s",
             3 + i, family, type, proto, type == SOCK_STREAM && family == AF_INET, name);
    is_str(get(r, key), want, "sock %d: fd, detected values, close-on-exec, name %.20s", i, name);
}

static void audit_is(const struct report *r, int i, int family, int type, int proto) {
    char key[16], want[128];
    snprintf(key, sizeof key, "audit%d", i);
    snprintf(want, sizeof want, "socket.__new__ fd=%d family=%d type=%d proto=%d", 3 + i, family,
             type, proto);
    is_str(get(r, key), want, "audit %d: socket.__new__ with fd and detected values", i);
}

#define OPTS(...) ((const char *const[]){__VA_ARGS__, NULL})

static struct report r;

static void success_cases(void) {
    /* Four kinds of sockets, named, the variables removed; fd 4 non-blocking beforehand. */
    run(&r, "utdq", "self", "4", "alpha:beta:gamma:delta", "99", OPTS("flags=1", "nonblock=4"));
    is_int(get_int(&r, "ret"), 4, "four sockets received");
    is_str(get(&r, "cloexec_before"), "0000", "inherited without close-on-exec");
    is_str(get(&r, "cloexec_after"), "1111", "every one close-on-exec afterwards");
    is_str(get(&r, "nonblock_before"), "0100", "fd 4 non-blocking beforehand");
    is_str(get(&r, "nonblock_after"), "0100", "blocking modes unchanged");
    is_int(get_int(&r, "fds_after"), get_int(&r, "fds_before"), "no descriptor opened or closed");
    sock_is(&r, 0, AF_UNIX, SOCK_STREAM, 0, "alpha");
    sock_is(&r, 1, AF_INET, SOCK_STREAM, IPPROTO_TCP, "beta");
    sock_is(&r, 2, AF_INET, SOCK_DGRAM, IPPROTO_UDP, "gamma");
    sock_is(&r, 3, AF_UNIX, SOCK_SEQPACKET, 0, "delta");
    is_int(get_int(&r, "audits"), 4, "one audit event per socket");
    audit_is(&r, 0, AF_UNIX, SOCK_STREAM, 0);
    audit_is(&r, 1, AF_INET, SOCK_STREAM, IPPROTO_TCP);
    audit_is(&r, 2, AF_INET, SOCK_DGRAM, IPPROTO_UDP);
    audit_is(&r, 3, AF_UNIX, SOCK_SEQPACKET, 0);
    is_int(get_int(&r, "out_untouched"), 1, "out beyond the count untouched");
    env_unset(&r, "CSOCK_LISTEN_UNSET_ENV");

    /* No names: "unknown"; without the flag the variables stay and a second call sees them. */
    run(&r, "ug", "self", "2", NULL, NULL, OPTS("flags=0"));
    is_int(get_int(&r, "ret"), 2, "two sockets, no LISTEN_FDNAMES");
    sock_is(&r, 0, AF_UNIX, SOCK_STREAM, 0, "unknown");
    sock_is(&r, 1, AF_UNIX, SOCK_DGRAM, 0, "unknown");
    env_kept(&r, "flags 0");
    is_int(get_int(&r, "second"), 2, "flags 0: a second call receives them again");

    /* The exact capacity is enough. */
    run(&r, "uu", "self", "2", "a:b", NULL, OPTS("cap=2"));
    is_int(get_int(&r, "ret"), 2, "cap equal to the count");

    /* A name of 255 bytes fits, NUL-terminated. */
    char name255[256];
    memset(name255, 'n', 255);
    name255[255] = '\0';
    run(&r, "u", "self", "1", name255, NULL, OPTS("flags=1"));
    is_int(get_int(&r, "ret"), 1, "name of 255 bytes accepted");
    sock_is(&r, 0, AF_UNIX, SOCK_STREAM, 0, name255);
}

static void not_for_us_cases(void) {
    run(&r, "uu", "parent", "2", "a:b", NULL, OPTS("flags=0"));
    is_int(get_int(&r, "ret"), 0, "LISTEN_PID of another process: 0");
    nothing_changed(&r, "other pid", "00");
    is_int(get_int(&r, "audits"), 0, "other pid: nothing audited");
    env_kept(&r, "other pid without the flag");

    run(&r, "uu", "parent", "2", "a:b", "7", OPTS("flags=1"));
    is_int(get_int(&r, "ret"), 0, "other pid with CSOCK_LISTEN_UNSET_ENV: 0");
    nothing_changed(&r, "other pid, flag", "00");
    env_unset(&r, "other pid, flag");

    run(&r, "uu", NULL, NULL, NULL, NULL, OPTS("flags=1"));
    is_int(get_int(&r, "ret"), 0, "variables absent: 0");
    nothing_changed(&r, "absent", "00");

    run(&r, "uu", "self", NULL, NULL, NULL, OPTS("flags=0"));
    is_int(get_int(&r, "ret"), 0, "LISTEN_FDS absent: 0");
    nothing_changed(&r, "LISTEN_FDS absent", "00");

    run(&r, "", NULL, NULL, NULL, NULL, OPTS("null", "cap=0"));
    is_int(get_int(&r, "ret"), 0, "NULL out with cap 0 and no variables: 0");
}

/* A call that must fail: the descriptors of `kinds` at 3.., the variables, the helper's options. */
struct failing_case {
    const char *what, *kinds, *pid, *count, *names;
    const char *const *opts;
    int err;
    const char *cloexec; /* each descriptor's close-on-exec flag, before and after */
    int unsets;          /* CSOCK_LISTEN_UNSET_ENV given: the variables must be gone */
    const char *mentions; /* what the message names besides the call: a descriptor, a value */
};

static void failing(const struct failing_case *c) {
    run(&r, c->kinds, c->pid, c->count, c->names, c->unsets ? "5" : NULL, c->opts);
    fails(&r, c->what, c->err, c->cloexec);
    if (c->mentions) {
        const char *msg = get(&r, "last_error");
        ok(msg && strstr(msg, c->mentions), "%s: the message names %s (%s)", c->what, c->mentions,
           msg ? msg : "none");
    }
    if (c->unsets) env_unset(&r, c->what);
    else env_kept(&r, c->what);
}

static void failing_cases(void) {
    char name256[300];
    memset(name256, 'n', 256);
    strcpy(name256 + 256, ":b");
    const struct failing_case cases[] = {
        {"LISTEN_PID=\"12x\"", "u", "12x", "1", NULL, OPTS("flags=0"), EINVAL, "0", 0,
         "(LISTEN_PID=\"12x\")"},
        {"two names for three", "uuu", "self", "3", "a:b", OPTS("flags=1"), EINVAL, "000", 1,
         "(LISTEN_FDNAMES=\"a:b\")"},
        {"four names for three", "uuu", "self", "3", "a:b:c:d", OPTS("flags=0"), EINVAL, "000",
         0, NULL},
        {"empty LISTEN_FDNAMES", "u", "self", "1", "", OPTS("flags=0"), EINVAL, "0", 0, NULL},
        {"name of 256 bytes", "uu", "self", "2", name256, OPTS("flags=1"), EINVAL, "00", 1, NULL},
        {"NULL out with cap 4", "u", "self", "1", NULL, OPTS("null", "cap=4", "flags=1"), EINVAL,
         "0", 1, NULL},
        /* Unknown bits are refused before any descriptor is looked at; with UNSET_ENV among
           them the variables are removed all the same ("whatever the outcome"). */
        {"unknown flag 0x2", "u", "self", "1", NULL, OPTS("flags=2"), EINVAL, "0", 0, NULL},
        {"unknown flag with UNSET_ENV", "u", "self", "1", NULL, OPTS("flags=0x80000001"), EINVAL,
         "0", 1, NULL},
        {"unknown flag 0x2 with UNSET_ENV", "u", "self", "1", NULL, OPTS("flags=3"), EINVAL, "0",
         1, NULL},
        /* A non-socket among sockets; fd 5 close-on-exec beforehand, fd 3 not: both stay so. */
        {"pipe at fd 4", "upt", "self", "3", NULL, OPTS("flags=1", "cloexec=5"), ENOTSOCK, "001",
         1, "getsockopt(SO_DOMAIN) on fd 4: ENOTSOCK"},
        {"/dev/null at fd 3", "fu", "self", "2", NULL, OPTS("flags=0"), ENOTSOCK, "00", 0,
         " on fd 3: ENOTSOCK"},
        {"fd 4 closed", "ux", "self", "2", NULL, OPTS("flags=1"), EBADF, "0x", 1,
         " on fd 4: EBADF"},
        {"cap 2 for 3", "uuu", "self", "3", "a:b:c", OPTS("cap=2", "flags=1"), ENOBUFS, "000", 1,
         "more descriptors than cap (LISTEN_FDS=\"3\")"},
        {"NULL out with cap 0 for 1", "u", "self", "1", NULL, OPTS("null", "cap=0"), ENOBUFS, "0",
         0, NULL},
        {"LISTEN_FDS=2147483644 (the largest) with cap 16", "uu", "self", "2147483644", NULL,
         OPTS("flags=0"), ENOBUFS, "00", 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) failing(&cases[i]);

    static const char *const counts[] = {"3x", "-1", "0", "99999999999", "", "+1", " 1",
                                         "2147483645"};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        char what[64];
        snprintf(what, sizeof what, "LISTEN_FDS=\"%s\"", counts[i]);
        char quoted[64];
        snprintf(quoted, sizeof quoted, "(LISTEN_FDS=\"%s\")", counts[i]);
        failing(&(struct failing_case){what, "uuu", "self", counts[i], NULL, OPTS("flags=1"),
                                       EINVAL, "000", 1, quoted});
    }
}

static void refusal_case(void) {
    /* The hook refuses the second socket: the first is not adopted either. */
    run(&r, "ut", "self", "2", NULL, NULL, OPTS("flags=1", "refuse=4"));
    is_int(get_int(&r, "ret"), -EACCES, "audit refusal: the hook's -EACCES");
    is_int(get_int(&r, "errno"), EACCES, "audit refusal: errno set");
    nothing_changed(&r, "audit refusal", "00");
    is_int(get_int(&r, "audits"), 2, "audit refusal: both sockets were put to the hook");
    audit_is(&r, 1, AF_INET, SOCK_STREAM, IPPROTO_TCP);
    env_unset(&r, "audit refusal");
}

/*
 * ioctl(FIOCLEX) fails on fd 5, the last of three, after every socket was validated and audited:
 * close-on-exec is cleared again on exactly the descriptors the call had set it on.
 */
static void cloexec_failure_cases(void) {
    const struct {
        const char *what, *kinds, *cloexec;
        const char *const *opts;
    } cases[] = {
        {"FIOCLEX fails on fd 5", "uuu", "000", OPTS("flags=1", "nonblock=4")},
        {"FIOCLEX fails on fd 5, fd 4 close-on-exec", "utd", "010",
         OPTS("flags=1", "cloexec=4", "nonblock=3")},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *what = cases[i].what;
        fioclex_eio_fd = 5;
        run(&r, cases[i].kinds, "self", "3", "a:b:c", "5", cases[i].opts);
        fioclex_eio_fd = -1;
        if (get(&r, "seccomp")) {
            ok(1, "%s # SKIP seccomp %s", what, get(&r, "seccomp"));
            continue;
        }
        failed(&r, what, EIO, cases[i].cloexec);
        const char *msg = get(&r, "last_error");
        ok(msg && strstr(msg, "ioctl(FIOCLEX) on fd 5"), "%s: message names ioctl(FIOCLEX) on fd 5",
           what);
        const char *nonblock = get(&r, "nonblock_before");
        ok(nonblock && strchr(nonblock, '1'), "%s: one descriptor non-blocking before", what);
        is_int(get_int(&r, "audits"), 3, "%s: all three audited before", what);
        env_unset(&r, what);
    }
}

int main(int argc, char **argv) {
    (void)argc;
    const char *override = getenv("CSOCK_ACTIVATED_REPORT");
    const char *slash = strrchr(argv[0], '/');
    if (override) snprintf(helper, sizeof helper, "%s", override);
    else snprintf(helper, sizeof helper, "%.*s/helpers/activated_report",
                  slash ? (int)(slash - argv[0]) : 1, slash ? argv[0] : ".");
    if (access(helper, X_OK) != 0) {
        printf("Bail out! %s is not built (make %s)\n", helper, helper);
        return 1;
    }

    int fds_before = count_fds();
    success_cases();
    not_for_us_cases();
    failing_cases();
    refusal_case();
    cloexec_failure_cases();
    diag_failed_report(&r);
    is_int(count_fds(), fds_before, "the harness leaks no descriptor");
    return done_testing();
}
