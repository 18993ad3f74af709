package csock_test

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"csock"
)

// fdFlags reads F_GETFL / F_GETFD without csock.
func fcntl(t *testing.T, fd, cmd int) int {
	t.Helper()
	r, _, e := syscall.Syscall(syscall.SYS_FCNTL, uintptr(fd), uintptr(cmd), 0)
	if e != 0 {
		return -int(e)
	}
	return int(r)
}

func nonblocking(t *testing.T, fd int) bool {
	return fcntl(t, fd, syscall.F_GETFL)&syscall.O_NONBLOCK != 0
}

func isOpen(t *testing.T, fd int) bool { return fcntl(t, fd, syscall.F_GETFD) >= 0 }

// ck(t)'s methods take a call's results and stop the test on its error.
type tt struct{ *testing.T }

func ck(t *testing.T) tt { return tt{t} }

func (t tt) sock(s *csock.Socket, err error) *csock.Socket { t.Helper(); t.ok(err); return s }
func (t tt) flag(b bool, err error) bool                   { t.Helper(); t.ok(err); return b }
func (t tt) str(s string, err error) string                { t.Helper(); t.ok(err); return s }
func (t tt) info(i csock.Info, err error) csock.Info       { t.Helper(); t.ok(err); return i }
func (t tt) int(n int, err error) int                      { t.Helper(); t.ok(err); return n }

func (t tt) ok(err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func values(s *csock.Socket) [3]int { return [3]int{s.Family(), s.Type(), s.Proto()} }

func TestOpenDefaults(t *testing.T) {
	s := ck(t).sock(csock.Open(csock.Default, csock.Default, csock.Default))
	if got, want := values(s), [3]int{syscall.AF_INET, syscall.SOCK_STREAM, 0}; got != want {
		t.Errorf("recorded %v, want %v", got, want)
	}
	if !ck(t).flag(s.Blocking()) || nonblocking(t, s.Fd()) {
		t.Error("a default socket is not blocking")
	}
	if ck(t).flag(s.Inheritable()) || fcntl(t, s.Fd(), syscall.F_GETFD)&syscall.FD_CLOEXEC == 0 {
		t.Error("a default socket is inheritable")
	}
	want := fmt.Sprintf("<csock fd=%d, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0.0.0.0:0>",
		s.Fd())
	if got := s.String(); got != want {
		t.Errorf("String() = %q, want %q", got, want)
	}
	fd := s.Fd()
	if err := s.Close(); err != nil || s.Fd() != -1 || isOpen(t, fd) {
		t.Errorf("Close: %v, fd %d, descriptor open %v", err, s.Fd(), isOpen(t, fd))
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close: %v", err)
	}
	if got := s.String(); got != "<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>" {
		t.Errorf("String() of a closed socket = %q", got)
	}
	if _, err := s.Blocking(); !errors.Is(err, syscall.EBADF) {
		t.Errorf("Blocking on a closed socket: %v, want EBADF", err)
	}
}

func TestOpenNonblock(t *testing.T) {
	s := ck(t).sock(csock.Open(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK, 0))
	defer s.Close()
	if s.Type() != syscall.SOCK_STREAM {
		t.Errorf("recorded type %d, want SOCK_STREAM without the flag", s.Type())
	}
	if ck(t).flag(s.Blocking()) || !nonblocking(t, s.Fd()) {
		t.Error("SOCK_NONBLOCK: the socket is blocking")
	}
	if err := s.SetBlocking(true); err != nil || !ck(t).flag(s.Blocking()) || nonblocking(t, s.Fd()) {
		t.Errorf("SetBlocking(true): %v", err)
	}

	d := ck(t).sock(csock.Open(syscall.AF_INET6, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0))
	defer d.Close()
	if got, want := values(d), [3]int{syscall.AF_INET6, syscall.SOCK_DGRAM, 0}; got != want {
		t.Errorf("recorded %v, want %v", got, want)
	}
	dup := ck(t).sock(d.Dup())
	defer dup.Close()
	if dup.Fd() == d.Fd() || values(dup) != values(d) || ck(t).flag(dup.Inheritable()) {
		t.Errorf("Dup: %v of %v", dup, d)
	}
}

func TestErrors(t *testing.T) {
	_, err := csock.Open(12345, csock.Default, csock.Default)
	var cerr *csock.Error
	if !errors.As(err, &cerr) {
		t.Fatalf("Open(12345): %v, want a *csock.Error", err)
	}
	if cerr.Op != "csock_open" || cerr.Errno != syscall.EAFNOSUPPORT ||
		cerr.Code != -int(syscall.EAFNOSUPPORT) || !errors.Is(err, syscall.EAFNOSUPPORT) {
		t.Errorf("Open(12345): %#v", cerr)
	}
	if !regexp.MustCompile(`csock_open.*EAFNOSUPPORT`).MatchString(err.Error()) {
		t.Errorf("message %q names neither the function nor the errno", err)
	}
	if _, err := csock.Open(syscall.AF_INET, 999, 0); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("a bad type: %v, want EINVAL", err)
	}
	if _, err := csock.Adopt(-7, csock.Default, csock.Default, csock.Default); !errors.Is(err, syscall.EBADF) ||
		!strings.Contains(err.Error(), "csock_adopt(fd=-7)") {
		t.Errorf("Adopt(-7): %v, want EBADF", err)
	}
}

