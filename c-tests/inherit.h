/*
 * inherit.h: for the tests that count what a fork+exec'd child inherits (helpers/fdcount):
 * shelter_inherited marks every descriptor the test program itself inherited close-on-exec, so
 * that only descriptors the test makes can reach the child.
 */
#ifndef CSOCK_TEST_INHERIT_H
#define CSOCK_TEST_INHERIT_H

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>

/* Marks every descriptor this program inherited close-on-exec: they are not the test's to count. */
static inline void shelter_inherited(void) {
    DIR *dir = opendir("/proc/self/fd");
    if (!dir) return;
    struct dirent *e;
    while ((e = readdir(dir)) != NULL) {
        int fd = atoi(e->d_name);
        if (e->d_name[0] != '.' && fd > 2 && fd != dirfd(dir)) fcntl(fd, F_SETFD, FD_CLOEXEC);
    }
    closedir(dir);
}

#endif
