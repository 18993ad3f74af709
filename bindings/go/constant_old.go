//go:build csock_no_constant64

package csock

// For a header from before csock_constant64 (the Makefile sets the build tag).

/*
#include <csock.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

// Constant is csock_constant here: a value above INT_MAX comes back as its 32-bit pattern.
func Constant(name string) (int64, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var value C.int
	_, err := call("csock_constant", func() C.int { return C.csock_constant(cname, &value) })
	return int64(value), err
}

// MustConstant is Constant for names known to exist: it panics on an unknown name.
func MustConstant(name string) int {
	v, err := Constant(name)
	if err != nil {
		panic(err)
	}
	return int(v)
}
