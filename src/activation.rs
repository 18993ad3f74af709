//! Socket activation: the descriptors a supervisor (systemd, `systemd-socket-activate`, any
//! `LISTEN_FDS` implementation) passes from descriptor 3 on, like `sd_listen_fds_with_names`.

use libc::{c_char, c_int};

use crate::adopt::{Detected, detect};
use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::socket::{ListenFlags, csock_listen_fd, csock_socket};
use crate::sys::{self, rt};

/// The first descriptor a supervisor passes (`SD_LISTEN_FDS_START`).
pub(crate) const LISTEN_FDS_START: c_int = 3;

/// The variables of the protocol, all removed by `CSOCK_LISTEN_UNSET_ENV`.
const VARIABLES: [&core::ffi::CStr; 4] = [
    c"LISTEN_PID",
    c"LISTEN_FDS",
    c"LISTEN_FDNAMES",
    c"LISTEN_PIDFDID",
];

/// The longest name, in bytes, that fits in `csock_listen_fd::name` with its NUL.
pub(crate) const NAME_MAX: usize = 255;

/// Where the received sockets go: the caller's array, written only once everything succeeded.
pub trait Entries {
    /// How many entries there is room for.
    fn cap(&self) -> usize;
    /// Writes entry `i` (`i < cap()`).
    fn write(&mut self, i: usize, entry: &csock_listen_fd);
}

