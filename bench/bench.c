/*
 * bench.c: what csock costs over the bare system calls doing the same work.
 *
 * For each operation the harness times a round of calls of the bare version, then a round of the
 * csock version (the order alternates from round to round), and takes the ratio csock / bare of
 * that round. It prints the median ratio over all rounds with the smallest and largest, next to
 * the target. One warm-up round is discarded. It prints; it asserts nothing. The first row times
 * the bare call against itself: its spread is the noise of the machine.
 *
 * The CPython rows time `socket.socket()` + `close()` in a python3 child process, driven round by
 * round through a pipe and interleaved with rounds of the bare calls here (PYTHON names the
 * interpreter; python3 by default).
 *
 *   build/bench/bench [rounds]
 */
#include <csock.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_ROUNDS 1001
#define ROUND_NS 4000000.0 /* each side of a round runs for about 4 ms */

static int rounds = 51;
static int failures; /* calls that returned an error: the rows they touch are not valid */

/* The descriptors the operations work on, set up once. */
static struct {
    int fd;                  /* an AF_INET stream socket, never closed by the operations */
    csock_socket sock;       /* the same descriptor, adopted */
    struct sockaddr_in in4;  /* 127.0.0.1:8080 */
    struct sockaddr_in6 in6; /* [::1]:8080 */
    bool flip;               /* alternates the setters' argument */
} ctx;

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void check(int rc) {
    if (rc < 0) failures++;
}

/* ---- the operations: each bare version next to the csock version doing the same work ---- */

static void bare_open_close(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    check(fd);
    check(close(fd));
}

static void csock_open_close(void) {
    csock_socket s;
    check(csock_open(&s, AF_INET, SOCK_STREAM, 0));
    check(csock_close(&s));
}

static void getsockopt_int(int name) {
    int value;
    socklen_t len = sizeof value;
    check(getsockopt(ctx.fd, SOL_SOCKET, name, &value, &len));
}

static void bare_detect(void) {
    getsockopt_int(SO_DOMAIN);
    getsockopt_int(SO_TYPE);
    getsockopt_int(SO_PROTOCOL);
}

static void csock_adopt_detect(void) {
    csock_socket s; /* not closed: it wraps ctx.fd, which stays open */
    check(csock_adopt(&s, ctx.fd, CSOCK_DEFAULT, CSOCK_DEFAULT, CSOCK_DEFAULT));
}

static void bare_validate(void) { getsockopt_int(SO_TYPE); }

static void csock_adopt_explicit(void) {
    csock_socket s;
    check(csock_adopt(&s, ctx.fd, AF_INET, SOCK_STREAM, 0));
}

static void bare_dup_close(void) {
    int fd = fcntl(ctx.fd, F_DUPFD_CLOEXEC, 0);
    check(fd);
    check(close(fd));
}

static void csock_dup_close(void) {
    csock_socket s;
    check(csock_dup(&s, &ctx.sock));
    check(csock_close(&s));
}

static void bare_fionbio(void) {
    int on = ctx.flip = !ctx.flip;
    check(ioctl(ctx.fd, FIONBIO, &on));
}

/* The same bare call again, for the noise floor: a ratio of 1 up to the measuring noise. */
static void bare_fionbio_again(void) {
    int on = ctx.flip = !ctx.flip;
    check(ioctl(ctx.fd, FIONBIO, &on));
}

static void csock_set_blocking_op(void) {
    ctx.flip = !ctx.flip;
    check(csock_set_blocking(&ctx.sock, ctx.flip));
}

static void bare_fioclex(void) {
    ctx.flip = !ctx.flip;
    check(ioctl(ctx.fd, ctx.flip ? FIONCLEX : FIOCLEX));
}

static void csock_set_inheritable_op(void) {
    ctx.flip = !ctx.flip;
    check(csock_set_inheritable(&ctx.sock, ctx.flip));
}

static void bare_inspect(void) {
    bare_detect();
    check(fcntl(ctx.fd, F_GETFL));
    check(fcntl(ctx.fd, F_GETFD));
    getsockopt_int(SO_ACCEPTCONN);
}

static void csock_inspect_op(void) {
    csock_info info;
    check(csock_inspect(ctx.fd, &info));
}

static char text[128];

/* inet_ntop, then the port: what a C program writes by hand. */
static void bare_format(int family, const void *ip_bytes, in_port_t port, const char *form) {
    char ip[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, ip_bytes, ip, sizeof ip)) failures++;
    check(snprintf(text, sizeof text, form, ip, ntohs(port)));
}

static void csock_format(const void *addr, socklen_t len) {
    check(csock_format_addr(addr, len, 0, text, sizeof text));
}

