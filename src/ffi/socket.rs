//! Creating, adopting and managing sockets.

use libc::{c_int, sockaddr, socklen_t};

use super::{Out, arg_mut, c_call, fd_of, read_arg, sock_call, write_out};
use crate::socket::csock_socket;
use crate::{adopt, create, lifecycle, sys};

/// Creates a socket, like Python's `socket.socket(family, type, proto)`.
///
/// `CSOCK_DEFAULT` (-1) selects CPython's defaults: `AF_INET`, `SOCK_STREAM`, protocol 0. The
/// audit hooks see `"socket.__new__"` with `fd` -1 and the values after defaulting (`type` as
/// given, flag bits included) before anything is created. The socket is created with one call,
/// `socket(family, type | SOCK_CLOEXEC, proto)`, so it is never inherited by a child, even one
/// forked and executed by another thread at the same moment. `SOCK_NONBLOCK` in `type` makes the
/// descriptor non-blocking; the recorded `type` never keeps `SOCK_NONBLOCK` or `SOCK_CLOEXEC`.
///
/// Returns 0 and fills `*out` (which then owns the descriptor: release it with `csock_close()`),
/// or -errno: -EINVAL for a NULL `out`, the hook's error if a hook refuses, or the kernel's error
/// (-EAFNOSUPPORT, -EINVAL, -EPROTONOSUPPORT, -EMFILE, ...). On failure `*out` is untouched.
///
/// ```c
/// csock_socket s = CSOCK_SOCKET_INIT;
/// if (csock_open(&s, CSOCK_DEFAULT, SOCK_STREAM | SOCK_NONBLOCK, CSOCK_DEFAULT) < 0)
///     fprintf(stderr, "%s\n", csock_last_error());
/// // s.family == AF_INET, s.type == SOCK_STREAM, s.proto == 0
/// ```
///
/// # Safety
/// `out` is NULL or points to writable memory for one `csock_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_open(
    out: *mut csock_socket,
    family: c_int,
    r#type: c_int,
    proto: c_int,
) -> c_int {
    c_call!(
        {
            // SAFETY: `out` is NULL or valid, per this function's contract.
            unsafe { write_out(out, "out is NULL", || create::open(family, r#type, proto)) }
        },
        csock_open(family = family, type = r#type, proto = proto)
    )
}

/// Adopts an existing descriptor, like `socket.socket(family, type, proto, fileno=fd)`.
///
/// The descriptor is always validated: a negative `fd` gives -EBADF without a system call, a
/// closed one -EBADF, a pipe, file, eventfd or directory -ENOTSOCK. Each value given as
/// `CSOCK_DEFAULT` is detected with one query (`SO_DOMAIN`, `SO_TYPE`, `SO_PROTOCOL`); a value
/// given explicitly is recorded as given, without being checked against the kernel, except that
/// flag bits are cleared from `type`. With all three given, one validating query is made.
/// The audit hooks see the values that will be recorded (detected ones filled in).
///
/// The descriptor is never changed: its close-on-exec flag and blocking mode stay as they were.
///
/// Returns 0 and fills `*out`, which then owns `fd`; or -errno, in which case `*out` is untouched
/// and the caller still owns `fd`, open and unchanged.
///
/// # Safety
/// `out` is NULL or points to writable memory for one `csock_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_adopt(
    out: *mut csock_socket,
    fd: c_int,
    family: c_int,
    r#type: c_int,
    proto: c_int,
) -> c_int {
    c_call!(
        {
            // SAFETY: `out` is NULL or valid, per this function's contract.
            unsafe {
                write_out(out, "out is NULL", || {
                    adopt::adopt(fd, family, r#type, proto)
                })
            }
        },
        csock_adopt(fd = fd)
    )
}

/// Adopts a duplicate of `fd`, like `socket.fromfd(fd, family, type, proto)`.
///
/// The duplicate is made with `F_DUPFD_CLOEXEC` (so it is not inheritable), then adopted as
/// `csock_adopt()` does, with `CSOCK_DEFAULT` values detected. `fd` itself is never closed or
/// changed, whether the call succeeds or fails; on failure the duplicate is closed again.
///
/// Returns 0 and fills `*out` (owning the duplicate), or -errno (-EBADF, -ENOTSOCK, -EMFILE,
/// -EINVAL for a NULL `out`, or a hook's refusal) with `*out` untouched.
///
/// # Safety
/// `out` is NULL or points to writable memory for one `csock_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fromfd(
    out: *mut csock_socket,
    fd: c_int,
    family: c_int,
    r#type: c_int,
    proto: c_int,
) -> c_int {
    c_call!(
        {
            // SAFETY: `out` is NULL or valid, per this function's contract.
            unsafe {
                write_out(out, "out is NULL", || {
                    adopt::fromfd(fd, family, r#type, proto)
                })
            }
        },
        csock_fromfd(fd = fd)
    )
}

/// Duplicates a socket, like `socket.dup()`: a new non-inheritable descriptor
/// (`F_DUPFD_CLOEXEC`) recording the same family, type and protocol.
///
/// Returns 0 and fills `*out`, or -errno (-EBADF for a closed `sock`, -EMFILE, -EINVAL for a NULL
/// pointer, or a hook's refusal) with `*out` untouched. `out` may be `sock` itself
/// (`csock_dup(&s, &s)`): `*sock` is read before `*out` is written, and the original descriptor
/// stays open (keep a copy of its number to close it).
///
/// # Safety
/// `out` and `sock` are NULL or valid; `out` is writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_dup(out: *mut csock_socket, sock: *const csock_socket) -> c_int {
    c_call!(
        {
            // `out` may be `sock` itself: the socket is read, by value, before `out` is written.
            // SAFETY: both pointers are NULL or valid, per this function's contract.
            let sock = unsafe { read_arg(sock, "sock is NULL") }?;
            // SAFETY: as above.
            unsafe { write_out(out, "out is NULL", || adopt::dup(&sock)) }
        },
        // SAFETY: as above.
        csock_dup(fd = unsafe { fd_of(sock) })
    )
}

/// Creates a connected pair, like `socket.socketpair(family, type, proto)`.
///
/// `CSOCK_DEFAULT` gives `AF_UNIX`, `SOCK_STREAM`, 0. Both ends are created non-inheritable in
/// one call (`SOCK_CLOEXEC`), record the same values (flag bits cleared from `type`), and are
/// audited once each, after creation, with their descriptor and the type as given (flag bits
/// included, as `csock_open()` reports it). Either both ends are returned or neither: no half
/// pair is left behind, also when a hook refuses one end.
///
/// Returns 0 and fills `pair[0]` and `pair[1]`, or -errno with `pair` untouched.
///
/// # Safety
/// `pair` is NULL or points to writable memory for two `csock_socket` values.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_socketpair(
    pair: *mut csock_socket,
    family: c_int,
    r#type: c_int,
    proto: c_int,
) -> c_int {
    c_call!(
        {
            // SAFETY: `pair` is NULL or valid for two values, per this function's contract.
            unsafe {
                write_out(pair.cast::<[csock_socket; 2]>(), "pair is NULL", || {
                    create::socketpair(family, r#type, proto)
                })
            }
        },
        csock_socketpair(family = family, type = r#type, proto = proto)
    )
}

/// Accepts a connection, like `socket.accept()`.
///
/// Uses `accept4(..., SOCK_CLOEXEC | flags)`, so the new socket is never inheritable; `flags`
/// may hold `SOCK_NONBLOCK` and `CSOCK_EINTR` and nothing else (-EINVAL, without a system call).
/// Retried when interrupted (`EINTR`), unless `flags` holds `CSOCK_EINTR`: then a signal returns
/// -EINTR, so that a handler that only sets a flag gets control back. The new socket records the
/// listener's family, type and protocol.
/// `addr` and `addrlen` work as with `accept(2)`: both may be NULL; otherwise `*addrlen` is the
/// size of `addr` on entry, the address is truncated to it, and on return `*addrlen` holds the
/// address's real length.
///
/// Returns 0 and fills `*out`, or -errno (-EAGAIN on a non-blocking listener with no pending
/// connection, -EINTR with `CSOCK_EINTR`, -EBADF, -EINVAL, ...) with `*out`, `*addr` and
/// `*addrlen` untouched. `out` may be `listener` itself: every input is read before any output
/// is written (the listening descriptor stays open; keep a copy of its number to close it).
///
/// # Safety
/// `listener` and `out` are NULL or valid; `addr` is NULL or writable for `*addrlen` bytes;
/// `addrlen` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_accept(
    listener: *const csock_socket,
    out: *mut csock_socket,
    addr: *mut sockaddr,
    addrlen: *mut socklen_t,
    flags: c_int,
) -> c_int {
    c_call!(
        {
            // Every input (the listener, `*addrlen`) is read by value before any output is
            // written, through the raw pointers: `out` may be `listener` itself.
            // SAFETY: pointers are NULL or valid, per this function's contract.
            let listener = unsafe { read_arg(listener, "listener is NULL") }?;
            let out = Out::new(out, "out is NULL")?;
            let room = if addr.is_null() {
                None
            } else {
                // SAFETY: as above.
                Some(unsafe { read_arg(addrlen, "addr is given but addrlen is NULL") }?)
            };
            let (sock, peer) = create::accept(&listener, flags)?;
            if let Some(room) = room {
                let bytes = sys::storage_bytes(&peer.storage, peer.len);
                let n = bytes.len().min(room as usize);
                // SAFETY: `addr` is writable for `*addrlen` (read above) bytes, and `n` does not
                // exceed that; the source is this call's own storage.
                unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), addr.cast::<u8>(), n) };
                // SAFETY: `addrlen` is non-NULL (read above) and writable, per the contract.
                unsafe { addrlen.write_unaligned(peer.len) };
            }
            // SAFETY: `out` is writable, per the contract.
            unsafe { out.write(sock) };
            Ok(())
        },
        // SAFETY: as above.
        csock_accept(fd = unsafe { fd_of(listener) }, flags = flags)
    )
}

