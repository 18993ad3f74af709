//! Socket activation: the descriptors a supervisor (systemd, `systemd-socket-activate`, any
//! `LISTEN_FDS` implementation) passes from descriptor 3 on, like `sd_listen_fds_with_names`.

use std::ops::Range;
use std::os::unix::ffi::OsStrExt;

use libc::{c_char, c_int};

use crate::adopt::{Detected, detect};
use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::socket::{ListenFlags, csock_listen_fd, csock_socket};
use crate::sys;

/// The first descriptor a supervisor passes (`SD_LISTEN_FDS_START`).
pub(crate) const LISTEN_FDS_START: c_int = 3;

/// The variables of the protocol, all removed by `CSOCK_LISTEN_UNSET_ENV`.
const VARIABLES: [&str; 4] = [
    "LISTEN_PID",
    "LISTEN_FDS",
    "LISTEN_FDNAMES",
    "LISTEN_PIDFDID",
];

/// The longest name, in bytes, that fits in `csock_listen_fd::name` with its NUL.
pub(crate) const NAME_MAX: usize = 255;

/// Receives the passed descriptors into `out`; returns how many. `out` is the caller's buffer, or
/// the error found resolving it (a NULL pointer with a non-zero capacity), which becomes the
/// result. With `UNSET_ENV`, the variables are removed whatever the outcome, that error included.
pub fn listen_fds(out: Result<&mut [csock_listen_fd]>, flags: ListenFlags) -> Result<usize> {
    let result = out.and_then(receive);
    if flags.contains(ListenFlags::UNSET_ENV) {
        VARIABLES.iter().for_each(|name| sys::unset_env(name));
    }
    result
}

/// A decimal number made of digits only: no sign, no spaces, no overflow.
fn parse_decimal(text: &[u8]) -> Option<c_int> {
    if text.is_empty() || !text.iter().all(u8::is_ascii_digit) {
        return None;
    }
    text.iter().try_fold(0 as c_int, |n, &d| {
        n.checked_mul(10)?.checked_add(c_int::from(d - b'0'))
    })
}

/// Sets close-on-exec on every descriptor of `fds` that lacks it. On a failure it is cleared
/// again on those this call set, so that no descriptor is changed, and the error is returned.
fn set_cloexec_all(fds: Range<c_int>) -> Result<()> {
    let mut changed = Vec::new();
    let result = fds.into_iter().try_for_each(|fd| {
        let flags = sys::fd_flags(fd).map_err(Error::at("fcntl(F_GETFD)"))?;
        if flags & libc::FD_CLOEXEC == 0 {
            sys::set_cloexec(fd, true).map_err(Error::at("ioctl(FIOCLEX)"))?;
            changed.push(fd);
        }
        Ok(())
    });
    if result.is_err() {
        for fd in changed {
            // Best effort: the error to report is the first one.
            let _ = sys::set_cloexec(fd, false);
        }
    }
    result
}

fn receive(out: &mut [csock_listen_fd]) -> Result<usize> {
    let Some(pid) = sys::env_var("LISTEN_PID") else {
        return Ok(0);
    };
    let pid = parse_decimal(pid.as_bytes())
        .filter(|&pid| pid > 0)
        .ok_or(Error::new(libc::EINVAL, "LISTEN_PID is not a process id"))?;
    if pid != sys::getpid() {
        return Ok(0);
    }
    let Some(count) = sys::env_var("LISTEN_FDS") else {
        return Ok(0);
    };
    let count = parse_decimal(count.as_bytes())
        .filter(|&n| n > 0 && n <= c_int::MAX - LISTEN_FDS_START)
        .ok_or(Error::new(
            libc::EINVAL,
            "LISTEN_FDS is not a positive count",
        ))?;
    let n = count as usize;

    let names = sys::env_var("LISTEN_FDNAMES");
    let names: Option<Vec<&[u8]>> = names.as_ref().map(|all| {
        let all = all.as_bytes();
        if all.is_empty() {
            Vec::new()
        } else {
            all.split(|&c| c == b':').collect()
        }
    });
    if let Some(names) = &names {
        if names.len() != n {
            return Err(Error::new(
                libc::EINVAL,
                "LISTEN_FDNAMES does not match LISTEN_FDS",
            ));
        }
        if names.iter().any(|name| name.len() > NAME_MAX) {
            return Err(Error::new(
                libc::EINVAL,
                "a LISTEN_FDNAMES name is over 255 bytes",
            ));
        }
    }
    if out.len() < n {
        return Err(Error::new(libc::ENOBUFS, "more descriptors than cap"));
    }

    // Validate and audit every descriptor before changing any of them or writing `out`.
    let fds = LISTEN_FDS_START..LISTEN_FDS_START + count;
    let detected = fds
        .clone()
        .map(|fd| detect(fd, -1, -1, -1))
        .collect::<Result<Vec<Detected>>>()?;
    for (fd, d) in fds.clone().zip(&detected) {
        audit::check(&Event::socket_new(fd, d.family, d.ty, d.proto))?;
    }
    set_cloexec_all(fds.clone())?;
    for (i, (fd, d)) in fds.zip(&detected).enumerate() {
        let name = names.as_ref().map_or(&b"unknown"[..], |names| names[i]);
        let entry = &mut out[i];
        entry.sock = csock_socket {
            fd,
            family: d.family,
            r#type: d.ty,
            proto: d.proto,
        };
        entry.name = [0; NAME_MAX + 1];
        for (dst, &src) in entry.name.iter_mut().zip(name) {
            *dst = src as c_char;
        }
    }
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimal_parsing_is_strict() {
        assert_eq!(parse_decimal(b"42"), Some(42));
        assert_eq!(parse_decimal(b""), None);
        assert_eq!(parse_decimal(b"-1"), None);
        assert_eq!(parse_decimal(b"+1"), None);
        assert_eq!(parse_decimal(b" 1"), None);
        assert_eq!(parse_decimal(b"1x"), None);
        assert_eq!(parse_decimal(b"2147483647"), Some(c_int::MAX));
        assert_eq!(parse_decimal(b"2147483648"), None);
    }
}
