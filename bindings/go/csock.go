// Package csock gives Go programs CPython's socket creation semantics through libcsock (cgo).
//
//	s, err := csock.Open(csock.Default, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, csock.Default)
//	if err != nil {
//		return err // a *csock.Error: errors.Is(err, syscall.EAFNOSUPPORT), err.Error() is the message
//	}
//	defer s.Close()
//	fmt.Println(s, s.Type()) // <csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, ...> 1
//
// cgo reads include/csock.h; the program links -lcsock (set CGO_LDFLAGS for a library outside
// the linker's path, as the Makefile does). A Socket owns its descriptor: Close closes it, and a
// Socket that is garbage collected without Close or Detach is closed by its finalizer.
package csock

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: -lcsock -ldl
#define _GNU_SOURCE
#include <csock.h>
#include <dlfcn.h>
#include <stdlib.h>

static int csock_go_has(const char *name) { return dlsym(RTLD_DEFAULT, name) != NULL; }
*/
import "C"

import (
	"fmt"
	"runtime"
	"syscall"
	"unsafe"
)

// Default is CSOCK_DEFAULT: "the default" when creating, "detect it" when adopting.
const Default = C.CSOCK_DEFAULT

// The flags of Info, CSOCK_INFO_*.
const (
	InfoNonblock  = C.CSOCK_INFO_NONBLOCK
	InfoCloexec   = C.CSOCK_INFO_CLOEXEC
	InfoListening = C.CSOCK_INFO_LISTENING
)

// Error is a failure of a csock function: the errno it returned and csock_last_error()'s text.
// errors.Is(err, syscall.EPERM) and errors.Is(err, fs.ErrPermission) see through it. A host or
// service the resolver could not resolve has no errno but the resolver's EAI_* value.
type Error struct {
	Op    string        // the csock function, e.g. "csock_open"
	Code  int           // the negative value it returned
	Errno syscall.Errno // -Code, the errno; 0 for a resolver failure
	EAI   int           // the resolver's EAI_* value (csock_gai_error); 0 for an errno
	Msg   string        // csock_last_error()
}

func (e *Error) Error() string {
	if e.Msg != "" {
		return e.Msg
	}
	if e.EAI != 0 {
		return fmt.Sprintf("%s: resolver error %d", e.Op, e.EAI)
	}
	return fmt.Sprintf("%s: %v", e.Op, e.Errno)
}

// Unwrap returns the errno, so that errors.Is compares it (nothing for a resolver failure).
func (e *Error) Unwrap() error {
	if e.Errno == 0 {
		return nil
	}
	return e.Errno
}

// call runs f and, if it returned a negative value, reads the message on the same OS thread
// (csock_last_error is thread-local, and a goroutine may otherwise move between the calls).
func call(op string, f func() C.int) (int, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	rc := int(f())
	if rc >= 0 {
		return rc, nil
	}
	err := &Error{Op: op, Code: rc, Msg: C.GoString(C.csock_last_error())}
	if gai := int(C.csock_gai_error(C.int(rc))); gai != 0 {
		err.EAI = gai
	} else {
		err.Errno = syscall.Errno(-rc)
	}
	return rc, err
}

// Has reports whether the loaded libcsock exports the function name
// ("csock_create_connection").
func Has(name string) bool {
	cname := C.CString(name)
	defer C.free(unsafe.Pointer(cname))
	return C.csock_go_has(cname) != 0
}

// Version is csock_version(): "0.2.0".
func Version() string { return C.GoString(C.csock_version()) }

// Socket is a csock_socket owned by Go.
type Socket struct {
	s C.csock_socket
}

func closedStruct() C.csock_socket {
	return C.csock_socket{fd: -1, family: -1, _type: -1, proto: -1}
}

func finalize(s *Socket) {
	if s.s.fd >= 0 {
		C.csock_close(&s.s)
	}
}

func wrap(v C.csock_socket) *Socket {
	s := &Socket{s: v}
	runtime.SetFinalizer(s, finalize)
	return s
}

// create runs a csock function that writes a csock_socket.
func create(op string, f func(out *C.csock_socket) C.int) (*Socket, error) {
	out := closedStruct()
	if _, err := call(op, func() C.int { return f(&out) }); err != nil {
		return nil, err
	}
	return wrap(out), nil
}

// Open is csock_open: socket.socket(family, typ, proto); Default is AF_INET, SOCK_STREAM, 0.
func Open(family, typ, proto int) (*Socket, error) {
	return create("csock_open", func(out *C.csock_socket) C.int {
		return C.csock_open(out, C.int(family), C.int(typ), C.int(proto))
	})
}

