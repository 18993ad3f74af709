// The C side of AuditAdd: csock calls csock_go_audit, which hands the call to the Go function
// csockGoAudit with the cgo.Handle that AuditAdd registered as the hook's userdata.
#include <csock.h>
#include <stdint.h>

#include "_cgo_export.h"

static int csock_go_audit(const char *event, int fd, int family, int type, int proto,
                          void *userdata) {
    return csockGoAudit((char *)event, fd, family, type, proto, (uintptr_t)userdata);
}

int csock_go_audit_add(uintptr_t handle) {
    return csock_audit_add(csock_go_audit, (void *)handle);
}
