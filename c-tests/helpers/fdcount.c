/*
 * fdcount: counts the descriptors this program inherited beyond 0, 1 and 2, and exits with the
 * count (capped at FDCOUNT_MAX). Exit status FDCOUNT_ERROR means it could not read /proc/self/fd.
 * With -v it also prints each inherited descriptor and what it refers to on standard error.
 *
 * Not a TAP test: the race test forks and executes it while other threads create sockets, and
 * anything it finds open was leaked across exec.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FDCOUNT_MAX 100
#define FDCOUNT_ERROR 125

int main(int argc, char **argv) {
    int verbose = argc > 1 && strcmp(argv[1], "-v") == 0;
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return FDCOUNT_ERROR;
    int self = dirfd(dir), count = 0;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        if (e->d_name[0] == '.') continue;
        int fd = atoi(e->d_name);
        if (fd <= 2 || fd == self) continue;
        count++;
        if (verbose) {
            char path[64], target[256];
            snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
            ssize_t n = readlink(path, target, sizeof target - 1);
            target[n < 0 ? 0 : n] = '\0';
            fprintf(stderr, "fdcount: inherited fd %d -> %s\n", fd, target);
        }
    }
    closedir(dir);
    return count > FDCOUNT_MAX ? FDCOUNT_MAX : count;
}
