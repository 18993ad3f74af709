/*
 * random_calls: long seeded random sequences of every exported csock function, with random
 * integers (families, types with random flag bits, protocols, flags, sizes), descriptors that are
 * owned, closed, negative, huge or not sockets, and NULL pointers, checking after every call:
 *
 * - a failure returns -errno with errno set to match and a message naming the function, and
 *   leaves every out-parameter untouched (compared with random sentinel bytes);
 * - a created socket is close-on-exec, records a type without SOCK_NONBLOCK or SOCK_CLOEXEC, and
 *   records what was asked (defaults applied) or what the kernel reports (detection);
 * - state read back (inheritable, blocking, inspect, addresses) agrees with the kernel and with
 *   the model this test keeps of every descriptor it owns;
 * - the audit hooks see each creation once per socket, in the order they were added, with the
 *   values recorded, and never a call that creates nothing; a refusal is the caller's error;
 * - the process has exactly the descriptors the model owns: nothing leaked, nothing closed.
 *
 * The seed is argv[1] or CSOCK_SEED (then only that sequence runs); otherwise a fixed seed and a
 * time-based one run, both printed. CSOCK_RANDOM_CALLS sets the calls per sequence. A violation
 * prints the seed and the call number: `random_calls SEED` replays the sequence exactly.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdint.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <time.h>

#include "tap.h"

#define FIXED_SEED 20240611ULL
#define DEFAULT_CALLS 20000
#define MAX_OWNED 40
#define MAX_HOOKS 6
#define MAX_PENDING 16
#define TEXT_MAX 512
#define CANARY 0xc5
#define FLAG_BITS (SOCK_NONBLOCK | SOCK_CLOEXEC)

/* ---- the generator ------------------------------------------------------------------------ */

static uint64_t rng;

static uint64_t next64(void) { /* splitmix64 */
    uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}
static unsigned rnd(unsigned n) { return (unsigned)(next64() % n); }
static int chance(unsigned percent) { return rnd(100) < percent; }
static int any_int(void) { return (int)(uint32_t)next64(); }
static void scramble(void *p, size_t n) {
    for (size_t i = 0; i < n; i++) ((unsigned char *)p)[i] = (unsigned char)next64();
}
#define PICK(array) (array)[rnd(sizeof(array) / sizeof((array)[0]))]

/* ---- the functions, their counters and violations ----------------------------------------- */

enum fn {
    F_OPEN, F_SOCKETPAIR, F_ADOPT, F_FROMFD, F_DUP, F_ACCEPT, F_CLOSE, F_DETACH, F_SHUTDOWN,
    F_GET_INHERITABLE, F_SET_INHERITABLE, F_GET_BLOCKING, F_SET_BLOCKING, F_INSPECT,
    F_GETSOCKNAME, F_GETPEERNAME, F_FORMAT_ADDR, F_REPR, F_FAMILY_NAME, F_TYPE_NAME, F_CONSTANT,
    F_CONSTANT64, F_LAST_ERROR, F_VERSION, F_AUDIT_ADD, F_LISTEN_FDS, F_CREATE_CONNECTION,
    F_CREATE_SERVER, F_CONNECT, F_SEND_FDS, F_RECV_FDS, F_CLOSE_FD, F_HAS_DUALSTACK, F_GAI_ERROR,
    F_STRERROR, F_VERSION_NUMBER, F_COUNT
};
static const char *const FN_NAMES[F_COUNT] = {
    "csock_open", "csock_socketpair", "csock_adopt", "csock_fromfd", "csock_dup", "csock_accept",
    "csock_close", "csock_detach", "csock_shutdown", "csock_get_inheritable",
    "csock_set_inheritable", "csock_get_blocking", "csock_set_blocking", "csock_inspect",
    "csock_getsockname", "csock_getpeername", "csock_format_addr", "csock_repr",
    "csock_family_name", "csock_type_name", "csock_constant", "csock_constant64",
    "csock_last_error", "csock_version", "csock_audit_add", "csock_listen_fds",
    "csock_create_connection", "csock_create_server", "csock_connect", "csock_send_fds",
    "csock_recv_fds", "csock_close_fd", "csock_has_dualstack_ipv6", "csock_gai_error",
    "csock_strerror", "csock_version_number"};

static uint64_t seed;
static long call_no, total_calls, total_violations;
static long calls[F_COUNT], successes[F_COUNT], violations[F_COUNT];
static enum fn cur;

static void violation(const char *fmt, ...) {
    violations[cur]++;
    if (total_violations++ >= 30) return;
    va_list ap;
    va_start(ap, fmt);
    printf("# seed %llu, call %ld, %s: ", (unsigned long long)seed, call_no, FN_NAMES[cur]);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}
#define expect(cond, ...) ((cond) ? (void)0 : violation(__VA_ARGS__))

/* ---- audit hooks: every call is logged; hook 0 records events and can refuse ------------- */

struct event {
    int fd, family, type, proto;
};
static int n_hooks;
static int refuse_value, refuse_after; /* hook 0 refuses with refuse_value after that many */
static int hook_log[64], hook_log_n, n_events;
static struct event events[4];
static long bad_event_names;

static int hook(const char *event, int fd, int family, int type, int proto, void *userdata) {
    int index = (int)(intptr_t)userdata;
    if (!event || strcmp(event, "socket.__new__") != 0) bad_event_names++;
    if (hook_log_n < 64) hook_log[hook_log_n++] = index;
    if (index != 0) return 0;
    if (n_events < 4) events[n_events] = (struct event){fd, family, type, proto};
    n_events++;
    return refuse_value && n_events > refuse_after ? refuse_value : 0;
}

/* The error a refusal value becomes. */
static int refusal_code(int value) { return value < 0 && value != INT_MIN ? value : -EPERM; }

/* Starts a call: counts it, resets the hook records, and sometimes arms a refusal. */
static void begin(enum fn f, int may_refuse) {
    cur = f;
    calls[f]++;
    call_no++;
    hook_log_n = n_events = 0;
    refuse_value = 0;
    if (may_refuse && chance(6)) {
        static const int values[] = {-EACCES, -EPERM, 1, 7, -EXDEV, INT_MIN, -ENOTSOCK};
        refuse_value = PICK(values);
        refuse_after = (int)rnd(2);
    }
}

/* Whether hook 0 refused during this call. */
static int refused(void) { return refuse_value && n_events > refuse_after; }

/* The hooks' view of the call just made: the log's shape, the refusal's code, the count. */
static void check_hooks(int ret, int creating, int events_on_success) {
    int k = n_hooks, len = refused() ? (n_events - 1) * k + 1 : n_events * k, shape = 1;
    for (int i = 0; i < hook_log_n; i++) shape &= hook_log[i] == i % k;
    expect(hook_log_n == len && shape, "hooks called out of order or incompletely (%d calls, "
                                       "%d events, %d hooks)", hook_log_n, n_events, k);
    expect(bad_event_names == 0, "a hook saw an event other than socket.__new__");
    if (!creating) expect(n_events == 0, "a hook saw an event from a call that creates nothing");
    if (refused())
        expect(ret == refusal_code(refuse_value), "returned %d after a refusal with %d", ret,
               refuse_value);
    if (creating && ret >= 0)
        expect(n_events == events_on_success && !refused(),
               "succeeded with %d events (expected %d), refusal %d after %d", n_events,
               events_on_success, refuse_value, refuse_after);
}

static void check_event(int i, int fd, int family, int type, int proto) {
    struct event e = events[i];
    expect(e.fd == fd && e.family == family && e.type == type && e.proto == proto,
           "event %d saw fd %d (%d, %d, %d), expected fd %d (%d, %d, %d)", i, e.fd, e.family,
           e.type, e.proto, fd, family, type, proto);
}

/* ---- the model ---------------------------------------------------------------------------- */

struct entry {
    csock_socket s;
    int inheritable, blocking;
    int desc; /* open file description: dup()s share it, and with it O_NONBLOCK */
};
static struct entry owned[MAX_OWNED], listener;
static int n_owned, next_desc = 2, base_fds, pending;
static int nonsock[4];                   /* a pipe's two ends, /dev/null, an eventfd */
static struct sockaddr_in listener_addr; /* where the listener (desc 1) listens */

static int count_mismatches; /* reported once per sequence, not per call */

