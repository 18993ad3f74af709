//! Serving: `csock_create_server` (`socket.create_server`) and `csock_has_dualstack_ipv6`.
//!
//! The address text is read by [`parse_address`], a pure function over bytes: a numeric address
//! (or the wildcard, or an `AF_UNIX` path or `"@abstract"` name) becomes a socket address with no
//! system call; anything else is a name for the resolver.

use core::ffi::CStr;

use libc::c_int;

use crate::audit::{self, Event};
use crate::create::{self, Address};
use crate::error::{Error, Result};
use crate::resolve;
use crate::socket::csock_socket;
use crate::sys;

/// `csock_create_server()` flag: set `SO_REUSEPORT` (`AF_INET` and `AF_INET6` only).
pub const CSOCK_SERVER_REUSE_PORT: u32 = 0x1;
/// `csock_create_server()` flag: an `AF_INET6` listener that also accepts IPv4
/// (`IPV6_V6ONLY` = 0).
pub const CSOCK_SERVER_DUALSTACK: u32 = 0x2;

bitflags::bitflags! {
    /// The flags `csock_create_server()` accepts.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ServerFlags: u32 {
        /// `CSOCK_SERVER_REUSE_PORT`.
        const REUSE_PORT = CSOCK_SERVER_REUSE_PORT;
        /// `CSOCK_SERVER_DUALSTACK`.
        const DUALSTACK = CSOCK_SERVER_DUALSTACK;
        /// `SOCK_NONBLOCK`: a non-blocking listener.
        const NONBLOCK = libc::SOCK_NONBLOCK as u32;
    }
}

/// CPython's default backlog: `min(SOMAXCONN, 128)`.
pub(crate) const DEFAULT_BACKLOG: c_int = 128;

/// The bytes of `sun_path`.
const SUN_PATH: usize = 108;
/// Where `sun_path` starts in a `sockaddr_un`.
const SUN_PATH_AT: usize = 2;

/// What the address of a server is.
#[derive(Clone, Copy)]
pub enum Parsed {
    /// A socket address, made without a system call.
    Ready(Address),
    /// A host or service name: ask the resolver.
    Resolve,
}

fn address(bytes: &[u8]) -> Address {
    let mut storage = sys::zeroed_storage();
    let len = bytes
        .len()
        .min(core::mem::size_of::<libc::sockaddr_storage>());
    // The storage is plain data: fill it through its bytes.
    let dst = sys::storage_bytes_mut(&mut storage);
    if let (Some(dst), Some(src)) = (dst.get_mut(..len), bytes.get(..len)) {
        dst.copy_from_slice(src);
    }
    Address {
        storage,
        len: len as libc::socklen_t,
    }
}

/// The port of a server: `None` is 0, digits are a number up to 65535 (above is `EINVAL`), anything
/// else is a service name for the resolver (`Ok(None)`).
fn parse_port(port: Option<&[u8]>) -> Result<Option<u16>> {
    let Some(port) = port else { return Ok(Some(0)) };
    if port.is_empty() || !port.iter().all(u8::is_ascii_digit) {
        return Ok(None);
    }
    let value = port
        .iter()
        .try_fold(0u32, |n, d| {
            n.checked_mul(10)?.checked_add(u32::from(d - b'0'))
        })
        .filter(|v| *v <= 65535)
        .ok_or(Error::new(libc::EINVAL, "port is above 65535"))?;
    Ok(u16::try_from(value).ok())
}