static void bare_format_in4(void) {
    bare_format(AF_INET, &ctx.in4.sin_addr, ctx.in4.sin_port, "%s:%u");
}

static void csock_format_in4(void) { csock_format(&ctx.in4, sizeof ctx.in4); }

static void bare_format_in6(void) {
    bare_format(AF_INET6, &ctx.in6.sin6_addr, ctx.in6.sin6_port, "[%s]:%u");
}

static void csock_format_in6(void) { csock_format(&ctx.in6, sizeof ctx.in6); }

/* ---- connecting and serving: each connection is accepted and both ends closed, the same on
 * both sides of a row ---- */

static struct {
    int listener;     /* 127.0.0.1, accepting the connections the rows make */
    char port[16];    /* its port, as text */
} net;

/* Accepts the connection just made and closes both ends (the server's end first, with an RST,
 * so that no TIME_WAIT piles up on the client's ports). */
static void finish_connection(int fd) {
    int conn = accept4(net.listener, NULL, NULL, SOCK_CLOEXEC);
    check(conn);
    struct linger hard = {1, 0};
    setsockopt(conn, SOL_SOCKET, SO_LINGER, &hard, sizeof hard);
    close(conn);
    check(close(fd));
}

/* What a C program writes by hand: getaddrinfo, then socket + connect over the results. */
static void bare_gai_connect(void) {
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo("127.0.0.1", net.port, &hints, &res) != 0) {
        failures++;
        return;
    }
    int fd = -1;
    for (struct addrinfo *a = res; a; a = a->ai_next) {
        fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, a->ai_addr, a->ai_addrlen) == 0) break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    check(fd);
    if (fd >= 0) finish_connection(fd);
}

static void csock_create_connection_op(void) {
    csock_socket s;
    int rc = csock_create_connection(&s, "127.0.0.1", net.port, CSOCK_DEFAULT, NULL);
    check(rc);
    if (rc == 0) finish_connection(s.fd);
}

/* socket, SO_REUSEADDR, bind, listen, close: a server by hand. */
static void bare_server(void) {
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1;
    check(fd);
    check(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one));
    check(bind(fd, (struct sockaddr *)&sin, sizeof sin));
    check(listen(fd, 128));
    check(close(fd));
}

static void csock_server_op(void) {
    csock_socket s;
    check(csock_create_server(&s, "127.0.0.1", NULL, AF_INET, CSOCK_DEFAULT, 0));
    check(csock_close(&s));
}

/* ---- timing ---- */

typedef void (*op_fn)(void);

/* One side of a round: runs `calls` calls and returns the mean time per call, in nanoseconds. */
typedef double (*side_fn)(void *arg, long calls);

static double time_calls(op_fn op, long calls) {
    double start = now_ns();
    for (long i = 0; i < calls; i++) op();
    return (now_ns() - start) / calls;
}

/* A side_fn for a C operation: `arg` points to its op_fn. */
static double time_op(void *arg, long calls) { return time_calls(*(op_fn *)arg, calls); }

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct result {
    double base_ns, ns, ratio, min, max;
};

/*
 * Interleaves `rounds` rounds of the bare side and the measured side (plus one warm-up round),
 * `calls` calls each, and summarises the per-round ratios measured / bare.
 */
static struct result compare(op_fn bare, side_fn side, void *arg, long calls) {
    static double base[MAX_ROUNDS], meas[MAX_ROUNDS], ratio[MAX_ROUNDS];
    for (int r = -1; r < rounds; r++) {
        double b, m;
        if (r % 2 == 0) {
            b = time_calls(bare, calls);
            m = side(arg, calls);
        } else {
            m = side(arg, calls);
            b = time_calls(bare, calls);
        }
        if (r < 0) continue; /* warm-up */
        base[r] = b;
        meas[r] = m;
        ratio[r] = m / b;
    }
    struct result res = {.base_ns = median(base, rounds), .ns = median(meas, rounds)};
    res.ratio = median(ratio, rounds); /* sorted now */
    res.min = ratio[0];
    res.max = ratio[rounds - 1];
    return res;
}

/* How many calls of `ns` nanoseconds each make one side of a round last about ROUND_NS. */
static long calls_per_round(double ns) {
    long calls = (long)(ROUND_NS / (ns > 1 ? ns : 1));
    return calls < 100 ? 100 : calls;
}

static void print_row(const char *what, const char *baseline, struct result r, const char *target) {
    printf("| %-26s | %-38s | %8.0f | %8.0f | %6.2f | %5.2f | %5.2f | %-7s |\n", what, baseline,
           r.base_ns, r.ns, r.ratio, r.min, r.max, target);
    fflush(stdout);
}

