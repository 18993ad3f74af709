//! Names and constants: `csock_family_name`, `csock_type_name`, `csock_constant`,
//! `csock_constant64`.

use core::ffi::{CStr, c_char};
use core::fmt;

use libc::c_int;

use super::{c_call, write_out};
use crate::error::{Error, Result};
use crate::names;

fn static_name(name: Option<&'static CStr>) -> *const c_char {
    name.map_or(core::ptr::null(), CStr::as_ptr)
}

/// The name of an address family, as Python's `socket.AddressFamily` spells it: `"AF_INET"`,
/// `"AF_NETLINK"` (for 16, also known as `AF_ROUTE`). Returns NULL for an unknown family. The
/// string is static.
#[unsafe(no_mangle)]
pub extern "C" fn csock_family_name(family: c_int) -> *const c_char {
    static_name(names::family_name(family))
}

/// The name of a socket type, as Python's `socket.SocketKind` spells it: `"SOCK_STREAM"`.
/// Flag bits (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`) are ignored. Returns NULL for an unknown type.
/// The string is static.
#[unsafe(no_mangle)]
pub extern "C" fn csock_type_name(r#type: c_int) -> *const c_char {
    static_name(names::type_name(r#type))
}

/// How a failed lookup names its call in the message: `csock_constant("AF_NOPE")`, or
/// `csock_constant(NULL)`. At most [`LookupCall::LIMIT`] bytes of the name are shown (then
/// `...`); a name that is not all printable ASCII is escaped as `<[u8]>::escape_ascii` does
/// (`\"`, `\n`, `\xff`). A plain name is written as it is, without a second pass over it.
struct LookupCall<'a> {
    /// The C function, `"csock_constant"`.
    function: &'static str,
    /// The name looked up; `None` for a NULL pointer.
    name: Option<&'a [u8]>,
}

impl LookupCall<'_> {
    /// The most bytes of a name a message shows.
    const LIMIT: usize = 64;
}

impl fmt::Display for LookupCall<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Some(name) = self.name else {
            f.write_str(self.function)?;
            return f.write_str("(NULL)");
        };
        let shown = name.get(..Self::LIMIT).unwrap_or(name);
        let tail = if shown.len() < name.len() {
            "\"...)"
        } else {
            "\")"
        };
        if names::is_plain(shown) {
            // The usual case, in one write: the whole text fits the buffer (a function name,
            // at most LIMIT bytes of the name and seven more).
            let mut text = [0u8; 128];
            let mut len = 0;
            for part in [self.function.as_bytes(), b"(\"", shown, tail.as_bytes()] {
                if let Some(room) = text.get_mut(len..len + part.len()) {
                    room.copy_from_slice(part);
                    len += part.len();
                }
            }
            let text = text.get(..len).unwrap_or_default();
            // SAFETY: the function name and the parts above are ASCII, and `is_plain` accepts
            // only bytes 0x20..=0x7e: the text is ASCII, so valid UTF-8.
            return f.write_str(unsafe { core::str::from_utf8_unchecked(text) });
        }
        f.write_str(self.function)?;
        f.write_str("(\"")?;
        fmt::Display::fmt(&shown.escape_ascii(), f)?;
        f.write_str(tail)
    }
}

/// A C string argument as bytes, without its NUL; `None` for NULL.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string that outlives `'a`.
unsafe fn c_bytes<'a>(name: *const c_char) -> Option<&'a [u8]> {
    if name.is_null() {
        return None;
    }
    // SAFETY: `name` is a non-NULL, NUL-terminated string, per the contract.
    Some(unsafe { CStr::from_ptr(name) }.to_bytes())
}

/// The exact value of the constant `name`: `EINVAL` for NULL, `ENOENT` for a name not known.
#[inline]
fn lookup(name: Option<&[u8]>) -> Result<i64> {
    let name = name.ok_or(Error::new(libc::EINVAL, "name is NULL"))?;
    names::constant(name).ok_or(Error::new(libc::ENOENT, "no constant of that name"))
}

