/*
 * activated_report: calls csock_listen_fds() as a socket-activated program would, and reports
 * what it saw and what the call changed, one "key=value" line each.
 *
 *   activated_report probe [span=N] [cap=N] [null] [flags=N] [refuse=FD] [cloexec=FD]
 *                          [nonblock=FD]...
 *       For c-tests/activation.c, which sets up descriptors 3.. and LISTEN_* and execs this.
 *       span: how many descriptors from 3 on to read flags of (default: LISTEN_FDS, else 0);
 *       cap: the capacity passed (default 16, the size of the buffer); null: pass out = NULL;
 *       flags: the flags passed; refuse: an audit hook refuses the socket of that descriptor;
 *       cloexec / nonblock: set that flag on a descriptor before the call.
 *       The report goes to standard output.
 *
 *   activated_report serve
 *       Started by systemd-socket-activate: receives the listeners with CSOCK_LISTEN_UNSET_ENV,
 *       accepts the connection that started it, writes the report to that connection and exits.
 *
 * Report keys: pid, env_before.<VAR>, ret, errno, fds_before, fds_after, cloexec_before,
 * cloexec_after, nonblock_before, nonblock_after (one digit per descriptor of the span),
 * out_untouched, sockI (fd, family, type, proto, listening, cloexec, name), audits, auditI,
 * env.<VAR> (its value, or "unset"), second (a second call with flags 0), and in serve mode
 * accepted_on, conn_cloexec.
 */
#include <csock.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* count_fds(), fd_cloexec() and fd_nonblock() only: this program prints no TAP. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#include "../tap.h"
#pragma GCC diagnostic pop

#define CAP 16
#define MAX_AUDITS 64
#define FILL 0xA5