/* After every call: the process has exactly the model's descriptors. */
static void check_fds(void) {
    int n = count_fds();
    if (n != base_fds + n_owned) {
        expect(0, "%d descriptors open, the model owns %d (+%d fixtures)", n, n_owned, base_fds);
        count_mismatches++;
        base_fds = n - n_owned; /* report each leak once */
    }
}

static int owns_fd(int fd) {
    if (fd == listener.s.fd) return 1;
    for (int i = 0; i < n_owned; i++)
        if (owned[i].s.fd == fd) return 1;
    return 0;
}

static struct entry *add(csock_socket s, int inheritable, int blocking, int desc) {
    expect(!owns_fd(s.fd), "returned descriptor %d, which is already owned", s.fd);
    if (n_owned == MAX_OWNED) { /* cannot happen: creations stop before */
        csock_close(&s);
        return NULL;
    }
    owned[n_owned] = (struct entry){s, inheritable, blocking, desc ? desc : next_desc++};
    return &owned[n_owned++];
}

static void drop(struct entry *e) { *e = owned[--n_owned]; }

/* The carrier: a unix datagram pair (a fixture), and the messages queued on it, each with the
 * model entries (by open file description) of the descriptors it carries (0: not a socket). */
#define MAX_QUEUED 8
static csock_socket carrier[2];
static struct queued {
    size_t n;
    int desc[4];
    csock_socket s[4];
    int blocking[4];
} queue[MAX_QUEUED];
static int queued;

static void set_desc_blocking(int desc, int blocking) {
    if (listener.desc == desc) listener.blocking = blocking;
    for (int i = 0; i < n_owned; i++)
        if (owned[i].desc == desc) owned[i].blocking = blocking;
    /* Descriptors in flight share their open file description too. */
    for (int m = 0; m < queued; m++)
        for (size_t i = 0; i < queue[m].n; i++)
            if (queue[m].desc[i] == desc) queue[m].blocking[i] = blocking;
}

static int getsockopt_int(int fd, int name) {
    int value = -1;
    socklen_t len = sizeof value;
    return getsockopt(fd, SOL_SOCKET, name, &value, &len) == 0 ? value : -errno;
}

/* A created socket: open, close-on-exec, no flag bits, the values expected, blocking as asked. */
static void check_created(const csock_socket *s, int family, int type, int proto, int blocking) {
    expect(s->fd >= 0 && fd_open(s->fd), "fd %d is not open", s->fd);
    expect((s->type & FLAG_BITS) == 0, "recorded type %#x carries flag bits", s->type);
    expect(fd_cloexec(s->fd) == 1, "fd %d is not close-on-exec", s->fd);
    expect(s->family == family && s->type == type && s->proto == proto,
           "recorded (%d, %d, %d), expected (%d, %d, %d)", s->family, s->type, s->proto, family,
           type, proto);
    expect(fd_nonblock(s->fd) == !blocking, "fd %d: O_NONBLOCK is %d", s->fd, fd_nonblock(s->fd));
}

/* The common contract of a call that returned `ret` with errno `err`. */
static void settle(int ret, int err, const void *out, const void *sentinel, size_t size) {
    if (ret >= 0) {
        successes[cur]++;
        return;
    }
    expect(err == -ret, "returned %d but errno is %d", ret, err);
    const char *msg = csock_last_error();
    size_t n = strlen(FN_NAMES[cur]);
    expect(msg && strncmp(msg, FN_NAMES[cur], n) == 0 && (msg[n] == '(' || msg[n] == ':'),
           "message '%s' does not name the function", msg ? msg : "(null)");
    if (size) expect(memcmp(out, sentinel, size) == 0, "out-parameters written on failure");
}

static void expect_code(int ret, int code) {
    expect(ret == code, "returned %d, expected %d", ret, code);
}

/* ---- arguments ---------------------------------------------------------------------------- */

/*
 * Neither AF_PACKET nor SOCK_PACKET: as root, creating or closing a packet socket waits for the
 * kernel (milliseconds each), which would make the sequences slow without testing more.
 */
static int gen_family(void) {
    static const int common[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK,
                                 AF_UNSPEC, AF_VSOCK, CSOCK_DEFAULT};
    int family;
    switch (rnd(10)) {
    case 0: family = (int)rnd(64); break;
    case 1: family = any_int(); break;
    case 2: family = rnd(2) ? INT_MAX : INT_MIN; break;
    default: family = PICK(common);
    }
    return family == AF_PACKET ? AF_UNIX : family;
}

static int gen_type(void) {
    static const int base[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, SOCK_RDM, 0};
    int t;
    switch (rnd(10)) {
    case 0: return CSOCK_DEFAULT;
    case 1: t = any_int(); break;
    case 2: t = (int)rnd(16); break;
    default: t = PICK(base);
    }
    if (chance(30)) t |= SOCK_NONBLOCK;
    if (chance(30)) t |= SOCK_CLOEXEC;
    if (chance(10)) t |= (int)(1u << rnd(31));
    return (t & ~FLAG_BITS) == SOCK_PACKET ? t ^ 1 : t;
}

static int gen_proto(void) {
    static const int common[] = {0, 0, CSOCK_DEFAULT, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_ICMP,
                                 IPPROTO_ICMPV6, IPPROTO_SCTP, IPPROTO_RAW};
    switch (rnd(8)) {
    case 0: return (int)rnd(256);
    case 1: return any_int();
    default: return PICK(common);
    }
}

static int defaulted(int value, int def) { return value == CSOCK_DEFAULT ? def : value; }

/* Kinds of descriptor argument; the errors the non-socket ones must give. */
enum fkind { K_OWNED, K_LISTENER, K_NONSOCK, K_CLOSED, K_NEGATIVE, K_HUGE };

/* A descriptor number that is not open (a closed one); the lowest free one if none is found. */
static int closed_fd(void) {
    for (int tries = 0; tries < 16; tries++) {
        int fd = 3 + (int)rnd(256);
        if (!fd_open(fd)) return fd;
    }
    int fd = 3;
    while (fd_open(fd)) fd++;
    return fd;
}

static int pick_fd(enum fkind *kind, struct entry **entry) {
    *entry = NULL;
    unsigned r = rnd(100);
    if (r < 35 && n_owned > 0) {
        *kind = K_OWNED;
        *entry = &owned[rnd((unsigned)n_owned)];
        return (*entry)->s.fd;
    }
    if (r < 45) {
        *kind = K_LISTENER;
        *entry = &listener;
        return listener.s.fd;
    }
    if (r < 60) {
        *kind = K_NONSOCK;
        return PICK(nonsock);
    }
    if (r < 75) {
        *kind = K_CLOSED;
        return closed_fd();
    }
    if (r < 90) {
        static const int negative[] = {-1, -2, INT_MIN, -1000};
        *kind = K_NEGATIVE;
        return rnd(4) ? PICK(negative) : -(int)rnd(INT_MAX) - 1;
    }
    *kind = K_HUGE;
    int fd = rnd(2) ? INT_MAX : (1 << 24) + (int)rnd(1 << 20);
    return fd_open(fd) ? INT_MAX : fd;
}

/* The error a descriptor of a failing kind gives, or 0 for a socket. */
static int kind_error(enum fkind kind) {
    return kind == K_NONSOCK ? -ENOTSOCK : kind >= K_CLOSED ? -EBADF : 0;
}

/*
 * What a creating call given a descriptor must return: -EINVAL for a NULL out, the error of a
 * descriptor that is not an open socket, else success unless a hook refused (see check_hooks).
 */
static void expect_fd_outcome(int ret, int null_out, enum fkind kind) {
    if (null_out)
        expect_code(ret, -EINVAL);
    else if (kind_error(kind))
        expect_code(ret, kind_error(kind));
    else if (!refused())
        expect_code(ret, 0);
}

/* Kinds of socket-pointer argument. */
enum skind { S_OWNED, S_LISTENER, S_CLOSED, S_STALE, S_NULL };

