package csock_test

import (
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"csock"
)

func splitPort(t *testing.T, s *csock.Socket) (string, string) {
	t.Helper()
	addr := ck(t).str(s.LocalAddr())
	i := strings.LastIndex(addr, ":")
	return addr, addr[i+1:]
}

func TestServerAndConnection(t *testing.T) {
	server := ck(t).sock(csock.CreateServer("127.0.0.1", "0", nil))
	defer server.Close()
	if values(server) != [3]int{syscall.AF_INET, syscall.SOCK_STREAM, 0} {
		t.Errorf("server records %v", values(server))
	}
	if !ck(t).info(csock.Inspect(server.Fd())).Listening() || !ck(t).flag(server.Blocking()) ||
		ck(t).flag(server.Inheritable()) {
		t.Errorf("server %v: not a blocking, non-inheritable listener", server)
	}
	laddr, port := splitPort(t, server)
	if !regexp.MustCompile(`^127\.0\.0\.1:[1-9]\d*$`).MatchString(laddr) ||
		!strings.HasSuffix(server.String(), "laddr="+laddr+">") {
		t.Errorf("server at %q: %v", laddr, server)
	}

	conn, attempts, err := csock.CreateConnection("127.0.0.1", port, nil)
	ck(t).ok(err)
	if values(conn) != [3]int{syscall.AF_INET, syscall.SOCK_STREAM, syscall.IPPROTO_TCP} ||
		ck(t).str(conn.RemoteAddr()) != laddr || !ck(t).flag(conn.Blocking()) {
		t.Errorf("connection %v", conn)
	}
	if want := []csock.Attempt{{Addr: laddr, Step: csock.StepConnect}}; fmt.Sprint(attempts) != fmt.Sprint(want) {
		t.Errorf("attempts %+v, want %+v", attempts, want)
	}
	peer, peerAddr, err := server.Accept(0)
	ck(t).ok(err)
	if peerAddr != ck(t).str(conn.LocalAddr()) || peer.Family() != syscall.AF_INET {
		t.Errorf("accepted %v from %q", peer, peerAddr)
	}
	peer.Close()
	conn.Close()

	conn, _, err = csock.CreateConnection("127.0.0.1", port,
		&csock.ConnectOptions{Nonblock: true, Timeout: 5 * time.Second})
	ck(t).ok(err)
	if ck(t).flag(conn.Blocking()) || conn.Type() != syscall.SOCK_STREAM {
		t.Errorf("Nonblock: %v is blocking", conn)
	}
	conn.Close()
	peer, _, err = server.Accept(0)
	ck(t).ok(err)
	peer.Close()

	conn, attempts, err = csock.CreateConnection("localhost", port, nil)
	ck(t).ok(err)
	if last := attempts[len(attempts)-1]; last.Errno != 0 || last.Addr != laddr {
		t.Errorf("localhost: attempts %+v", attempts)
	}
	conn.Close()
}

func TestConnectionRefused(t *testing.T) {
	server := ck(t).sock(csock.CreateServer("127.0.0.1", "0", nil))
	_, port := splitPort(t, server)
	server.Close()
	_, attempts, err := csock.CreateConnection("127.0.0.1", port, nil)
	if !errors.Is(err, syscall.ECONNREFUSED) || !strings.Contains(err.Error(), "127.0.0.1:"+port) {
		t.Errorf("a closed port: %v", err)
	}
	if len(attempts) != 1 || attempts[0].Errno != syscall.ECONNREFUSED || attempts[0].Step != csock.StepConnect {
		t.Errorf("attempts %+v", attempts)
	}
	if _, _, err := csock.CreateConnection("127.0.0.1", "70000", nil); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("port 70000: %v, want EINVAL", err)
	}
}

func TestResolverError(t *testing.T) {
	_, attempts, err := csock.CreateConnection("127.0.0.1", "no-such-service-csock", nil)
	var cerr *csock.Error
	if !errors.As(err, &cerr) || cerr.EAI != csock.MustConstant("EAI_SERVICE") || cerr.Errno != 0 ||
		cerr.Code > -4096 || !strings.Contains(cerr.Msg, "getaddrinfo: EAI_SERVICE") {
		t.Errorf("an unknown service: %#v", err)
	}
	if errors.Unwrap(err) != nil || len(attempts) != 0 {
		t.Errorf("an unknown service: unwraps to %v, %d attempts", errors.Unwrap(err), len(attempts))
	}
}

func TestServerOptions(t *testing.T) {
	server := ck(t).sock(csock.CreateServer("127.0.0.1", "0", &csock.ServerOptions{Nonblock: true, Backlog: 4}))
	defer server.Close()
	if ck(t).flag(server.Blocking()) {
		t.Error("Nonblock: the listener is blocking")
	}
	_, port := splitPort(t, server)
	_, err := csock.CreateServer("127.0.0.1", port, nil)
	if !errors.Is(err, syscall.EADDRINUSE) ||
		!strings.HasSuffix(err.Error(), "(while attempting to bind on address 127.0.0.1:"+port+")") {
		t.Errorf("a port in use: %v", err)
	}
	if _, err := csock.CreateServer("127.0.0.1", "0", &csock.ServerOptions{Dualstack: true}); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("Dualstack with AF_INET: %v, want EINVAL", err)
	}
	name := fmt.Sprintf("@csock-go-test-%d", os.Getpid())
	unix := ck(t).sock(csock.CreateServer(name, "", &csock.ServerOptions{Family: syscall.AF_UNIX}))
	defer unix.Close()
	if unix.Family() != syscall.AF_UNIX || ck(t).str(unix.LocalAddr()) != name {
		t.Errorf("AF_UNIX server %v", unix)
	}
}
