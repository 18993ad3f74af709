package csock

/*
#include <csock.h>
#include <stdlib.h>
*/
import "C"

import "unsafe"

// Constant is csock_constant64: the exact value of a constant of Python's socket module, by
// name ("SOCK_NONBLOCK", "CAN_EFF_FLAG"); an *Error with ENOENT for an unknown name.
func Constant(name string) (int64, error) {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	var value C.int64_t
	_, err := call("csock_constant64", func() C.int { return C.csock_constant64(cname, &value) })
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
