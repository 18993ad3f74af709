//! Addresses as text, and the `repr` of a socket, written `snprintf`-style into a caller's buffer.
//!
//! Decoding goes by the family in the address bytes and never reads past the length given.

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
        if let Some(dst) = self.0.get_mut(at..at + bytes.len()) {
            dst.copy_from_slice(bytes);
        }
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

impl Text<'_> {
    /// Appends a number in decimal.
    pub fn dec(&mut self, n: u64) {
        let mut digits = [0u8; 20];
        let mut n = n;
        let mut count = 0;
        for d in digits.iter_mut().rev() {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
            count += 1;
            if n == 0 {
                break;
            }
        }
        self.bytes(digits.get(digits.len() - count..).unwrap_or_default());
    }

    /// Appends a signed number in decimal.
    pub fn int(&mut self, n: i64) {
        if n < 0 {
            self.bytes(b"-");
        }
        self.dec(n.unsigned_abs());
    }

    /// Appends a number in lowercase hex, at least `width` digits.
    pub fn hex(&mut self, n: u64, width: usize) {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        let mut digits = [b'0'; 16];
        let mut n = n;
        let mut count = 0;
        for d in digits.iter_mut().rev() {
            if n == 0 && count >= width.max(1) {
                break;
            }
            *d = DIGITS[(n & 0xf) as usize];
            n >>= 4;
            count += 1;
        }
        self.bytes(digits.get(digits.len() - count..).unwrap_or_default());
    }

    fn ipv4(&mut self, octets: [u8; 4]) {
        for (i, octet) in octets.into_iter().enumerate() {
            if i > 0 {
                self.bytes(b".");
            }
            self.dec(u64::from(octet));
        }
    }

    /// inet_ntop's spelling of an IPv6 address: the longest run of two or more zero groups (the
    /// first of equal runs) as `::`, and `::a.b.c.d` / `::ffff:a.b.c.d` for IPv4-compatible and
    /// IPv4-mapped addresses.
    fn ipv6(&mut self, octets: [u8; 16]) {
        let mut words = [0u16; 8];
        for (i, w) in words.iter_mut().enumerate() {
            *w = u16::from_be_bytes([octets[2 * i], octets[2 * i + 1]]);
        }
        let (mut best, mut best_len, mut run, mut run_len) = (0, 0, 0, 0);
        for (i, &w) in words.iter().enumerate() {
            if w == 0 {
                if run_len == 0 {
                    run = i;
                }
                run_len += 1;
                if run_len > best_len {
                    (best, best_len) = (run, run_len);
                }
            } else {
                run_len = 0;
            }
        }
        if best_len < 2 {
            best_len = 0;
        }
        let zeros = best..best + best_len;
        for (i, &w) in words.iter().enumerate() {
            if zeros.contains(&i) {
                if i == best {
                    self.bytes(b":");
                }
                continue;
            }
            if i != 0 {
                self.bytes(b":");
            }
            if i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff)) {
                self.ipv4([octets[12], octets[13], octets[14], octets[15]]);
                return;
            }
            self.hex(u64::from(w), 1);
        }
        if best_len > 0 && zeros.end == 8 {
            self.bytes(b":");
        }
    }
}

fn u16_ne(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes(array(b, at))
}
fn u16_be(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes(array(b, at))
}
fn u32_ne(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes(array(b, at))
}
/// `N` bytes of `b` from `at` (zeros where `b` is shorter: callers check the length first).
fn array<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(src) = b.get(at..at + N) {
        out.copy_from_slice(src);
    }
    out
}