/* A socket argument; closed and stale values are built in `scratch`. */
static csock_socket *pick_sock(enum skind *kind, struct entry **entry, int allow_listener,
                               csock_socket *scratch) {
    *entry = NULL;
    unsigned r = rnd(100);
    if (r < 60 && n_owned > 0) {
        *kind = S_OWNED;
        *entry = &owned[rnd((unsigned)n_owned)];
        return &(*entry)->s;
    }
    if (r < 70 && allow_listener) {
        *kind = S_LISTENER;
        *entry = &listener;
        return &listener.s;
    }
    if (r < 95) {
        /* Closed (fd -1) or stale (a descriptor number that is not open any more). */
        *kind = r < 85 ? S_CLOSED : S_STALE;
        *scratch = (csock_socket){*kind == S_CLOSED ? -1 : closed_fd(), gen_family(),
                                  gen_type() & ~FLAG_BITS, gen_proto()};
        return scratch;
    }
    *kind = S_NULL;
    return NULL;
}

/* The error a socket of a failing kind gives, or 0. */
static int skind_error(enum skind kind) {
    return kind == S_NULL ? -EINVAL : kind >= S_CLOSED ? -EBADF : 0;
}

/* ---- creating ----------------------------------------------------------------------------- */

static struct entry *do_open(int family, int type, int proto) {
    int null_out = chance(3);
    csock_socket out, sentinel;
    scramble(&sentinel, sizeof sentinel);
    out = sentinel;
    begin(F_OPEN, 1);
    int r = csock_open(null_out ? NULL : &out, family, type, proto), err = errno;
    settle(r, err, &out, &sentinel, sizeof out);
    check_hooks(r, !null_out, 1);
    if (null_out) expect_code(r, -EINVAL);
    int fam = defaulted(family, AF_INET), ty = defaulted(type, SOCK_STREAM);
    int pr = defaulted(proto, 0);
    struct entry *e = NULL;
    if (r == 0) {
        int blocking = !(ty & SOCK_NONBLOCK);
        check_created(&out, fam, ty & ~FLAG_BITS, pr, blocking);
        check_event(0, -1, fam, ty, pr);
        e = add(out, 0, blocking, 0);
    }
    check_fds();
    return e;
}

static void op_open(void) { do_open(gen_family(), gen_type(), gen_proto()); }

/* A non-blocking client connected (or connecting) to the listener. */
static void op_connect(void) {
    if (pending >= MAX_PENDING) return;
    struct entry *e = do_open(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (e && connect(e->s.fd, (struct sockaddr *)&listener_addr, sizeof listener_addr) == 0)
        pending++;
    else if (e && errno == EINPROGRESS)
        pending++;
}

static void op_socketpair(void) {
    int family = rnd(2) ? AF_UNIX : gen_family();
    int type = gen_type(), proto = rnd(2) ? 0 : gen_proto(), null_out = chance(3);
    csock_socket pair[2], sentinel[2];
    scramble(sentinel, sizeof sentinel);
    memcpy(pair, sentinel, sizeof pair);
    begin(F_SOCKETPAIR, 1);
    int r = csock_socketpair(null_out ? NULL : pair, family, type, proto), err = errno;
    settle(r, err, pair, sentinel, sizeof pair);
    check_hooks(r, !null_out, 2);
    if (null_out) expect_code(r, -EINVAL);
    if (r == 0) {
        int fam = defaulted(family, AF_UNIX), ty = defaulted(type, SOCK_STREAM) & ~FLAG_BITS;
        int pr = defaulted(proto, 0), blocking = !(defaulted(type, 0) & SOCK_NONBLOCK);
        for (int i = 0; i < 2; i++) {
            check_created(&pair[i], fam, ty, pr, blocking);
            check_event(i, pair[i].fd, fam, defaulted(type, SOCK_STREAM), pr); /* as given */
            add(pair[i], 0, blocking, 0);
        }
    }
    check_fds();
}

/* The values adoption records: each -1 detected from the kernel, flag bits cleared. */
static void adopted_values(int fd, int family, int type, int proto, int v[3]) {
    v[0] = family == -1 ? getsockopt_int(fd, SO_DOMAIN) : family;
    v[1] = type == -1 ? getsockopt_int(fd, SO_TYPE) : type & ~FLAG_BITS;
    v[2] = proto == -1 ? getsockopt_int(fd, SO_PROTOCOL) : proto;
}

static void gen_detect_args(int v[3]) {
    v[0] = rnd(2) ? -1 : gen_family();
    v[1] = rnd(2) ? -1 : gen_type();
    v[2] = rnd(2) ? -1 : gen_proto();
}

/* Adopts `fd`; returns 1 if `out` now owns it. `kind` says what the call must give. */
static int do_adopt(int fd, enum fkind kind, csock_socket *out, int null_out) {
    int a[3];
    gen_detect_args(a);
    csock_socket sentinel;
    scramble(&sentinel, sizeof sentinel);
    *out = sentinel;
    int cloexec = fd_cloexec(fd), nonblock = fd_nonblock(fd);
    begin(F_ADOPT, 1);
    int r = csock_adopt(null_out ? NULL : out, fd, a[0], a[1], a[2]), err = errno;
    settle(r, err, out, &sentinel, sizeof *out);
    check_hooks(r, 1, 1);
    expect_fd_outcome(r, null_out, kind);
    expect(fd_cloexec(fd) == cloexec && fd_nonblock(fd) == nonblock,
           "adoption changed the descriptor's flags");
    if (r != 0) return 0;
    int v[3];
    adopted_values(fd, a[0], a[1], a[2], v);
    expect(out->fd == fd, "adopted fd %d as %d", fd, out->fd);
    expect(out->family == v[0] && out->type == v[1] && out->proto == v[2],
           "recorded (%d, %d, %d), expected (%d, %d, %d)", out->family, out->type, out->proto,
           v[0], v[1], v[2]);
    expect((out->type & FLAG_BITS) == 0, "recorded type %#x carries flag bits", out->type);
    check_event(0, fd, v[0], v[1], v[2]);
    return 1;
}

static void op_adopt(void) {
    csock_socket out;
    int null_out = chance(3);
    if (rnd(10) < 4) {
        /* A socket made without csock, adopted with random values: it keeps its flags. */
        int type = (rnd(2) ? SOCK_STREAM : SOCK_DGRAM) | (rnd(2) ? SOCK_NONBLOCK : 0) |
                   (rnd(2) ? SOCK_CLOEXEC : 0);
        int fd = socket(rnd(2) ? AF_UNIX : AF_INET, type, 0);
        if (fd < 0) return;
        if (do_adopt(fd, K_OWNED, &out, null_out))
            add(out, !(type & SOCK_CLOEXEC), !(type & SOCK_NONBLOCK), 0);
        else
            close(fd);
    } else {
        /* Anything else; a socket the model owns is handed back at once with csock_detach. */
        enum fkind kind;
        struct entry *e;
        int fd = pick_fd(&kind, &e);
        if (do_adopt(fd, kind, &out, null_out)) {
            begin(F_DETACH, 0);
            int r = csock_detach(&out);
            settle(r, errno, NULL, NULL, 0);
            expect(r == fd && out.fd == -1, "csock_detach returned %d for fd %d", r, fd);
        }
    }
    check_fds();
}

/* A new socket sharing `source`'s open file description. */
static void added_dup(const csock_socket *s, const struct entry *source) {
    expect(fd_cloexec(s->fd) == 1, "fd %d is not close-on-exec", s->fd);
    expect((s->type & FLAG_BITS) == 0, "recorded type %#x carries flag bits", s->type);
    expect(fd_nonblock(s->fd) == !source->blocking, "the duplicate's O_NONBLOCK differs");
    add(*s, 0, source->blocking, source->desc);
}

static void op_fromfd(void) {
    enum fkind kind;
    struct entry *source;
    int fd = pick_fd(&kind, &source), a[3], null_out = chance(3);
    gen_detect_args(a);
    csock_socket out, sentinel;
    scramble(&sentinel, sizeof sentinel);
    out = sentinel;
    int cloexec = fd_cloexec(fd);
    begin(F_FROMFD, 1);
    int r = csock_fromfd(null_out ? NULL : &out, fd, a[0], a[1], a[2]), err = errno;
    settle(r, err, &out, &sentinel, sizeof out);
    check_hooks(r, 1, 1);
    expect_fd_outcome(r, null_out, kind);
    expect(fd_cloexec(fd) == cloexec, "csock_fromfd changed the source's close-on-exec flag");
    if (r == 0) {
        int v[3];
        adopted_values(out.fd, a[0], a[1], a[2], v);
        expect(out.fd != fd && out.family == v[0] && out.type == v[1] && out.proto == v[2],
               "recorded fd %d (%d, %d, %d), expected a new fd (%d, %d, %d)", out.fd,
               out.family, out.type, out.proto, v[0], v[1], v[2]);
        check_event(0, out.fd, v[0], v[1], v[2]);
        added_dup(&out, source);
    }
    check_fds();
}

static void op_dup(void) {
    enum skind kind;
    struct entry *source;
    csock_socket scratch, out, sentinel;
    const csock_socket *sock = pick_sock(&kind, &source, 1, &scratch);
    int null_out = chance(3);
    scramble(&sentinel, sizeof sentinel);
    out = sentinel;
    begin(F_DUP, 1);
    int r = csock_dup(null_out ? NULL : &out, sock), err = errno;
    settle(r, err, &out, &sentinel, sizeof out);
    check_hooks(r, 1, 1);
    if (null_out || kind == S_NULL)
        expect_code(r, -EINVAL);
    else if (skind_error(kind))
        expect_code(r, skind_error(kind));
    else if (!refused())
        expect_code(r, 0);
    if (r == 0) {
        expect(out.family == sock->family && out.type == sock->type && out.proto == sock->proto,
               "the duplicate records (%d, %d, %d), the original (%d, %d, %d)", out.family,
               out.type, out.proto, sock->family, sock->type, sock->proto);
        check_event(0, out.fd, sock->family, sock->type, sock->proto);
        added_dup(&out, source);
    }
    check_fds();
}

static void op_accept(void) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    csock_socket *sock = pick_sock(&kind, &e, 1, &scratch);
    /* A blocking listening socket would wait: accept only where that cannot happen. */
    if (e && e->blocking && getsockopt_int(e->s.fd, SO_ACCEPTCONN) != 0) return;
    static const int flag_choices[] = {0, 0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | 1};
    int flags = rnd(5) ? PICK(flag_choices) : any_int(), null_out = chance(3);
    /* The address: none, a buffer of a random size, or a buffer without a length. */
    int mode = (int)rnd(4);
    struct {
        csock_socket out;
        unsigned char addr[sizeof(struct sockaddr_storage) + 16];
        socklen_t len;
    } a, sentinel;
    scramble(&sentinel, sizeof sentinel);
    memset(sentinel.addr, CANARY, sizeof sentinel.addr);
    socklen_t given = (socklen_t)rnd(sizeof(struct sockaddr_storage) + 1);
    sentinel.len = given;
    a = sentinel;
    int saw_listening = kind == S_OWNED || kind == S_LISTENER;
    int listening = saw_listening && getsockopt_int(sock->fd, SO_ACCEPTCONN) == 1;
    begin(F_ACCEPT, 1);
    int r = csock_accept(sock, null_out ? NULL : &a.out, mode ? (struct sockaddr *)a.addr : NULL,
                         mode == 1 ? NULL : &a.len, flags),
        err = errno;
    settle(r, err, &a, &sentinel, sizeof a);
    check_hooks(r, 1, 1);
    /* Pointers are checked first, then the descriptor (-1 without a call), then flags. */
    if (kind == S_NULL || null_out || mode == 1 || (kind != S_CLOSED && (flags & ~SOCK_NONBLOCK)))
        expect_code(r, -EINVAL);
    else if (skind_error(kind))
        expect_code(r, skind_error(kind));
    if (n_events > 0 && e && e->desc == listener.desc) pending--;
    if (r == 0) {
        expect(listening, "accepted on a socket that is not listening");
        check_created(&a.out, sock->family, sock->type, sock->proto, !(flags & SOCK_NONBLOCK));
        check_event(0, a.out.fd, sock->family, sock->type, sock->proto);
        if (mode >= 2) {
            socklen_t real = a.len, written = real < given ? real : given;
            expect(real == sizeof(struct sockaddr_in), "address length %u", (unsigned)real);
            int intact = 1;
            for (size_t i = written; i < sizeof a.addr; i++) intact &= a.addr[i] == CANARY;
            expect(intact, "csock_accept wrote past the %u bytes it was given", (unsigned)given);
        } else
            expect(a.len == given, "csock_accept wrote addrlen without an address");
        add(a.out, 0, !(flags & SOCK_NONBLOCK), 0);
    }
    check_fds();
}