/// Receives the passed descriptors into `out`; returns how many. `out` is the caller's array, or
/// the error found resolving it (a NULL pointer with a non-zero capacity), which becomes the
/// result; so are unknown bits in `flags`. With `CSOCK_LISTEN_UNSET_ENV` among the bits, the
/// variables are removed whatever the outcome, those errors included.
pub fn listen_fds(out: Result<&mut dyn Entries>, flags: u32) -> Result<usize> {
    let result = ListenFlags::from_bits(flags)
        .ok_or(Error::new(libc::EINVAL, "unknown flags"))
        .and(out)
        .and_then(receive);
    if ListenFlags::from_bits_truncate(flags).contains(ListenFlags::UNSET_ENV) {
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

/// The values of the protocol's variables, as the environment holds them (`None`: not set).
#[derive(Clone, Copy, Debug, Default)]
pub struct ListenVars<'a> {
    /// `LISTEN_PID`.
    pub pid: Option<&'a [u8]>,
    /// `LISTEN_FDS`.
    pub fds: Option<&'a [u8]>,
    /// `LISTEN_FDNAMES`.
    pub names: Option<&'a [u8]>,
}

/// What the variables say, for the process `own_pid`: `None` when they are absent or name another
/// process, else the descriptor count, checked against the names. A pure function of its inputs
/// (the fuzzing target of the parser).
pub fn parse(vars: ListenVars<'_>, own_pid: c_int) -> Result<Option<usize>> {
    let Some(pid) = vars.pid.map(parse_decimal) else {
        return Ok(None);
    };
    let pid = pid.filter(|&pid| pid > 0).ok_or_else(|| {
        Error::new(libc::EINVAL, "LISTEN_PID is not a process id")
            .with_var("LISTEN_PID", vars.pid.unwrap_or_default())
    })?;
    if pid != own_pid {
        return Ok(None);
    }
    let Some(count) = vars.fds.map(parse_decimal) else {
        return Ok(None);
    };
    let count = count
        .filter(|&n| n > 0 && n <= c_int::MAX - LISTEN_FDS_START)
        .ok_or_else(|| {
            Error::new(libc::EINVAL, "LISTEN_FDS is not a positive count")
                .with_var("LISTEN_FDS", vars.fds.unwrap_or_default())
        })? as usize;
    check_names(vars.names, count)
        .map_err(|e| e.with_var("LISTEN_FDNAMES", vars.names.unwrap_or_default()))?;
    Ok(Some(count))
}

/// [`parse`] over this process's environment.
fn passed_count() -> Result<Option<usize>> {
    sys::with_env(c"LISTEN_PID", |pid| {
        sys::with_env(c"LISTEN_FDS", |fds| {
            sys::with_env(c"LISTEN_FDNAMES", |names| {
                parse(ListenVars { pid, fds, names }, sys::getpid())
            })
        })
    })
}

/// The `LISTEN_FDNAMES` names, `:`-separated (an empty value has none).
fn split_names(all: &[u8]) -> impl Iterator<Item = &[u8]> {
    all.split(|&c| c == b':').filter(move |_| !all.is_empty())
}

/// Checks `LISTEN_FDNAMES` against the count: as many names as descriptors, each short enough.
fn check_names(names: Option<&[u8]>, n: usize) -> Result<()> {
    let Some(all) = names else {
        return Ok(());
    };
    if split_names(all).count() != n {
        return Err(Error::new(
            libc::EINVAL,
            "LISTEN_FDNAMES does not match LISTEN_FDS",
        ));
    }
    if split_names(all).any(|name| name.len() > NAME_MAX) {
        return Err(Error::new(
            libc::EINVAL,
            "a LISTEN_FDNAMES name is over 255 bytes",
        ));
    }
    Ok(())
}

/// One passed descriptor as it goes through the call: what was detected, and whether this call
/// set its close-on-exec flag (so that a later failure clears it again).
#[derive(Clone, Copy)]
struct Passed {
    detected: Detected,
    cloexec_set: bool,
}

const UNSET: Passed = Passed {
    detected: Detected {
        family: -1,
        ty: -1,
        proto: -1,
    },
    cloexec_set: false,
};

/// Sets close-on-exec on every descriptor that lacks it, noting which; on a failure it is cleared
/// again on those this call set, so that no descriptor is changed, and the error is returned.
fn set_cloexec_all(passed: &mut [Passed]) -> Result<()> {
    let fds = LISTEN_FDS_START..;
    let result = fds.zip(passed.iter_mut()).try_for_each(|(fd, p)| {
        let flags = sys::fd_flags(fd).map_err(|e| Error::at("fcntl(F_GETFD)")(e).on_fd(fd))?;
        if flags & libc::FD_CLOEXEC == 0 {
            sys::set_cloexec(fd, true).map_err(|e| Error::at("ioctl(FIOCLEX)")(e).on_fd(fd))?;
            p.cloexec_set = true;
        }
        Ok(())
    });
    if result.is_err() {
        for (fd, p) in (LISTEN_FDS_START..).zip(passed.iter()) {
            if p.cloexec_set {
                // Best effort: the error to report is the first one.
                let _ = sys::set_cloexec(fd, false);
            }
        }
    }
    result
}

fn receive(out: &mut dyn Entries) -> Result<usize> {
    let Some(n) = passed_count()? else {
        return Ok(0);
    };
    if out.cap() < n {
        let err = Error::new(libc::ENOBUFS, "more descriptors than cap");
        return Err(sys::with_env(c"LISTEN_FDS", |fds| {
            err.with_var("LISTEN_FDS", fds.unwrap_or_default())
        }));
    }

    // Validate and audit every descriptor before changing any of them or writing `out`.
    let mut passed =
        rt::Scratch::<Passed, 16>::new(n, UNSET).ok_or(Error::new(libc::ENOMEM, "malloc"))?;
    for (fd, p) in (LISTEN_FDS_START..).zip(passed.iter_mut()) {
        p.detected = detect(fd, -1, -1, -1).map_err(|e| e.on_fd(fd))?;
    }
    for (fd, p) in (LISTEN_FDS_START..).zip(passed.iter()) {
        let d = p.detected;
        audit::check(&Event::socket_new(fd, d.family, d.ty, d.proto))?;
    }
    set_cloexec_all(&mut passed)?;

    let mut entry = csock_listen_fd {
        sock: csock_socket::closed(-1, -1, -1),
        name: [0; NAME_MAX + 1],
    };
    sys::with_env(c"LISTEN_FDNAMES", |names| {
        let mut names = names.map(split_names);
        for (i, (fd, p)) in (LISTEN_FDS_START..).zip(passed.iter()).enumerate() {
            let d = p.detected;
            entry.sock = csock_socket {
                fd,
                family: d.family,
                r#type: d.ty,
                proto: d.proto,
            };
            let name = names.as_mut().map_or(Some(&b"unknown"[..]), Iterator::next);
            entry.name = [0; NAME_MAX + 1];
            for (dst, &src) in entry.name.iter_mut().zip(name.unwrap_or_default()) {
                *dst = src as c_char;
            }
            out.write(i, &entry);
        }
    });
    Ok(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars<'a>(pid: &'a [u8], fds: Option<&'a [u8]>, names: Option<&'a [u8]>) -> ListenVars<'a> {
        ListenVars {
            pid: Some(pid),
            fds,
            names,
        }
    }

    #[test]
    fn parse_is_a_function_of_the_values() {
        assert_eq!(parse(ListenVars::default(), 7).unwrap(), None);
        assert_eq!(parse(vars(b"8", Some(b"2"), None), 7).unwrap(), None);
        assert_eq!(parse(vars(b"7", None, None), 7).unwrap(), None);
        assert_eq!(parse(vars(b"007", Some(b"2"), None), 7).unwrap(), Some(2));
        assert_eq!(
            parse(vars(b"7", Some(b"2"), Some(b"a:b")), 7).unwrap(),
            Some(2)
        );
        assert_eq!(
            parse(vars(b"7", Some(b"1"), Some(b"")), 7)
                .unwrap_err()
                .errno
                .0,
            libc::EINVAL
        );
        for bad in [&b"0"[..], b"-7", b"+7", b"7 ", b""] {
            assert_eq!(
                parse(vars(bad, Some(b"1"), None), 7).unwrap_err().errno.0,
                libc::EINVAL
            );
        }
        for bad in [&b"0"[..], b"-1", b"2147483645", b"x"] {
            assert_eq!(
                parse(vars(b"7", Some(bad), None), 7).unwrap_err().errno.0,
                libc::EINVAL
            );
        }
        let long = [b'n'; 256];
        assert!(parse(vars(b"7", Some(b"1"), Some(&long)), 7).is_err());
        assert_eq!(
            parse(vars(b"7", Some(b"1"), Some(&long[..255])), 7).unwrap(),
            Some(1)
        );
    }

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