/// Closes a socket, like `socket.close()`.
///
/// Sets `sock->fd` to -1 first, then calls `close(2)` once: never retried on `EINTR`,
/// `ECONNRESET` ignored. Closing a socket whose `fd` is already -1 returns 0 and does nothing.
///
/// Returns 0, or -errno: -EINVAL for NULL, or close's error (-EBADF when the descriptor was
/// closed behind csock's back). `sock->fd` is -1 afterwards in every case but NULL.
///
/// # Safety
/// `sock` is NULL or points to a valid, writable `csock_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_close(sock: *mut csock_socket) -> c_int {
    // The descriptor before closing, for the message.
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    let fd = unsafe { fd_of(sock) };
    c_call!(
        {
            // SAFETY: as above.
            lifecycle::close(unsafe { arg_mut(sock, "sock is NULL") }?)
        },
        csock_close(fd = fd)
    )
}

/// Hands the descriptor back without closing it, like `socket.detach()`.
///
/// Returns the descriptor (>= 0), which the caller now owns, and sets `sock->fd` to -1; or
/// -EBADF if the socket is already closed or detached, -EINVAL for NULL.
///
/// # Safety
/// `sock` is NULL or points to a valid, writable `csock_socket`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_detach(sock: *mut csock_socket) -> c_int {
    c_call!(
        {
            // SAFETY: `sock` is NULL or valid, per this function's contract.
            lifecycle::detach(unsafe { arg_mut(sock, "sock is NULL") }?)
        },
        csock_detach()
    )
}