static void row(const char *what, const char *baseline, op_fn bare, op_fn op, const char *target) {
    int before = failures;
    long calls = calls_per_round(time_calls(bare, 200));
    struct result r = compare(bare, time_op, &op, calls);
    if (failures != before) {
        printf("| %-26s | %-38s | a call failed: %s |\n", what, baseline, strerror(errno));
        return;
    }
    print_row(what, baseline, r, target);
}

/* ---- CPython, in a child process driven round by round ---- */

static const char python_script[] =
    "import socket, _socket, sys, time\n"
    "make = {'socket': socket.socket, '_socket': _socket.socket}[sys.argv[1]]\n"
    "clock = time.perf_counter_ns\n"
    "for line in sys.stdin:\n"
    "    n = int(line)\n"
    "    start = clock()\n"
    "    for _ in range(n):\n"
    "        make().close()\n"
    "    print((clock() - start) / n, flush=True)\n";

/* CPython's create_connection to a listener of its own, accepted and closed like the C rows. */
static const char python_connect_script[] =
    "import socket, struct, sys, time\n"
    "listener = socket.create_server(('127.0.0.1', 0))\n"
    "address = ('127.0.0.1', listener.getsockname()[1])\n"
    "hard = struct.pack('ii', 1, 0)\n"
    "clock = time.perf_counter_ns\n"
    "for line in sys.stdin:\n"
    "    n = int(line)\n"
    "    start = clock()\n"
    "    for _ in range(n):\n"
    "        c = socket.create_connection(address)\n"
    "        a, _ = listener.accept()\n"
    "        a.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, hard)\n"
    "        a.close()\n"
    "        c.close()\n"
    "    print((clock() - start) / n, flush=True)\n";

struct python {
    FILE *to, *from;
    pid_t pid;
};

static bool python_start_script(struct python *py, const char *script, const char *kind) {
    const char *python = getenv("PYTHON");
    if (!python || !*python) python = "python3";
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) < 0) return false;
    if (pipe2(out, O_CLOEXEC) < 0) {
        close(in[0]);
        close(in[1]);
        return false;
    }
    py->pid = fork();
    if (py->pid < 0) {
        close(in[0]);
        close(in[1]);
        close(out[0]);
        close(out[1]);
        return false;
    }
    if (py->pid == 0) {
        dup2(in[0], 0);
        dup2(out[1], 1);
        execlp(python, python, "-c", script, kind, (char *)NULL);
        _exit(127);
    }
    close(in[0]);
    close(out[1]);
    py->to = fdopen(in[1], "w");
    py->from = fdopen(out[0], "r");
    return py->pid > 0 && py->to && py->from;
}

static void python_stop(struct python *py) {
    if (py->to) fclose(py->to); /* end of input: the child's loop ends */
    if (py->from) fclose(py->from);
    if (py->pid > 0) waitpid(py->pid, NULL, 0);
}

/* One round in the child: the mean time per call it measured, or a negative value. */
static double python_round(void *arg, long calls) {
    struct python *py = arg;
    double ns;
    if (fprintf(py->to, "%ld\n", calls) < 0 || fflush(py->to) != 0) return -1;
    if (fscanf(py->from, "%lf", &ns) != 1) return -1;
    return ns;
}

static void python_row_with(const char *what, const char *baseline, const char *script,
                            const char *kind, op_fn bare);

static void python_row(const char *what, const char *kind) {
    python_row_with(what, "socket(SOCK_CLOEXEC) + close, in C", python_script, kind,
                    bare_open_close);
}

static void python_row_with(const char *what, const char *baseline, const char *script,
                            const char *kind, op_fn bare) {
    struct python py = {0};
    double ns = -1;
    if (python_start_script(&py, script, kind)) ns = python_round(&py, 200);
    if (ns < 0) {
        python_stop(&py);
        printf("| %-26s | %-38s | not measured: no working python3 |\n", what, baseline);
        return;
    }
    struct result r = compare(bare, python_round, &py, calls_per_round(ns));
    python_stop(&py);
    if (r.min <= 0) {
        printf("| %-26s | %-38s | not measured: python3 stopped answering |\n", what, baseline);
        return;
    }
    print_row(what, baseline, r, "-");
}

/* ---- setup and the table ---- */

static void describe_machine(void) {
    char model[256] = "unknown CPU";
    FILE *f = fopen("/proc/cpuinfo", "r");
    char line[512];
    while (f && fgets(line, sizeof line, f)) {
        char *colon = strchr(line, ':');
        if (strncmp(line, "model name", 10) == 0 && colon) {
            snprintf(model, sizeof model, "%s", colon + 2);
            model[strcspn(model, "\n")] = 0;
            break;
        }
    }
    if (f) fclose(f);
    struct utsname u;
    uname(&u);
    printf("csock %s, %s, %ld CPUs, Linux %s; pinned to one CPU\n", csock_version(), model,
           sysconf(_SC_NPROCESSORS_ONLN), u.release);
    printf("%d rounds per row after one warm-up round; each round runs the bare calls and the\n"
           "measured calls (order alternating), about %.0f ms each; ratio = measured / bare per\n"
           "round, median (min, max) over the rounds; ns = median time per call.\n\n",
           rounds, ROUND_NS / 1e6);
}

