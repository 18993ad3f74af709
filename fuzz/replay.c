/*
 * replay.c: runs every file of a corpus through a fuzz target's harness (harness.c), without
 * libFuzzer or clang: linked with harness.c and a build of the library with its `fuzz` feature
 * (make fuzz-replay). With no arguments it replays fuzz/corpus/<target>/ (run from the
 * repository's root); with arguments, those files or directories (to reproduce a crash).
 * Prints TAP: one test per directory or file. A violated invariant aborts the program.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define STR_(x) #x
#define STR(x) STR_(x)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int tests, failures;

/* Runs one file; 0, or -1 if it cannot be read. */
static int run_file(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    size_t cap = 4096, len = 0;
    uint8_t *buf = malloc(cap);
    size_t n;
    while (buf && (n = fread(buf + len, 1, cap - len, f)) > 0) {
        len += n;
        if (len == cap) buf = realloc(buf, cap *= 2);
    }
    fclose(f);
    if (!buf) return -1;
    /* A copy of exactly the input's size, so that a read past it is a read past the heap block. */
    uint8_t *exact = malloc(len ? len : 1);
    memcpy(exact, buf, len);
    free(buf);
    LLVMFuzzerTestOneInput(exact, len);
    free(exact);
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b) {
    return strcmp((*a)->d_name, (*b)->d_name);
}

static void replay(const char *path) {
    struct stat st;
    int count = 0, unreadable = 0;
    if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        struct dirent **names;
        int n = scandir(path, &names, NULL, by_name);
        for (int i = 0; i < n; i++) {
            if (names[i]->d_name[0] != '.') {
                char file[4096];
                snprintf(file, sizeof file, "%s/%s", path, names[i]->d_name);
                if (run_file(file) == 0) count++;
                else unreadable++;
            }
            free(names[i]);
        }
        if (n >= 0) free(names);
        else unreadable++;
    } else if (run_file(path) == 0) {
        count++;
    } else {
        unreadable++;
    }
    tests++;
    int pass = count > 0 && unreadable == 0;
    failures += !pass;
    printf("%sok %d - %s: %s: %d inputs replayed%s\n", pass ? "" : "not ", tests,
           STR(FUZZ_TARGET), path, count, unreadable ? " (some unreadable)" : "");
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc < 2) replay("fuzz/corpus/" STR(FUZZ_TARGET));
    for (int i = 1; i < argc; i++) replay(argv[i]);
    printf("1..%d\n", tests);
    return failures != 0;
}