func TestConstants(t *testing.T) {
	for name, want := range map[string]int64{"SOCK_NONBLOCK": syscall.SOCK_NONBLOCK,
		"AF_UNIX": syscall.AF_UNIX, "IPPROTO_TCP": syscall.IPPROTO_TCP} {
		if got, err := csock.Constant(name); err != nil || got != want {
			t.Errorf("Constant(%q) = %d, %v; want %d", name, got, err, want)
		}
	}
	if _, err := csock.Constant("AF_NOPE"); !errors.Is(err, syscall.ENOENT) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Constant(AF_NOPE): %v, want ENOENT", err)
	}
	if csock.FamilyName(syscall.AF_INET6) != "AF_INET6" || csock.FamilyName(4242) != "" ||
		csock.TypeName(syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK) != "SOCK_DGRAM" {
		t.Error("FamilyName / TypeName")
	}
}

func TestConstant64(t *testing.T) {
	if v, err := csock.Constant("CAN_EFF_FLAG"); err != nil || v != 0x80000000 {
		t.Errorf("CAN_EFF_FLAG = %#x, %v", v, err)
	}
	if v, err := csock.Constant("INADDR_NONE"); err != nil || v != 0xffffffff {
		t.Errorf("INADDR_NONE = %#x, %v", v, err)
	}
}

func TestHas(t *testing.T) {
	for name, want := range map[string]bool{"csock_open": true, "csock_create_connection": true,
		"csock_create_server": true, "csock_nope": false} {
		if csock.Has(name) != want {
			t.Errorf("Has(%q) = %v", name, !want)
		}
	}
}

func TestVersion(t *testing.T) {
	if !regexp.MustCompile(`^\d+\.\d+\.\d+$`).MatchString(csock.Version()) {
		t.Errorf("Version() = %q", csock.Version())
	}
}

// Go's net: FromConn adopts a duplicate of a TCPListener's descriptor (and of the *os.File
// that File() returns), detecting the values; Go keeps serving on its own descriptor.
func TestFromNetListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ck(t).ok(err)
	defer ln.Close()
	tl := ln.(*net.TCPListener)
	port := tl.Addr().(*net.TCPAddr).Port

	s := ck(t).sock(csock.FromConn(tl))
	if got, want := values(s), [3]int{syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP}; got != want {
		t.Errorf("recorded %v, want %v", got, want)
	}
	if addr := ck(t).str(s.LocalAddr()); addr != fmt.Sprintf("127.0.0.1:%d", port) {
		t.Errorf("LocalAddr %q, want port %d", addr, port)
	}
	if info := ck(t).info(csock.Inspect(s.Fd())); !info.Listening() || !info.Cloexec() {
		t.Errorf("Inspect: %+v", info)
	}
	if blocking := ck(t).flag(s.Blocking()); blocking == nonblocking(t, s.Fd()) {
		t.Error("Blocking disagrees with the kernel")
	}
	s.Close()

	f, err := tl.File() // a dup, owned by f
	ck(t).ok(err)
	defer f.Close()
	raw, err := f.SyscallConn()
	ck(t).ok(err)
	var before bool
	raw.Control(func(fd uintptr) { before = nonblocking(t, int(fd)) })
	s = ck(t).sock(csock.FromConn(f))
	defer s.Close()
	if values(s) != [3]int{syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP} {
		t.Errorf("File(): recorded %v", values(s))
	}
	raw.Control(func(fd uintptr) {
		if nonblocking(t, int(fd)) != before {
			t.Error("FromConn changed the descriptor's blocking mode")
		}
	})
	if !strings.HasSuffix(s.String(), fmt.Sprintf("laddr=127.0.0.1:%d>", port)) {
		t.Errorf("String() = %q", s)
	}

	// A connection queued on the listener is accepted through csock's duplicate (which shares
	// Go's non-blocking mode, so it is accepted once the kernel has it queued: after Dial).
	c, err := net.Dial("tcp", ln.Addr().String())
	ck(t).ok(err)
	defer c.Close()
	conn, peer, err := s.Accept(0)
	ck(t).ok(err)
	defer conn.Close()
	if peer != c.LocalAddr().String() || conn.Family() != syscall.AF_INET {
		t.Errorf("Accept: %v from %q", conn, peer)
	}
}

