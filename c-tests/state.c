/*
 * Inheritability and blocking mode, read from and written to the kernel each time; and a socket
 * whose fd is -1, which every operation but csock_close and csock_repr refuses with -EBADF
 * without a system call.
 */
#include <csock.h>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include "tap.h"

/* A piece of state csock reads and writes: its getter and setter, and the kernel flag behind it,
 * which is set exactly when the getter returns 0 (FD_CLOEXEC for inheritable, O_NONBLOCK for
 * blocking). */
struct knob {
    const char *name, *flag_name;
    int (*get)(const csock_socket *);
    int (*set)(const csock_socket *, bool);
    int (*flag)(int fd);             /* the flag, read with fcntl */
    void (*set_flag)(int fd, int on); /* the flag, written with fcntl */
    int (*other_flag)(int fd);       /* the other knob's flag, which must not move */
};

static void set_cloexec_flag(int fd, int on) { fcntl(fd, F_SETFD, on ? FD_CLOEXEC : 0); }

static void set_nonblock_flag(int fd, int on) {
    int fl = fcntl(fd, F_GETFL);
    fcntl(fd, F_SETFL, on ? fl | O_NONBLOCK : fl & ~O_NONBLOCK);
}

static void round_trip(const struct knob *k, int type, int initial) {
    csock_socket s;
    csock_open(&s, AF_UNIX, type, 0);
    int other = k->other_flag(s.fd);
    is_int(k->get(&s), initial, "%s: a new socket reads %d", k->name, initial);
    is_int(k->flag(s.fd), !initial, "%s: %s is %d", k->name, k->flag_name, !initial);
    const int sequence[] = {!initial, !initial, initial, initial, !initial};
    for (size_t i = 0; i < sizeof sequence / sizeof sequence[0]; i++) {
        int v = sequence[i];
        is_int(k->set(&s, v), 0, "%s: set(%d) returns 0", k->name, v);
        is_int(k->flag(s.fd), !v, "%s: set(%d): %s read back with fcntl is %d", k->name, v,
               k->flag_name, !v);
        is_int(k->get(&s), v, "%s: set(%d): get reads %d", k->name, v, v);
    }
    for (int on = 0; on < 2; on++) {
        k->set_flag(s.fd, on);
        is_int(k->get(&s), !on, "%s: %s set to %d with fcntl: get reads %d (not cached)", k->name,
               k->flag_name, on, !on);
    }
    is_int(k->other_flag(s.fd), other, "%s: the other flag did not move", k->name);
    csock_close(&s);
}

static void test_round_trips(void) {
    const struct knob inheritable = {"inheritable", "FD_CLOEXEC", csock_get_inheritable,
                                     csock_set_inheritable, fd_cloexec, set_cloexec_flag,
                                     fd_nonblock};
    const struct knob blocking = {"blocking", "O_NONBLOCK", csock_get_blocking, csock_set_blocking,
                                  fd_nonblock, set_nonblock_flag, fd_cloexec};
    round_trip(&inheritable, SOCK_STREAM, 0);
    round_trip(&inheritable, SOCK_DGRAM | SOCK_NONBLOCK, 0);
    round_trip(&blocking, SOCK_STREAM, 1);
    round_trip(&blocking, SOCK_DGRAM | SOCK_NONBLOCK, 0);
}

static void test_bad_arguments(void) {
    csock_socket s;
    csock_open(&s, AF_UNIX, SOCK_STREAM, 0);
    int fd = s.fd;
    csock_close(&s);
    ok(!fd_open(fd), "a socket closed by csock_close");
    errno = 0;
    is_int(csock_get_inheritable(&s), -EBADF, "get_inheritable on a closed socket: -EBADF");
    is_int(errno, EBADF, "errno EBADF");
    is_int(csock_set_inheritable(&s, true), -EBADF, "set_inheritable on a closed socket: -EBADF");
    is_int(csock_get_blocking(&s), -EBADF, "get_blocking on a closed socket: -EBADF");
    is_int(csock_set_blocking(&s, false), -EBADF, "set_blocking on a closed socket: -EBADF");
    errno = 0;
    is_int(csock_get_inheritable(NULL), -EINVAL, "get_inheritable(NULL): -EINVAL");
    is_int(errno, EINVAL, "errno EINVAL");
    is_int(csock_set_inheritable(NULL, false), -EINVAL, "set_inheritable(NULL): -EINVAL");
    is_int(csock_get_blocking(NULL), -EINVAL, "get_blocking(NULL): -EINVAL");
    is_int(csock_set_blocking(NULL, true), -EINVAL, "set_blocking(NULL): -EINVAL");
}

/* Every operation on a socket whose fd is -1. */
enum { N_CLOSED_OPS = 14 };
static const char *const closed_op_names[N_CLOSED_OPS] = {
    "csock_close",         "csock_detach",          "csock_shutdown",
    "csock_get_inheritable", "csock_set_inheritable(true)", "csock_set_inheritable(false)",
    "csock_get_blocking",  "csock_set_blocking(true)", "csock_set_blocking(false)",
    "csock_dup",           "csock_accept",          "csock_getsockname",
    "csock_getpeername",   "csock_repr",
};

