package csock_test

import (
	"errors"
	"sync"
	"syscall"
	"testing"

	"csock"
)

type event struct {
	name                   string
	fd, family, typ, proto int
}

// One hook for the test process (hooks cannot be removed), steered by refuse.
var (
	auditOnce sync.Once
	auditMu   sync.Mutex
	events    []event
	refuse    func() int // nil: allow
)

func hook(t *testing.T) {
	auditOnce.Do(func() {
		err := csock.AuditAdd(func(name string, fd, family, typ, proto int) int {
			auditMu.Lock()
			defer auditMu.Unlock()
			events = append(events, event{name, fd, family, typ, proto})
			if refuse != nil {
				return refuse()
			}
			return 0
		})
		if err != nil {
			t.Fatal(err)
		}
	})
}

func refusing(f func() int, body func()) {
	auditMu.Lock()
	refuse = f
	auditMu.Unlock()
	defer func() {
		auditMu.Lock()
		refuse = nil
		auditMu.Unlock()
	}()
	body()
}

func lastEvent() (event, int) {
	auditMu.Lock()
	defer auditMu.Unlock()
	if len(events) == 0 {
		return event{}, 0
	}
	return events[len(events)-1], len(events)
}

func TestAuditSeesOpen(t *testing.T) {
	hook(t)
	s := ck(t).sock(csock.Open(syscall.AF_INET6, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK, csock.Default))
	s.Close()
	if e, _ := lastEvent(); e != (event{"socket.__new__", -1, syscall.AF_INET6,
		syscall.SOCK_DGRAM | syscall.SOCK_NONBLOCK, 0}) {
		t.Errorf("event %+v", e)
	}
}

func TestAuditRefuses(t *testing.T) {
	hook(t)
	for _, c := range []struct {
		name string
		hook func() int
		want syscall.Errno
	}{
		{"-EACCES", func() int { return -int(syscall.EACCES) }, syscall.EACCES},
		{"a positive value", func() int { return 7 }, syscall.EPERM},
		{"a panic", func() int { panic("refused by a Go panic") }, syscall.EPERM},
	} {
		refusing(c.hook, func() {
			_, err := csock.Open(csock.Default, csock.Default, csock.Default)
			if !errors.Is(err, c.want) {
				t.Errorf("a hook returning %s: %v, want %v", c.name, err, c.want)
			}
		})
	}
	ck(t).sock(csock.Open(csock.Default, csock.Default, csock.Default)).Close()
}

func TestAuditSeesAdoptionAndARefusalKeepsTheDescriptor(t *testing.T) {
	hook(t)
	fds, err := syscall.Socketpair(syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0)
	ck(t).ok(err)
	defer syscall.Close(fds[1])
	_, before := lastEvent()
	refusing(func() int { return -int(syscall.EACCES) }, func() {
		if _, err := csock.Adopt(fds[0], csock.Default, csock.Default, csock.Default); !errors.Is(err, syscall.EACCES) {
			t.Errorf("refused adoption: %v", err)
		}
	})
	e, n := lastEvent()
	if n != before+1 || e != (event{"socket.__new__", fds[0], syscall.AF_UNIX, syscall.SOCK_SEQPACKET, 0}) {
		t.Errorf("%d events, last %+v", n-before, e)
	}
	if !isOpen(t, fds[0]) {
		t.Fatal("the refused descriptor was closed")
	}
	ck(t).sock(csock.Adopt(fds[0], csock.Default, csock.Default, csock.Default)).Close()
}

func TestAuditCreateServerAndConnection(t *testing.T) {
	hook(t)
	refusing(func() int { return -int(syscall.EACCES) }, func() {
		if _, err := csock.CreateServer("127.0.0.1", "0", nil); !errors.Is(err, syscall.EACCES) {
			t.Errorf("CreateServer refused: %v", err)
		}
	})
	server := ck(t).sock(csock.CreateServer("127.0.0.1", "0", nil))
	defer server.Close()
	_, port := splitPort(t, server)
	refusing(func() int { return -int(syscall.EACCES) }, func() {
		_, attempts, err := csock.CreateConnection("127.0.0.1", port, nil)
		if !errors.Is(err, syscall.EACCES) {
			t.Errorf("CreateConnection refused: %v", err)
		}
		if len(attempts) != 1 || attempts[0].Errno != syscall.EACCES || attempts[0].Step != csock.StepSocket {
			t.Errorf("attempts %+v", attempts)
		}
	})
	if e, _ := lastEvent(); e.family != syscall.AF_INET || e.typ != syscall.SOCK_STREAM ||
		e.proto != syscall.IPPROTO_TCP {
		t.Errorf("event %+v", e)
	}
}
