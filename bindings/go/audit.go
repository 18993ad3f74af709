package csock

/*
#include <csock.h>
#include <stdint.h>

int csock_go_audit_add(uintptr_t handle);
*/
import "C"

import "runtime/cgo"

// AuditHook is called for every creation, as csock_audit_hook, with the event
// ("socket.__new__"), the descriptor (-1 before it exists), the family, type and protocol. It
// returns 0 to allow; a negative value refuses with that error (-int(syscall.EACCES)), a
// positive one with EPERM. A hook that panics refuses with EPERM.
type AuditHook func(event string, fd, family, typ, proto int) int

// AuditAdd is csock_audit_add. Hooks cannot be removed: hook lives as long as the process.
func AuditAdd(hook AuditHook) error {
	h := cgo.NewHandle(hook)
	// The handle travels as csock's userdata (audit.c), as cgo.Handle documents.
	if _, err := call("csock_audit_add", func() C.int {
		return C.csock_go_audit_add(C.uintptr_t(h))
	}); err != nil {
		h.Delete()
		return err
	}
	return nil
}

//export csockGoAudit
func csockGoAudit(event *C.char, fd, family, typ, proto C.int, handle C.uintptr_t) (rc C.int) {
	defer func() {
		if recover() != nil {
			rc = 1
		}
	}()
	hook := cgo.Handle(handle).Value().(AuditHook)
	return C.int(hook(C.GoString(event), int(fd), int(family), int(typ), int(proto)))
}
