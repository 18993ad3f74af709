/*
 * tap.h: a tiny TAP producer for csock's C tests, plus helpers that read descriptor state back
 * from the kernel. Header-only; include it once per test program.
 *
 *   ok(cond, "name %d", i);           ok N - name
 *   is_int(got, want, "name");        with a diagnostic showing both values on failure
 *   is_str(got, want, "name");
 *   return done_testing();            prints the plan 1..N and returns the exit status
 */
#ifndef CSOCK_TAP_H
#define CSOCK_TAP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int tap_count;
static int tap_failures;

static inline void tap_vreport(int pass, const char *file, int line, const char *fmt, va_list ap) {
    tap_count++;
    if (!pass) tap_failures++;
    printf("%sok %d - ", pass ? "" : "not ", tap_count);
    vprintf(fmt, ap);
    printf("\n");
    if (!pass) printf("#   Failed test at %s line %d.\n", file, line);
    fflush(stdout);
}

static inline int tap_ok(int pass, const char *file, int line, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(pass, file, line, fmt, ap);
    va_end(ap);
    return pass;
}

static inline int tap_is_int(long long got, long long want, const char *file, int line, const char *fmt,
                      ...) {
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(got == want, file, line, fmt, ap);
    va_end(ap);
    if (got != want) printf("#          got: %lld\n#     expected: %lld\n", got, want);
    return got == want;
}

static inline int tap_is_str(const char *got, const char *want, const char *file, int line,
                      const char *fmt, ...) {
    int pass = got && want ? strcmp(got, want) == 0 : got == want;
    va_list ap;
    va_start(ap, fmt);
    tap_vreport(pass, file, line, fmt, ap);
    va_end(ap);
    if (!pass)
        printf("#          got: '%s'\n#     expected: '%s'\n", got ? got : "(null)",
               want ? want : "(null)");
    return pass;
}

#define ok(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_int(got, want, ...) \
    tap_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, ...) tap_is_str((got), (want), __FILE__, __LINE__, __VA_ARGS__)

static inline void diag(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fflush(stdout);
}

static inline int done_testing(void) {
    printf("1..%d\n", tap_count);
    fflush(stdout);
    return tap_failures ? 1 : 0;
}

/* Descriptors open in this process, read from /proc/self/fd (not counting the one reading it). */
static inline int count_fds(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return -1;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL)
        if (e->d_name[0] != '.') n++;
    closedir(dir);
    return n - 1;
}

/* 1 if FD_CLOEXEC is set, 0 if not, -1 if fd is not open. */
static inline int fd_cloexec(int fd) {
    int flags = fcntl(fd, F_GETFD);
    return flags < 0 ? -1 : (flags & FD_CLOEXEC) != 0;
}

/* 1 if O_NONBLOCK is set, 0 if not, -1 if fd is not open. */
static inline int fd_nonblock(int fd) {
    int flags = fcntl(fd, F_GETFL);
    return flags < 0 ? -1 : (flags & O_NONBLOCK) != 0;
}

/* 1 if fd is open. */
static inline int fd_open(int fd) { return fcntl(fd, F_GETFD) >= 0; }

#endif
