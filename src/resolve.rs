//! The resolver: `getaddrinfo(3)`, and the codes its failures get.
//!
//! Resolver errors are not errno values. csock returns a failure `EAI_x` (a negative glibc value)
//! as `-(CSOCK_EAI_BASE - EAI_x)`, e.g. `EAI_NONAME` (-2) as -4098, a range above every errno the
//! kernel can return, so that no resolver code is ever mistaken for `-errno`. `EAI_SYSTEM` returns
//! the underlying `-errno` instead. Inside csock such a code travels as an [`Error`] whose
//! `errno` is the positive value (4098), so that the message, `errno` and the return value follow
//! the one rule of every failure.
//!
//! The texts are glibc's `gai_strerror` texts in the C locale, in a static table: `gai_strerror`
//! itself may translate, and nothing here takes a lock or a locale.

use core::ffi::CStr;

use libc::c_int;

use crate::error::{self, Error, Result};
use crate::sys::{self, AddrInfo, Errno, GaiFailure};

/// The base of the resolver codes: above every errno the kernel can return.
pub const CSOCK_EAI_BASE: c_int = 4096;

/// Every `EAI_*` value `getaddrinfo` can report on glibc, its name and glibc's text.
static EAI: [(c_int, &str, &CStr); 17] = [
    (
        libc::EAI_BADFLAGS,
        "EAI_BADFLAGS",
        c"Bad value for ai_flags",
    ),
    (libc::EAI_NONAME, "EAI_NONAME", c"Name or service not known"),
    (
        libc::EAI_AGAIN,
        "EAI_AGAIN",
        c"Temporary failure in name resolution",
    ),
    (
        libc::EAI_FAIL,
        "EAI_FAIL",
        c"Non-recoverable failure in name resolution",
    ),
    (-5, "EAI_NODATA", c"No address associated with hostname"),
    (libc::EAI_FAMILY, "EAI_FAMILY", c"ai_family not supported"),
    (
        libc::EAI_SOCKTYPE,
        "EAI_SOCKTYPE",
        c"ai_socktype not supported",
    ),
    (
        libc::EAI_SERVICE,
        "EAI_SERVICE",
        c"Servname not supported for ai_socktype",
    ),
    (
        -9,
        "EAI_ADDRFAMILY",
        c"Address family for hostname not supported",
    ),
    (libc::EAI_MEMORY, "EAI_MEMORY", c"Memory allocation failure"),
    (libc::EAI_SYSTEM, "EAI_SYSTEM", c"System error"),
    (-100, "EAI_INPROGRESS", c"Processing request in progress"),
    (-101, "EAI_CANCELED", c"Request canceled"),
    (-102, "EAI_NOTCANCELED", c"Request not canceled"),
    (-103, "EAI_ALLDONE", c"All requests done"),
    (-104, "EAI_INTR", c"Interrupted by a signal"),
    (
        -105,
        "EAI_IDN_ENCODE",
        c"Parameter string not correctly encoded",
    ),
];

/// The text of a code csock does not know.
const UNKNOWN: &CStr = c"Unknown error";

fn eai_lookup(eai: c_int) -> Option<(&'static str, &'static CStr)> {
    EAI.iter()
        .find(|(value, _, _)| *value == eai)
        .map(|&(_, name, text)| (name, text))
}

/// The name and text of a positive resolver value (`CSOCK_EAI_BASE - EAI_x`), as the message of
/// a failure writes them; `None` for any other value.
pub fn eai_entry(errno: Errno) -> Option<(&'static str, &'static CStr)> {
    eai_lookup(gai_error(-errno.0))
}

/// `csock_gai_error`: the `EAI_*` value behind a resolver code, `0` for any other return code.
pub fn gai_error(rc: c_int) -> c_int {
    match rc.checked_add(CSOCK_EAI_BASE) {
        Some(eai) if eai < 0 && eai_lookup(eai).is_some() => eai,
        _ => 0,
    }
}

/// The error of a failed `getaddrinfo`: its resolver code, or the errno of `EAI_SYSTEM`.
pub fn error_of(failure: GaiFailure) -> Error {
    if failure.eai == libc::EAI_SYSTEM {
        Error::at("getaddrinfo")(failure.errno)
    } else {
        Error::new(CSOCK_EAI_BASE - failure.eai, "getaddrinfo")
    }
}

