package csock

/*
#include <csock.h>
#include <stdlib.h>
*/
import "C"

import (
	"syscall"
	"time"
	"unsafe"
)

// The steps of an Attempt, CSOCK_STEP_*.
const (
	StepSocket  = C.CSOCK_STEP_SOCKET
	StepBind    = C.CSOCK_STEP_BIND
	StepConnect = C.CSOCK_STEP_CONNECT
)

// The flags of ServerOptions, CSOCK_SERVER_*.
const (
	serverReusePort = C.CSOCK_SERVER_REUSE_PORT
	serverDualstack = C.CSOCK_SERVER_DUALSTACK
)

// ConnectOptions are csock_connect_opts; the zero value is CPython's defaults.
type ConnectOptions struct {
	Timeout      time.Duration // each attempt's connect; 0: no limit
	TotalTimeout time.Duration // all attempts together; 0: no limit
	AttemptDelay time.Duration // > 0: Happy Eyeballs (RFC 8305), racing the addresses
	SourceHost   string        // bind each attempt to this address first; "": no bind
	SourcePort   string        // "" is any port
	Nonblock     bool          // a non-blocking socket (SOCK_NONBLOCK)
	MaxAttempts  int           // room in the report; 0: 16
}

// Attempt is one address CreateConnection tried (csock_attempt).
type Attempt struct {
	Addr  string        // the address, as FormatAddr writes it
	Step  int           // Step*: how far it got
	Errno syscall.Errno // 0 for the attempt that connected
}

func millis(d time.Duration) C.int {
	if d <= 0 {
		return 0
	}
	if ms := d.Milliseconds(); ms > 0 {
		return C.int(ms)
	}
	return 1
}

func cstring(s string) *C.char {
	if s == "" {
		return nil
	}
	return C.CString(s)
}

// CreateConnection is csock_create_connection: socket.create_connection((host, port)). host ""
// is loopback (Python's None); port "" is EINVAL. It returns the report of every address tried, also on failure,
// when the error is the last attempt's.
func CreateConnection(host, port string, o *ConnectOptions) (*Socket, []Attempt, error) {
	if o == nil {
		o = &ConnectOptions{}
	}
	capacity := o.MaxAttempts
	if capacity <= 0 {
		capacity = 16
	}
	// C memory: the options hold pointers, which may not point to Go memory.
	attempts := (*C.csock_attempt)(C.calloc(C.size_t(capacity), C.size_t(unsafe.Sizeof(C.csock_attempt{}))))
	defer C.free(unsafe.Pointer(attempts))
	chost, cport := cstring(host), cstring(port)
	csrc, csrcport := cstring(o.SourceHost), cstring(o.SourcePort)
	for _, p := range []*C.char{chost, cport, csrc, csrcport} {
		defer C.free(unsafe.Pointer(p))
	}
	opts := C.csock_connect_opts{
		size:             C.size_t(unsafe.Sizeof(C.csock_connect_opts{})),
		source_host:      csrc,
		source_port:      csrcport,
		total_timeout_ms: millis(o.TotalTimeout),
		attempt_delay_ms: millis(o.AttemptDelay),
		attempts:         attempts,
		attempts_cap:     C.size_t(capacity),
	}
	if o.Nonblock {
		opts.flags = C.int(syscall.SOCK_NONBLOCK)
	}
	timeout := C.int(-1)
	if o.Timeout > 0 {
		timeout = millis(o.Timeout)
	}
	sock, err := create("csock_create_connection", func(out *C.csock_socket) C.int {
		return C.csock_create_connection(out, chost, cport, timeout, &opts)
	})
	n := int(opts.attempts_len)
	if n > capacity {
		n = capacity
	}
	report := make([]Attempt, 0, n)
	for _, a := range unsafe.Slice(attempts, n) {
		addr, _ := formatStorage(&a.addr, a.addrlen, 0)
		report = append(report, Attempt{Addr: addr, Step: int(a.step), Errno: syscall.Errno(-a.error)})
	}
	return sock, report, err
}

// ServerOptions are csock_create_server's family, backlog and flags; the zero value is
// CPython's defaults (AF_INET, a backlog of 128).
type ServerOptions struct {
	Family    int  // 0: AF_INET; also AF_INET6 and AF_UNIX
	Backlog   int  // 0: 128; negative: 0
	ReusePort bool // SO_REUSEPORT
	Dualstack bool // AF_INET6 accepting IPv4 too
	Nonblock  bool // a non-blocking listener
}

// CreateServer is csock_create_server: socket.create_server((host, port)). host "" is the
// wildcard address; for AF_UNIX host is the path ("@name": abstract) and port is "".
func CreateServer(host, port string, o *ServerOptions) (*Socket, error) {
	if o == nil {
		o = &ServerOptions{}
	}
	family, backlog := o.Family, o.Backlog
	if family == 0 {
		family = Default
	}
	if backlog == 0 {
		backlog = Default
	}
	var flags C.uint32_t
	if o.ReusePort {
		flags |= serverReusePort
	}
	if o.Dualstack {
		flags |= serverDualstack
	}
	if o.Nonblock {
		flags |= C.uint32_t(syscall.SOCK_NONBLOCK)
	}
	chost, cport := cstring(host), cstring(port)
	defer C.free(unsafe.Pointer(chost))
	defer C.free(unsafe.Pointer(cport))
	return create("csock_create_server", func(out *C.csock_socket) C.int {
		return C.csock_create_server(out, chost, cport, C.int(family), C.int(backlog), flags)
	})
}
