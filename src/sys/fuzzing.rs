//! What the fuzzing entry points (`ffi::fuzz`, the `fuzz` feature) need of the C library: the
//! references they compare csock's parsers and formatters with, and the abort that reports a
//! failed invariant. Never in the shipped library.

use core::mem;

use libc::{c_char, c_int, c_void, socklen_t};

use super::zeroed_storage;

unsafe extern "C" {
    fn inet_pton(family: c_int, src: *const c_char, dst: *mut c_void) -> c_int;
}

/// Writes `what` to standard error and aborts: a failed invariant of a fuzzing entry point.
pub fn fuzz_abort(what: &str) -> ! {
    for part in [
        &b"csock fuzz: invariant failed: "[..],
        what.as_bytes(),
        b"\n",
    ] {
        // SAFETY: `part` is valid for reads of its length.
        unsafe { libc::write(2, part.as_ptr().cast(), part.len()) };
    }
    // SAFETY: abort has no preconditions.
    unsafe { libc::abort() }
}

/// The numeric host text that `getnameinfo(3)` (so `inet_ntop(3)`) gives an IPv4 (4 bytes) or
/// IPv6 (16 bytes) address, into `out`: its length.
pub fn numeric_host(family: c_int, addr: &[u8], out: &mut [u8; 64]) -> Option<usize> {
    let mut storage = zeroed_storage();
    let len = if family == libc::AF_INET {
        // SAFETY: sockaddr_storage is larger than, and aligned for, sockaddr_in.
        let sin = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in>() };
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from_ne_bytes(addr.get(..4)?.try_into().ok()?);
        mem::size_of::<libc::sockaddr_in>()
    } else {
        // SAFETY: as above, for sockaddr_in6.
        let sin6 = unsafe { &mut *(&raw mut storage).cast::<libc::sockaddr_in6>() };
        sin6.sin6_family = libc::AF_INET6 as libc::sa_family_t;
        sin6.sin6_addr.s6_addr = addr.get(..16)?.try_into().ok()?;
        mem::size_of::<libc::sockaddr_in6>()
    };
    // SAFETY: `storage` holds an address of `len` bytes; `out` is writable for its length; no
    // service is asked for.
    let ret = unsafe {
        libc::getnameinfo(
            (&raw const storage).cast(),
            len as socklen_t,
            out.as_mut_ptr().cast(),
            out.len() as socklen_t,
            core::ptr::null_mut(),
            0,
            libc::NI_NUMERICHOST,
        )
    };
    if ret != 0 {
        return None;
    }
    out.iter().position(|&b| b == 0)
}

/// `inet_pton(3)` of `text` (which must hold no NUL) for `AF_INET` or `AF_INET6`: the address's
/// 4 or 16 bytes, or `None` when the C library does not read it as a numeric address.
pub fn parse_numeric(family: c_int, text: &[u8]) -> Option<[u8; 16]> {
    let mut c_text = [0u8; 256];
    c_text.get_mut(..text.len())?.copy_from_slice(text);
    if text.contains(&0) || text.len() >= c_text.len() {
        return None;
    }
    let mut out = [0u8; 16];
    // SAFETY: `c_text` is NUL-terminated (zero-filled past `text`), `out` has room for an IPv6
    // address, the largest inet_pton writes.
    let ret = unsafe { inet_pton(family, c_text.as_ptr().cast(), out.as_mut_ptr().cast()) };
    (ret == 1).then_some(out)
}

/// The control messages of `control` as the C library's `CMSG_FIRSTHDR` / `CMSG_NXTHDR` walk
/// them: for each, `f(offset, cmsg_len, level, type)`. `control` must be aligned for a
/// `cmsghdr`.
pub fn walk_cmsg(control: &mut [u8], mut f: impl FnMut(usize, usize, c_int, c_int)) {
    // SAFETY: msghdr is plain data; all zeroes is a valid (empty) value.
    let mut msg: libc::msghdr = unsafe { mem::zeroed() };
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = control.len() as _;
    // SAFETY: `msg` describes `control`, which the macros only read within its length.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: the macros return NULL or a header wholly inside the buffer; the buffer is
        // aligned, per the caller, so the header may be read in place.
        let header = unsafe { &*cmsg };
        let offset = cmsg as usize - control.as_ptr() as usize;
        #[allow(clippy::unnecessary_cast)] // size_t here, socklen_t in other C libraries
        let cmsg_len = header.cmsg_len as usize;
        f(offset, cmsg_len, header.cmsg_level, header.cmsg_type);
        // A length past the buffer ends the walk: glibc's CMSG_NXTHDR finds no header after it
        // (the libc crate's would overflow computing where that header is).
        if cmsg_len > control.len() - offset {
            break;
        }
        // SAFETY: as above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
}
