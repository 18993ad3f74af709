//! Addresses as text, and the `repr` of a socket, written `snprintf`-style into a caller's buffer.
//!
//! Decoding goes by the family in the address bytes and never reads past the length given.

use core::fmt::{self, Write};
use core::net::{Ipv4Addr, Ipv6Addr};

use libc::{c_int, socklen_t};

use crate::error::{Error, Result};
use crate::names::{family_name, type_name};
use crate::socket::csock_socket;
use crate::sys;

/// Where text goes: a buffer of `size()` bytes, written a piece at a time, never past what the
/// text needs (so that a `size` larger than the real buffer is harmless while the text fits).
pub trait Sink {
    /// The buffer's size, the NUL included.
    fn size(&self) -> usize;
    /// Writes `bytes` at offset `at`; `at + bytes.len() <= size()`.
    fn write_at(&mut self, at: usize, bytes: &[u8]);
}

/// A sink over a Rust buffer (an empty one only counts).
pub struct Bytes<'a>(pub &'a mut [u8]);

impl Sink for Bytes<'_> {
    fn size(&self) -> usize {
        self.0.len()
    }
    fn write_at(&mut self, at: usize, bytes: &[u8]) {
        self.0[at..at + bytes.len()].copy_from_slice(bytes);
    }
}

/// A `snprintf`-style writer: keeps what fits (leaving room for the NUL), counts everything.
pub struct Text<'a> {
    sink: &'a mut dyn Sink,
    len: usize,
}

impl<'a> Text<'a> {
    /// A writer into `sink`; an empty one only counts.
    pub fn new(sink: &'a mut dyn Sink) -> Self {
        Text { sink, len: 0 }
    }

    /// Appends raw bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        let keep = self.sink.size().saturating_sub(1);
        if self.len < keep {
            let n = bytes.len().min(keep - self.len);
            self.sink.write_at(self.len, &bytes[..n]);
        }
        self.len = self.len.saturating_add(bytes.len());
    }

    /// NUL-terminates (when the buffer is not empty) and returns the full length of the text.
    pub fn finish(self) -> usize {
        if let Some(last) = self.sink.size().checked_sub(1) {
            self.sink.write_at(self.len.min(last), &[0]);
        }
        self.len
    }
}

impl Write for Text<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.bytes(s.as_bytes());
        Ok(())
    }
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}
fn u16_be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}
fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}
fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    out.copy_from_slice(&b[at..at + N]);
    out
}

/// inet_ntop's spelling: like Rust's, but `::a.b.c.d` for IPv4-compatible addresses.
fn write_ipv6(out: &mut Text<'_>, ip: Ipv6Addr) -> fmt::Result {
    let s = ip.segments();
    if s[..6] == [0; 6] && s[6] != 0 {
        let [a, b, c, d] = array::<4>(&ip.octets(), 12);
        write!(out, "::{a}.{b}.{c}.{d}")
    } else {
        write!(out, "{ip}")
    }
}

/// Writes the text of the address in `b` (the `len` bytes the kernel returned). `proto` selects
/// the CAN address form. See `csock_format_addr` for the forms.
pub fn write_addr(out: &mut Text<'_>, b: &[u8], proto: c_int) -> fmt::Result {
    if b.is_empty() {
        return Ok(());
    }
    if b.len() < 2 {
        return write_hex(out, b, None);
    }
    let family = c_int::from(u16_ne(b, 0));
    let len = b.len();
    match family {
        libc::AF_INET if len >= 8 => {
            write!(out, "{}:{}", Ipv4Addr::from(array::<4>(b, 4)), u16_be(b, 2))
        }
        libc::AF_INET6 if len >= 24 => {
            out.bytes(b"[");
            write_ipv6(out, Ipv6Addr::from(array::<16>(b, 8)))?;
            let scope = if len >= 28 { u32_ne(b, 24) } else { 0 };
            if scope != 0 {
                write!(out, "%{scope}")?;
            }
            write!(out, "]:{}", u16_be(b, 2))
        }
        libc::AF_UNIX => {
            let path = &b[2..];
            match path.first() {
                None => {}
                Some(0) => {
                    // Abstract name: '@' for the leading NUL and for any NUL inside, as ss does.
                    for &c in path {
                        out.bytes(if c == 0 {
                            b"@"
                        } else {
                            core::slice::from_ref(&c)
                        });
                    }
                }
                Some(_) => {
                    let end = path.iter().position(|&c| c == 0).unwrap_or(path.len());
                    out.bytes(&path[..end]);
                }
            }
            Ok(())
        }
        libc::AF_NETLINK if len >= 12 => write!(out, "{}:{}", u32_ne(b, 4), u32_ne(b, 8)),
        libc::AF_VSOCK if len >= 12 => write!(out, "{}:{}", u32_ne(b, 8), u32_ne(b, 4)),
        libc::AF_PACKET if len >= 8 => {
            write!(out, "{}:0x{:04x}", u32_ne(b, 4) as i32, u16_be(b, 2))
        }
        libc::AF_CAN if len >= 8 => {
            let ifindex = u32_ne(b, 4) as i32;
            match proto {
                libc::CAN_ISOTP if len >= 16 => {
                    write!(out, "{ifindex}:0x{:x}:0x{:x}", u32_ne(b, 8), u32_ne(b, 12))
                }
                libc::CAN_J1939 if len >= 21 => {
                    let name = u64::from_ne_bytes(array::<8>(b, 8));
                    write!(
                        out,
                        "{ifindex}:0x{name:x}:0x{:x}:0x{:x}",
                        u32_ne(b, 16),
                        b[20]
                    )
                }
                _ => write!(out, "{ifindex}"),
            }
        }
        _ => write_hex(out, &b[2..], Some(family)),
    }
}

