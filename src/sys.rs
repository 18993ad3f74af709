//! The only module that calls libc: thin, safe wrappers, one system call each.
//!
//! Every wrapper returns `Result<T, Errno>`; the core attaches the name of the call when it turns
//! an [`Errno`] into an [`Error`](crate::error::Error). Descriptors that the caller controls are
//! plain [`RawFd`] integers: passing any integer to these calls is memory-safe, the kernel answers
//! `EBADF` for a descriptor that is not open. Descriptors this crate creates come back as
//! [`OwnedFd`], so that an early return closes them.

use std::ffi::{CStr, OsStr, OsString};
use std::mem;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};

use libc::{c_int, sockaddr_storage, socklen_t};

/// A positive errno value from the kernel (or from csock's own checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub c_int);

/// The result of one system call.
pub type SysResult<T> = Result<T, Errno>;

fn errno() -> Errno {
    Errno(
        std::io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO),
    )
}

/// Turns a `-1`-on-failure return value into a `Result`.
fn check(ret: c_int) -> SysResult<c_int> {
    if ret == -1 { Err(errno()) } else { Ok(ret) }
}

/// Takes ownership of a descriptor the kernel just returned.
fn owned(ret: c_int) -> SysResult<OwnedFd> {
    let fd = check(ret)?;
    // SAFETY: the kernel returned `fd` as a new, open descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// `socket(2)`.
pub fn socket(family: c_int, ty: c_int, proto: c_int) -> SysResult<OwnedFd> {
    // SAFETY: plain integer arguments.
    owned(unsafe { libc::socket(family, ty, proto) })
}

/// `socketpair(2)`.
pub fn socketpair(family: c_int, ty: c_int, proto: c_int) -> SysResult<(OwnedFd, OwnedFd)> {
    let mut fds = [-1 as c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    check(unsafe { libc::socketpair(family, ty, proto, fds.as_mut_ptr()) })?;
    // SAFETY: on success both entries are new descriptors owned by no one else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

/// A zeroed `sockaddr_storage`, the buffer every address call fills.
pub fn zeroed_storage() -> sockaddr_storage {
    // SAFETY: sockaddr_storage is plain data for which all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

const STORAGE_LEN: socklen_t = mem::size_of::<sockaddr_storage>() as socklen_t;

/// `accept4(2)` into a whole zeroed `sockaddr_storage`; returns the length the kernel reported.
pub fn accept4(fd: RawFd, flags: c_int) -> SysResult<(OwnedFd, sockaddr_storage, socklen_t)> {
    let mut storage = zeroed_storage();
    let mut len = STORAGE_LEN;
    // SAFETY: `storage` and `len` are valid for writes and `len` holds the storage's size.
    let ret = unsafe {
        libc::accept4(
            fd,
            (&raw mut storage).cast::<libc::sockaddr>(),
            &mut len,
            flags,
        )
    };
    Ok((owned(ret)?, storage, len))
}

fn name_call(
    call: unsafe extern "C" fn(c_int, *mut libc::sockaddr, *mut socklen_t) -> c_int,
    fd: RawFd,
) -> SysResult<(sockaddr_storage, socklen_t)> {
    let mut storage = zeroed_storage();
    let mut len = STORAGE_LEN;
    // SAFETY: `call` is getsockname or getpeername; `storage` and `len` are valid for writes.
    check(unsafe { call(fd, (&raw mut storage).cast::<libc::sockaddr>(), &mut len) })?;
    Ok((storage, len.min(STORAGE_LEN)))
}

/// `getsockname(2)` into a whole zeroed `sockaddr_storage`.
pub fn getsockname(fd: RawFd) -> SysResult<(sockaddr_storage, socklen_t)> {
    name_call(libc::getsockname, fd)
}

/// `getpeername(2)` into a whole zeroed `sockaddr_storage`.
pub fn getpeername(fd: RawFd) -> SysResult<(sockaddr_storage, socklen_t)> {
    name_call(libc::getpeername, fd)
}

/// The bytes of an address: the first `len` bytes of the storage (at most all of it).
pub fn storage_bytes(storage: &sockaddr_storage, len: socklen_t) -> &[u8] {
    let len = (len as usize).min(mem::size_of::<sockaddr_storage>());
    // SAFETY: `storage` is plain data, fully initialised (zeroed, then filled by the kernel),
    // and `len` is clamped to its size.
    unsafe { std::slice::from_raw_parts((storage as *const sockaddr_storage).cast::<u8>(), len) }
}

/// `getsockopt(2)` for an `int` option.
pub fn getsockopt_int(fd: RawFd, level: c_int, name: c_int) -> SysResult<c_int> {
    let mut value: c_int = 0;
    let mut len = mem::size_of::<c_int>() as socklen_t;
    // SAFETY: `value` and `len` are valid for writes and `len` holds the size of `value`.
    check(unsafe {
        libc::getsockopt(
            fd,
            level,
            name,
            (&raw mut value).cast::<libc::c_void>(),
            &mut len,
        )
    })?;
    Ok(value)
}

/// `fcntl(fd, F_GETFD)`: the descriptor flags (`FD_CLOEXEC`).
pub fn fd_flags(fd: RawFd) -> SysResult<c_int> {
    // SAFETY: F_GETFD takes no argument.
    check(unsafe { libc::fcntl(fd, libc::F_GETFD) })
}

/// `fcntl(fd, F_GETFL)`: the file status flags (`O_NONBLOCK`).
pub fn status_flags(fd: RawFd) -> SysResult<c_int> {
    // SAFETY: F_GETFL takes no argument.
    check(unsafe { libc::fcntl(fd, libc::F_GETFL) })
}

/// `fcntl(fd, F_DUPFD_CLOEXEC, 0)`: a new close-on-exec descriptor for the same socket.
pub fn dup_cloexec(fd: RawFd) -> SysResult<OwnedFd> {
    // SAFETY: F_DUPFD_CLOEXEC takes an int argument.
    owned(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, 0 as c_int) })
}

/// `ioctl(FIOCLEX)` / `ioctl(FIONCLEX)`: sets or clears close-on-exec in one call.
pub fn set_cloexec(fd: RawFd, cloexec: bool) -> SysResult<()> {
    let request = if cloexec {
        libc::FIOCLEX
    } else {
        libc::FIONCLEX
    };
    // SAFETY: FIOCLEX and FIONCLEX take no argument.
    check(unsafe { libc::ioctl(fd, request) }).map(drop)
}

/// `ioctl(FIONBIO)`: sets or clears `O_NONBLOCK` in one call.
pub fn set_nonblocking(fd: RawFd, nonblocking: bool) -> SysResult<()> {
    let mut on = c_int::from(nonblocking);
    // SAFETY: FIONBIO reads an int through the pointer, which is valid.
    check(unsafe { libc::ioctl(fd, libc::FIONBIO, &mut on) }).map(drop)
}

/// `close(2)`, once, never retried.
pub fn close(fd: RawFd) -> SysResult<()> {
    // SAFETY: the caller hands over `fd`; closing any integer is memory-safe.
    check(unsafe { libc::close(fd) }).map(drop)
}

/// `shutdown(2)`.
pub fn shutdown(fd: RawFd, how: c_int) -> SysResult<()> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::shutdown(fd, how) }).map(drop)
}