/// Shuts down one or both directions, like `socket.shutdown(how)`.
///
/// `how` is `SHUT_RD`, `SHUT_WR` or `SHUT_RDWR`. One `shutdown(2)` call; async-signal-safe.
///
/// Returns 0, or -errno: -EINVAL for a NULL `sock` or any other `how` (no system call), -EBADF
/// for a closed socket (no system call), or shutdown's error (-ENOTCONN when not connected,
/// -EBADF or -ENOTSOCK for a descriptor closed or replaced behind csock's back).
///
/// # Safety
/// `sock` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_shutdown(sock: *const csock_socket, how: c_int) -> c_int {
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    unsafe {
        sock_call("csock_shutdown(", sock, &[(", how=", how.into())], |s| {
            lifecycle::shutdown(s, how)
        })
    }
}

/// Whether the socket would be inherited by a child program, like `socket.get_inheritable()`.
///
/// Read from the kernel with one `fcntl(F_GETFD)` each time; async-signal-safe.
///
/// Returns 1 (inheritable), 0 (not inheritable, the default for every socket csock creates),
/// or -errno: -EINVAL for a NULL `sock`, -EBADF for a closed socket (no system call) or for a
/// descriptor closed behind csock's back.
///
/// # Safety
/// `sock` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_get_inheritable(sock: *const csock_socket) -> c_int {
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    unsafe { sock_call("csock_get_inheritable(", sock, &[], lifecycle::inheritable) }
}

