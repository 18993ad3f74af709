//! Socket activation.

use libc::c_int;

use super::{arg_mut, c_call};
use crate::activation;
use crate::error::{Error, Result};
use crate::socket::{ListenFlags, csock_listen_fd};

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
/// included), so a second call returns 0 (and a child does not see them). Unknown `flags` bits
/// are refused before anything is done: the environment is then left as it is. As with
/// `unsetenv(3)`, do not read the environment from another thread meanwhile.
///
/// # Safety
/// `out` is NULL or writable for `cap` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_listen_fds(
    out: *mut csock_listen_fd,
    cap: usize,
    flags: u32,
) -> c_int {
    c_call!(
        {
            let flags =
                ListenFlags::from_bits(flags).ok_or(Error::new(libc::EINVAL, "unknown flags"))?;
            let out: Result<&mut [csock_listen_fd]> = if cap == 0 {
                Ok(&mut [])
            } else {
                // SAFETY: `out` is NULL or writable for `cap` values, per the contract.
                unsafe { arg_mut(out, "out is NULL") }.map(|first| {
                    // SAFETY: as above; `first` is the start of `cap` values.
                    unsafe { std::slice::from_raw_parts_mut(first, cap) }
                })
            };
            // A NULL `out` is reported by the core, after it has honoured UNSET_ENV.
            activation::listen_fds(out, flags)
        },
        "csock_listen_fds(cap={cap}, flags={flags})"
    )
}
