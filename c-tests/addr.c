/*
 * csock_getsockname / csock_getpeername (whole zeroed sockaddr_storage) and csock_format_addr
 * (snprintf-style text), compared with Python's socket module for real bound sockets.
 */
#include <csock.h>

#include <arpa/inet.h>
#include <linux/can.h>
#include <linux/can/isotp.h>
#include <linux/netlink.h>
#include <linux/vm_sockets.h>
#include <netinet/in.h>
#include <netpacket/packet.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "tap.h"

#define FILL 0xAA

/* The text of an address through csock_format_addr, in a static buffer. */
static const char *text(const void *addr, socklen_t len, int proto) {
    static char buf[512];
    memset(buf, FILL, sizeof buf);
    int n = csock_format_addr(addr, len, proto, buf, sizeof buf);
    if (n < 0 || (size_t)n != strlen(buf)) diag("format_addr returned %d for '%s'", n, buf);
    return n < 0 ? NULL : buf;
}

/* 1 when every byte of `p` from `from` to `to` is `byte`. */
static int all(const void *p, size_t from, size_t to, unsigned char byte) {
    for (size_t i = from; i < to; i++)
        if (((const unsigned char *)p)[i] != byte) return 0;
    return 1;
}

/*
 * snprintf semantics: for sizes 0, 1, 2, n, n + 1 and a large one, the return is the full length
 * and the buffer holds exactly what snprintf("%s", want) leaves in a buffer of that size.
 */
static void snprintf_like(const void *addr, socklen_t len, const char *want) {
    int n = (int)strlen(want);
    is_int(csock_format_addr(addr, len, 0, NULL, 0), n, "'%s': NULL buffer, size 0: length", want);
    size_t sizes[] = {0, 1, 2, (size_t)n, (size_t)n + 1, 256};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        char got[260], expect[260];
        memset(got, FILL, sizeof got);
        memset(expect, FILL, sizeof expect);
        snprintf(expect, sizes[i], "%s", want);
        is_int(csock_format_addr(addr, len, 0, got, sizes[i]), n, "'%s', size %zu: returns %d",
               want, sizes[i], n);
        ok(memcmp(got, expect, sizeof got) == 0, "'%s', size %zu: buffer as snprintf leaves it",
           want, sizes[i]);
    }
}

/* --- Python's text for a descriptor's address, through `python3 -c` in a child. --- */

static const char *PY =
    "import socket, sys\n"
    "mode, arg = sys.argv[1], sys.argv[2]\n"
    "if mode == 'ntop6':\n"
    "    sys.stdout.write('[' + socket.inet_ntop(socket.AF_INET6, bytes.fromhex(arg)) + ']:1')\n"
    "    sys.exit()\n"
    "s = socket.socket(fileno=int(arg))\n"
    "a = s.getsockname() if mode == 'sock' else s.getpeername()\n"
    "f = s.family\n"
    "s.detach()\n"
    "if f == socket.AF_INET or f == socket.AF_NETLINK: t = f'{a[0]}:{a[1]}'\n"
    "elif f == socket.AF_INET6: t = f'[{a[0]}]:{a[1]}'\n"
    "elif isinstance(a, bytes): t = '@' + a[1:].decode()\n"
    "else: t = a\n"
    "sys.stdout.write(t)\n";