/* ---- lifecycle and state ------------------------------------------------------------------ */

static void op_close(void) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    csock_socket *sock = pick_sock(&kind, &e, 0, &scratch);
    int behind_back = kind == S_OWNED && chance(10);
    if (behind_back) { /* closed with close(2) behind csock's back: EBADF */
        scratch = e->s;
        close(e->s.fd);
        drop(e);
        sock = &scratch;
    }
    begin(F_CLOSE, 0);
    int r = csock_close(sock), err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (sock) expect(sock->fd == -1, "fd is %d after csock_close", sock->fd);
    expect_code(r, kind == S_NULL ? -EINVAL : behind_back || kind == S_STALE ? -EBADF : 0);
    if (kind == S_OWNED && !behind_back) drop(e);
    check_fds();
}

static void op_detach(void) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    csock_socket *sock = pick_sock(&kind, &e, 0, &scratch);
    int fd = sock ? sock->fd : -1;
    begin(F_DETACH, 0);
    int r = csock_detach(sock), err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (kind == S_OWNED) {
        expect(r == fd && sock->fd == -1, "csock_detach returned %d for fd %d", r, fd);
        struct entry was = *e;
        drop(e);
        csock_socket out;
        /* Take it back with csock_adopt, or close it as its owner now. */
        if (r >= 0 && !(rnd(2) && do_adopt(r, K_OWNED, &out, 0) && add(out, was.inheritable,
                                                                       was.blocking, was.desc)))
            close(r);
    } else if (kind == S_STALE) {
        /* A number csock cannot know is closed: handed back without a system call. */
        expect(r == fd && sock->fd == -1, "csock_detach returned %d for fd %d", r, fd);
    } else {
        expect_code(r, kind == S_NULL ? -EINVAL : -EBADF);
    }
    check_fds();
}

static void op_shutdown(void) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    const csock_socket *sock = pick_sock(&kind, &e, 0, &scratch);
    if (e && e->desc == listener.desc) return; /* a duplicate of the listener: it would stop */
    static const int hows[] = {SHUT_RD, SHUT_WR, SHUT_RDWR, 3, -1};
    int how = rnd(5) ? PICK(hows) : any_int();
    begin(F_SHUTDOWN, 0);
    int r = csock_shutdown(sock, how), err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    int bad_how = how < SHUT_RD || how > SHUT_RDWR;
    if (kind == S_NULL || (kind != S_CLOSED && bad_how))
        expect_code(r, -EINVAL);
    else if (skind_error(kind))
        expect_code(r, skind_error(kind));
    check_fds();
}

/* get/set inheritable and blocking: the model, the kernel and csock agree. */
static void op_state(int blocking_state, int set) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    const csock_socket *sock = pick_sock(&kind, &e, 1, &scratch);
    int value = (int)rnd(2);
    if (set && kind == S_LISTENER && blocking_state) value = 0; /* it stays non-blocking */
    enum fn f = blocking_state ? (set ? F_SET_BLOCKING : F_GET_BLOCKING)
                               : (set ? F_SET_INHERITABLE : F_GET_INHERITABLE);
    begin(f, 0);
    int r = blocking_state ? (set ? csock_set_blocking(sock, value) : csock_get_blocking(sock))
                           : (set ? csock_set_inheritable(sock, value)
                                  : csock_get_inheritable(sock));
    settle(r, errno, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (skind_error(kind)) {
        expect_code(r, skind_error(kind));
    } else if (set) {
        expect_code(r, 0);
        if (blocking_state)
            set_desc_blocking(e->desc, value);
        else
            e->inheritable = value;
    } else {
        expect_code(r, blocking_state ? e->blocking : e->inheritable);
    }
    if (e) {
        expect(fd_cloexec(e->s.fd) == !e->inheritable, "FD_CLOEXEC disagrees with the model");
        expect(fd_nonblock(e->s.fd) == !e->blocking, "O_NONBLOCK disagrees with the model");
    }
    check_fds();
}
static void op_get_inheritable(void) { op_state(0, 0); }
static void op_set_inheritable(void) { op_state(0, 1); }
static void op_get_blocking(void) { op_state(1, 0); }
static void op_set_blocking(void) { op_state(1, 1); }