/// The value of a constant by its Python name, for callers that cannot read C headers, as an
/// `int`.
///
/// Knows every integer constant of Python's `socket` module on Linux under its Python name, with
/// the same value: `AF_*`, `PF_*`, `SOCK_*`, `SHUT_*`, `SOL_*`, `SO_*`, `SCM_*`, `MSG_*`,
/// `IPPROTO_*`, `IP_*`, `IPV6_*`, `TCP_*`, `INADDR_*`, `AI_*`, `NI_*`, `EAI_*`, `CAN_*`,
/// `BTPROTO_*`, `HCI_*`, `NETLINK_*`, `TIPC_*`, `ALG_*`, `VMADDR_*`, `SOMAXCONN`, ... The table
/// is the union of a Python built with Bluetooth support and one without: every public name of
/// `_socket` whose value is an `int` and not a `bool` (so `AF_DECnet` is there, `has_ipv6` is
/// not). Names are case-sensitive and matched whole.
///
/// A value above `INT_MAX` is written as its 32-bit pattern, as C code stores it in an `int`
/// (`CAN_EFF_FLAG` is `(int)0x80000000`, `INADDR_NONE` is -1); `csock_constant64()` gives the
/// exact value.
///
/// The lookup is a perfect hash built at compile time: the name's length, a hash of it read 8
/// bytes at a time, two table reads and one comparison with the one name that can match. It
/// neither allocates nor locks nor initialises anything at run time, and does the same work
/// wherever the name sits in the table; a miss does the same, then records the message.
///
/// Returns 0 and writes `*value`; -ENOENT for an unknown name, with the message naming it
/// (`csock_constant("AF_NOPE"): no constant of that name: ENOENT: ...`, a name longer than 64
/// bytes cut off); -EINVAL for a NULL pointer. On failure `*value` is untouched.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `value` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_constant(name: *const c_char, value: *mut c_int) -> c_int {
    // SAFETY: `name` is NULL or a NUL-terminated string, per the contract.
    let name = unsafe { c_bytes(name) };
    c_call!(
        {
            // SAFETY: `value` is NULL or writable, per the contract.
            unsafe { write_out(value, "value is NULL", || lookup(name).map(names::as_c_int)) }
        },
        "{}",
        LookupCall {
            function: "csock_constant",
            name
        }
    )
}

/// The exact value of a constant by its Python name, as an `int64_t`: the same table and
/// lookup as `csock_constant()`, with Python's value also where it does not fit an `int`
/// (`CAN_EFF_FLAG` is 0x80000000, `INADDR_NONE` 0xffffffff, `EAI_AGAIN` -3).
///
/// Returns 0 and writes `*value`; -ENOENT for an unknown name (the message names it); -EINVAL
/// for a NULL pointer. On failure `*value` is untouched.
///
/// # Safety
/// `name` is NULL or a NUL-terminated string; `value` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_constant64(name: *const c_char, value: *mut i64) -> c_int {
    // SAFETY: `name` is NULL or a NUL-terminated string, per the contract.
    let name = unsafe { c_bytes(name) };
    c_call!(
        {
            // SAFETY: `value` is NULL or writable, per the contract.
            unsafe { write_out(value, "value is NULL", || lookup(name)) }
        },
        "{}",
        LookupCall {
            function: "csock_constant64",
            name
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_calls() {
        let shown = |name: &[u8]| {
            LookupCall {
                function: "csock_constant",
                name: Some(name),
            }
            .to_string()
        };
        assert_eq!(shown(b"AF_NOPE"), "csock_constant(\"AF_NOPE\")");
        assert_eq!(shown(b""), "csock_constant(\"\")");
        assert_eq!(
            shown(b"a\"b\\c\n\xff"),
            r#"csock_constant("a\"b\\c\n\xff")"#
        );
        let null = LookupCall {
            function: "csock_constant64",
            name: None,
        };
        assert_eq!(null.to_string(), "csock_constant64(NULL)");
        let limit = LookupCall::LIMIT;
        let long = [b'X'; 1000];
        let cut = format!("csock_constant(\"{}\"...)", "X".repeat(limit));
        assert_eq!(shown(&long), cut);
        assert_eq!(shown(&long[..limit + 1]), cut);
        let exact = format!("csock_constant(\"{}\")", "Y".repeat(limit));
        assert_eq!(shown(&[b'Y'; LookupCall::LIMIT]), exact);
        // The limit counts the name's bytes, not the escapes shown for them.
        let mut escaped = vec![0xff; limit];
        let all = format!("csock_constant(\"{}\")", r"\xff".repeat(limit));
        assert_eq!(shown(&escaped), all);
        escaped.push(b'!');
        let cut = format!("csock_constant(\"{}\"...)", r"\xff".repeat(limit));
        assert_eq!(shown(&escaped), cut);
    }
}
