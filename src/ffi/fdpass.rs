//! Passing descriptors over unix sockets.

use core::ffi::c_void;

use libc::{c_int, iovec, sockaddr, sockaddr_storage, socklen_t};

use super::{Out, address, c_call, fd_of, read_arg};
use crate::error::Error;
use crate::fdpass;
use crate::socket::csock_socket;
use crate::sys::{IoVecs, RecvBuf};

/// Sends data and descriptors over a unix socket, like `socket.send_fds(sock, buffers, fds,
/// flags, address)`, done right.
///
/// One `sendmsg(2)` of the `iovcnt` buffers in `iov` with the `nfds` descriptors of `fds` in one
/// `SCM_RIGHTS` message (none when `nfds` is 0). `flags` are passed to the kernel (`MSG_DONTWAIT`,
/// `MSG_EOR`, ...) with `MSG_NOSIGNAL` always added: a closed peer gives -EPIPE and never raises
/// `SIGPIPE`. `addr` (`addrlen` bytes; NULL for none) is the destination of an unconnected
/// datagram socket. An interrupted call (`EINTR`) is retried, unless `flags` holds `CSOCK_EINTR`:
/// then it returns -EINTR. The descriptors stay the caller's: the receiver gets new ones for the
/// same open files.
///
/// Returns the number of bytes sent (an `int`: Linux caps one call at `MAX_RW_COUNT`), or
/// -errno. Refused without a system call, with -EINVAL: a NULL `sock`; `iov` NULL with `iovcnt`
/// not 0; `fds` NULL with `nfds` not 0; `nfds` above 253 (`SCM_MAX_FD`); `addrlen` larger than a
/// `struct sockaddr_storage`; and descriptors with no data byte on a stream socket, which the
/// kernel would drop silently (a datagram or seqpacket message without data carries them).
/// A closed `sock` gives -EBADF; the kernel's errors as they are (-EAGAIN, -EPIPE, -EBADF for a
/// bad descriptor in `fds`, ...).
///
/// ```c
/// char byte = '!';
/// struct iovec iov = {&byte, 1};
/// int fd = some_descriptor;
/// int rc = csock_send_fds(&sock, &iov, 1, &fd, 1, 0, NULL, 0);   // 1
/// ```
///
/// # Safety
/// `sock` is NULL or valid; `iov` is NULL or valid for `iovcnt` entries, each pointing to
/// `iov_len` readable bytes; `fds` is NULL or valid for `nfds` ints; `addr` is NULL or valid for
/// `addrlen` bytes.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn csock_send_fds(
    sock: *const csock_socket,
    iov: *const iovec,
    iovcnt: usize,
    fds: *const c_int,
    nfds: usize,
    flags: c_int,
    addr: *const sockaddr,
    addrlen: socklen_t,
) -> c_int {
    c_call!(
        {
            // SAFETY: `sock` is NULL or valid, per this function's contract.
            let sock = unsafe { read_arg(sock, "sock is NULL") }?;
            if iov.is_null() && iovcnt != 0 {
                return Err(Error::new(libc::EINVAL, "iov is NULL but iovcnt is not 0"));
            }
            if fds.is_null() && nfds != 0 {
                return Err(Error::new(libc::EINVAL, "fds is NULL but nfds is not 0"));
            }
            fdpass::check_count(nfds)?;
            let fds = if nfds == 0 {
                &[][..]
            } else {
                // SAFETY: `fds` is valid for `nfds` ints (at most 253), per the contract.
                unsafe { core::slice::from_raw_parts(fds, nfds) }
            };
            let addr = if addr.is_null() {
                None
            } else {
                // SAFETY: `addr` is readable for `addrlen` bytes, per the contract.
                Some(unsafe { address(addr, addrlen) }?)
            };
            // SAFETY: `iov` is valid for `iovcnt` entries, per the contract.
            let iov = unsafe { IoVecs::new(iov, iovcnt) };
            fdpass::send(&sock, &iov, fds, flags, addr.as_ref())
        },
        // SAFETY: as above.
        csock_send_fds(fd = unsafe { fd_of(sock) }, nfds = nfds, flags = flags)
    )
}