fn write_hex(out: &mut Text<'_>, bytes: &[u8], family: Option<c_int>) -> fmt::Result {
    match family {
        Some(f) => write!(out, "family={f}")?,
        None => out.bytes(b"family=?"),
    }
    if !bytes.is_empty() {
        out.bytes(b" ");
    }
    bytes.iter().try_for_each(|byte| write!(out, "{byte:02x}"))
}

/// `csock_format_addr`: the text of an address, returning its full length.
pub fn format_addr(addr: &[u8], proto: c_int, buf: &mut dyn Sink) -> usize {
    let mut out = Text::new(buf);
    // A Text never fails; it truncates and counts.
    let _ = write_addr(&mut out, addr, proto);
    out.finish()
}

/// `getsockname(2)` / `getpeername(2)` into a whole zeroed storage.
pub fn local_address(sock: &csock_socket) -> Result<(libc::sockaddr_storage, socklen_t)> {
    sys::getsockname(crate::lifecycle::live(sock)?).map_err(Error::at("getsockname"))
}

/// The peer's address; see [`local_address`].
pub fn peer_address(sock: &csock_socket) -> Result<(libc::sockaddr_storage, socklen_t)> {
    sys::getpeername(crate::lifecycle::live(sock)?).map_err(Error::at("getpeername"))
}

fn write_name(out: &mut Text<'_>, name: Option<&core::ffi::CStr>, value: c_int) -> fmt::Result {
    match name {
        Some(name) => {
            out.bytes(name.to_bytes());
            Ok(())
        }
        None => write!(out, "{value}"),
    }
}

/// Appends `, key=<address>` when the address is known and its text is not empty, as Python's
/// repr does.
fn write_known_addr(
    out: &mut Text<'_>,
    key: &str,
    addr: Option<&[u8]>,
    proto: c_int,
) -> fmt::Result {
    let Some(bytes) = addr else {
        return Ok(());
    };
    if format_addr(bytes, proto, &mut Bytes(&mut [])) == 0 {
        return Ok(());
    }
    write!(out, ", {key}=")?;
    write_addr(out, bytes, proto)
}

/// `csock_repr`: `<csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=...>`.
pub fn repr(sock: &csock_socket, buf: &mut dyn Sink) -> usize {
    let (local, peer) = if sock.fd >= 0 {
        (local_address(sock).ok(), peer_address(sock).ok())
    } else {
        (None, None)
    };
    repr_with(sock, known(&local), known(&peer), buf)
}

fn known(addr: &Option<(libc::sockaddr_storage, socklen_t)>) -> Option<&[u8]> {
    addr.as_ref()
        .map(|(storage, len)| sys::storage_bytes(storage, *len))
}

/// The text of [`repr`] with the socket's addresses given (`None`: not known): a pure function,
/// the fuzzing target of `csock_repr`.
pub fn repr_with(
    sock: &csock_socket,
    local: Option<&[u8]>,
    peer: Option<&[u8]>,
    buf: &mut dyn Sink,
) -> usize {
    let mut out = Text::new(buf);
    let _ = write_repr(&mut out, sock, local, peer);
    out.finish()
}