static void op_inspect(void) {
    enum fkind kind;
    struct entry *e;
    int fd = pick_fd(&kind, &e), null_info = chance(3);
    csock_info info, sentinel;
    scramble(&sentinel, sizeof sentinel);
    info = sentinel;
    begin(F_INSPECT, 0);
    int r = csock_inspect(fd, null_info ? NULL : &info), err = errno;
    settle(r, err, &info, &sentinel, sizeof info);
    check_hooks(r, 0, 0);
    expect_code(r, null_info ? -EINVAL : kind_error(kind));
    if (r == 0) {
        uint32_t flags = (e->blocking ? 0 : CSOCK_INFO_NONBLOCK) |
                         (e->inheritable ? 0 : CSOCK_INFO_CLOEXEC) |
                         (getsockopt_int(fd, SO_ACCEPTCONN) == 1 ? CSOCK_INFO_LISTENING : 0);
        expect(info.family == getsockopt_int(fd, SO_DOMAIN) &&
                   info.type == getsockopt_int(fd, SO_TYPE) &&
                   info.proto == getsockopt_int(fd, SO_PROTOCOL) && info.flags == flags,
               "inspect gave (%d, %d, %d, %#x)", info.family, info.type, info.proto, info.flags);
    }
    check_fds();
}

static void op_name(int peer) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    const csock_socket *sock = pick_sock(&kind, &e, 1, &scratch);
    int which = (int)rnd(8); /* 0: NULL addr, 1: NULL len, else both */
    struct {
        struct sockaddr_storage addr;
        socklen_t len;
    } a, sentinel;
    scramble(&sentinel, sizeof sentinel);
    a = sentinel;
    begin(peer ? F_GETPEERNAME : F_GETSOCKNAME, 0);
    int r = (peer ? csock_getpeername : csock_getsockname)(sock, which == 0 ? NULL : &a.addr,
                                                           which == 1 ? NULL : &a.len),
        err = errno;
    settle(r, err, &a, &sentinel, sizeof a);
    check_hooks(r, 0, 0);
    if (kind == S_NULL || which < 2)
        expect_code(r, -EINVAL);
    else if (skind_error(kind))
        expect_code(r, skind_error(kind));
    if (r == 0) {
        int zero = a.len <= sizeof a.addr;
        for (size_t i = a.len; zero && i < sizeof a.addr; i++)
            zero &= ((unsigned char *)&a.addr)[i] == 0;
        expect(zero, "bytes after the address (length %u) are not zero", (unsigned)a.len);
    }
    check_fds();
}
static void op_getsockname(void) { op_name(0); }
static void op_getpeername(void) { op_name(1); }

/*
 * A snprintf-like result: `ret` is the full length, `buf` (of `size`, followed by canaries)
 * holds its first size-1 bytes and a NUL, `full` is the whole text.
 */
static void check_text(int ret, const char *buf, size_t size, const char *full) {
    expect(ret >= 0 && (size_t)ret == strlen(full), "returned %d for a text of %zu bytes", ret,
           strlen(full));
    if (size > 0) {
        size_t n = (size_t)ret < size ? (size_t)ret : size - 1;
        expect(strncmp(buf, full, n) == 0 && buf[n] == '\0', "not a NUL-terminated prefix");
    }
    int intact = 1;
    for (size_t i = size; i < size + 16; i++) intact &= (unsigned char)buf[i] == CANARY;
    expect(intact, "wrote past the %zu bytes it was given", size);
}

static void op_format_addr(void) {
    static const int families[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_VSOCK, AF_PACKET,
                                   AF_CAN};
    socklen_t len = rnd(8) ? (socklen_t)rnd(129) : 0;
    int null_addr = chance(5), null_buf = chance(5);
    /* The address exactly as long as `len`, on the heap, so an over-read is seen by valgrind. */
    unsigned char *addr = malloc(len ? len : 1);
    scramble(addr, len);
    if (len >= 2) {
        sa_family_t f = (sa_family_t)(rnd(4) ? PICK(families) : (int)rnd(65536));
        memcpy(addr, &f, sizeof f);
    }
    size_t size = null_buf ? 0 : rnd(4) ? rnd(64) : TEXT_MAX;
    char buf[TEXT_MAX + 16], full[TEXT_MAX + 16];
    memset(buf, CANARY, sizeof buf);
    int proto = rnd(2) ? 0 : gen_proto();
    begin(F_FORMAT_ADDR, 0);
    int r = csock_format_addr(null_addr ? NULL : (struct sockaddr *)addr, len, proto,
                              null_buf && rnd(2) ? NULL : buf, size),
        err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (null_addr && len > 0)
        expect_code(r, -EINVAL);
    else if (r >= 0) {
        memset(full, CANARY, sizeof full);
        int whole = csock_format_addr(null_addr ? NULL : (struct sockaddr *)addr, len, proto,
                                      full, TEXT_MAX);
        expect(whole == r && whole < TEXT_MAX, "the length differs with a larger buffer");
        if (whole == r) check_text(r, buf, size, full);
    }
    free(addr);
    check_fds();
}

static void op_repr(void) {
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    const csock_socket *sock = pick_sock(&kind, &e, 1, &scratch);
    size_t size = rnd(4) ? rnd(80) : TEXT_MAX;
    char buf[TEXT_MAX + 16], full[TEXT_MAX + 16];
    memset(buf, CANARY, sizeof buf);
    begin(F_REPR, 0);
    int r = csock_repr(sock, size || rnd(2) ? buf : NULL, size), err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (kind == S_NULL) {
        expect_code(r, -EINVAL);
    } else {
        memset(full, CANARY, sizeof full);
        int whole = csock_repr(sock, full, TEXT_MAX);
        expect(whole == r, "the length differs with a larger buffer");
        if (whole == r) check_text(r, buf, size, full);
        char start[48];
        snprintf(start, sizeof start, sock->fd < 0 ? "<csock [closed] fd=-1," : "<csock fd=%d,",
                 sock->fd);
        expect(strncmp(full, start, strlen(start)) == 0, "repr '%s'", full);
    }
    check_fds();
}

/* ---- names, constants, version, hooks, activation ----------------------------------------- */

static void op_names(void) {
    int value = rnd(2) ? (int)rnd(64) - 8 : any_int();
    begin(F_FAMILY_NAME, 0);
    const char *family = csock_family_name(value);
    successes[cur]++;
    check_hooks(0, 0, 0);
    if (family) {
        int back = 0;
        expect(strncmp(family, "AF_", 3) == 0 && csock_constant(family, &back) == 0 &&
                   back == value,
               "family %d is named '%s', which is %d", value, family, back);
    }
    begin(F_TYPE_NAME, 0);
    const char *type = csock_type_name(value);
    successes[cur]++;
    check_hooks(0, 0, 0);
    const char *plain = csock_type_name(value & ~FLAG_BITS);
    expect(type == plain || (type && plain && strcmp(type, plain) == 0),
           "type %#x is named differently with flag bits", value);
    if (type) expect(strncmp(type, "SOCK_", 5) == 0, "type %#x is named '%s'", value, type);
    check_fds();
}

static void op_constant(void) {
    static const struct {
        const char *name;
        int value;
    } known[] = {{"AF_INET", AF_INET},           {"AF_UNIX", AF_UNIX},
                 {"SOCK_NONBLOCK", SOCK_NONBLOCK}, {"SOCK_CLOEXEC", SOCK_CLOEXEC},
                 {"SHUT_RDWR", SHUT_RDWR},       {"SOL_SOCKET", SOL_SOCKET},
                 {"IPPROTO_TCP", IPPROTO_TCP},   {"AF_NETLINK", AF_NETLINK}};
    static const char *const unknown[] = {"", "af_inet", "AF_", "AF_INET ", "SOCK", "AF_INETX"};
    char garbage[24];
    int which = (int)rnd(4), expected = 0;
    const char *name;
    if (which == 0) {
        int i = (int)rnd(sizeof known / sizeof known[0]);
        name = known[i].name;
        expected = known[i].value;
    } else if (which == 1) {
        name = PICK(unknown);
    } else if (which == 2) {
        size_t n = 1 + rnd(sizeof garbage - 1);
        for (size_t i = 0; i < n; i++) garbage[i] = (char)(1 + rnd(255));
        garbage[n] = '\0';
        name = garbage;
    } else {
        name = NULL;
    }
    int null_value = chance(5), r, err;
    if (rnd(2)) {
        int value, sentinel = any_int();
        value = sentinel;
        begin(F_CONSTANT, 0);
        r = csock_constant(name, null_value ? NULL : &value), err = errno;
        settle(r, err, &value, &sentinel, sizeof value);
        if (which == 0 && !null_value)
            expect(r == 0 && value == expected, "%s gave %d, value %d", name, r, value);
    } else {
        int64_t value, sentinel = (int64_t)next64();
        value = sentinel;
        begin(F_CONSTANT64, 0);
        r = csock_constant64(name, null_value ? NULL : &value), err = errno;
        settle(r, err, &value, &sentinel, sizeof value);
        if (which == 0 && !null_value)
            expect(r == 0 && value == expected, "%s gave %d, value %lld", name, r,
                   (long long)value);
    }
    check_hooks(r, 0, 0);
    if (null_value || !name)
        expect_code(r, -EINVAL);
    else if (which == 1)
        expect_code(r, -ENOENT);
    check_fds();
}