fn inet(ip: [u8; 4], port: u16) -> Address {
    let mut b = [0u8; 16];
    b[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[4..8].copy_from_slice(&ip);
    address(&b)
}

fn inet6(ip: [u8; 16], port: u16) -> Address {
    let mut b = [0u8; 28];
    b[..2].copy_from_slice(&(libc::AF_INET6 as u16).to_ne_bytes());
    b[2..4].copy_from_slice(&port.to_be_bytes());
    b[8..24].copy_from_slice(&ip);
    address(&b)
}

/// Reads the address of a server (see `csock_create_server`): the wildcard for a `None` or empty
/// host, a numeric address as it is (read by `inet_pton(3)`; an IPv6 address with a `%scope` goes
/// to the resolver, as in CPython), `"<broadcast>"` for `AF_INET` as in CPython, the path or
/// `"@abstract"` name for `AF_UNIX`; anything else is [`Parsed::Resolve`]. Pure: no system call.
pub fn parse_address(family: c_int, host: Option<&[u8]>, port: Option<&[u8]>) -> Result<Parsed> {
    match family {
        libc::AF_UNIX => {
            if port.is_some() {
                return Err(Error::new(libc::EINVAL, "port is given with AF_UNIX"));
            }
            let path = host.ok_or(Error::new(libc::EINVAL, "host (the path) is NULL"))?;
            let mut b = [0u8; SUN_PATH_AT + SUN_PATH];
            b[..2].copy_from_slice(&(libc::AF_UNIX as u16).to_ne_bytes());
            let (name, abstract_) = match path.split_first() {
                Some((b'@', rest)) => (rest, true),
                _ => (path, false),
            };
            let at = SUN_PATH_AT + usize::from(abstract_);
            let room = b.len() - at;
            if name.len() > room {
                return Err(Error::new(libc::ENAMETOOLONG, "AF_UNIX path too long"));
            }
            if let Some(dst) = b.get_mut(at..at + name.len()) {
                dst.copy_from_slice(name);
            }
            // A path's length includes its NUL when there is room for it, as the kernel writes it.
            let nul = usize::from(!abstract_ && !name.is_empty() && name.len() < room);
            Ok(Parsed::Ready(address(
                b.get(..at + name.len() + nul).unwrap_or(&b),
            )))
        }
        libc::AF_INET | libc::AF_INET6 => {
            let Some(port) = parse_port(port)? else {
                return Ok(Parsed::Resolve);
            };
            let host = host.unwrap_or(b"");
            let v4 = family == libc::AF_INET;
            Ok(match host {
                b"" if v4 => Parsed::Ready(inet([0; 4], port)),
                b"" => Parsed::Ready(inet6([0; 16], port)),
                b"<broadcast>" if v4 => Parsed::Ready(inet([255; 4], port)),
                t if v4 => sys::inet_pton(libc::AF_INET, t)
                    .map_or(Parsed::Resolve, |ip| Parsed::Ready(inet(ip, port))),
                t if !t.contains(&b'%') => sys::inet_pton(libc::AF_INET6, t)
                    .map_or(Parsed::Resolve, |ip| Parsed::Ready(inet6(ip, port))),
                _ => Parsed::Resolve,
            })
        }
        _ => Err(Error::new(
            libc::EAFNOSUPPORT,
            "family is not AF_INET, AF_INET6 or AF_UNIX",
        )),
    }
}

/// The backlog `listen(2)` gets: 128 for `CSOCK_DEFAULT`, 0 for any other negative value.
pub fn backlog(backlog: c_int) -> c_int {
    match backlog {
        -1 => DEFAULT_BACKLOG,
        b if b < 0 => 0,
        b => b,
    }
}

fn opt(fd: sys::RawFd, level: c_int, name: c_int, value: c_int, what: &'static str) -> Result<()> {
    sys::setsockopt_int(fd, level, name, value).map_err(Error::at(what))
}

/// `socket.create_server((host, port), family, backlog, reuse_port, dualstack_ipv6)`; see
/// API.md. `bound` receives the address before `bind` is tried, for the message of a failure.
pub fn create_server(
    host: Option<&CStr>,
    port: Option<&CStr>,
    family: c_int,
    backlog_arg: c_int,
    flags: u32,
    bound: &mut Option<Address>,
) -> Result<csock_socket> {
    let flags = ServerFlags::from_bits(flags).ok_or(Error::new(
        libc::EINVAL,
        "flags other than CSOCK_SERVER_REUSE_PORT, CSOCK_SERVER_DUALSTACK and SOCK_NONBLOCK",
    ))?;
    let family = if family == -1 { libc::AF_INET } else { family };
    let dualstack = flags.contains(ServerFlags::DUALSTACK);
    if dualstack && family != libc::AF_INET6 {
        return Err(Error::new(
            libc::EINVAL,
            "CSOCK_SERVER_DUALSTACK requires AF_INET6",
        ));
    }
    let parsed = parse_address(family, host.map(CStr::to_bytes), port.map(CStr::to_bytes))?;
    let addr = match parsed {
        Parsed::Ready(addr) => addr,
        Parsed::Resolve => {
            let host = host.filter(|h| !h.is_empty());
            let list =
                resolve::resolve(host, Some(port.unwrap_or(c"0")), family, libc::AI_PASSIVE)?;
            let entry = list
                .iter()
                .next()
                .ok_or(Error::new(libc::EADDRNOTAVAIL, "getaddrinfo: no address"))?;
            Address {
                storage: entry.storage,
                len: entry.len,
            }
        }
    };
    let ty = libc::SOCK_STREAM;
    audit::check(&Event::socket_new(-1, family, ty, 0))?;
    let create_ty = if flags.contains(ServerFlags::NONBLOCK) {
        ty | libc::SOCK_NONBLOCK
    } else {
        ty
    };
    let fd = create::socket_cloexec(family, create_ty, 0)?;
    let raw = fd.raw();
    // As CPython: a failure is ignored here and shows at bind.
    let _ = sys::setsockopt_int(raw, libc::SOL_SOCKET, libc::SO_REUSEADDR, 1);
    let inet = matches!(family, libc::AF_INET | libc::AF_INET6);
    if flags.contains(ServerFlags::REUSE_PORT) && inet {
        opt(
            raw,
            libc::SOL_SOCKET,
            libc::SO_REUSEPORT,
            1,
            "setsockopt(SO_REUSEPORT)",
        )?;
    }
    if family == libc::AF_INET6 {
        if dualstack {
            opt(
                raw,
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                0,
                "setsockopt(IPV6_V6ONLY=0)",
            )
            .map_err(|err| Error::new(libc::EAFNOSUPPORT, err.what))?;
        } else {
            opt(
                raw,
                libc::IPPROTO_IPV6,
                libc::IPV6_V6ONLY,
                1,
                "setsockopt(IPV6_V6ONLY)",
            )?;
        }
    }
    *bound = Some(addr);
    sys::bind(raw, &addr.storage, addr.len).map_err(Error::at("bind"))?;
    sys::listen(raw, backlog(backlog_arg)).map_err(Error::at("listen"))?;
    Ok(create::into_socket(fd, family, ty, 0))
}

/// `socket.has_dualstack_ipv6()`: a probe socket, `IPV6_V6ONLY` = 0, close. Running out of
/// descriptors or memory is an error, not a "no".
pub fn has_dualstack_ipv6() -> Result<bool> {
    match sys::socket(libc::AF_INET6, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0) {
        Err(sys::Errno(e @ (libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM))) => {
            Err(Error::new(e, "socket(AF_INET6)"))
        }
        Err(_) => Ok(false),
        // Dropping the probe closes it.
        Ok(probe) => {
            Ok(sys::setsockopt_int(probe.raw(), libc::IPPROTO_IPV6, libc::IPV6_V6ONLY, 0).is_ok())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ready(family: c_int, host: Option<&str>, port: Option<&str>) -> Vec<u8> {
        match parse_address(family, host.map(str::as_bytes), port.map(str::as_bytes)).unwrap() {
            Parsed::Ready(a) => sys::storage_bytes(&a.storage, a.len).to_vec(),
            Parsed::Resolve => panic!("resolve"),
        }
    }

    fn resolves(family: c_int, host: &str, port: Option<&str>) -> bool {
        matches!(
            parse_address(family, Some(host.as_bytes()), port.map(str::as_bytes)),
            Ok(Parsed::Resolve)
        )
    }

    fn errno(family: c_int, host: Option<&str>, port: Option<&str>) -> c_int {
        match parse_address(family, host.map(str::as_bytes), port.map(str::as_bytes)) {
            Err(e) => e.errno.0,
            Ok(_) => 0,
        }
    }

    #[test]
    fn numeric_inet_addresses() {
        let b = ready(libc::AF_INET, Some("127.0.0.1"), Some("8080"));
        assert_eq!(b.len(), 16);
        assert_eq!(&b[2..8], &[0x1f, 0x90, 127, 0, 0, 1]);
        assert_eq!(&ready(libc::AF_INET, None, None)[2..8], &[0; 6]);
        assert_eq!(&ready(libc::AF_INET, Some(""), Some("0"))[4..8], &[0; 4]);
        assert_eq!(
            &ready(libc::AF_INET, Some("<broadcast>"), None)[4..8],
            &[255; 4]
        );
        let b = ready(libc::AF_INET6, Some("::1"), Some("65535"));
        assert_eq!(b.len(), 28);
        assert_eq!(&b[2..4], &[0xff, 0xff]);
        assert_eq!(b[23], 1);
        assert_eq!(&ready(libc::AF_INET6, Some(""), None)[8..24], &[0; 16]);
    }

    #[test]
    fn names_and_odd_forms_go_to_the_resolver() {
        assert!(resolves(libc::AF_INET, "localhost", None));
        assert!(resolves(libc::AF_INET, "127.1", None));
        assert!(resolves(libc::AF_INET, "127.000.0.1", None));
        assert!(resolves(libc::AF_INET, "::1", None));
        assert!(resolves(libc::AF_INET6, "127.0.0.1", None));
        assert!(resolves(libc::AF_INET6, "fe80::1%lo", None));
        assert!(resolves(libc::AF_INET, "127.0.0.1", Some("http")));
        assert!(resolves(libc::AF_INET, "\u{e9}", None));
    }

    #[test]
    fn bad_ports_and_families() {
        assert_eq!(errno(libc::AF_INET, None, Some("65536")), libc::EINVAL);
        assert_eq!(
            errno(libc::AF_INET, None, Some("99999999999999999999")),
            libc::EINVAL
        );
        assert_eq!(errno(libc::AF_UNIX, Some("/x"), Some("1")), libc::EINVAL);
        assert_eq!(errno(libc::AF_UNIX, None, None), libc::EINVAL);
        assert_eq!(errno(libc::AF_PACKET, None, None), libc::EAFNOSUPPORT);
    }

    #[test]
    fn unix_paths_and_abstract_names() {
        let b = ready(libc::AF_UNIX, Some("/tmp/s"), None);
        assert_eq!(&b[2..], b"/tmp/s\0");
        let b = ready(libc::AF_UNIX, Some("@name"), None);
        assert_eq!(&b[2..], b"\0name");
        assert_eq!(ready(libc::AF_UNIX, Some(""), None).len(), 2);
        assert_eq!(
            ready(libc::AF_UNIX, Some(&"p".repeat(108)), None).len(),
            110
        );
        assert_eq!(
            ready(libc::AF_UNIX, Some(&format!("@{}", "a".repeat(107))), None).len(),
            110
        );
        assert_eq!(
            errno(libc::AF_UNIX, Some(&"p".repeat(109)), None),
            libc::ENAMETOOLONG
        );
        let long = format!("@{}", "a".repeat(108));
        assert_eq!(errno(libc::AF_UNIX, Some(&long), None), libc::ENAMETOOLONG);
    }

    #[test]
    fn a_server_listens_and_a_failed_bind_names_its_address() {
        let mut bound = None;
        let s = create_server(Some(c"127.0.0.1"), None, -1, 5, 0, &mut bound).unwrap();
        assert_eq!(
            (s.family, s.r#type, s.proto),
            (libc::AF_INET, libc::SOCK_STREAM, 0)
        );
        let listening = sys::getsockopt_int(s.fd, libc::SOL_SOCKET, libc::SO_ACCEPTCONN);
        assert_eq!(listening, Ok(1));
        let (name, len) = sys::getsockname(s.fd).unwrap();
        let port = u16::from_be_bytes([name_bytes(&name, len)[2], name_bytes(&name, len)[3]]);
        let port = std::ffi::CString::new(port.to_string()).unwrap();
        let mut again = None;
        let err = create_server(Some(c"127.0.0.1"), Some(&port), -1, -1, 0, &mut again);
        assert_eq!(err.unwrap_err(), Error::new(libc::EADDRINUSE, "bind"));
        assert!(again.is_some(), "the address tried is kept for the message");
        let mut none = None;
        let err = create_server(
            None,
            None,
            libc::AF_INET,
            -1,
            CSOCK_SERVER_DUALSTACK,
            &mut none,
        );
        assert_eq!(err.unwrap_err().errno.0, libc::EINVAL);
        assert!(none.is_none(), "nothing was tried");
        sys::close(s.fd).unwrap();
    }

    fn name_bytes(storage: &libc::sockaddr_storage, len: libc::socklen_t) -> Vec<u8> {
        sys::storage_bytes(storage, len).to_vec()
    }

    #[test]
    fn backlogs() {
        assert_eq!(backlog(-1), 128);
        assert_eq!(backlog(-2), 0);
        assert_eq!(backlog(c_int::MIN), 0);
        assert_eq!(backlog(0), 0);
        assert_eq!(backlog(4096), 4096);
    }
}