// Adopt is csock_adopt: the Socket takes ownership of fd; each Default value is detected. On
// failure fd is still the caller's, open and unchanged.
func Adopt(fd, family, typ, proto int) (*Socket, error) {
	return create("csock_adopt", func(out *C.csock_socket) C.int {
		return C.csock_adopt(out, C.int(fd), C.int(family), C.int(typ), C.int(proto))
	})
}

// FromFD is csock_fromfd: adopts a non-inheritable duplicate of fd; fd stays the caller's.
func FromFD(fd, family, typ, proto int) (*Socket, error) {
	return create("csock_fromfd", func(out *C.csock_socket) C.int {
		return C.csock_fromfd(out, C.int(fd), C.int(family), C.int(typ), C.int(proto))
	})
}

// FromConn adopts a duplicate of the descriptor of c (a *net.TCPListener, *net.TCPConn,
// *net.UDPConn, *net.UnixConn, *os.File...), detecting family, type and protocol. c keeps its
// own descriptor, and its blocking mode is left as it is.
func FromConn(c syscall.Conn) (*Socket, error) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	var s *Socket
	var ferr error
	if err := raw.Control(func(fd uintptr) {
		s, ferr = FromFD(int(fd), Default, Default, Default)
	}); err != nil {
		return nil, err
	}
	return s, ferr
}

// Socketpair is csock_socketpair: two connected non-inheritable sockets (AF_UNIX, SOCK_STREAM,
// 0 by default).
func Socketpair(family, typ, proto int) (*Socket, *Socket, error) {
	pair := [2]C.csock_socket{closedStruct(), closedStruct()}
	if _, err := call("csock_socketpair", func() C.int {
		return C.csock_socketpair(&pair[0], C.int(family), C.int(typ), C.int(proto))
	}); err != nil {
		return nil, nil, err
	}
	return wrap(pair[0]), wrap(pair[1]), nil
}

// Fd is the descriptor, -1 once closed or detached.
func (s *Socket) Fd() int { return int(s.s.fd) }

// Family is the recorded AF_*.
func (s *Socket) Family() int { return int(s.s.family) }

// Type is the recorded SOCK_*, never with SOCK_NONBLOCK or SOCK_CLOEXEC.
func (s *Socket) Type() int { return int(s.s._type) }

// Proto is the recorded protocol.
func (s *Socket) Proto() int { return int(s.s.proto) }

// Close is csock_close: it closes the descriptor once; closing a closed socket does nothing.
func (s *Socket) Close() error {
	runtime.SetFinalizer(s, nil)
	_, err := call("csock_close", func() C.int { return C.csock_close(&s.s) })
	return err
}

// Detach is csock_detach: it hands the descriptor back without closing it.
func (s *Socket) Detach() (int, error) {
	fd, err := call("csock_detach", func() C.int { return C.csock_detach(&s.s) })
	if err == nil {
		runtime.SetFinalizer(s, nil)
	}
	return fd, err
}

// Dup is csock_dup: a non-inheritable duplicate recording the same values.
func (s *Socket) Dup() (*Socket, error) {
	return create("csock_dup", func(out *C.csock_socket) C.int { return C.csock_dup(out, &s.s) })
}

// Accept is csock_accept: the connection and the peer's address text. flags may hold
// SOCK_NONBLOCK.
func (s *Socket) Accept(flags int) (*Socket, string, error) {
	var addr C.struct_sockaddr_storage
	length := C.socklen_t(unsafe.Sizeof(addr))
	conn, err := create("csock_accept", func(out *C.csock_socket) C.int {
		return C.csock_accept(&s.s, out, (*C.struct_sockaddr)(unsafe.Pointer(&addr)), &length,
			C.int(flags))
	})
	if err != nil {
		return nil, "", err
	}
	text, err := formatStorage(&addr, length, conn.Proto())
	return conn, text, err
}

// Shutdown is csock_shutdown: syscall.SHUT_RD, SHUT_WR or SHUT_RDWR.
func (s *Socket) Shutdown(how int) error {
	_, err := call("csock_shutdown", func() C.int { return C.csock_shutdown(&s.s, C.int(how)) })
	return err
}

// Blocking is csock_get_blocking, read from the kernel.
func (s *Socket) Blocking() (bool, error) {
	v, err := call("csock_get_blocking", func() C.int { return C.csock_get_blocking(&s.s) })
	return v == 1, err
}

// SetBlocking is csock_set_blocking.
func (s *Socket) SetBlocking(blocking bool) error {
	_, err := call("csock_set_blocking", func() C.int {
		return C.csock_set_blocking(&s.s, C.bool(blocking))
	})
	return err
}

