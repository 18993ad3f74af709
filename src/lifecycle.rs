//! What happens to a socket after it exists: close, detach, shutdown, and the state the kernel
//! owns (inheritance, blocking mode), read back from the kernel every time.

use libc::c_int;

use crate::error::{Error, Result};
use crate::socket::csock_socket;
use crate::sys::{self, RawFd};

/// The descriptor of a socket that is not closed; `EBADF` without a system call otherwise.
pub fn live(sock: &csock_socket) -> Result<RawFd> {
    if sock.fd < 0 {
        Err(Error::new(libc::EBADF, "socket is closed"))
    } else {
        Ok(sock.fd)
    }
}

/// `socket.close()`: marks the socket closed first, then closes once. `ECONNRESET` is ignored,
/// `EINTR` is not retried (the descriptor is gone either way on Linux), any other error is
/// reported. Closing a closed socket does nothing.
pub fn close(sock: &mut csock_socket) -> Result<()> {
    let fd = sock.fd;
    if fd < 0 {
        return Ok(());
    }
    sock.fd = -1;
    match sys::close(fd) {
        Err(sys::Errno(libc::ECONNRESET)) => Ok(()),
        other => other.map_err(Error::at("close")),
    }
}

/// `socket.close(fd)`: `close(2)` once, never retried, `ECONNRESET` ignored; a negative
/// descriptor is `EBADF` without a system call.
pub fn close_fd(fd: RawFd) -> Result<()> {
    if fd < 0 {
        return Err(Error::new(libc::EBADF, "negative file descriptor"));
    }
    match sys::close(fd) {
        Err(sys::Errno(libc::ECONNRESET)) => Ok(()),
        other => other.map_err(Error::at("close")),
    }
}

/// `socket.detach()`: hands the descriptor back without closing it.
pub fn detach(sock: &mut csock_socket) -> Result<c_int> {
    let fd = live(sock)?;
    sock.fd = -1;
    Ok(fd)
}

/// `socket.shutdown(how)`; `how` other than `SHUT_RD`, `SHUT_WR`, `SHUT_RDWR` is `EINVAL` without
/// a system call.
pub fn shutdown(sock: &csock_socket, how: c_int) -> Result<()> {
    let fd = live(sock)?;
    if !matches!(how, libc::SHUT_RD | libc::SHUT_WR | libc::SHUT_RDWR) {
        return Err(Error::new(
            libc::EINVAL,
            "how is not SHUT_RD, SHUT_WR or SHUT_RDWR",
        ));
    }
    sys::shutdown(fd, how).map_err(Error::at("shutdown"))
}

/// `socket.get_inheritable()`: whether `FD_CLOEXEC` is clear.
pub fn inheritable(sock: &csock_socket) -> Result<bool> {
    let flags = sys::fd_flags(live(sock)?).map_err(Error::at("fcntl(F_GETFD)"))?;
    Ok(flags & libc::FD_CLOEXEC == 0)
}

/// `socket.set_inheritable()`: one `ioctl(FIONCLEX / FIOCLEX)`.
pub fn set_inheritable(sock: &csock_socket, inheritable: bool) -> Result<()> {
    let what = if inheritable {
        "ioctl(FIONCLEX)"
    } else {
        "ioctl(FIOCLEX)"
    };
    sys::set_cloexec(live(sock)?, !inheritable).map_err(Error::at(what))
}

/// `socket.getblocking()`: whether `O_NONBLOCK` is clear.
pub fn blocking(sock: &csock_socket) -> Result<bool> {
    let flags = sys::status_flags(live(sock)?).map_err(Error::at("fcntl(F_GETFL)"))?;
    Ok(flags & libc::O_NONBLOCK == 0)
}

/// `socket.setblocking()`: one `ioctl(FIONBIO)`.
pub fn set_blocking(sock: &csock_socket, blocking: bool) -> Result<()> {
    sys::set_nonblocking(live(sock)?, !blocking).map_err(Error::at("ioctl(FIONBIO)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::open;

    #[test]
    fn closed_socket_gives_ebadf_everywhere_but_close() {
        let mut s = csock_socket::closed(libc::AF_INET, libc::SOCK_STREAM, 0);
        let ebadf = Error::new(libc::EBADF, "socket is closed");
        assert_eq!(close(&mut s), Ok(()));
        assert_eq!(detach(&mut s), Err(ebadf));
        assert_eq!(shutdown(&s, libc::SHUT_RD), Err(ebadf));
        assert_eq!(blocking(&s), Err(ebadf));
        assert_eq!(set_inheritable(&s, true), Err(ebadf));
    }

    #[test]
    fn state_round_trips_through_the_kernel() {
        let mut s = open(libc::AF_UNIX, libc::SOCK_STREAM, 0).unwrap();
        assert_eq!(inheritable(&s), Ok(false));
        set_inheritable(&s, true).unwrap();
        assert_eq!(inheritable(&s), Ok(true));
        assert_eq!(blocking(&s), Ok(true));
        set_blocking(&s, false).unwrap();
        assert_eq!(blocking(&s), Ok(false));
        assert_eq!(shutdown(&s, 7).unwrap_err().errno.0, libc::EINVAL);
        let fd = s.fd;
        assert_eq!(detach(&mut s), Ok(fd));
        assert_eq!(s.fd, -1);
        sys::close(fd).unwrap();
    }
}
