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

/// An all-zero `sockaddr_storage`, for constants.
// SAFETY: sockaddr_storage is plain data for which all-zero bytes are a valid value.
pub const ZEROED_STORAGE: sockaddr_storage = unsafe { mem::zeroed() };

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

/// The bytes of a whole storage, for filling in an address.
pub fn storage_bytes_mut(storage: &mut sockaddr_storage) -> &mut [u8] {
    // SAFETY: `storage` is plain data, every byte pattern is valid, and the slice covers exactly
    // the storage, borrowed mutably.
    unsafe {
        core::slice::from_raw_parts_mut(
            (storage as *mut sockaddr_storage).cast::<u8>(),
            mem::size_of::<sockaddr_storage>(),
        )
    }
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

/// `inet_pton(3)` for `AF_INET` (`N` = 4) or `AF_INET6` (`N` = 16): the address in network
/// order, or `None` when `text` is not a numeric address of that family. No system call.
pub fn inet_pton<const N: usize>(family: c_int, text: &[u8]) -> Option<[u8; N]> {
    // The longest IPv6 text is 45 bytes; anything longer is no numeric address.
    let mut buf = [0u8; 64];
    buf.get_mut(..text.len())
        .filter(|_| text.len() < 64 && !text.contains(&0))?
        .copy_from_slice(text);
    if (family, N) != (libc::AF_INET, 4) && (family, N) != (libc::AF_INET6, 16) {
        return None;
    }
    let mut out = [0u8; N];
    // SAFETY: `buf` is NUL-terminated; `out` has room for the family's address (checked above).
    let ok = unsafe { inet_pton_c(family, buf.as_ptr().cast(), out.as_mut_ptr().cast()) };
    (ok == 1).then_some(out)
}

unsafe extern "C" {
    #[link_name = "inet_pton"]
    fn inet_pton_c(af: c_int, src: *const libc::c_char, dst: *mut libc::c_void) -> c_int;
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

/// `connect(2)` to the first `len` bytes of `addr`.
pub fn connect(fd: RawFd, addr: &sockaddr_storage, len: socklen_t) -> SysResult<()> {
    let len = len.min(STORAGE_LEN);
    // SAFETY: `addr` is a whole sockaddr_storage and `len` does not exceed it.
    check(unsafe { libc::connect(fd, (addr as *const sockaddr_storage).cast(), len) }).map(drop)
}

/// `bind(2)` to the first `len` bytes of `addr`.
pub fn bind(fd: RawFd, addr: &sockaddr_storage, len: socklen_t) -> SysResult<()> {
    let len = len.min(STORAGE_LEN);
    // SAFETY: `addr` is a whole sockaddr_storage and `len` does not exceed it.
    check(unsafe { libc::bind(fd, (addr as *const sockaddr_storage).cast(), len) }).map(drop)
}

/// `listen(2)`.
pub fn listen(fd: RawFd, backlog: c_int) -> SysResult<()> {
    // SAFETY: plain integer arguments.
    check(unsafe { libc::listen(fd, backlog) }).map(drop)
}

/// `setsockopt(2)` for an `int` option.
pub fn setsockopt_int(fd: RawFd, level: c_int, name: c_int, value: c_int) -> SysResult<()> {
    // SAFETY: `value` is a valid int and the length given is its size.
    check(unsafe {
        libc::setsockopt(
            fd,
            level,
            name,
            (&raw const value).cast::<libc::c_void>(),
            mem::size_of::<c_int>() as socklen_t,
        )
    })
    .map(drop)
}

/// `poll(2)` over several descriptors; returns how many have events (0 when the time ran out).
pub fn poll(fds: &mut [libc::pollfd], timeout_ms: c_int) -> SysResult<c_int> {
    let n = libc::nfds_t::try_from(fds.len()).map_err(|_| Errno(libc::EINVAL))?;
    // SAFETY: `fds` is a valid array of `n` pollfd values.
    check(unsafe { libc::poll(fds.as_mut_ptr(), n, timeout_ms) })
}

/// A failed `getaddrinfo(3)`: its `EAI_*` value, and `errno` for `EAI_SYSTEM`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct GaiFailure {
    /// The `EAI_*` value (negative, glibc's).
    pub eai: c_int,
    /// `errno` when `eai` is `EAI_SYSTEM`.
    pub errno: Errno,
}

/// One address of a `getaddrinfo(3)` result, copied out of the list.
#[derive(Clone, Copy)]
pub struct AddrEntry {
    /// `ai_family`.
    pub family: c_int,
    /// `ai_socktype`.
    pub socktype: c_int,
    /// `ai_protocol`.
    pub protocol: c_int,
    /// The address, in a whole zeroed storage.
    pub storage: sockaddr_storage,
    /// `ai_addrlen`, at most the storage's size.
    pub len: socklen_t,
}

/// The list `getaddrinfo(3)` returned, freed with `freeaddrinfo(3)` when dropped.
pub struct AddrInfo(*mut libc::addrinfo);

/// `getaddrinfo(3)` with the given hints. `host` and `port` may be `None` (NULL).
pub fn getaddrinfo(
    host: Option<&CStr>,
    port: Option<&CStr>,
    family: c_int,
    socktype: c_int,
    flags: c_int,
) -> Result<AddrInfo, GaiFailure> {
    // SAFETY: addrinfo is plain data for which all-zero bytes are a valid value (NULL pointers).
    let mut hints: libc::addrinfo = unsafe { mem::zeroed() };
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_flags = flags;
    let mut list: *mut libc::addrinfo = core::ptr::null_mut();
    let ptr = |s: Option<&CStr>| s.map_or(core::ptr::null(), CStr::as_ptr);
    // SAFETY: the strings are NUL-terminated or NULL, `hints` is valid, `list` is valid for a
    // write; on success the list is ours until freeaddrinfo.
    let rc = unsafe { libc::getaddrinfo(ptr(host), ptr(port), &hints, &mut list) };
    if rc != 0 {
        let errno = if rc == libc::EAI_SYSTEM {
            errno()
        } else {
            Errno(0)
        };
        return Err(GaiFailure { eai: rc, errno });
    }
    Ok(AddrInfo(list))
}

impl AddrInfo {
    /// The addresses, in the resolver's order.
    pub fn iter(&self) -> AddrIter<'_> {
        AddrIter {
            next: self.0,
            _list: self,
        }
    }
}