static void pin_to_current_cpu(void) {
    int cpu = sched_getcpu();
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu < 0 ? 0 : cpu, &set);
    sched_setaffinity(0, sizeof set, &set); /* best effort: the numbers are only noisier */
}

int main(int argc, char **argv) {
    if (argc > 1) {
        rounds = atoi(argv[1]);
        if (rounds < 1 || rounds > MAX_ROUNDS) {
            fprintf(stderr, "usage: %s [rounds, 1..%d]\n", argv[0], MAX_ROUNDS);
            return 2;
        }
    }
    signal(SIGPIPE, SIG_IGN);
    pin_to_current_cpu();

    if (csock_open(&ctx.sock, AF_INET, SOCK_STREAM, 0) < 0) {
        fprintf(stderr, "csock_open: %s\n", csock_last_error());
        return 1;
    }
    ctx.fd = ctx.sock.fd;
    ctx.in4.sin_family = AF_INET;
    ctx.in4.sin_port = htons(8080);
    ctx.in4.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ctx.in6.sin6_family = AF_INET6;
    ctx.in6.sin6_port = htons(8080);
    ctx.in6.sin6_addr = in6addr_loopback;

    describe_machine();
    printf("| %-26s | %-38s | %8s | %8s | %6s | %5s | %5s | %-7s |\n", "operation",
           "bare equivalent", "bare ns", "ns", "ratio", "min", "max", "target");
    printf("|%s|%s|%s|%s|%s|%s|%s|%s|\n", "----------------------------",
           "----------------------------------------", "---------:", "---------:", "-------:",
           "------:", "------:", "---------");
    row("noise floor: bare again", "ioctl(FIONBIO)", bare_fionbio, bare_fionbio_again, "1.00");
    row("csock_open + csock_close", "socket(SOCK_CLOEXEC) + close", bare_open_close,
        csock_open_close, "<= 1.05");
    row("csock_adopt, detecting", "getsockopt DOMAIN, TYPE, PROTOCOL", bare_detect,
        csock_adopt_detect, "<= 1.10");
    row("csock_adopt, explicit", "getsockopt(SO_TYPE)", bare_validate, csock_adopt_explicit,
        "<= 1.10");
    row("csock_dup + csock_close", "fcntl(F_DUPFD_CLOEXEC) + close", bare_dup_close,
        csock_dup_close, "<= 1.10");
    row("csock_set_blocking", "ioctl(FIONBIO)", bare_fionbio, csock_set_blocking_op, "<= 1.10");
    row("csock_set_inheritable", "ioctl(FIOCLEX / FIONCLEX)", bare_fioclex,
        csock_set_inheritable_op, "<= 1.10");
    row("csock_inspect", "the same 6 getsockopt/fcntl calls", bare_inspect, csock_inspect_op,
        "<= 1.10");
    row("csock_format_addr, IPv4", "inet_ntop + snprintf", bare_format_in4, csock_format_in4,
        "<= 1.10");
    row("csock_format_addr, IPv6", "inet_ntop + snprintf", bare_format_in6, csock_format_in6,
        "<= 1.10");
    python_row("CPython socket.socket()", "socket");
    python_row("CPython _socket.socket()", "_socket");

    /* Connecting and serving on loopback. */
    struct sockaddr_in lo = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t lolen = sizeof lo;
    net.listener = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (bind(net.listener, (struct sockaddr *)&lo, sizeof lo) < 0 || listen(net.listener, 128) < 0 ||
        getsockname(net.listener, (struct sockaddr *)&lo, &lolen) < 0) {
        printf("| loopback listener: %s |\n", strerror(errno));
    } else {
        snprintf(net.port, sizeof net.port, "%d", ntohs(lo.sin_port));
        row("create_connection, numeric", "getaddrinfo+socket+connect (+accept)", bare_gai_connect,
            csock_create_connection_op, "<= 1.05");
        python_row_with("CPython create_connection", "getaddrinfo+socket+connect (+accept)",
                        python_connect_script, "-", bare_gai_connect);
        row("create_server, numeric", "socket+SO_REUSEADDR+bind+listen+close", bare_server,
            csock_server_op, "<= 1.05");
    }
    close(net.listener);

    csock_close(&ctx.sock);
    return 0;
}
