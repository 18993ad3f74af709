/*
 * dlopen.c: what loading libcsock costs a program that dlopens it (as the ctypes binding does),
 * against libuuid, a small C library with a similar surface.
 *
 * Each sample is a fresh process (fork + exec of this program with --child) that times
 * dlopen(RTLD_NOW) + dlsym of one function and writes the nanoseconds to a pipe. Samples of the
 * two libraries alternate; the table shows the median of each and the median of the per-pair
 * ratios. It prints; it asserts nothing.
 *
 *   build/bench/dlopen LIBCSOCK [samples]
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_SAMPLES 1001

static double now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int child(const char *lib, const char *sym) {
    double start = now_ns();
    void *handle = dlopen(lib, RTLD_NOW | RTLD_LOCAL);
    void *fn = handle ? dlsym(handle, sym) : NULL;
    double took = now_ns() - start;
    if (!fn) {
        fprintf(stderr, "%s: %s\n", lib, dlerror());
        return 1;
    }
    printf("%.0f\n", took);
    return 0;
}

/* One sample: runs `self --child lib sym` and reads its time; negative on failure. */
static double sample(const char *self, const char *lib, const char *sym) {
    int fds[2];
    if (pipe(fds) != 0) return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execl(self, self, "--child", lib, sym, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    char buf[64] = {0};
    ssize_t n = read(fds[0], buf, sizeof buf - 1);
    close(fds[0]);
    int status = 0;
    waitpid(pid, &status, 0);
    return n > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 ? atof(buf) : -1;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, int n) {
    qsort(v, n, sizeof *v, by_value);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv) {
    if (argc == 4 && strcmp(argv[1], "--child") == 0) return child(argv[2], argv[3]);
    if (argc < 2) {
        fprintf(stderr, "usage: %s LIBCSOCK [samples]\n", argv[0]);
        return 2;
    }
    int samples = argc > 2 ? atoi(argv[2]) : 201;
    if (samples < 1 || samples > MAX_SAMPLES) samples = 201;
    static double csock[MAX_SAMPLES], uuid[MAX_SAMPLES], ratio[MAX_SAMPLES];
    int n = 0;
    for (int i = 0; i < samples; i++) {
        /* The order alternates, so neither library always runs right after the other. */
        double a, b;
        if (i % 2) {
            a = sample(argv[0], argv[1], "csock_open");
            b = sample(argv[0], "libuuid.so.1", "uuid_generate");
        } else {
            b = sample(argv[0], "libuuid.so.1", "uuid_generate");
            a = sample(argv[0], argv[1], "csock_open");
        }
        if (a <= 0 || b <= 0) {
            fprintf(stderr, "dlopen: a sample failed (libuuid.so.1 missing?)\n");
            return 1;
        }
        csock[n] = a, uuid[n] = b, ratio[n] = a / b;
        n++;
    }
    double mc = median(csock, n), mu = median(uuid, n), mr = median(ratio, n);
    printf("dlopen + dlsym, fresh processes, %d interleaved pairs: libcsock %.0f us, libuuid %.0f "
           "us, ratio %.2f (target <= 1.30)\n",
           n, mc / 1000, mu / 1000, mr);
    return 0;
}