/// `csock_strerror`: a static text for any csock return code (`-errno`, a resolver code, or
/// `0`); a positive value is read as an errno. Never NULL; one fixed text for an unknown code.
pub fn strerror(rc: c_int) -> &'static CStr {
    let text = if rc == 0 {
        Some(c"Success")
    } else {
        let errno = Errno(rc.checked_abs().unwrap_or(-1));
        eai_entry(errno)
            .map(|(_, text)| text)
            .or_else(|| error::c_description(errno))
    };
    text.unwrap_or(UNKNOWN)
}

/// A port given as text: a number above 65535 is refused (glibc would wrap 70000 to 4464).
pub fn check_port(port: &CStr) -> Result<()> {
    let bytes = port.to_bytes();
    if !bytes.is_empty() && bytes.iter().all(u8::is_ascii_digit) {
        let value = bytes.iter().try_fold(0u32, |n, d| {
            n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        });
        if value.is_none_or(|v| v > 65535) {
            return Err(Error::new(libc::EINVAL, "port is above 65535"));
        }
    }
    Ok(())
}

/// `getaddrinfo(host, port, family, SOCK_STREAM, flags)`, its failure as a resolver code.
pub fn resolve(
    host: Option<&CStr>,
    port: Option<&CStr>,
    family: c_int,
    flags: c_int,
) -> Result<AddrInfo> {
    sys::getaddrinfo(host, port, family, libc::SOCK_STREAM, flags).map_err(error_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(rc: c_int) -> &'static str {
        strerror(rc).to_str().unwrap()
    }

    #[test]
    fn codes_round_trip() {
        for &(eai, _, _) in &EAI {
            let err = error_of(GaiFailure {
                eai,
                errno: Errno(0),
            });
            if eai == libc::EAI_SYSTEM {
                continue;
            }
            assert_eq!(err.code(), -(CSOCK_EAI_BASE - eai));
            assert_eq!(gai_error(err.code()), eai);
        }
        assert_eq!(gai_error(-4098), libc::EAI_NONAME);
        assert_eq!(gai_error(-libc::ENOENT), 0);
        assert_eq!(gai_error(0), 0);
        assert_eq!(gai_error(c_int::MIN), 0);
        assert_eq!(gai_error(-4096), 0);
        assert_eq!(gai_error(-(4096 + 12)), 0);
    }

    #[test]
    fn eai_system_is_the_errno() {
        let err = error_of(GaiFailure {
            eai: libc::EAI_SYSTEM,
            errno: Errno(libc::EMFILE),
        });
        assert_eq!(err.code(), -libc::EMFILE);
    }

    /// The table holds glibc's texts: compared with gai_strerror(3) in the C locale.
    #[test]
    fn texts_match_gai_strerror() {
        for &(eai, _, ours) in &EAI {
            // SAFETY: gai_strerror returns a static string; the test does not change locale.
            let glibc = unsafe { CStr::from_ptr(libc::gai_strerror(eai)) };
            assert_eq!(ours, glibc, "EAI {eai}");
            assert_eq!(text(eai - CSOCK_EAI_BASE), ours.to_str().unwrap());
        }
    }

    #[test]
    fn strerror_knows_every_code() {
        assert_eq!(text(0), "Success");
        assert_eq!(text(-libc::EBADF), "Bad file descriptor");
        assert_eq!(text(libc::EBADF), "Bad file descriptor");
        assert_eq!(text(-4098), "Name or service not known");
        assert_eq!(text(-41), "Unknown error");
        assert_eq!(text(-9999), "Unknown error");
        assert_eq!(text(c_int::MIN), "Unknown error");
    }

    #[test]
    fn ports_above_65535_are_refused() {
        assert!(check_port(c"65535").is_ok());
        assert!(check_port(c"http").is_ok());
        assert!(check_port(c"").is_ok());
        for bad in [c"65536", c"70000", c"99999999999999999999"] {
            assert_eq!(check_port(bad).unwrap_err().errno.0, libc::EINVAL);
        }
    }

    #[test]
    fn resolving_numeric_and_localhost() {
        let list = resolve(Some(c"127.0.0.1"), Some(c"80"), libc::AF_UNSPEC, 0).unwrap();
        let first = list.iter().next().unwrap();
        assert_eq!(
            (first.family, first.protocol),
            (libc::AF_INET, libc::IPPROTO_TCP)
        );
        let err = resolve(
            Some(c"127.0.0.1"),
            Some(c"no-such-service"),
            libc::AF_UNSPEC,
            0,
        )
        .err()
        .unwrap();
        assert_eq!(gai_error(err.code()), libc::EAI_SERVICE);
    }
}