// A connected net.TCPConn: the peer is the listener.
func TestFromNetConn(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	ck(t).ok(err)
	defer ln.Close()
	c, err := net.Dial("tcp", ln.Addr().String())
	ck(t).ok(err)
	defer c.Close()
	s := ck(t).sock(csock.FromConn(c.(*net.TCPConn)))
	defer s.Close()
	if peer := ck(t).str(s.RemoteAddr()); peer != ln.Addr().String() {
		t.Errorf("RemoteAddr %q, want %q", peer, ln.Addr())
	}
	if local := ck(t).str(s.LocalAddr()); local != c.LocalAddr().String() {
		t.Errorf("LocalAddr %q, want %q", local, c.LocalAddr())
	}
}

// Adopt takes ownership of descriptors made by Go's syscall package.
func TestAdoptSyscallSocket(t *testing.T) {
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	ck(t).ok(err)
	syscall.SetNonblock(fds[1], true)
	a := ck(t).sock(csock.Adopt(fds[0], csock.Default, csock.Default, csock.Default))
	if got, want := values(a), [3]int{syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0}; got != want {
		t.Errorf("detected %v, want %v", got, want)
	}
	if !ck(t).flag(a.Inheritable()) {
		t.Error("adoption changed close-on-exec")
	}
	b := ck(t).sock(csock.Adopt(fds[1], syscall.AF_UNIX, syscall.SOCK_SEQPACKET|syscall.SOCK_NONBLOCK, 0))
	if b.Type() != syscall.SOCK_SEQPACKET || ck(t).flag(b.Blocking()) || !nonblocking(t, fds[1]) {
		t.Errorf("explicit type with SOCK_NONBLOCK: %v, blocking %v", b, ck(t).flag(b.Blocking()))
	}
	a.Close()
	b.Close()
	if isOpen(t, fds[0]) || isOpen(t, fds[1]) {
		t.Error("Close left an adopted descriptor open")
	}

	r, w, err := os.Pipe()
	ck(t).ok(err)
	defer r.Close()
	defer w.Close()
	if _, err := csock.Adopt(int(r.Fd()), csock.Default, csock.Default, csock.Default); !errors.Is(err, syscall.ENOTSOCK) {
		t.Errorf("adopting a pipe: %v, want ENOTSOCK", err)
	}
	if !isOpen(t, int(r.Fd())) {
		t.Error("a refused descriptor was closed")
	}
}

func TestSocketpair(t *testing.T) {
	a, b, err := csock.Socketpair(csock.Default, csock.Default, csock.Default)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	defer b.Close()
	want := [3]int{syscall.AF_UNIX, syscall.SOCK_STREAM, 0}
	if values(a) != want || values(b) != want || ck(t).flag(a.Inheritable()) || ck(t).flag(b.Inheritable()) {
		t.Errorf("Socketpair: %v, %v", a, b)
	}
}

func TestFinalizerClosesUnclosedSockets(t *testing.T) {
	var fds []int
	for i := 0; i < 20; i++ {
		fds = append(fds, ck(t).sock(csock.Open(csock.Default, csock.Default, csock.Default)).Fd())
	}
	kept := ck(t).sock(csock.Open(csock.Default, csock.Default, csock.Default))
	detached := ck(t).int(kept.Detach())
	for i := 0; i < 5; i++ {
		runtime.GC()
	}
	// Finalizers run in their own goroutine: wait for them, briefly.
	closed := 0
	for round := 0; round < 100 && closed < len(fds); round++ {
		closed = 0
		for _, fd := range fds {
			if !isOpen(t, fd) {
				closed++
			}
		}
		runtime.Gosched()
		runtime.GC()
	}
	if closed != len(fds) {
		t.Errorf("%d of %d collected sockets closed", closed, len(fds))
	}
	if !isOpen(t, detached) {
		t.Error("the finalizer closed a detached descriptor")
	}
	syscall.Close(detached)
}