impl Drop for AddrInfo {
    fn drop(&mut self) {
        if !self.0.is_null() {
            // SAFETY: the list came from getaddrinfo and is freed once.
            unsafe { libc::freeaddrinfo(self.0) };
        }
    }
}

/// Walks an [`AddrInfo`] list.
pub struct AddrIter<'a> {
    next: *const libc::addrinfo,
    _list: &'a AddrInfo,
}

impl Iterator for AddrIter<'_> {
    type Item = AddrEntry;
    fn next(&mut self) -> Option<AddrEntry> {
        // SAFETY: `next` is NULL or a node of the list, alive while `_list` is borrowed.
        let node = unsafe { self.next.as_ref() }?;
        self.next = node.ai_next;
        let mut storage = zeroed_storage();
        let len = node.ai_addrlen.min(STORAGE_LEN);
        if !node.ai_addr.is_null() {
            // SAFETY: `ai_addr` points to `ai_addrlen` bytes; at most the storage's size are
            // copied into the storage.
            unsafe {
                core::ptr::copy_nonoverlapping(
                    node.ai_addr.cast::<u8>(),
                    (&raw mut storage).cast::<u8>(),
                    len as usize,
                );
            }
        }
        Some(AddrEntry {
            family: node.ai_family,
            socktype: node.ai_socktype,
            protocol: node.ai_protocol,
            storage,
            len: if node.ai_addr.is_null() { 0 } else { len },
        })
    }
}

/// The caller's `iovec` array for `sendmsg(2)`, handed to the kernel as it is.
///
/// Made only at the C boundary ([`IoVecs::new`]); the core moves it around without looking
/// inside, except through [`IoVecs::has_data`].
pub struct IoVecs {
    ptr: *const libc::iovec,
    len: usize,
}

/// `UIO_MAXIOV`: the kernel refuses more entries with `EMSGSIZE` before reading any.
const UIO_MAXIOV: usize = 1024;

impl IoVecs {
    /// An empty array (no data bytes).
    pub const EMPTY: IoVecs = IoVecs {
        ptr: core::ptr::null(),
        len: 0,
    };

    /// Wraps a caller's array.
    ///
    /// # Safety
    /// `ptr` is valid for reads of `len` entries for as long as the value is used (`ptr` may be
    /// NULL only when `len` is 0). The buffers the entries point to are the kernel's to check
    /// (`EFAULT`).
    pub unsafe fn new(ptr: *const libc::iovec, len: usize) -> Self {
        IoVecs { ptr, len }
    }

    /// Whether any entry holds at least one byte. Reads the entries up to the first non-empty
    /// one; an array longer than `UIO_MAXIOV`, which the kernel refuses unread, is not read and
    /// counts as holding data.
    pub fn has_data(&self) -> bool {
        if self.len > UIO_MAXIOV {
            return true;
        }
        // SAFETY: `ptr` is valid for `len` entries (see `new`); `len` is 0 when it is NULL, and
        // at most UIO_MAXIOV, so the slice is small.
        let entries = if self.len == 0 {
            &[][..]
        } else {
            unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
        };
        entries.iter().any(|e| e.iov_len != 0)
    }
}