fn write_repr(
    out: &mut Text<'_>,
    sock: &csock_socket,
    local: Option<&[u8]>,
    peer: Option<&[u8]>,
) -> fmt::Result {
    out.bytes(if sock.fd < 0 {
        b"<csock [closed] fd="
    } else {
        b"<csock fd="
    });
    write!(out, "{}, family=", sock.fd)?;
    write_name(out, family_name(sock.family), sock.family)?;
    out.bytes(b", type=");
    write_name(out, type_name(sock.r#type), sock.r#type)?;
    write!(out, ", proto={}", sock.proto)?;
    if sock.fd >= 0 {
        write_known_addr(out, "laddr", local, sock.proto)?;
        write_known_addr(out, "raddr", peer, sock.proto)?;
    }
    out.bytes(b">");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(addr: &[u8], proto: c_int) -> String {
        let n = format_addr(addr, proto, &mut Bytes(&mut []));
        let mut buf = vec![0u8; n + 1];
        assert_eq!(format_addr(addr, proto, &mut Bytes(&mut buf)), n);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    fn inet(ip: [u8; 4], port: u16) -> Vec<u8> {
        let mut b = (libc::AF_INET as u16).to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend(ip);
        b.resize(16, 0);
        b
    }

    fn inet6(ip: &str, port: u16, scope: u32) -> Vec<u8> {
        let mut b = (libc::AF_INET6 as u16).to_ne_bytes().to_vec();
        b.extend(port.to_be_bytes());
        b.extend([0; 4]);
        b.extend(ip.parse::<Ipv6Addr>().unwrap().octets());
        b.extend(scope.to_ne_bytes());
        b
    }

    #[test]
    fn inet_and_inet6() {
        assert_eq!(text(&inet([127, 0, 0, 1], 8080), 0), "127.0.0.1:8080");
        assert_eq!(text(&inet6("::1", 443, 0), 0), "[::1]:443");
        assert_eq!(text(&inet6("fe80::1", 443, 2), 0), "[fe80::1%2]:443");
        assert_eq!(text(&inet6("::1.2.3.4", 443, 0), 0), "[::1.2.3.4]:443");
        assert_eq!(
            text(&inet6("::ffff:1.2.3.4", 1, 0), 0),
            "[::ffff:1.2.3.4]:1"
        );
    }

    #[test]
    fn unix_forms() {
        let family = (libc::AF_UNIX as u16).to_ne_bytes();
        assert_eq!(text(&family, 0), "");
        assert_eq!(text(&[&family[..], b"/tmp/s\0\0"].concat(), 0), "/tmp/s");
        assert_eq!(text(&[&family[..], b"\0name"].concat(), 0), "@name");
    }

    #[test]
    fn unknown_family_and_short_lengths_are_hex() {
        assert_eq!(text(&[], 0), "");
        assert_eq!(text(&[7], 0), "family=? 07");
        let mut b = 99u16.to_ne_bytes().to_vec();
        b.extend([0xde, 0xad]);
        assert_eq!(text(&b, 0), "family=99 dead");
        let short_inet = [&(libc::AF_INET as u16).to_ne_bytes()[..], &[0x1f, 0x90]].concat();
        assert_eq!(text(&short_inet, 0), "family=2 1f90");
    }

    #[test]
    fn truncation_is_snprintf_like() {
        let mut buf = [0xffu8; 4];
        let mut sink = Bytes(&mut buf);
        let mut t = Text::new(&mut sink);
        t.bytes(b"abcdef");
        assert_eq!(t.finish(), 6);
        assert_eq!(&buf, b"abc\0");
        let mut one = [0xffu8; 1];
        let mut sink = Bytes(&mut one);
        let mut t = Text::new(&mut sink);
        t.bytes(b"xy");
        assert_eq!(t.finish(), 2);
        assert_eq!(one, [0]);
    }

    #[test]
    fn repr_of_a_closed_socket() {
        let s = csock_socket::closed(libc::AF_INET, libc::SOCK_STREAM, 0);
        let mut buf = [0u8; 128];
        let n = repr(&s, &mut Bytes(&mut buf));
        assert_eq!(
            std::str::from_utf8(&buf[..n]).unwrap(),
            "<csock [closed] fd=-1, family=AF_INET, type=SOCK_STREAM, proto=0>"
        );
    }
}