/// Receives data and descriptors from a unix socket, like `socket.recv_fds(sock, bufsize,
/// maxfds, flags)`, done right.
///
/// One `recvmsg(2)` of at most `len` bytes into `buf`, with room for `maxfds` descriptors (any
/// value up to `SIZE_MAX`; the kernel passes at most 253 per message). `flags` are passed to the
/// kernel (`MSG_PEEK`, `MSG_DONTWAIT`, `MSG_WAITALL`, `MSG_TRUNC`, ...) with `MSG_CMSG_CLOEXEC`
/// always added: every received descriptor is close-on-exec from the call that creates it
/// (CPython's are inheritable). An interrupted call (`EINTR`) is retried, unless `flags` holds
/// `CSOCK_EINTR`: then it returns -EINTR.
///
/// On success: `fds[0 .. *nfds]` are the descriptors that arrived, in the order sent, now the
/// caller's to close (entries past `*nfds` are untouched); `*msg_flags` (if not NULL) is the
/// message's flags, with `MSG_CTRUNC` when descriptors were cut off because `maxfds` was too
/// small (also for `maxfds` 0). At most `maxfds` descriptors are ever left open: extra ones the
/// kernel installed are closed again. Descriptors of other control messages (an `SCM_PIDFD` of
/// `SO_PASSPIDFD`) are closed. `*addr` (if not NULL) is overwritten whole with the sender's
/// address in a zeroed `struct sockaddr_storage`, and `*addrlen` (if not NULL) receives its
/// length.
///
/// Returns the number of bytes received (an `int`; 0 at end of stream, or for an empty
/// datagram; the datagram's real length with `MSG_TRUNC`), or -errno: -EINVAL for a NULL `sock`
/// or `nfds`, `buf` NULL with `len` not 0, or `fds` NULL with `maxfds` not 0 (all without a
/// system call); -EBADF for a closed socket; -EAGAIN, -EINTR or the kernel's error. On failure
/// nothing is written and no descriptor is left open.
///
/// ```c
/// char byte;
/// int fds[4];
/// size_t n;
/// int flags;
/// int rc = csock_recv_fds(&sock, &byte, 1, fds, 4, &n, 0, &flags, NULL, NULL);
/// // rc 1, n descriptors in fds, flags & MSG_CTRUNC if more than 4 were sent
/// ```
///
/// # Safety
/// `sock` and `nfds` are NULL or valid; `buf` is NULL or writable for `len` bytes; `fds` is NULL
/// or writable for `maxfds` ints (at least for as many as arrive); `msg_flags`, `addr` and
/// `addrlen` are NULL or writable.
#[unsafe(no_mangle)]
#[allow(clippy::too_many_arguments)]
pub unsafe extern "C" fn csock_recv_fds(
    sock: *const csock_socket,
    buf: *mut c_void,
    len: usize,
    fds: *mut c_int,
    maxfds: usize,
    nfds: *mut usize,
    flags: c_int,
    msg_flags: *mut c_int,
    addr: *mut sockaddr_storage,
    addrlen: *mut socklen_t,
) -> c_int {
    c_call!(
        {
            // The socket is read by value and the outputs written through their pointers only
            // once the call succeeded: `buf` or an output may alias the socket.
            // SAFETY: `sock` is NULL or valid, per this function's contract.
            let sock = unsafe { read_arg(sock, "sock is NULL") }?;
            let nfds = Out::new(nfds, "nfds is NULL")?;
            if buf.is_null() && len != 0 {
                return Err(Error::new(libc::EINVAL, "buf is NULL but len is not 0"));
            }
            if fds.is_null() && maxfds != 0 {
                return Err(Error::new(libc::EINVAL, "fds is NULL but maxfds is not 0"));
            }
            // SAFETY: `buf` is writable for `len` bytes, per the contract.
            let buf = unsafe { RecvBuf::new(buf, len) };
            let want_addr = !addr.is_null() || !addrlen.is_null();
            let got = fdpass::recv(&sock, &buf, maxfds, flags, want_addr)?;
            // Nothing below can fail: the out-parameters are written only now.
            let n = got.fds.len();
            got.fds.hand_over(|i, fd| {
                // SAFETY: `i < n <= maxfds`, and `fds` is writable for the ints that arrive.
                unsafe { fds.add(i).write(fd) }
            });
            // SAFETY: `nfds` is writable, and each optional pointer NULL or writable, per the
            // contract.
            unsafe {
                nfds.write(n);
                if !msg_flags.is_null() {
                    msg_flags.write_unaligned(got.flags);
                }
                if let Some(from) = got.addr {
                    if !addr.is_null() {
                        addr.write_unaligned(from.storage);
                    }
                    if !addrlen.is_null() {
                        addrlen.write_unaligned(from.len);
                    }
                }
            }
            Ok(got.bytes)
        },
        // SAFETY: as above.
        csock_recv_fds(fd = unsafe { fd_of(sock) }, maxfds = maxfds, flags = flags)
    )
}