/* Runs the script with (mode, arg); 1 with the output in `out`, 0 if python3 is missing. */
static int python(const char *mode, const char *arg, char *out, size_t size) {
    const char *py = getenv("PYTHON") ? getenv("PYTHON") : "python3";
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        execlp(py, py, "-c", PY, mode, arg, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    size_t n = 0;
    ssize_t r;
    while (n + 1 < size && (r = read(p[0], out + n, size - 1 - n)) > 0) n += (size_t)r;
    out[n] = 0;
    close(p[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) return 0;
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) diag("python failed: %#x", status);
    return 1;
}

static int have_python;

/* Compares csock's text for the socket's own ("sock") or peer ("peer") address with Python's. */
static void same_as_python(csock_socket *s, const char *mode, const char *what) {
    struct sockaddr_storage ss;
    socklen_t len;
    int r = mode[0] == 's' ? csock_getsockname(s, &ss, &len) : csock_getpeername(s, &ss, &len);
    ok(r == 0, "%s: csock_get%sname", what, mode);
    if (!have_python) {
        ok(1, "%s: same text as Python # SKIP python3 not found", what);
        return;
    }
    char fd[16], py[512];
    snprintf(fd, sizeof fd, "%d", s->fd);
    csock_set_inheritable(s, true);
    python(mode, fd, py, sizeof py);
    csock_set_inheritable(s, false);
    is_str(text(&ss, len, s->proto), py, "%s: same text as Python", what);
}

/* Compares csock's text for an IPv6 address with Python's inet_ntop. */
static void ipv6_as_python(const char *ip) {
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(1)};
    inet_pton(AF_INET6, ip, &sin6.sin6_addr);
    if (!have_python) {
        ok(1, "%s: same as inet_ntop # SKIP python3 not found", ip);
        return;
    }
    char hex[33], py[128];
    for (int i = 0; i < 16; i++) sprintf(hex + 2 * i, "%02x", sin6.sin6_addr.s6_addr[i]);
    python("ntop6", hex, py, sizeof py);
    is_str(text(&sin6, sizeof sin6, 0), py, "%s: same as Python's inet_ntop", ip);
}

/* A socket bound to `addr` (no bind when addr is NULL). */
static csock_socket bound(int family, int type, int proto, const void *addr, socklen_t len) {
    csock_socket s = {-1, family, type, proto};
    if (csock_open(&s, family, type, proto) < 0) diag("open: %s", csock_last_error());
    else if (addr && bind(s.fd, addr, len) < 0) diag("bind: %s", strerror(errno));
    return s;
}