/// Sets this thread's `errno`.
pub fn set_errno(code: Errno) {
    // SAFETY: __errno_location returns this thread's errno, valid for the thread's lifetime.
    unsafe { *libc::__errno_location() = code.0 };
}

/// The C library's description of an errno value ("Bad file descriptor"), written into `buf`.
pub fn strerror(code: Errno, buf: &mut [u8; 128]) -> &str {
    // SAFETY: `buf` is valid for `buf.len()` bytes; the XSI strerror_r NUL-terminates within it.
    let ret = unsafe { libc::strerror_r(code.0, buf.as_mut_ptr().cast(), buf.len()) };
    if ret != 0 {
        return "Unknown error";
    }
    CStr::from_bytes_until_nul(buf)
        .ok()
        .and_then(|s| s.to_str().ok())
        .unwrap_or("Unknown error")
}

/// `getpid(2)`.
pub fn getpid() -> c_int {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::getpid() }
}

/// Reads an environment variable.
pub fn env_var(name: &str) -> Option<OsString> {
    std::env::var_os(name)
}

/// Removes an environment variable, as `unsetenv(3)` does.
pub fn unset_env(name: &str) {
    // SAFETY: like sd_listen_fds(), this is only called when the caller asks for it; the
    // environment is the process's, and the caller is responsible for not reading it from another
    // thread at the same time (the C library's own rule for unsetenv).
    unsafe { std::env::remove_var(OsStr::new(name)) };
}