/// Writes the text of the address in `b` (the `len` bytes the kernel returned). `proto` selects
/// the CAN address form. See `csock_format_addr` for the forms.
pub fn write_addr(out: &mut Text<'_>, b: &[u8], proto: c_int) {
    if b.is_empty() {
        return;
    }
    if b.len() < 2 {
        return write_hex(out, b, None);
    }
    let family = c_int::from(u16_ne(b, 0));
    let len = b.len();
    let rest = b.get(2..).unwrap_or_default();
    match family {
        libc::AF_INET if len >= 8 => {
            out.ipv4(array(b, 4));
            out.bytes(b":");
            out.dec(u64::from(u16_be(b, 2)));
        }
        libc::AF_INET6 if len >= 24 => {
            out.bytes(b"[");
            out.ipv6(array(b, 8));
            let scope = if len >= 28 { u32_ne(b, 24) } else { 0 };
            if scope != 0 {
                out.bytes(b"%");
                out.dec(u64::from(scope));
            }
            out.bytes(b"]:");
            out.dec(u64::from(u16_be(b, 2)));
        }
        libc::AF_UNIX => match rest.first() {
            None => {}
            Some(0) => {
                // Abstract name: '@' for the leading NUL and for any NUL inside, as ss does.
                for &c in rest {
                    out.bytes(if c == 0 {
                        b"@"
                    } else {
                        core::slice::from_ref(&c)
                    });
                }
            }
            Some(_) => {
                let end = rest.iter().position(|&c| c == 0).unwrap_or(rest.len());
                out.bytes(rest.get(..end).unwrap_or_default());
            }
        },
        libc::AF_NETLINK if len >= 12 => {
            out.dec(u64::from(u32_ne(b, 4)));
            out.bytes(b":");
            out.dec(u64::from(u32_ne(b, 8)));
        }
        libc::AF_VSOCK if len >= 12 => {
            out.dec(u64::from(u32_ne(b, 8)));
            out.bytes(b":");
            out.dec(u64::from(u32_ne(b, 4)));
        }
        libc::AF_PACKET if len >= 8 => {
            out.int(i64::from(u32_ne(b, 4) as i32));
            out.bytes(b":0x");
            out.hex(u64::from(u16_be(b, 2)), 4);
        }
        libc::AF_CAN if len >= 8 => {
            out.int(i64::from(u32_ne(b, 4) as i32));
            match proto {
                libc::CAN_ISOTP if len >= 16 => {
                    out.bytes(b":0x");
                    out.hex(u64::from(u32_ne(b, 8)), 1);
                    out.bytes(b":0x");
                    out.hex(u64::from(u32_ne(b, 12)), 1);
                }
                libc::CAN_J1939 if len >= 21 => {
                    out.bytes(b":0x");
                    out.hex(u64::from_ne_bytes(array(b, 8)), 1);
                    out.bytes(b":0x");
                    out.hex(u64::from(u32_ne(b, 16)), 1);
                    out.bytes(b":0x");
                    out.hex(u64::from(b.get(20).copied().unwrap_or(0)), 1);
                }
                _ => {}
            }
        }
        _ => write_hex(out, rest, Some(family)),
    }
}

fn write_hex(out: &mut Text<'_>, bytes: &[u8], family: Option<c_int>) {
    out.bytes(b"family=");
    match family {
        Some(f) => out.int(i64::from(f)),
        None => out.bytes(b"?"),
    }
    if !bytes.is_empty() {
        out.bytes(b" ");
    }
    bytes.iter().for_each(|&byte| out.hex(u64::from(byte), 2));
}