// Inheritable is csock_get_inheritable, read from the kernel.
func (s *Socket) Inheritable() (bool, error) {
	v, err := call("csock_get_inheritable", func() C.int { return C.csock_get_inheritable(&s.s) })
	return v == 1, err
}

// SetInheritable is csock_set_inheritable.
func (s *Socket) SetInheritable(inheritable bool) error {
	_, err := call("csock_set_inheritable", func() C.int {
		return C.csock_set_inheritable(&s.s, C.bool(inheritable))
	})
	return err
}

// snprintf calls a csock function that works like snprintf: first for the length, then to fill.
func snprintf(op string, f func(buf *C.char, size C.size_t) C.int) (string, error) {
	n, err := call(op, func() C.int { return f(nil, 0) })
	if err != nil {
		return "", err
	}
	buf := make([]byte, n+1)
	if _, err := call(op, func() C.int {
		return f((*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	}); err != nil {
		return "", err
	}
	return string(buf[:n]), nil
}

// FormatAddr is csock_format_addr: text for an address's bytes ("127.0.0.1:8080", "[::1]:80").
func FormatAddr(addr []byte, proto int) (string, error) {
	if len(addr) == 0 {
		return "", nil
	}
	p := C.CBytes(addr)
	defer C.free(p)
	return snprintf("csock_format_addr", func(buf *C.char, size C.size_t) C.int {
		return C.csock_format_addr((*C.struct_sockaddr)(p), C.socklen_t(len(addr)), C.int(proto),
			buf, size)
	})
}

func formatStorage(addr *C.struct_sockaddr_storage, length C.socklen_t, proto int) (string, error) {
	n := int(length)
	if size := int(unsafe.Sizeof(*addr)); n > size {
		n = size
	}
	return FormatAddr(C.GoBytes(unsafe.Pointer(addr), C.int(n)), proto)
}

func (s *Socket) address(op string, f func(*C.csock_socket, *C.struct_sockaddr_storage,
	*C.socklen_t) C.int) (string, error) {
	var addr C.struct_sockaddr_storage
	var length C.socklen_t
	if _, err := call(op, func() C.int { return f(&s.s, &addr, &length) }); err != nil {
		return "", err
	}
	return formatStorage(&addr, length, s.Proto())
}

// LocalAddr is csock_getsockname, as text ("127.0.0.1:8080").
func (s *Socket) LocalAddr() (string, error) {
	return s.address("csock_getsockname", func(p *C.csock_socket, a *C.struct_sockaddr_storage,
		l *C.socklen_t) C.int {
		return C.csock_getsockname(p, a, l)
	})
}

// RemoteAddr is csock_getpeername, as text.
func (s *Socket) RemoteAddr() (string, error) {
	return s.address("csock_getpeername", func(p *C.csock_socket, a *C.struct_sockaddr_storage,
		l *C.socklen_t) C.int {
		return C.csock_getpeername(p, a, l)
	})
}

// String is csock_repr: "<csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=...>".
func (s *Socket) String() string {
	text, err := snprintf("csock_repr", func(buf *C.char, size C.size_t) C.int {
		return C.csock_repr(&s.s, buf, size)
	})
	if err != nil {
		return fmt.Sprintf("<csock fd=%d: %v>", s.Fd(), err)
	}
	return text
}

// Info is what csock_inspect read from the kernel about a descriptor.
type Info struct {
	Family, Type, Proto int
	Flags               uint32 // Info* bits
}

// Nonblock reports O_NONBLOCK.
func (i Info) Nonblock() bool { return i.Flags&InfoNonblock != 0 }

// Cloexec reports FD_CLOEXEC (the descriptor is not inheritable).
func (i Info) Cloexec() bool { return i.Flags&InfoCloexec != 0 }

// Listening reports SO_ACCEPTCONN.
func (i Info) Listening() bool { return i.Flags&InfoListening != 0 }

// Inspect is csock_inspect: the family, type, protocol and flags of any descriptor, which is
// neither taken nor changed.
func Inspect(fd int) (Info, error) {
	var info C.csock_info
	if _, err := call("csock_inspect", func() C.int {
		return C.csock_inspect(C.int(fd), &info)
	}); err != nil {
		return Info{}, err
	}
	return Info{Family: int(info.family), Type: int(info._type), Proto: int(info.proto),
		Flags: uint32(info.flags)}, nil
}

// FamilyName is csock_family_name: "AF_INET", or "" for an unknown family.
func FamilyName(family int) string { return C.GoString(C.csock_family_name(C.int(family))) }

// TypeName is csock_type_name: "SOCK_STREAM" (flag bits ignored), or "".
func TypeName(typ int) string { return C.GoString(C.csock_type_name(C.int(typ))) }