/* Expects csock_get{sock,peer}name to fail with -err, leaving addr and len untouched. */
static void name_fails(int peer, const csock_socket *s, int null_addr, int null_len, int err,
                       const char *what) {
    struct sockaddr_storage ss;
    socklen_t len = 0x5a5a;
    memset(&ss, FILL, sizeof ss);
    int before = count_fds();
    errno = 0;
    int r = (peer ? csock_getpeername : csock_getsockname)(s, null_addr ? NULL : &ss,
                                                           null_len ? NULL : &len);
    is_int(r, -err, "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    diag("%s", csock_last_error());
    ok(all(&ss, 0, sizeof ss, FILL) && len == 0x5a5a, "%s: addr and len untouched", what);
    is_int(count_fds(), before, "%s: descriptor count unchanged", what);
}

/* csock_get{sock,peer}name against the plain system call; bytes past len must be zero. */
static void name_ok(int peer, const csock_socket *s, const char *what) {
    struct sockaddr_storage ss, raw;
    socklen_t len = 0x5a5a, raw_len = sizeof raw;
    memset(&ss, FILL, sizeof ss);
    memset(&raw, 0, sizeof raw);
    int r = (peer ? csock_getpeername : csock_getsockname)(s, &ss, &len);
    (peer ? getpeername : getsockname)(s->fd, (struct sockaddr *)&raw, &raw_len);
    is_int(r, 0, "%s: succeeds", what);
    is_int(len, raw_len, "%s: len as the system call reports it (%u)", what, raw_len);
    ok(memcmp(&ss, &raw, raw_len) == 0, "%s: the same address bytes", what);
    ok(all(&ss, len, sizeof ss, 0), "%s: every byte past len is zero", what);
}

int main(void) {
    char buf[256];
    have_python = python("ntop6", "00000000000000000000000000000001", buf, sizeof buf) == 1;
    if (!have_python) diag("python3 not found: comparisons with Python are skipped");

    /* --- Addresses built by hand, every documented form. --- */
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(8080)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    is_str(text(&sin, sizeof sin, 0), "127.0.0.1:8080", "AF_INET");
    struct sockaddr_in bcast = {AF_INET, htons(65535), {htonl(0xffffffff)}, {0}};
    is_str(text(&bcast, sizeof bcast, 0), "255.255.255.255:65535", "AF_INET, all ones");
    struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(8080)};
    inet_pton(AF_INET6, "::1", &sin6.sin6_addr);
    is_str(text(&sin6, sizeof sin6, 0), "[::1]:8080", "AF_INET6");
    inet_pton(AF_INET6, "fe80::1", &sin6.sin6_addr);
    sin6.sin6_scope_id = 2;
    is_str(text(&sin6, sizeof sin6, 0), "[fe80::1%2]:8080", "AF_INET6 with a scope id");
    sin6.sin6_scope_id = 0;
    is_str(text(&sin6, sizeof sin6, 0), "[fe80::1]:8080", "AF_INET6 with scope id 0");
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/run/app.sock"};
    is_str(text(&sun, offsetof(struct sockaddr_un, sun_path) + 14, 0), "/run/app.sock",
           "AF_UNIX path (len counting the NUL)");
    is_str(text(&sun, sizeof sun, 0), "/run/app.sock", "AF_UNIX path (whole struct)");
    is_str(text(&sun, offsetof(struct sockaddr_un, sun_path) + 13, 0), "/run/app.sock",
           "AF_UNIX path (len without the NUL)");
    is_str(text(&sun, offsetof(struct sockaddr_un, sun_path) + 4, 0), "/run",
           "AF_UNIX path cut by len");
    memcpy(sun.sun_path, "\0name", 5);
    is_str(text(&sun, offsetof(struct sockaddr_un, sun_path) + 5, 0), "@name", "AF_UNIX abstract");
    is_str(text(&sun, sizeof(sa_family_t), 0), "", "AF_UNIX unnamed");
    struct sockaddr_nl snl = {.nl_family = AF_NETLINK, .nl_pid = 1234, .nl_groups = 5};
    is_str(text(&snl, sizeof snl, 0), "1234:5", "AF_NETLINK pid:groups");
    struct sockaddr_vm svm = {.svm_family = AF_VSOCK, .svm_cid = 2, .svm_port = 1024};
    is_str(text(&svm, sizeof svm, 0), "2:1024", "AF_VSOCK cid:port");
    struct sockaddr_ll sll = {.sll_family = AF_PACKET, .sll_protocol = htons(0x0800),
                              .sll_ifindex = 1};
    is_str(text(&sll, sizeof sll, 0), "1:0x0800", "AF_PACKET ifindex:protocol");
    struct sockaddr_can scan = {.can_family = AF_CAN, .can_ifindex = 3};
    scan.can_addr.tp.rx_id = 0x123;
    scan.can_addr.tp.tx_id = 0x456;
    is_str(text(&scan, sizeof scan, CAN_RAW), "3", "AF_CAN raw: ifindex");
    is_str(text(&scan, sizeof scan, CAN_ISOTP), "3:0x123:0x456", "AF_CAN isotp: ifindex:rx:tx");
    unsigned char odd[6] = {0};
    sa_family_t fam = 99;
    memcpy(odd, &fam, sizeof fam);
    odd[2] = 0xde, odd[3] = 0xad, odd[4] = 0x00, odd[5] = 0x0f;
    is_str(text(odd, sizeof odd, 0), "family=99 dead000f", "unknown family: family=N and hex");
    is_str(text(odd, 2, 0), "family=99", "unknown family, no bytes after it");
    is_str(text(&sin, 4, 0), "family=2 1f90", "AF_INET too short for its family: hex");
    is_str(text(&sin, 0, 0), "", "len 0: empty string");
    is_str(text(NULL, 0, 0), "", "NULL addr with len 0: empty string");

    /* --- snprintf semantics. --- */
    sin.sin_port = htons(80);
    snprintf_like(&sin, sizeof sin, "127.0.0.1:80");
    snprintf_like(&sin6, sizeof sin6, "[fe80::1]:8080");
    memset(buf, FILL, sizeof buf);
    errno = 0;
    is_int(csock_format_addr((struct sockaddr *)&sin, sizeof sin, 0, NULL, 8), -EINVAL,
           "NULL buf, size 8: -EINVAL");
    is_int(errno, EINVAL, "NULL buf: errno EINVAL");
    errno = 0;
    is_int(csock_format_addr(NULL, 16, 0, buf, sizeof buf), -EINVAL, "NULL addr, len 16: -EINVAL");
    ok(all(buf, 0, sizeof buf, FILL), "NULL addr: buffer untouched");
    is_int(csock_format_addr((struct sockaddr *)&sin, 0, 0, buf, 0), 0, "len 0, size 0: returns 0");
    ok(all(buf, 0, sizeof buf, FILL), "size 0: nothing written");

    /* --- Decoding never reads past len: each address ends at a page without access. --- */
    long page = sysconf(_SC_PAGESIZE);
    unsigned char *pages = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                                -1, 0);
    mprotect(pages + page, page, PROT_NONE);
    struct {
        const void *addr;
        socklen_t len;
        const char *want;
    } edge[] = {
        {&sin, sizeof sin, "127.0.0.1:80"},
        {&sin, 8, "127.0.0.1:80"},
        {&sin6, 24, "[fe80::1]:8080"},
        {&snl, 12, "1234:5"},
        {odd, 3, "family=99 de"},
        {&sun, 2, ""},
    };
    for (size_t i = 0; i < sizeof edge / sizeof edge[0]; i++) {
        unsigned char *at = pages + page - edge[i].len;
        memcpy(at, edge[i].addr, edge[i].len);
        is_str(text(at, edge[i].len, 0), edge[i].want, "len %u at the end of readable memory: '%s'",
               edge[i].len, edge[i].want);
    }
    struct sockaddr_un full = {.sun_family = AF_UNIX};
    memset(full.sun_path, 'x', sizeof full.sun_path);
    unsigned char *at = pages + page - sizeof full;
    memcpy(at, &full, sizeof full);
    is_int(strlen(text(at, sizeof full, 0)), sizeof full.sun_path,
           "AF_UNIX path filling sun_path without a NUL: every byte, none past it");
    munmap(pages, 2 * page);

    /* --- getsockname / getpeername. --- */
    sin.sin_port = 0;
    csock_socket tcp = bound(AF_INET, SOCK_STREAM, 0, &sin, sizeof sin);
    name_ok(0, &tcp, "getsockname, tcp bound to 127.0.0.1:0");
    name_fails(1, &tcp, 0, 0, ENOTCONN, "getpeername, unconnected");
    listen(tcp.fd, 2);
    struct sockaddr_in where;
    socklen_t wlen = sizeof where;
    getsockname(tcp.fd, (struct sockaddr *)&where, &wlen);
    csock_socket cl = bound(AF_INET, SOCK_STREAM, 0, NULL, 0);
    same_as_python(&cl, "sock", "unbound tcp 0.0.0.0:0");
    connect(cl.fd, (struct sockaddr *)&where, sizeof where);
    csock_socket conn;
    csock_accept(&tcp, &conn, NULL, NULL, 0);
    name_ok(1, &cl, "getpeername, connected client");
    name_ok(1, &conn, "getpeername, accepted");
    name_ok(0, &conn, "getsockname, accepted");
    same_as_python(&tcp, "sock", "tcp listener");
    same_as_python(&cl, "peer", "tcp client's peer");
    same_as_python(&conn, "peer", "accepted's peer");
    name_fails(0, NULL, 0, 0, EINVAL, "getsockname, NULL sock");
    name_fails(0, &tcp, 1, 0, EINVAL, "getsockname, NULL addr");
    name_fails(0, &tcp, 0, 1, EINVAL, "getsockname, NULL len");
    name_fails(1, &conn, 1, 0, EINVAL, "getpeername, NULL addr");
    name_fails(1, &conn, 0, 1, EINVAL, "getpeername, NULL len");
    name_fails(1, NULL, 0, 0, EINVAL, "getpeername, NULL sock");
    csock_close(&conn);
    csock_close(&cl);
    csock_close(&tcp);
    name_fails(0, &tcp, 0, 0, EBADF, "getsockname, closed");
    name_fails(1, &tcp, 0, 0, EBADF, "getpeername, closed");

    struct sockaddr_in6 lo6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    csock_socket udp6 = bound(AF_INET6, SOCK_DGRAM, 0, &lo6, sizeof lo6);
    name_ok(0, &udp6, "getsockname, udp6 bound to [::1]:0");
    same_as_python(&udp6, "sock", "udp6 [::1]");
    csock_close(&udp6);
    inet_pton(AF_INET6, "::ffff:127.0.0.1", &lo6.sin6_addr);
    udp6 = bound(AF_INET6, SOCK_DGRAM, 0, &lo6, sizeof lo6);
    same_as_python(&udp6, "sock", "udp6 [::ffff:127.0.0.1]");
    csock_close(&udp6);

    char dir[] = "/tmp/csock-addr-XXXXXX";
    if (!mkdtemp(dir)) return 1;
    struct sockaddr_un path = {.sun_family = AF_UNIX};
    snprintf(path.sun_path, sizeof path.sun_path, "%s/sock", dir);
    csock_socket un = bound(AF_UNIX, SOCK_STREAM, 0, &path, sizeof path);
    name_ok(0, &un, "getsockname, unix path");
    same_as_python(&un, "sock", "unix path");
    is_str(text(&path, sizeof path, 0), path.sun_path, "unix path: the path itself");
    csock_close(&un);
    unlink(path.sun_path);
    ok(rmdir(dir) == 0, "temporary directory removed");

    struct sockaddr_un abstract = {.sun_family = AF_UNIX};
    int alen = snprintf(abstract.sun_path + 1, sizeof abstract.sun_path - 1, "csock-test-%d",
                        (int)getpid());
    socklen_t abstract_len = offsetof(struct sockaddr_un, sun_path) + 1 + alen;
    un = bound(AF_UNIX, SOCK_DGRAM, 0, &abstract, abstract_len);
    name_ok(0, &un, "getsockname, unix abstract");
    same_as_python(&un, "sock", "unix abstract");
    char at_name[sizeof abstract.sun_path + 1];
    snprintf(at_name, sizeof at_name, "@%s", abstract.sun_path + 1);
    is_str(text(&abstract, abstract_len, 0), at_name, "unix abstract: @ and the name");
    csock_close(&un);
    un = bound(AF_UNIX, SOCK_DGRAM, 0, &abstract, sizeof(sa_family_t)); /* autobind */
    same_as_python(&un, "sock", "unix autobind");
    csock_close(&un);
    un = bound(AF_UNIX, SOCK_STREAM, 0, NULL, 0);
    name_ok(0, &un, "getsockname, unix unnamed");
    same_as_python(&un, "sock", "unix unnamed");
    csock_close(&un);

    struct sockaddr_nl nl = {.nl_family = AF_NETLINK, .nl_groups = 1};
    csock_socket netlink = bound(AF_NETLINK, SOCK_RAW, 0, &nl, sizeof nl);
    name_ok(0, &netlink, "getsockname, netlink");
    same_as_python(&netlink, "sock", "netlink pid:groups");
    csock_close(&netlink);

    /* IPv6 spellings, as inet_ntop writes them. */
    const char *ips[] = {"::",         "::1",           "1::",          "1:0:2:3:4:5:6:7",
                         "1:0:0:2:0:0:0:3", "1:0:0:2:0:0:3:4", "::ffff:1.2.3.4", "::1.2.3.4",
                         "::0.1.2.3",  "::0.0.1.2",     "::ffff:0:1.2.3.4", "64:ff9b::1.2.3.4",
                         "2001:db8::ff00:42:8329", "fe80::1:0:0:1", "::ffff:0.0.0.0"};
    for (size_t i = 0; i < sizeof ips / sizeof ips[0]; i++) ipv6_as_python(ips[i]);

    return done_testing();
}
