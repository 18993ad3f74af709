//go:build csock_no_connect

package csock

// For a header from before csock_create_connection and csock_create_server (the Makefile sets
// the build tag): the same API, every call failing with ENOSYS. Has tells them apart.

import (
	"syscall"
	"time"
)

const (
	StepSocket  = 1
	StepBind    = 2
	StepConnect = 3
)

type ConnectOptions struct {
	Timeout, TotalTimeout, AttemptDelay time.Duration
	SourceHost, SourcePort              string
	Nonblock                            bool
	MaxAttempts                         int
}

type Attempt struct {
	Addr  string
	Step  int
	Errno syscall.Errno
}

type ServerOptions struct {
	Family, Backlog                int
	ReusePort, Dualstack, Nonblock bool
}

func missing(op string) error {
	return &Error{Op: op, Code: -int(syscall.ENOSYS), Errno: syscall.ENOSYS,
		Msg: op + ": not in this libcsock"}
}

func CreateConnection(host, port string, o *ConnectOptions) (*Socket, []Attempt, error) {
	return nil, nil, missing("csock_create_connection")
}

func CreateServer(host, port string, o *ServerOptions) (*Socket, error) {
	return nil, missing("csock_create_server")
}