/*
 * Runs each operation on a closed socket: its return value into codes[], and whether the message
 * it left says "socket is closed" into closed_msg[] (1 for csock_close and csock_repr, which must
 * not fail).
 */
static void run_closed_ops(int codes[N_CLOSED_OPS], int closed_msg[N_CLOSED_OPS]) {
    csock_socket s = {-1, AF_UNIX, SOCK_STREAM, 0}, out;
    struct sockaddr_storage addr;
    socklen_t len = sizeof addr;
    char buf[128];
    for (int i = 0; i < N_CLOSED_OPS; i++) {
        switch (i) {
        case 0: codes[i] = csock_close(&s); break;
        case 1: codes[i] = csock_detach(&s); break;
        case 2: codes[i] = csock_shutdown(&s, SHUT_RDWR); break;
        case 3: codes[i] = csock_get_inheritable(&s); break;
        case 4: codes[i] = csock_set_inheritable(&s, true); break;
        case 5: codes[i] = csock_set_inheritable(&s, false); break;
        case 6: codes[i] = csock_get_blocking(&s); break;
        case 7: codes[i] = csock_set_blocking(&s, true); break;
        case 8: codes[i] = csock_set_blocking(&s, false); break;
        case 9: codes[i] = csock_dup(&out, &s); break;
        case 10: codes[i] = csock_accept(&s, &out, (struct sockaddr *)&addr, &len, 0); break;
        case 11: codes[i] = csock_getsockname(&s, &addr, &len); break;
        case 12: codes[i] = csock_getpeername(&s, &addr, &len); break;
        case 13: codes[i] = csock_repr(&s, buf, sizeof buf); break;
        }
        closed_msg[i] = i == 0 || i == 13 || strstr(csock_last_error(), "socket is closed") != NULL;
    }
}

static void check_closed_ops(const int codes[N_CLOSED_OPS], const int closed_msg[N_CLOSED_OPS],
                             const char *where) {
    is_int(codes[0], 0, "%s: csock_close on fd -1 is 0", where);
    for (int i = 1; i < N_CLOSED_OPS - 1; i++) {
        is_int(codes[i], -EBADF, "%s: %s on fd -1 is -EBADF", where, closed_op_names[i]);
        ok(closed_msg[i], "%s: %s: message says socket is closed", where, closed_op_names[i]);
    }
    ok(codes[N_CLOSED_OPS - 1] > 0, "%s: csock_repr on fd -1 succeeds", where);
}

/*
 * In a child, every system call whose first argument is -1 fails with an errno no kernel gives
 * (seccomp): an operation that reached the kernel with -1 would not return -EBADF. The child writes
 * the sanity check (fcntl(-1) must hit the filter) and the operations' results to `out`.
 */
#define FORBIDDEN_ERRNO ENOTRECOVERABLE
static void closed_ops_child(int out) {
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 0xffffffffu, 0, 1),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | FORBIDDEN_ERRNO),
        BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
    };
    struct sock_fprog prog = {.len = sizeof code / sizeof code[0], .filter = code};
    int result[1 + 2 * N_CLOSED_OPS] = {0};
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 ||
        syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) != 0)
        _exit(99);
    result[0] = fcntl(-1, F_GETFD) < 0 && errno == FORBIDDEN_ERRNO;
    run_closed_ops(result + 1, result + 1 + N_CLOSED_OPS);
    _exit(write(out, result, sizeof result) == (ssize_t)sizeof result ? 0 : 98);
}

static void test_closed_socket(void) {
    int codes[N_CLOSED_OPS], closed_msg[N_CLOSED_OPS];
    run_closed_ops(codes, closed_msg);
    check_closed_ops(codes, closed_msg, "here");

    csock_socket s = {-1, AF_UNIX, SOCK_STREAM, 0};
    char buf[128];
    int n = csock_repr(&s, buf, sizeof buf);
    is_str(buf, "<csock [closed] fd=-1, family=AF_UNIX, type=SOCK_STREAM, proto=0>",
           "csock_repr of a closed socket");
    is_int(n, (int)strlen(buf), "csock_repr returns the length");

    int p[2];
    if (pipe(p) != 0) return;
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        closed_ops_child(p[1]);
    }
    close(p[1]);
    int result[1 + 2 * N_CLOSED_OPS];
    ssize_t got = read(p[0], result, sizeof result);
    close(p[0]);
    int status = -1;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 99) {
        diag("seccomp filters cannot be installed here");
        ok(1, "no system call with fd -1 # SKIP seccomp unavailable");
        return;
    }
    if (!is_int(got, (ssize_t)sizeof result, "the child reported")) return;
    ok(result[0], "child: a system call with -1 fails with the filter's errno");
    check_closed_ops(result + 1, result + 1 + N_CLOSED_OPS, "no system call with -1");
}

int main(void) {
    int fds = count_fds();
    test_round_trips();
    test_bad_arguments();
    test_closed_socket();
    is_int(count_fds(), fds, "no descriptor leaked by the whole program");
    return done_testing();
}
