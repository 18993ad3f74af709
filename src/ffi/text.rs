//! Addresses, text, errors and version.

use core::ffi::{CStr, c_char};
use core::mem;

use libc::{c_int, sockaddr, sockaddr_storage, socklen_t};

use super::{Out, c_call, fd_of, read_arg, text_buf};
use crate::error::{self, Error, Result};
use crate::socket::csock_socket;
use crate::{addr, sys};

/// # Safety
/// Pointers are NULL or valid, as for `csock_getsockname`.
unsafe fn address_into(
    sock: *const csock_socket,
    out: *mut sockaddr_storage,
    len: *mut socklen_t,
    read: fn(&csock_socket) -> Result<(sockaddr_storage, socklen_t)>,
) -> Result<()> {
    // The socket is read by value before anything is written: the outputs may alias it.
    // SAFETY: the caller guarantees each pointer is NULL or valid.
    let sock = unsafe { read_arg(sock, "sock is NULL") }?;
    let (out, len) = (
        Out::new(out, "addr is NULL")?,
        Out::new(len, "len is NULL")?,
    );
    let (storage, n) = read(&sock)?;
    // SAFETY: both are writable, per the caller.
    unsafe {
        out.write(storage);
        len.write(n);
    }
    Ok(())
}

/// The socket's own address, like `socket.getsockname()`.
///
/// `*addr` is overwritten whole: the kernel writes into a zeroed `sockaddr_storage`, so bytes
/// past the address are zero. `*len` receives the address's length. Format it with
/// `csock_format_addr()`.
///
/// Returns 0, or -errno (-EBADF for a closed socket, -EINVAL for NULL) with both untouched.
///
/// # Safety
/// `sock` is NULL or valid; `addr` and `len` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_getsockname(
    sock: *const csock_socket,
    addr: *mut sockaddr_storage,
    len: *mut socklen_t,
) -> c_int {
    c_call!(
        {
            // SAFETY: forwarded from this function's contract.
            unsafe { address_into(sock, addr, len, addr::local_address) }
        },
        // SAFETY: as above.
        csock_getsockname(fd = unsafe { fd_of(sock) })
    )
}

/// The connected peer's address, like `socket.getpeername()`; as `csock_getsockname()`.
/// Returns -ENOTCONN when the socket is not connected.
///
/// # Safety
/// `sock` is NULL or valid; `addr` and `len` are NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_getpeername(
    sock: *const csock_socket,
    addr: *mut sockaddr_storage,
    len: *mut socklen_t,
) -> c_int {
    c_call!(
        {
            // SAFETY: forwarded from this function's contract.
            unsafe { address_into(sock, addr, len, addr::peer_address) }
        },
        // SAFETY: as above.
        csock_getpeername(fd = unsafe { fd_of(sock) })
    )
}

/// Writes an address as text, `snprintf`-style.
///
/// The forms, chosen by the family in the address:
/// - `AF_INET`: `127.0.0.1:8080`
/// - `AF_INET6`: `[::1]:8080`, `[fe80::1%2]:8080` when the scope id is not 0
/// - `AF_UNIX`: the path (`/run/app.sock`), `@name` for an abstract name (a NUL inside the
///   name is also written `@`), the empty string when unnamed
/// - `AF_NETLINK`: `pid:groups`, e.g. `0:0`
/// - `AF_VSOCK`: `cid:port`, e.g. `2:1024`
/// - `AF_PACKET`: `ifindex:protocol`, e.g. `1:0x0800`
/// - `AF_CAN`: `ifindex`; with `proto` `CAN_ISOTP` `ifindex:0xrx:0xtx`, with `CAN_J1939`
///   `ifindex:0xname:0xpgn:0xaddr`
/// - any other family, or an address too short for its family: `family=N` and the bytes after
///   the family in hex, e.g. `family=99 dead`
/// - `len` 0: the empty string
///
/// Decoding never reads past `len` bytes of `addr`. Returns the length of the full text (without
/// the NUL); writes at most `size` bytes and always NUL-terminates when `size > 0`. `buf` may be
/// NULL with `size` 0 to ask for the length. Returns -EINVAL when `addr` is NULL with `len > 0`,
/// or `buf` is NULL with `size > 0`.
///
/// # Safety
/// `addr` is NULL or readable for `len` bytes; `buf` is NULL or writable for as many bytes as
/// the call writes (at most `size`). `buf` may overlap `addr` when `len` is at most
/// `sizeof(struct sockaddr_storage)`, never when it is longer.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_format_addr(
    addr: *const sockaddr,
    len: socklen_t,
    proto: c_int,
    buf: *mut c_char,
    size: usize,
) -> c_int {
    c_call!(
        {
            if len > 0 && addr.is_null() {
                return Err(Error::new(libc::EINVAL, "addr is NULL"));
            }
            let mut buf = text_buf(buf, size)?;
            // An address the size of any real one is copied first, so that `buf` may overlap
            // it; a longer one is read in place (then `buf` must not overlap it).
            let mut copy = sys::zeroed_storage();
            let bytes: &[u8] = if len == 0 {
                &[]
            } else if len as usize <= mem::size_of::<sockaddr_storage>() {
                // SAFETY: `addr` is non-NULL and readable for `len` bytes, per the contract, and
                // `copy` has room for them; a local cannot overlap the caller's memory.
                unsafe {
                    core::ptr::copy_nonoverlapping(
                        addr.cast::<u8>(),
                        (&raw mut copy).cast::<u8>(),
                        len as usize,
                    );
                }
                sys::storage_bytes(&copy, len)
            } else {
                // SAFETY: `addr` is non-NULL and readable for `len` bytes, per the contract.
                unsafe { core::slice::from_raw_parts(addr.cast::<u8>(), len as usize) }
            };
            Ok(addr::format_addr(bytes, proto, &mut buf))
        },
        csock_format_addr(len = len, size = size)
    )
}

