/*
 * harness.c: the libFuzzer harness of one fuzz target, built once per target with
 * -DFUZZ_TARGET=<name> (make fuzz): every input goes to csock_fuzz_<name>, the entry point the
 * library exports when built with its `fuzz` feature (src/ffi/fuzz.rs), which checks the
 * target's invariants and aborts on a violation.
 */
#include <stddef.h>
#include <stdint.h>

#ifndef FUZZ_TARGET
#error "build with -DFUZZ_TARGET=<name>"
#endif

#define ENTRY_(name) csock_fuzz_##name
#define ENTRY(name) ENTRY_(name)

int ENTRY(FUZZ_TARGET)(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    ENTRY(FUZZ_TARGET)(data, size);
    return 0;
}
