//! Audit hooks.

use core::ffi::{c_char, c_void};

use libc::c_int;

use super::c_call;
use crate::audit::{self, Event};
use crate::error::Error;

/// An audit hook: called with the event name (`"socket.__new__"`), the descriptor (-1 when it
/// does not exist yet), the family, type and protocol, and the `userdata` given to
/// `csock_audit_add()`. Returns 0 to allow; any other value refuses the creation (a negative
/// value is returned to the caller as the error, a positive value as -EPERM).
pub type csock_audit_hook = Option<
    unsafe extern "C" fn(
        event: *const c_char,
        fd: c_int,
        family: c_int,
        r#type: c_int,
        proto: c_int,
        userdata: *mut c_void,
    ) -> c_int,
>;

/// A C hook and its userdata.
struct CHook {
    hook: unsafe extern "C" fn(*const c_char, c_int, c_int, c_int, c_int, *mut c_void) -> c_int,
    userdata: *mut c_void,
}

// SAFETY: csock_audit_add's contract makes the hook callable from any thread with its userdata;
// csock never dereferences `userdata`, it only passes it back.
unsafe impl Send for CHook {}
// SAFETY: as above.
unsafe impl Sync for CHook {}

impl audit::Hook for CHook {
    fn call(&self, e: &Event) -> c_int {
        // SAFETY: the hook was registered as a valid function for this signature; the event
        // name is a NUL-terminated static string.
        unsafe {
            (self.hook)(
                e.name.as_ptr(),
                e.fd,
                e.family,
                e.ty,
                e.proto,
                self.userdata,
            )
        }
    }
}

/// Adds an audit hook, like Python's `sys.addaudithook()`.
///
/// Hooks cannot be removed. They are called in the order they were added, from whichever thread
/// creates a socket, for every `"socket.__new__"` event: `csock_open()` (before the socket exists,
/// `fd` -1), `csock_adopt()`, `csock_fromfd()`, `csock_dup()`, `csock_socketpair()` (once per
/// end), `csock_accept()` and `csock_listen_fds()` (once per descriptor). A refusal stops the
/// walk: later hooks are not called, nothing is created, and nothing of the caller's is closed.
/// Adding and calling are safe from many threads at once; a creation sees every hook added
/// before it started. With no hook added, a creation costs one atomic load.
///
/// Returns 0, -EINVAL for a NULL hook, or -ENOMEM when the hook cannot be stored.
///
/// # Safety
/// `hook` must stay callable for the rest of the process, from any thread, with `userdata`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_audit_add(hook: csock_audit_hook, userdata: *mut c_void) -> c_int {
    c_call!(
        {
            let hook = hook.ok_or(Error::new(libc::EINVAL, "hook is NULL"))?;
            audit::add(CHook { hook, userdata })
        },
        csock_audit_add()
    )
}