static void op_misc(void) {
    begin(F_VERSION, 0);
    const char *v = csock_version();
    successes[cur]++;
    char want[32];
    snprintf(want, sizeof want, "%d.%d.%d", CSOCK_VERSION_MAJOR, CSOCK_VERSION_MINOR,
             CSOCK_VERSION_PATCH);
    expect(v && strcmp(v, want) == 0, "version '%s'", v ? v : "(null)");
    begin(F_LAST_ERROR, 0);
    const char *msg = csock_last_error();
    successes[cur]++;
    expect(msg != NULL, "csock_last_error returned NULL");
    begin(F_VERSION_NUMBER, 0);
    int number = csock_version_number();
    successes[cur]++;
    expect(number == CSOCK_VERSION_NUMBER, "csock_version_number() is %d", number);
}

/* The resolver codes and their texts, for any return code. */
static void op_codes(void) {
    static const int eai[] = {EAI_BADFLAGS, EAI_NONAME, EAI_AGAIN,  EAI_FAIL,   EAI_FAMILY,
                              EAI_SOCKTYPE, EAI_SERVICE, EAI_MEMORY, EAI_NODATA, EAI_ADDRFAMILY};
    int rc;
    switch (rnd(4)) {
    case 0: rc = -(CSOCK_EAI_BASE - PICK(eai)); break;
    case 1: rc = -(int)rnd(140); break;
    case 2: rc = -(CSOCK_EAI_BASE + (int)rnd(200)); break;
    default: rc = any_int();
    }
    begin(F_GAI_ERROR, 0);
    int gai = csock_gai_error(rc);
    successes[cur]++;
    if (gai != 0)
        expect(rc == -(CSOCK_EAI_BASE - gai), "csock_gai_error(%d) is %d", rc, gai);
    if (rc > -CSOCK_EAI_BASE) expect(gai == 0, "csock_gai_error(%d) is %d, not 0", rc, gai);
    begin(F_STRERROR, 0);
    const char *text = csock_strerror(rc);
    successes[cur]++;
    expect(text && *text, "csock_strerror(%d) is NULL or empty", rc);
    if (text && gai != 0)
        expect(strcmp(text, gai_strerror(gai)) == 0, "csock_strerror(%d) is '%s'", rc, text);
    if (text && rc < 0 && rc > -CSOCK_EAI_BASE && strncmp(strerror(-rc), "Unknown", 7) != 0)
        expect(strcmp(text, strerror(-rc)) == 0, "csock_strerror(%d) is '%s'", rc, text);
    check_fds();
}

/* csock_has_dualstack_ipv6: a probe socket, closed again (the count must not change). */
static void op_has_dualstack(void) {
    begin(F_HAS_DUALSTACK, 0);
    int r = csock_has_dualstack_ipv6(), err = errno;
    settle(r, err, NULL, NULL, 0);
    expect(r == 0 || r == 1, "csock_has_dualstack_ipv6() is %d", r);
    check_fds();
}

static void op_audit_add(void) {
    int null_hook = n_hooks >= MAX_HOOKS || chance(50);
    begin(F_AUDIT_ADD, 0);
    int r = csock_audit_add(null_hook ? NULL : hook, (void *)(intptr_t)n_hooks), err = errno;
    settle(r, err, NULL, NULL, 0);
    expect_code(r, null_hook ? -EINVAL : 0);
    if (r == 0) n_hooks++;
    check_hooks(r, 0, 0);
    check_fds();
}

static int fd3_is_nonsock;

/* Activation variables: absent, another process's, malformed, or ours over non-sockets. */
static void op_listen_fds(void) {
    char self[24];
    snprintf(self, sizeof self, "%d", (int)getpid());
    static const char *const counts[] = {"1", "2", "0", "-1", "x", "99999999999", "3"};
    char other[24];
    snprintf(other, sizeof other, "%d", (int)getppid());
    int mode = (int)rnd(fd3_is_nonsock ? 5 : 3), expected = 0;
    switch (mode) {
    case 0: break; /* absent */
    case 1:
        setenv("LISTEN_PID", other, 1); /* another process's: 0 */
        setenv("LISTEN_FDS", "1", 1);
        break;
    case 2:
        setenv("LISTEN_PID", rnd(2) ? "garbage" : "0", 1);
        expected = -EINVAL;
        break;
    case 3: {
        const char *count = PICK(counts);
        setenv("LISTEN_PID", self, 1);
        setenv("LISTEN_FDS", rnd(4) ? count : count + 1, 1); /* some empty */
        expected = INT_MIN; /* EINVAL, ENOBUFS or ENOTSOCK: a failure */
        break;
    }
    default:
        setenv("LISTEN_PID", self, 1);
        setenv("LISTEN_FDS", "1", 1);
        if (rnd(2)) setenv("LISTEN_FDNAMES", rnd(2) ? "a:b" : "web", 1);
        expected = INT_MIN;
    }
    csock_listen_fd out[3], sentinel[3];
    scramble(sentinel, sizeof sentinel);
    memcpy(out, sentinel, sizeof out);
    size_t cap = rnd(4);
    int null_out = chance(20);
    uint32_t flags = rnd(4) ? (rnd(2) ? CSOCK_LISTEN_UNSET_ENV : 0) : (uint32_t)any_int();
    begin(F_LISTEN_FDS, 0);
    int r = csock_listen_fds(null_out ? NULL : out, cap, flags), err = errno;
    settle(r, err, out, sentinel, sizeof out);
    check_hooks(r, 0, 0); /* descriptor 3 is never a socket: nothing reaches the hooks */
    if ((flags & ~CSOCK_LISTEN_UNSET_ENV) || (null_out && cap > 0))
        expect_code(r, -EINVAL);
    else if (expected != INT_MIN)
        expect_code(r, expected);
    else
        expect(r < 0, "adopted %d descriptors from fd 3, which is not a socket", r);
    expect(memcmp(out, sentinel, sizeof out) == 0, "out written although nothing was adopted");
    if (flags == CSOCK_LISTEN_UNSET_ENV)
        expect(!getenv("LISTEN_PID") && !getenv("LISTEN_FDS") && !getenv("LISTEN_FDNAMES"),
               "CSOCK_LISTEN_UNSET_ENV left a variable");
    unsetenv("LISTEN_PID");
    unsetenv("LISTEN_FDS");
    unsetenv("LISTEN_FDNAMES");
    check_fds();
}

/* ---- connecting, serving, passing descriptors (0.2) --------------------------------------- */

static char listener_port[16];

/* csock_create_connection: to the listener (one attempt that connects), to ports where nothing
 * listens, with bad ports, bad options; numeric hosts only (no resolver traffic). */