/// Describes a socket like Python's `repr()`, `snprintf`-style.
///
/// `<csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=127.0.0.1:8080>`, with names
/// where known and numbers otherwise (`family=12345`); `laddr` and `raddr` appear only when known
/// (the address can be read and its text is not empty). A closed socket gives
/// `<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>`.
///
/// Returns the length of the full text; length semantics as `csock_format_addr()`. Returns
/// -EINVAL for a NULL `sock`, or a NULL `buf` with `size > 0`.
///
/// # Safety
/// `sock` is NULL or valid; `buf` is NULL or writable for `size` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_repr(
    sock: *const csock_socket,
    buf: *mut c_char,
    size: usize,
) -> c_int {
    c_call!(
        {
            // Read by value first: `buf` may hold the socket.
            // SAFETY: `sock` is NULL or valid, per the contract.
            let sock = unsafe { read_arg(sock, "sock is NULL") }?;
            Ok(addr::repr(&sock, &mut text_buf(buf, size)?))
        },
        csock_repr(size = size)
    )
}

/// This thread's last failure message, `""` if no csock call has failed on this thread.
///
/// The message names the function, the failing system call (or check) and the errno, e.g.
/// `csock_adopt(fd=7): getsockopt(SO_TYPE): ENOTSOCK: Socket operation on non-socket`. Like
/// `dlerror()`, it is thread-local and valid until the next csock call on this thread; successful
/// calls leave it alone. The returned code is the source of truth; the message is for people.
///
/// Cost: a failing call only records what failed (a couple of hundred instructions, no
/// allocation); the text is written by the first `csock_last_error()` after it, and later calls
/// return it as it is. The first failure of a thread maps that thread's message page (one
/// `mmap(2)`, unmapped when the thread exits), whether the library was linked or `dlopen`'ed.
/// Called from a signal handler that interrupted another csock call on the same thread, it may
/// return `""`.
#[unsafe(no_mangle)]
pub extern "C" fn csock_last_error() -> *const c_char {
    error::last_error()
}

/// csock's version, `"0.2.0"`; the same numbers as `CSOCK_VERSION_MAJOR`, `_MINOR`, `_PATCH`.
/// The string is static.
#[unsafe(no_mangle)]
pub extern "C" fn csock_version() -> *const c_char {
    const VERSION: &CStr =
        match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
            Ok(v) => v,
            Err(_) => panic!("the package version has no NUL"),
        };
    VERSION.as_ptr()
}

/// csock's version as one number, `MAJOR * 10000 + MINOR * 100 + PATCH` (`100` for 0.1.0, `200`
/// for 0.2.0): the value `CSOCK_VERSION_NUMBER` has in the header this library was built with.
/// Compare the two to tell the library a program runs with from the header it was compiled
/// against, e.g. `csock_version_number() >= CSOCK_VERSION_NUMBER`. Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn csock_version_number() -> c_int {
    /// The decimal number `digits` spells (cargo's version parts are plain decimal numbers).
    const fn number(digits: &str) -> c_int {
        let digits = digits.as_bytes();
        let mut n: c_int = 0;
        let mut i = 0;
        while i < digits.len() {
            n = n * 10 + (digits[i] - b'0') as c_int;
            i += 1;
        }
        n
    }
    const NUMBER: c_int = number(env!("CARGO_PKG_VERSION_MAJOR")) * 10000
        + number(env!("CARGO_PKG_VERSION_MINOR")) * 100
        + number(env!("CARGO_PKG_VERSION_PATCH"));
    NUMBER
}
