//! Adopting existing descriptors: `socket.socket(fileno=fd)`, `socket.fromfd`, `socket.dup`, and
//! inspecting a descriptor without taking it.
//!
//! Adoption validates the descriptor always, detects each `-1` value with one `getsockopt`, and
//! never changes the descriptor.

use libc::c_int;

use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::lifecycle::live;
use crate::socket::{InfoFlags, TypeFlags, csock_info, csock_socket};
use crate::sys::{self, RawFd};

/// Family, type and protocol as they will be recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Detected {
    /// `AF_*`.
    pub family: c_int,
    /// `SOCK_*`, without flag bits.
    pub ty: c_int,
    /// The protocol.
    pub proto: c_int,
}

fn negative(fd: RawFd) -> Result<RawFd> {
    if fd < 0 {
        Err(Error::new(libc::EBADF, "negative file descriptor"))
    } else {
        Ok(fd)
    }
}

fn so_domain(fd: RawFd) -> Result<c_int> {
    match sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_DOMAIN) {
        // Kernels without SO_DOMAIN: the family of the socket's own address.
        Err(sys::Errno(libc::ENOPROTOOPT)) => {
            let (storage, _) = sys::getsockname(fd).map_err(Error::at("getsockname"))?;
            Ok(c_int::from(storage.ss_family))
        }
        other => other.map_err(Error::at("getsockopt(SO_DOMAIN)")),
    }
}

fn so_type(fd: RawFd) -> Result<c_int> {
    sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)
        .map_err(Error::at("getsockopt(SO_TYPE)"))
}

fn so_protocol(fd: RawFd) -> Result<c_int> {
    sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_PROTOCOL)
        .map_err(Error::at("getsockopt(SO_PROTOCOL)"))
}

/// Validates `fd` and fills in each `-1` value: one `getsockopt` per value to detect, or one
/// validating `getsockopt(SO_TYPE)` when all three are given. Explicit values are kept as given,
/// except that flag bits are cleared from an explicit type.
pub fn detect(fd: RawFd, family: c_int, ty: c_int, proto: c_int) -> Result<Detected> {
    let fd = negative(fd)?;
    let detected = Detected {
        family: if family == -1 { so_domain(fd)? } else { family },
        ty: if ty == -1 {
            so_type(fd)?
        } else {
            TypeFlags::strip(ty)
        },
        proto: if proto == -1 { so_protocol(fd)? } else { proto },
    };
    if family != -1 && ty != -1 && proto != -1 {
        so_type(fd)?;
    }
    Ok(detected)
}

fn check_audit(fd: RawFd, d: Detected) -> Result<()> {
    audit::check(&Event::socket_new(fd, d.family, d.ty, d.proto))
}

fn record(fd: RawFd, d: Detected) -> csock_socket {
    csock_socket {
        fd,
        family: d.family,
        r#type: d.ty,
        proto: d.proto,
    }
}

/// `socket.socket(family, type, proto, fileno=fd)`: on success the returned socket owns `fd`;
/// on failure the caller still owns it, open and unchanged.
pub fn adopt(fd: RawFd, family: c_int, ty: c_int, proto: c_int) -> Result<csock_socket> {
    let d = detect(fd, family, ty, proto)?;
    check_audit(fd, d)?;
    Ok(record(fd, d))
}

/// `socket.fromfd(fd, family, type, proto)`: adopts a close-on-exec duplicate of `fd`; `fd` itself
/// is never closed. On failure the duplicate is closed.
pub fn fromfd(fd: RawFd, family: c_int, ty: c_int, proto: c_int) -> Result<csock_socket> {
    let dup = sys::dup_cloexec(negative(fd)?).map_err(Error::at("fcntl(F_DUPFD_CLOEXEC)"))?;
    let d = detect(dup.raw(), family, ty, proto)?;
    check_audit(dup.raw(), d)?;
    Ok(record(dup.into_raw(), d))
}

/// `socket.dup()`: a close-on-exec duplicate recording the same family, type and protocol.
pub fn dup(sock: &csock_socket) -> Result<csock_socket> {
    let dup = sys::dup_cloexec(live(sock)?).map_err(Error::at("fcntl(F_DUPFD_CLOEXEC)"))?;
    let d = Detected {
        family: sock.family,
        ty: sock.r#type,
        proto: sock.proto,
    };
    check_audit(dup.raw(), d)?;
    Ok(record(dup.into_raw(), d))
}

/// Reads what the kernel knows of `fd` without taking or changing it.
pub fn inspect(fd: RawFd) -> Result<csock_info> {
    let d = detect(fd, -1, -1, -1)?;
    let mut flags = InfoFlags::empty();
    let status = sys::status_flags(fd).map_err(Error::at("fcntl(F_GETFL)"))?;
    flags.set(InfoFlags::NONBLOCK, status & libc::O_NONBLOCK != 0);
    let fd_flags = sys::fd_flags(fd).map_err(Error::at("fcntl(F_GETFD)"))?;
    flags.set(InfoFlags::CLOEXEC, fd_flags & libc::FD_CLOEXEC != 0);
    let listening = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN)
        .map_err(Error::at("getsockopt(SO_ACCEPTCONN)"))?;
    flags.set(InfoFlags::LISTENING, listening != 0);
    Ok(csock_info {
        family: d.family,
        r#type: d.ty,
        proto: d.proto,
        flags: flags.bits(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::create::open;

    #[test]
    fn detects_what_the_kernel_knows() {
        let s = open(libc::AF_INET6, libc::SOCK_DGRAM, 0).unwrap();
        let d = detect(s.fd, -1, -1, -1).unwrap();
        assert_eq!(
            d,
            Detected {
                family: libc::AF_INET6,
                ty: libc::SOCK_DGRAM,
                proto: libc::IPPROTO_UDP
            }
        );
        sys::close(s.fd).unwrap();
    }

    #[test]
    fn explicit_values_are_recorded_unchecked_but_validated() {
        let s = open(libc::AF_UNIX, libc::SOCK_STREAM, 0).unwrap();
        let ty = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK;
        let d = detect(s.fd, libc::AF_INET, ty, 99).unwrap();
        assert_eq!(
            d,
            Detected {
                family: libc::AF_INET,
                ty: libc::SOCK_DGRAM,
                proto: 99
            }
        );
        sys::close(s.fd).unwrap();
        let err = detect(s.fd, libc::AF_INET, ty, 99).unwrap_err();
        assert_eq!(err, Error::new(libc::EBADF, "getsockopt(SO_TYPE)"));
    }

    #[test]
    fn negative_descriptor_is_ebadf() {
        assert_eq!(
            detect(-5, 1, 1, 0),
            Err(Error::new(libc::EBADF, "negative file descriptor"))
        );
    }

    #[test]
    fn non_socket_is_enotsock() {
        // Standard input of the test harness may be anything, so use a fresh pipe-like file.
        let file = std::fs::File::open("/dev/null").unwrap();
        let err = detect(std::os::fd::AsRawFd::as_raw_fd(&file), -1, -1, -1).unwrap_err();
        assert_eq!(err.errno.0, libc::ENOTSOCK);
    }
}
