//! Socket activation.

use libc::c_int;

use super::c_call;
use crate::activation::{self, Entries};
use crate::error::{Error, Result};
use crate::socket::csock_listen_fd;

/// Receives the sockets a supervisor passed, like systemd's `sd_listen_fds_with_names()`, each
/// adopted with its family, type and protocol detected.
///
/// Only when `LISTEN_PID` is this process's id: otherwise, or when the variables are absent,
/// returns 0. The descriptors are `3 .. 3 + LISTEN_FDS - 1`; every one is validated and audited
/// before any is changed, then each that lacks close-on-exec is set so (if that fails, those set
/// are cleared again) and written to `out[i]` with its name from `LISTEN_FDNAMES` (`"unknown"`
/// when that variable is absent). The sockets in `out` are owned by the caller.
///
/// Returns the count, or -errno with `out` untouched and no descriptor changed: -EINVAL for a
/// malformed `LISTEN_PID` or `LISTEN_FDS` (garbage, zero, negative, overflow), a
/// `LISTEN_FDNAMES` whose count does not match, a name over 255 bytes, unknown `flags` bits or a
/// NULL `out` with `cap > 0`; -ENOBUFS when `cap` is smaller than the count; -ENOTSOCK (or
/// -EBADF) when a descriptor in the range is not an open socket; a hook's refusal; the error of
/// `fcntl(F_GETFD)` or `ioctl(FIOCLEX)` on a descriptor closed or replaced meanwhile.
///
/// With `CSOCK_LISTEN_UNSET_ENV` in `flags`, `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES` and
/// `LISTEN_PIDFDID` are removed from the environment whatever the outcome (a NULL `out`
/// included, and unknown bits besides it), so a second call returns 0 (and a child does not see
/// them). Unknown `flags` bits are refused with -EINVAL before any descriptor is looked at. As with
/// `unsetenv(3)`, do not read the environment from another thread meanwhile.
///
/// # Safety
/// `out` is NULL or writable for as many values as the call returns (at most `cap`; a larger
/// `cap`, up to `SIZE_MAX`, is fine when the array is in fact large enough).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_listen_fds(
    out: *mut csock_listen_fd,
    cap: usize,
    flags: u32,
) -> c_int {
    c_call!(
        {
            let mut array = OutArray { first: out, cap };
            let out: Result<&mut dyn Entries> = if cap > 0 && out.is_null() {
                Err(Error::new(libc::EINVAL, "out is NULL"))
            } else {
                Ok(&mut array)
            };
            // A NULL `out` and unknown flags are reported by the core, after it has honoured
            // UNSET_ENV.
            activation::listen_fds(out, flags)
        },
        csock_listen_fds(cap = cap, flags = flags)
    )
}

/// The caller's array: written one entry at a time through the pointer, never as a slice, so
/// that a `cap` larger than the real array (even `SIZE_MAX`) is harmless while it is not used.
struct OutArray {
    first: *mut csock_listen_fd,
    cap: usize,
}

impl Entries for OutArray {
    fn cap(&self) -> usize {
        self.cap
    }

    fn write(&mut self, i: usize, entry: &csock_listen_fd) {
        if i < self.cap && !self.first.is_null() {
            // SAFETY: per csock_listen_fds' contract `first` is writable for as many entries as
            // the call writes, and the core writes `i < count <= cap` only.
            unsafe { self.first.add(i).write(*entry) };
        }
    }
}