/// `csock_format_addr`: the text of an address, returning its full length.
pub fn format_addr(addr: &[u8], proto: c_int, buf: &mut dyn Sink) -> usize {
    let mut out = Text::new(buf);
    write_addr(&mut out, addr, proto);
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

fn write_name(out: &mut Text<'_>, name: Option<&core::ffi::CStr>, value: c_int) {
    match name {
        Some(name) => out.bytes(name.to_bytes()),
        None => out.int(i64::from(value)),
    }
}

/// Appends `, key=<address>` when the address is known and its text is not empty, as Python's
/// repr does.
fn write_known_addr(out: &mut Text<'_>, key: &str, addr: Option<&[u8]>, proto: c_int) {
    let Some(bytes) = addr else {
        return;
    };
    if format_addr(bytes, proto, &mut Bytes(&mut [])) == 0 {
        return;
    }
    out.bytes(b", ");
    out.bytes(key.as_bytes());
    out.bytes(b"=");
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
    write_repr(&mut out, sock, local, peer);
    out.finish()
}

fn write_repr(out: &mut Text<'_>, sock: &csock_socket, local: Option<&[u8]>, peer: Option<&[u8]>) {
    out.bytes(if sock.fd < 0 {
        b"<csock [closed] fd="
    } else {
        b"<csock fd="
    });
    out.int(i64::from(sock.fd));
    out.bytes(b", family=");
    write_name(out, family_name(sock.family), sock.family);
    out.bytes(b", type=");
    write_name(out, type_name(sock.r#type), sock.r#type);
    out.bytes(b", proto=");
    out.int(i64::from(sock.proto));
    if sock.fd >= 0 {
        write_known_addr(out, "laddr", local, sock.proto);
        write_known_addr(out, "raddr", peer, sock.proto);
    }
    out.bytes(b">");
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv6Addr;

    unsafe extern "C" {
        fn inet_ntop(
            af: c_int,
            src: *const libc::c_void,
            dst: *mut libc::c_char,
            size: socklen_t,
        ) -> *const libc::c_char;
    }

    /// glibc's inet_ntop on the same bytes.
    fn ntop6(octets: [u8; 16]) -> String {
        let mut buf = [0 as libc::c_char; 64];
        // SAFETY: `octets` is an in6_addr's 16 bytes and `buf` is large enough for any text.
        let p = unsafe { inet_ntop(libc::AF_INET6, octets.as_ptr().cast(), buf.as_mut_ptr(), 64) };
        assert!(!p.is_null());
        // SAFETY: inet_ntop NUL-terminated `buf`.
        unsafe { core::ffi::CStr::from_ptr(buf.as_ptr()) }
            .to_str()
            .unwrap()
            .to_owned()
    }

    /// The IPv6 writer spells every address as inet_ntop does: each of the 256 patterns of
    /// zero and non-zero groups, with several values, and the IPv4-compatible and mapped forms.
    #[test]
    fn ipv6_text_is_inet_ntop() {
        let values = [1u16, 0xffff, 0x1234, 0xff];
        for pattern in 0u32..256 {
            for (k, &v) in values.iter().enumerate() {
                let mut octets = [0u8; 16];
                for g in 0..8 {
                    if pattern & (1 << g) != 0 {
                        let w = v.wrapping_add((g * 7 + k) as u16);
                        let w = if w == 0 { 1 } else { w };
                        octets[2 * g..2 * g + 2].copy_from_slice(&w.to_be_bytes());
                    }
                }
                let mut buf = [0u8; 64];
                let n = {
                    let mut sink = Bytes(&mut buf);
                    let mut t = Text::new(&mut sink);
                    t.ipv6(octets);
                    t.finish()
                };
                assert_eq!(
                    std::str::from_utf8(&buf[..n]).unwrap(),
                    ntop6(octets),
                    "{octets:?}"
                );
            }
        }
        for special in [
            [0u8; 16],
            Ipv6Addr::LOCALHOST.octets(),
            "::ffff:1.2.3.4".parse::<Ipv6Addr>().unwrap().octets(),
            "::1.2.3.4".parse::<Ipv6Addr>().unwrap().octets(),
            "::ffff:0:1.2.3.4".parse::<Ipv6Addr>().unwrap().octets(),
        ] {
            let mut buf = [0u8; 64];
            let mut sink = Bytes(&mut buf);
            let mut t = Text::new(&mut sink);
            t.ipv6(special);
            let n = t.finish();
            assert_eq!(std::str::from_utf8(&buf[..n]).unwrap(), ntop6(special));
        }
    }

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
