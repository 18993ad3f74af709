//! The only module that calls libc: thin, safe wrappers, one system call each, and in [`rt`] the
//! few pieces of runtime that replace Rust's std (the crate is `no_std`).
//!
//! Every wrapper returns `Result<T, Errno>`; the core attaches the name of the call when it turns
//! an [`Errno`] into an [`Error`](crate::error::Error). Descriptors that the caller controls are
//! plain [`RawFd`] integers: passing any integer to these calls is memory-safe, the kernel answers
//! `EBADF` for a descriptor that is not open. Descriptors this crate creates come back as
//! [`Fd`], so that an early return closes them.

use core::ffi::CStr;
use core::mem;

use libc::{c_int, sockaddr_storage, socklen_t};

/// cbindgen:ignore
#[cfg(feature = "fuzz")]
pub mod fuzzing;
pub mod rt;

pub use rt::Fd;

/// A descriptor number, owned by no one in particular.
pub type RawFd = c_int;

/// A positive errno value from the kernel (or from csock's own checks).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Errno(pub c_int);

/// The result of one system call.
pub type SysResult<T> = Result<T, Errno>;

/// This thread's `errno` after a failed call. A call that failed without setting it (`errno` 0)
/// is reported as `EIO`, so that a failure can never read as success.
fn errno() -> Errno {
    // SAFETY: __errno_location returns this thread's errno, valid for the thread's lifetime.
    match unsafe { *libc::__errno_location() } {
        0 => Errno(libc::EIO),
        code => Errno(code),
    }
}

/// Turns a `-1`-on-failure return value into a `Result`.
fn check(ret: c_int) -> SysResult<c_int> {
    if ret == -1 { Err(errno()) } else { Ok(ret) }
}

/// Takes ownership of a descriptor the kernel just returned.
fn owned(ret: c_int) -> SysResult<Fd> {
    check(ret).map(Fd::from_new)
}

/// `socket(2)`.
pub fn socket(family: c_int, ty: c_int, proto: c_int) -> SysResult<Fd> {
    // SAFETY: plain integer arguments.
    owned(unsafe { libc::socket(family, ty, proto) })
}

/// `socketpair(2)`.
pub fn socketpair(family: c_int, ty: c_int, proto: c_int) -> SysResult<(Fd, Fd)> {
    let mut fds = [-1 as c_int; 2];
    // SAFETY: `fds` is a valid array of two ints for the kernel to fill.
    check(unsafe { libc::socketpair(family, ty, proto, fds.as_mut_ptr()) })?;
    // On success both entries are new descriptors owned by no one else.
    Ok((Fd::from_new(fds[0]), Fd::from_new(fds[1])))
}

/// A zeroed `sockaddr_storage`, the buffer every address call fills.
pub fn zeroed_storage() -> sockaddr_storage {
    // SAFETY: sockaddr_storage is plain data for which all-zero bytes are a valid value.
    unsafe { mem::zeroed() }
}

const STORAGE_LEN: socklen_t = mem::size_of::<sockaddr_storage>() as socklen_t;

/// `accept4(2)` into a whole zeroed `sockaddr_storage`; returns the length the kernel reported.
pub fn accept4(fd: RawFd, flags: c_int) -> SysResult<(Fd, sockaddr_storage, socklen_t)> {
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
    unsafe { core::slice::from_raw_parts((storage as *const sockaddr_storage).cast::<u8>(), len) }
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
pub fn dup_cloexec(fd: RawFd) -> SysResult<Fd> {
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

/// `poll(2)` on one descriptor; returns the events that happened (0 when the time ran out).
/// `timeout_ms` as for poll: negative waits without limit.
pub fn poll_one(fd: RawFd, events: libc::c_short, timeout_ms: c_int) -> SysResult<libc::c_short> {
    let mut pfd = libc::pollfd {
        fd,
        events,
        revents: 0,
    };
    // SAFETY: `pfd` is one valid pollfd.
    let n = check(unsafe { libc::poll(&mut pfd, 1, timeout_ms) })?;
    Ok(if n == 0 { 0 } else { pfd.revents })
}

/// `clock_gettime(CLOCK_MONOTONIC)` in milliseconds.
pub fn monotonic_ms() -> i64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is valid for writes; CLOCK_MONOTONIC always exists on Linux.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec * 1000 + ts.tv_nsec / 1_000_000
}

/// Sets this thread's `errno`.
pub fn set_errno(code: Errno) {
    // SAFETY: __errno_location returns this thread's errno, valid for the thread's lifetime.
    unsafe { *libc::__errno_location() = code.0 };
}

/// `getpid(2)`.
pub fn getpid() -> c_int {
    // SAFETY: getpid has no arguments and cannot fail.
    unsafe { libc::getpid() }
}

/// Calls `f` with the value of an environment variable (`None` when it is not set).
///
/// As with `getenv(3)`, the value is valid only while nothing changes the environment; `f` must
/// not do so, and the caller must not do so from another thread meanwhile.
pub fn with_env<R>(name: &CStr, f: impl FnOnce(Option<&[u8]>) -> R) -> R {
    // SAFETY: `name` is NUL-terminated; getenv returns NULL or a NUL-terminated string that stays
    // valid until the environment changes, which does not happen while `f` runs.
    let value = unsafe { libc::getenv(name.as_ptr()).as_ref() };
    // SAFETY: as above: a non-NULL value is a NUL-terminated string.
    f(value.map(|v| unsafe { CStr::from_ptr(v) }.to_bytes()))
}

/// Removes an environment variable, `unsetenv(3)`.
pub fn unset_env(name: &CStr) {
    // SAFETY: like sd_listen_fds(), this is only called when the caller asks for it; the
    // environment is the process's, and the caller is responsible for not reading it from another
    // thread at the same time (the C library's own rule for unsetenv). `name` is NUL-terminated.
    unsafe { libc::unsetenv(name.as_ptr()) };
}