static void op_create_connection(void) {
    if (pending >= MAX_PENDING) return;
    static const char *const hosts[] = {"127.0.0.1", "127.0.0.1", "::1", NULL, "0.0.0.0"};
    const char *host = PICK(hosts);
    int which_port = (int)rnd(6);
    const char *port = which_port < 3 ? listener_port : which_port == 3 ? "1" :
                       which_port == 4 ? "70000" : NULL;
    int timeouts[] = {-1, 2000, 1000};
    int timeout = PICK(timeouts), null_out = chance(3);
    csock_attempt attempts[4];
    /* Room past the struct, zeroed, for a caller that says its struct is larger. */
    struct {
        csock_connect_opts o;
        unsigned char later_fields[8];
    } room = {.o = {.size = sizeof room.o, .attempts = attempts, .attempts_cap = rnd(5)}};
    csock_connect_opts opts = room.o;
    int use_opts = (int)rnd(3), bad = 0, nonblock = 0;
    if (use_opts) {
        if (chance(15)) opts.flags = any_int(), bad = (opts.flags & ~(SOCK_NONBLOCK | CSOCK_EINTR)) != 0;
        else if (chance(30)) opts.flags = SOCK_NONBLOCK;
        if (chance(10)) opts.size = rnd(2) ? 1 : sizeof room, bad = bad || opts.size == 1;
        nonblock = !bad && (opts.flags & SOCK_NONBLOCK);
    }
    csock_socket out, sentinel;
    scramble(&sentinel, sizeof sentinel);
    out = sentinel;
    begin(F_CREATE_CONNECTION, 1);
    room.o = opts;
    int r = csock_create_connection(null_out ? NULL : &out, host, port, timeout,
                                    use_opts ? &room.o : NULL),
        err = errno;
    opts = room.o;
    settle(r, err, &out, &sentinel, sizeof out);
    if (null_out || which_port >= 4 || (use_opts && opts.size == 1))
        expect_code(r, -EINVAL);
    if (which_port == 3 && r != -EINVAL && !refused()) expect(r < 0, "connected to port 1");
    if (r == 0) {
        /* Only 127.0.0.1 and 0.0.0.0 (which Linux connects as loopback) reach the listener. */
        check_hooks(r, 1, n_events);
        check_created(&out, AF_INET, SOCK_STREAM, IPPROTO_TCP, !nonblock);
        add(out, 0, !nonblock, 0);
        pending++;
        if (use_opts && opts.attempts_cap > 0)
            expect(attempts[opts.attempts_len - 1 < opts.attempts_cap ? opts.attempts_len - 1 : 0]
                           .error == 0 || opts.attempts_len > opts.attempts_cap,
                   "the attempt that connected does not report error 0");
    } else {
        check_hooks(r, 1, 0);
    }
    check_fds();
}

/* csock_create_server: any family, numeric and abstract addresses, random flags and backlog. */
static void op_create_server(void) {
    static const int families[] = {AF_INET, AF_INET6, AF_UNIX, CSOCK_DEFAULT, AF_INET,
                                   AF_NETLINK};
    int family = rnd(10) ? PICK(families) : any_int();
    char unix_name[64];
    snprintf(unix_name, sizeof unix_name, "@csock-random-%d-%ld", (int)getpid(), call_no);
    const char *inet_hosts[] = {NULL, "", "127.0.0.1", "::1", "0.0.0.0"};
    const char *host = family == AF_UNIX ? (rnd(8) ? unix_name : NULL) : PICK(inet_hosts);
    const char *port = family == AF_UNIX ? (chance(10) ? "0" : NULL)
                                         : (rnd(4) ? NULL : rnd(2) ? "0" : "70000");
    static const uint32_t flag_choices[] = {0, 0, SOCK_NONBLOCK, CSOCK_SERVER_REUSE_PORT,
                                            CSOCK_SERVER_DUALSTACK, 0x100};
    uint32_t flags = rnd(8) ? PICK(flag_choices) : (uint32_t)any_int();
    int backlog = rnd(3) ? CSOCK_DEFAULT : (int)rnd(8) - 2, null_out = chance(3);
    csock_socket out, sentinel;
    scramble(&sentinel, sizeof sentinel);
    out = sentinel;
    begin(F_CREATE_SERVER, 1);
    int r = csock_create_server(null_out ? NULL : &out, host, port, family, backlog, flags),
        err = errno;
    settle(r, err, &out, &sentinel, sizeof out);
    check_hooks(r, 1, 1);
    int known = CSOCK_SERVER_REUSE_PORT | CSOCK_SERVER_DUALSTACK | SOCK_NONBLOCK;
    if (null_out || (flags & ~(uint32_t)known))
        expect_code(r, -EINVAL);
    if (r == 0) {
        int fam = defaulted(family, AF_INET), blocking = !(flags & SOCK_NONBLOCK);
        check_created(&out, fam, SOCK_STREAM, 0, blocking);
        expect(getsockopt_int(out.fd, SO_ACCEPTCONN) == 1, "the server is not listening");
        add(out, 0, blocking, 0);
    }
    check_fds();
}

/* csock_connect: any socket argument, to the listener or nowhere, random timeouts and flags. */
static void op_connect_call(void) {
    if (pending >= MAX_PENDING) return;
    enum skind kind;
    struct entry *e;
    csock_socket scratch;
    const csock_socket *sock = pick_sock(&kind, &e, 0, &scratch);
    int mode = (int)rnd(6); /* 0: NULL addr, 1: len too large, else the listener */
    socklen_t len = mode == 1 ? sizeof(struct sockaddr_storage) + 1 : sizeof listener_addr;
    static const int timeouts[] = {-1, 0, 500};
    int timeout = PICK(timeouts);
    int flags = rnd(6) ? (rnd(2) ? 0 : CSOCK_EINTR) : any_int();
    int was_nonblock = e ? fd_nonblock(e->s.fd) : -1;
    begin(F_CONNECT, 0);
    int r = csock_connect(sock, mode == 0 ? NULL : (struct sockaddr *)&listener_addr, len,
                          timeout, flags),
        err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (kind == S_NULL || mode < 2 || (kind != S_CLOSED && (flags & ~CSOCK_EINTR)))
        expect_code(r, kind == S_CLOSED && mode >= 2 && !(flags & ~CSOCK_EINTR) ? -EBADF : r);
    if (skind_error(kind) && kind != S_NULL && mode >= 2 && !(flags & ~CSOCK_EINTR))
        expect_code(r, skind_error(kind));
    if (e) expect(fd_nonblock(e->s.fd) == was_nonblock, "csock_connect changed the blocking mode");
    if ((r == 0 || r == -EINPROGRESS) && e && e->s.type == SOCK_STREAM) pending++;
    check_fds();
}


static void op_send_fds(void) {
    if (queued >= MAX_QUEUED) return;
    enum skind kind = S_OWNED;
    struct entry *e = NULL;
    csock_socket scratch;
    const csock_socket *sock = rnd(5) ? &carrier[0] : pick_sock(&kind, &e, 0, &scratch);
    int on_carrier = sock == &carrier[0];
    struct queued q = {.n = rnd(5)};
    int fds[4];
    for (size_t i = 0; i < q.n; i++) {
        if (n_owned > 0 && rnd(4)) {
            struct entry *src = &owned[rnd((unsigned)n_owned)];
            fds[i] = src->s.fd;
            q.desc[i] = src->desc, q.s[i] = src->s, q.blocking[i] = src->blocking;
        } else {
            fds[i] = PICK(nonsock);
        }
    }
    size_t nfds = chance(5) ? 254 : q.n;
    char data[4] = "abc";
    struct iovec iov = {data, rnd(4)};
    int flags = MSG_DONTWAIT | (chance(5) ? (int)(1u << rnd(31)) & ~MSG_OOB : 0);
    begin(F_SEND_FDS, 0);
    int r = csock_send_fds(sock, &iov, 1, nfds == 254 ? NULL : fds, nfds, flags, NULL, 0),
        err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    if (kind == S_NULL || nfds == 254) expect_code(r, -EINVAL);
    if (r >= 0 && on_carrier) {
        expect(r == (int)iov.iov_len, "sent %d of %zu bytes", r, iov.iov_len);
        queue[queued++] = q;
    } else if (r >= 0 && !on_carrier && q.n > 0 && e && e->s.family == AF_UNIX) {
        /* Sent somewhere the model does not read: those references are the kernel's now. */
    }
    check_fds();
}