/// The caller's data buffer for `recvmsg(2)`, handed to the kernel as it is: `len` is an upper
/// bound, and the kernel writes at most what arrived.
pub struct RecvBuf {
    ptr: *mut libc::c_void,
    len: usize,
}

impl RecvBuf {
    /// Wraps a caller's buffer.
    ///
    /// # Safety
    /// `ptr` is valid for writes of what can arrive, up to `len` bytes, for as long as the value
    /// is used (NULL only with `len` 0).
    pub unsafe fn new(ptr: *mut libc::c_void, len: usize) -> Self {
        RecvBuf { ptr, len }
    }
}

/// A `msghdr` with every field zero (some C libraries have padding fields).
fn zeroed_msghdr() -> libc::msghdr {
    // SAFETY: msghdr is plain data (pointers, lengths, flags) for which all-zero is valid.
    unsafe { mem::zeroed() }
}

/// `sendmsg(2)` of the caller's data with one control buffer (empty: none) and an optional
/// destination address; returns the bytes sent.
pub fn sendmsg(
    fd: RawFd,
    iov: &IoVecs,
    control: &[u8],
    addr: Option<(&sockaddr_storage, socklen_t)>,
    flags: c_int,
) -> SysResult<usize> {
    let mut msg = zeroed_msghdr();
    if let Some((storage, len)) = addr {
        msg.msg_name = ptr_of(storage).cast_mut();
        msg.msg_namelen = len.min(STORAGE_LEN);
    }
    msg.msg_iov = iov.ptr.cast_mut();
    msg.msg_iovlen = iov.len as _;
    if !control.is_empty() {
        msg.msg_control = control.as_ptr().cast::<libc::c_void>().cast_mut();
        msg.msg_controllen = control.len() as _;
    }
    // SAFETY: every pointer in `msg` is NULL or valid for its length: the caller's iovec array
    // (see IoVecs::new), `control`, and the address storage; sendmsg only reads through them.
    let n = unsafe { libc::sendmsg(fd, &msg, flags) };
    if n < 0 { Err(errno()) } else { Ok(n as usize) }
}

fn ptr_of(storage: &sockaddr_storage) -> *const libc::c_void {
    (storage as *const sockaddr_storage).cast::<libc::c_void>()
}

/// What one `recvmsg(2)` returned.
pub struct Received {
    /// The byte count (the datagram's real length with `MSG_TRUNC`).
    pub len: usize,
    /// The message's flags (`msg_flags`).
    pub flags: c_int,
    /// How many bytes of the control buffer the kernel used.
    pub control_len: usize,
    /// The sender's address, in a whole zeroed storage (all zero when not asked for).
    pub addr: sockaddr_storage,
    /// The address's length as the kernel reported it (0 when not asked for).
    pub addr_len: socklen_t,
}

/// `recvmsg(2)` into the caller's buffer, with `control` as the control buffer (empty: none)
/// and, when `want_addr`, a zeroed `sockaddr_storage` for the sender's address.
pub fn recvmsg(
    fd: RawFd,
    buf: &RecvBuf,
    control: &mut [u8],
    want_addr: bool,
    flags: c_int,
) -> SysResult<Received> {
    let mut storage = zeroed_storage();
    let mut iov = libc::iovec {
        iov_base: buf.ptr,
        iov_len: buf.len,
    };
    let mut msg = zeroed_msghdr();
    if want_addr {
        msg.msg_name = (&raw mut storage).cast::<libc::c_void>();
        msg.msg_namelen = STORAGE_LEN;
    }
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    if !control.is_empty() {
        msg.msg_control = control.as_mut_ptr().cast::<libc::c_void>();
        msg.msg_controllen = control.len() as _;
    }
    // SAFETY: every pointer in `msg` is NULL or valid for writes of its length: the caller's
    // buffer (see RecvBuf::new), `control` and `storage`.
    let n = unsafe { libc::recvmsg(fd, &mut msg, flags) };
    if n < 0 {
        return Err(errno());
    }
    Ok(Received {
        len: n as usize,
        flags: msg.msg_flags,
        #[allow(clippy::unnecessary_cast)] // size_t here, socklen_t in other C libraries
        control_len: (msg.msg_controllen as usize).min(control.len()),
        addr_len: if want_addr { msg.msg_namelen } else { 0 },
        addr: storage,
    })
}

/// Takes ownership of a descriptor that a control message (`SCM_RIGHTS`, `SCM_PIDFD`) says the
/// kernel installed in this process during a [`recvmsg`] this crate made: dropping it closes it.
pub fn received_fd(fd: RawFd) -> Fd {
    Fd::from_new(fd)
}