/// Makes the socket inheritable or not, like `socket.set_inheritable()`, with one
/// `ioctl(FIONCLEX / FIOCLEX)`; async-signal-safe. Nothing in `*sock` changes.
///
/// Returns 0, or -errno: -EINVAL for a NULL `sock`, -EBADF for a closed socket (no system call)
/// or for a descriptor closed behind csock's back.
///
/// # Safety
/// `sock` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_set_inheritable(
    sock: *const csock_socket,
    inheritable: bool,
) -> c_int {
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    unsafe {
        sock_call(
            "csock_set_inheritable(",
            sock,
            &[(", inheritable=", inheritable.into())],
            |s| lifecycle::set_inheritable(s, inheritable),
        )
    }
}

/// Whether the socket is in blocking mode, like `socket.getblocking()`.
///
/// Read from the kernel with one `fcntl(F_GETFL)` (`O_NONBLOCK`) each time; async-signal-safe.
///
/// Returns 1 (blocking), 0 (non-blocking), or -errno: -EINVAL for a NULL `sock`, -EBADF for a
/// closed socket (no system call) or for a descriptor closed behind csock's back.
///
/// # Safety
/// `sock` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_get_blocking(sock: *const csock_socket) -> c_int {
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    unsafe { sock_call("csock_get_blocking(", sock, &[], lifecycle::blocking) }
}

/// Sets blocking or non-blocking mode, like `socket.setblocking()`, with one `ioctl(FIONBIO)`;
/// async-signal-safe. The mode belongs to the open file description, so every duplicate of the
/// descriptor sees it; nothing in `*sock` changes.
///
/// Returns 0, or -errno: -EINVAL for a NULL `sock`, -EBADF for a closed socket (no system call)
/// or for a descriptor closed behind csock's back.
///
/// # Safety
/// `sock` is NULL or valid.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_set_blocking(sock: *const csock_socket, blocking: bool) -> c_int {
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    unsafe {
        sock_call(
            "csock_set_blocking(",
            sock,
            &[(", blocking=", blocking.into())],
            |s| lifecycle::set_blocking(s, blocking),
        )
    }
}

/// Reads what the kernel knows of any descriptor, without taking, changing or closing it:
/// family, type and protocol as `csock_adopt()` would detect them, and `CSOCK_INFO_NONBLOCK`,
/// `CSOCK_INFO_CLOEXEC`, `CSOCK_INFO_LISTENING` in `flags`.
///
/// Returns 0 and fills `*info`, or -errno (-EBADF, -ENOTSOCK, -EINVAL for NULL) with `*info`
/// untouched.
///
/// # Safety
/// `info` is NULL or points to writable memory for one `csock_info`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_inspect(fd: c_int, info: *mut crate::socket::csock_info) -> c_int {
    c_call!(
        {
            // SAFETY: `info` is NULL or valid, per this function's contract.
            unsafe { write_out(info, "info is NULL", || adopt::inspect(fd)) }
        },
        csock_inspect(fd = fd)
    )
}