static void op_recv_fds(void) {
    enum skind kind = S_OWNED;
    struct entry *e = NULL;
    csock_socket scratch;
    const csock_socket *sock = rnd(5) ? &carrier[1] : pick_sock(&kind, &e, 0, &scratch);
    int on_carrier = sock == &carrier[1];
    if (!on_carrier && kind == S_OWNED && e && e->s.family == AF_UNIX) return; /* unmodelled */
    struct {
        char data[8];
        int fds[4];
        size_t nfds;
        int msg_flags;
    } a, sentinel;
    scramble(&sentinel, sizeof sentinel);
    a = sentinel;
    size_t maxfds = rnd(5), len = rnd(2) ? sizeof a.data : rnd(2);
    int null_nfds = chance(5);
    begin(F_RECV_FDS, 0);
    int r = csock_recv_fds(sock, a.data, len, a.fds, maxfds, null_nfds ? NULL : &a.nfds,
                           MSG_DONTWAIT, rnd(2) ? &a.msg_flags : NULL, NULL, NULL),
        err = errno;
    settle(r, err, &a, &sentinel, sizeof a);
    check_hooks(r, 0, 0);
    if (kind == S_NULL || null_nfds) expect_code(r, -EINVAL);
    else if (on_carrier && queued == 0) expect_code(r, -EAGAIN);
    if (r >= 0 && on_carrier && queued > 0) {
        struct queued q = queue[0];
        memmove(queue, queue + 1, (size_t)(--queued) * sizeof queue[0]);
        size_t want = q.n < maxfds ? q.n : maxfds;
        expect(a.nfds == want, "received %zu descriptors of %zu sent (room for %zu)", a.nfds,
               q.n, maxfds);
        for (size_t i = 0; i < a.nfds && i < 4; i++) {
            expect(fd_cloexec(a.fds[i]) == 1, "received descriptor %d is not close-on-exec",
                   a.fds[i]);
            if (q.desc[i]) {
                csock_socket s = q.s[i];
                s.fd = a.fds[i];
                add(s, 0, q.blocking[i], q.desc[i]);
            } else {
                close(a.fds[i]);
            }
        }
        if (maxfds < q.n && a.msg_flags != sentinel.msg_flags)
            expect(a.msg_flags & MSG_CTRUNC, "descriptors cut off without MSG_CTRUNC");
        for (size_t i = a.nfds; i < 4; i++)
            expect(a.fds[i] == sentinel.fds[i], "entry %zu past nfds written", i);
    }
    check_fds();
}

static void op_close_fd(void) {
    enum fkind kind;
    struct entry *e;
    int fd = pick_fd(&kind, &e);
    if (kind == K_LISTENER || kind == K_NONSOCK) return; /* fixtures */
    begin(F_CLOSE_FD, 0);
    int r = csock_close_fd(fd), err = errno;
    settle(r, err, NULL, NULL, 0);
    check_hooks(r, 0, 0);
    expect_code(r, kind == K_OWNED ? 0 : -EBADF);
    if (kind == K_OWNED) drop(e);
    check_fds();
}

/* ---- the sequences ------------------------------------------------------------------------ */

static const struct {
    void (*op)(void);
    unsigned weight;
} OPS[] = {
    {op_open, 12},          {op_connect, 3},        {op_socketpair, 7},
    {op_adopt, 8},          {op_fromfd, 6},         {op_dup, 6},
    {op_accept, 6},         {op_close, 10},         {op_detach, 4},
    {op_shutdown, 3},       {op_get_inheritable, 2}, {op_set_inheritable, 3},
    {op_get_blocking, 2},   {op_set_blocking, 3},   {op_inspect, 4},
    {op_getsockname, 2},    {op_getpeername, 2},    {op_format_addr, 4},
    {op_repr, 3},           {op_names, 1},          {op_constant, 2},
    {op_misc, 1},           {op_listen_fds, 2},
    {op_create_connection, 3}, {op_create_server, 3}, {op_connect_call, 3},
    {op_send_fds, 4},       {op_recv_fds, 4},       {op_close_fd, 3},
    {op_codes, 2},          {op_has_dualstack, 1},
};

static void one_call(void) {
    if (n_owned >= MAX_OWNED - 4) { /* room for a pair and a dup: close first */
        op_close();
        return;
    }
    if (rnd(1000) < 3) {
        op_audit_add();
        return;
    }
    unsigned total = 0;
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) total += OPS[i].weight;
    unsigned r = rnd(total);
    for (size_t i = 0; i < sizeof OPS / sizeof OPS[0]; i++) {
        if (r < OPS[i].weight) {
            OPS[i].op();
            return;
        }
        r -= OPS[i].weight;
    }
}

static void run(uint64_t s, long n) {
    seed = rng = s;
    long violations_before = total_violations, calls_before = call_no;
    call_no = 0;
    count_mismatches = 0;
    for (long i = 0; i < n; i++) one_call();
    /* Drain the carrier, then close everything the sequence left open. */
    while (queued > 0) {
        char byte[8];
        int fds[4];
        size_t n = 0;
        struct queued q = queue[0];
        memmove(queue, queue + 1, (size_t)(--queued) * sizeof queue[0]);
        if (csock_recv_fds(&carrier[1], byte, sizeof byte, fds, 4, &n, MSG_DONTWAIT, NULL, NULL,
                           NULL) >= 0)
            for (size_t i = 0; i < n; i++) close(fds[i]);
        (void)q;
    }
    while (n_owned > 0) {
        begin(F_CLOSE, 0);
        int r = csock_close(&owned[0].s);
        settle(r, errno, NULL, NULL, 0);
        expect_code(r, 0);
        drop(&owned[0]);
    }
    check_fds();
    total_calls += call_no;
    diag("seed %llu: %ld calls", (unsigned long long)s, call_no);
    ok(total_violations == violations_before, "seed %llu: no invariant violated in %ld calls",
       (unsigned long long)s, call_no);
    ok(count_mismatches == 0, "seed %llu: the descriptor count always matched the model",
       (unsigned long long)s);
    if (total_violations != violations_before)
        diag("replay with: random_calls %llu", (unsigned long long)s);
    call_no += calls_before;
}

int main(int argc, char **argv) {
    const char *given = argc > 1 ? argv[1] : getenv("CSOCK_SEED");
    const char *env_calls = getenv("CSOCK_RANDOM_CALLS");
    long n = env_calls ? atol(env_calls) : DEFAULT_CALLS;
    if (n < 1) n = DEFAULT_CALLS;
    int fds_start = count_fds();

    /* Fixtures: non-sockets (the first one is descriptor 3 when 3 is free) and a listener. */
    int p[2];
    fd3_is_nonsock = !fd_open(3);
    if (pipe2(p, O_CLOEXEC) < 0) return 1;
    nonsock[0] = p[0];
    nonsock[1] = p[1];
    nonsock[2] = open("/dev/null", O_RDWR | O_CLOEXEC);
    nonsock[3] = eventfd(0, EFD_CLOEXEC);
    fd3_is_nonsock &= p[0] == 3;
    socklen_t len = sizeof listener_addr;
    listener_addr = (struct sockaddr_in){.sin_family = AF_INET,
                                         .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ready = nonsock[2] >= 0 && nonsock[3] >= 0 &&
                csock_open(&listener.s, AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) == 0 &&
                bind(listener.s.fd, (struct sockaddr *)&listener_addr, sizeof listener_addr) == 0 &&
                listen(listener.s.fd, 64) == 0 &&
                getsockname(listener.s.fd, (struct sockaddr *)&listener_addr, &len) == 0;
    if (!ready) {
        printf("Bail out! fixtures: %s\n", strerror(errno));
        return 1;
    }
    listener.blocking = 0;
    listener.desc = 1;
    snprintf(listener_port, sizeof listener_port, "%u", ntohs(listener_addr.sin_port));
    if (csock_socketpair(carrier, AF_UNIX, SOCK_DGRAM, 0) != 0) {
        printf("Bail out! carrier: %s\n", csock_last_error());
        return 1;
    }
    is_int(csock_audit_add(hook, (void *)(intptr_t)0), 0, "audit hook 0 added");
    n_hooks = 1;
    base_fds = count_fds();

    if (given) {
        run(strtoull(given, NULL, 0), n);
    } else {
        run(FIXED_SEED, n);
        run((uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32), n);
    }

    diag("%ld random calls in all; hooks at the end: %d", total_calls, n_hooks);
    for (int f = 0; f < F_COUNT; f++)
        ok(calls[f] > 0 && violations[f] == 0, "%s: %ld calls (%ld succeeded), %ld violations",
           FN_NAMES[f], calls[f], successes[f], violations[f]);

    csock_close(&listener.s);
    csock_close(&carrier[0]);
    csock_close(&carrier[1]);
    for (int i = 0; i < 4; i++) close(nonsock[i]);
    is_int(count_fds(), fds_start, "every descriptor is closed again");
    is_str(getenv("LISTEN_PID"), NULL, "the activation variables are gone");
    return done_testing();
}
