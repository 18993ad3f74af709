//! Names and constants: `csock_family_name`, `csock_type_name`, `csock_constant`,
//! `csock_constant64`.

use core::ffi::{CStr, c_char};

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

#[inline(always)]
unsafe fn c_bytes<'a>(name: *const c_char) -> Option<&'a [u8]> {
    if name.is_null() {
        return None;
    }
    // SAFETY: `name` is a non-NULL, NUL-terminated string, per the contract.
    Some(unsafe { CStr::from_ptr(name) }.to_bytes())
}

/// The exact value of the constant `name`: `EINVAL` for NULL, `ENOENT` for a name not known.
#[inline(always)]
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
        csock_constant(_ = name)
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
        csock_constant64(_ = name)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::TEXT_LIMIT;

    /// The message of a failed lookup of `name` (the part before the first `": "`).
    fn shown(name: &[u8]) -> String {
        let name = std::ffi::CString::new(name).unwrap();
        let mut value = 0;
        // SAFETY: a NUL-terminated name and a valid out-pointer.
        assert_eq!(
            unsafe { csock_constant(name.as_ptr(), &mut value) },
            -libc::ENOENT
        );
        // SAFETY: csock_last_error returns a NUL-terminated string.
        let text = unsafe { CStr::from_ptr(crate::error::last_error()) };
        let text = text.to_str().unwrap();
        text[..text.find("): ").unwrap() + 1].to_owned()
    }

    #[test]
    fn lookup_calls() {
        assert_eq!(shown(b"AF_NOPE"), "csock_constant(\"AF_NOPE\")");
        assert_eq!(shown(b""), "csock_constant(\"\")");
        assert_eq!(
            shown(b"a\"b\\c\n\xff"),
            r#"csock_constant("a\"b\\c\n\xff")"#
        );
        let mut value = 0i64;
        // SAFETY: a NULL name is refused before anything is read.
        assert_eq!(
            unsafe { csock_constant64(core::ptr::null(), &mut value) },
            -libc::EINVAL
        );
        // SAFETY: as above.
        let text = unsafe { CStr::from_ptr(crate::error::last_error()) };
        assert!(
            text.to_str()
                .unwrap()
                .starts_with("csock_constant64(NULL): name is NULL")
        );
        let long = [b'X'; 1000];
        let cut = format!("csock_constant(\"{}\"...)", "X".repeat(TEXT_LIMIT));
        assert_eq!(shown(&long), cut);
        assert_eq!(shown(&long[..TEXT_LIMIT + 1]), cut);
        let exact = format!("csock_constant(\"{}\")", "Y".repeat(TEXT_LIMIT));
        assert_eq!(shown(&[b'Y'; TEXT_LIMIT]), exact);
        // The limit counts the name's bytes, not the escapes shown for them.
        let mut escaped = vec![0xff; TEXT_LIMIT];
        let all = format!("csock_constant(\"{}\")", r"\xff".repeat(TEXT_LIMIT));
        assert_eq!(shown(&escaped), all);
        escaped.push(b'!');
        let cut = format!("csock_constant(\"{}\"...)", r"\xff".repeat(TEXT_LIMIT));
        assert_eq!(shown(&escaped), cut);
    }
}