static const char *const VARS[] = {"LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "LISTEN_PIDFDID"};
#define NVARS (sizeof VARS / sizeof VARS[0])

static struct audit_event {
    char event[32];
    int fd, family, type, proto;
} audits[MAX_AUDITS];
static int n_audits;
static int refuse_fd = -1;

static int hook(const char *event, int fd, int family, int type, int proto, void *userdata) {
    (void)userdata;
    if (n_audits < MAX_AUDITS) {
        struct audit_event *a = &audits[n_audits];
        snprintf(a->event, sizeof a->event, "%s", event);
        a->fd = fd;
        a->family = family;
        a->type = type;
        a->proto = proto;
    }
    n_audits++;
    return fd == refuse_fd ? -EACCES : 0;
}

static void die(const char *what) {
    fprintf(stderr, "activated_report: %s: %s\n", what, strerror(errno));
    exit(2);
}

static void flag_digits(char *buf, int span, int (*read_flag)(int)) {
    for (int i = 0; i < span; i++) {
        int v = read_flag(3 + i);
        buf[i] = v < 0 ? 'x' : (char)('0' + v);
    }
    buf[span] = '\0';
}

static void env_lines(FILE *r, const char *prefix) {
    for (size_t i = 0; i < NVARS; i++) {
        const char *v = getenv(VARS[i]);
        fprintf(r, "%s%s=%s\n", prefix, VARS[i], v ? v : "unset");
    }
}

static int untouched(const csock_listen_fd *from, size_t n) {
    const unsigned char *p = (const unsigned char *)from;
    for (size_t i = 0; i < n * sizeof *from; i++)
        if (p[i] != FILL) return 0;
    return 1;
}

int main(int argc, char **argv) {
    if (argc < 2 || (strcmp(argv[1], "probe") != 0 && strcmp(argv[1], "serve") != 0)) {
        fprintf(stderr, "usage: activated_report probe|serve [options]\n");
        return 2;
    }
    int serve = strcmp(argv[1], "serve") == 0;
    const char *fds_env = getenv("LISTEN_FDS");
    int span = fds_env ? atoi(fds_env) : 0;
    size_t cap = CAP;
    int null_out = 0;
    unsigned flags = serve ? CSOCK_LISTEN_UNSET_ENV : 0;

    for (int i = 2; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "span=", 5) == 0) span = atoi(a + 5);
        else if (strncmp(a, "cap=", 4) == 0) cap = strtoul(a + 4, NULL, 10);
        else if (strcmp(a, "null") == 0) null_out = 1;
        else if (strncmp(a, "flags=", 6) == 0) flags = (unsigned)strtoul(a + 6, NULL, 0);
        else if (strncmp(a, "refuse=", 7) == 0) refuse_fd = atoi(a + 7);
        else if (strncmp(a, "cloexec=", 8) == 0) {
            if (fcntl(atoi(a + 8), F_SETFD, FD_CLOEXEC) < 0) die(a);
        } else if (strncmp(a, "nonblock=", 9) == 0) {
            int on = 1;
            if (ioctl(atoi(a + 9), FIONBIO, &on) < 0) die(a);
        } else {
            fprintf(stderr, "activated_report: unknown option %s\n", a);
            return 2;
        }
    }
    if (span < 0 || span > CAP) span = 0;
    if (cap > CAP && !null_out) cap = CAP;

    char *text = NULL;
    size_t text_len = 0;
    FILE *r = open_memstream(&text, &text_len);
    if (!r) die("open_memstream");
    fprintf(r, "pid=%d\n", (int)getpid());
    env_lines(r, "env_before.");

    char cloexec_before[CAP + 1], nonblock_before[CAP + 1];
    flag_digits(cloexec_before, span, fd_cloexec);
    flag_digits(nonblock_before, span, fd_nonblock);
    if (csock_audit_add(hook, NULL) != 0) die("csock_audit_add");

    static csock_listen_fd out[CAP];
    memset(out, FILL, sizeof out);
    int fds_before = count_fds();
    errno = 0;
    int ret = csock_listen_fds(null_out ? NULL : out, cap, flags);
    int err = errno;
    int fds_after = count_fds();
    int audits_first = n_audits;

    char cloexec_after[CAP + 1], nonblock_after[CAP + 1];
    flag_digits(cloexec_after, span, fd_cloexec);
    flag_digits(nonblock_after, span, fd_nonblock);

    fprintf(r, "ret=%d\nerrno=%d\n", ret, ret < 0 ? err : 0);
    if (ret < 0) fprintf(r, "last_error=%s\n", csock_last_error());
    fprintf(r, "fds_before=%d\nfds_after=%d\n", fds_before, fds_after);
    fprintf(r, "cloexec_before=%s\ncloexec_after=%s\n", cloexec_before, cloexec_after);
    fprintf(r, "nonblock_before=%s\nnonblock_after=%s\n", nonblock_before, nonblock_after);
    int adopted = ret > 0 ? ret : 0;
    fprintf(r, "out_untouched=%d\n", untouched(out + adopted, CAP - (size_t)adopted));
    for (int i = 0; i < adopted; i++) {
        csock_info info;
        int listening = csock_inspect(out[i].sock.fd, &info) == 0 &&
                        (info.flags & CSOCK_INFO_LISTENING) != 0;
        fprintf(r, "sock%d=fd=%d family=%d type=%d proto=%d listening=%d cloexec=%d name=%s\n", i,
                out[i].sock.fd, out[i].sock.family, out[i].sock.type, out[i].sock.proto,
                listening, fd_cloexec(out[i].sock.fd), out[i].name);
    }
    fprintf(r, "audits=%d\n", audits_first);
    for (int i = 0; i < audits_first && i < MAX_AUDITS; i++)
        fprintf(r, "audit%d=%s fd=%d family=%d type=%d proto=%d\n", i, audits[i].event,
                audits[i].fd, audits[i].family, audits[i].type, audits[i].proto);
    env_lines(r, "env.");

    /* A second call: 0 once the variables are gone. Its sockets are the same descriptors. */
    static csock_listen_fd again[CAP];
    fprintf(r, "second=%d\n", csock_listen_fds(again, CAP, 0));

    if (!serve) {
        if (fclose(r) != 0) die("fclose");
        fwrite(text, 1, text_len, stdout);
        free(text);
        return 0;
    }

    /* serve: accept the connection that started this program and answer it with the report. */
    if (adopted == 0) {
        fclose(r);
        fwrite(text, 1, text_len, stderr);
        free(text);
        return 1;
    }
    struct pollfd pfd[CAP];
    for (int i = 0; i < adopted; i++)
        pfd[i] = (struct pollfd){.fd = out[i].sock.fd, .events = POLLIN};
    while (poll(pfd, (nfds_t)adopted, -1) < 0)
        if (errno != EINTR) die("poll");
    int ready = 0;
    while (ready < adopted && !(pfd[ready].revents & POLLIN)) ready++;
    if (ready == adopted) die("poll: no listener is readable");
    csock_socket conn;
    if (csock_accept(&out[ready].sock, &conn, NULL, NULL, 0) < 0) die("csock_accept");
    fprintf(r, "accepted_on=%s\nconn_cloexec=%d\n", out[ready].name, fd_cloexec(conn.fd));
    if (fclose(r) != 0) die("fclose");
    for (size_t done = 0; done < text_len;) {
        ssize_t n = write(conn.fd, text + done, text_len - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) die("write");
        done += (size_t)n;
    }
    free(text);
    csock_close(&conn);
    for (int i = 0; i < adopted; i++) csock_close(&out[i].sock);
    return 0;
}
