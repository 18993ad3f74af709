//! Fuzzing entry points, built only with the `fuzz` feature (never in the shipped library): one
//! `csock_fuzz_<target>(data, len)` per target, each feeding arbitrary bytes to one parser or
//! formatter of the library, through the exported C functions where there is one, and checking
//! what must hold of its result. A violation writes the invariant to standard error and aborts,
//! which is what a fuzzer (libFuzzer, `make fuzz`) and the corpus replay (`make fuzz-replay`)
//! detect. Every entry point returns 0.
//!
//! cbindgen:ignore

use core::ffi::{CStr, c_char};

use libc::{c_int, sockaddr, socklen_t};

use crate::activation::{self, ListenVars};
use crate::addr::{self, Sink};
use crate::error::Error;
use crate::fdpass;
use crate::serve::{self, Parsed};
use crate::socket::csock_socket;
use crate::sys::{self, rt::Buffer};
use crate::wait::{self, Deadline};

use super::{csock_constant, csock_constant64, csock_family_name, csock_format_addr};
use super::{csock_type_name, text_buf};

/// Aborts with `what` when `cond` does not hold.
fn check(cond: bool, what: &str) {
    if !cond {
        sys::fuzzing::fuzz_abort(what);
    }
}

/// The caller's bytes.
///
/// # Safety
/// `data` is NULL (then `len` is ignored) or readable for `len` bytes.
unsafe fn input<'a>(data: *const u8, len: usize) -> &'a [u8] {
    if data.is_null() {
        return &[];
    }
    // SAFETY: readable for `len` bytes, per the caller.
    unsafe { core::slice::from_raw_parts(data, len) }
}

/// Splits off the first `N` bytes (zero-filled when the input is shorter).
fn take<const N: usize>(data: &[u8]) -> ([u8; N], &[u8]) {
    let mut head = [0u8; N];
    let n = data.len().min(N);
    head[..n].copy_from_slice(&data[..n]);
    (head, &data[n..])
}

/// A heap buffer of `n` bytes, filled with `fill`.
fn buffer(n: usize, fill: u8) -> Buffer<u8> {
    match Buffer::new(n, fill) {
        Some(b) => b,
        None => sys::fuzzing::fuzz_abort("out of memory"),
    }
}

/// Checks the snprintf contract of a text function, given `text(buf, size)`: the length asked
/// with `(NULL, 0)`, the whole text into a buffer of exactly that length plus the NUL (with the
/// size given exactly and as `SIZE_MAX`), and a truncated copy of `cut` bytes. Returns the text.
fn snprintf_contract(cut: usize, text: impl Fn(*mut c_char, usize) -> c_int) -> Buffer<u8> {
    let n = text(core::ptr::null_mut(), 0);
    check(n >= 0, "the length asked with (NULL, 0) is not negative");
    let n = n as usize;
    let mut whole = buffer(n + 1, 0xa5);
    check(
        text(whole.as_mut_ptr().cast(), n + 1) == n as c_int,
        "the same length with a buffer",
    );
    check(whole[n] == 0, "NUL-terminated");
    check(!whole[..n].contains(&0), "no NUL inside the text");
    let mut exact = buffer(n + 1, 0x5a);
    check(
        text(exact.as_mut_ptr().cast(), usize::MAX) == n as c_int,
        "the same length with SIZE_MAX",
    );
    check(exact[..] == whole[..], "the same text with SIZE_MAX");
    let mut part = buffer(cut + 1, 0x3c);
    check(
        text(part.as_mut_ptr().cast(), cut) == n as c_int,
        "the full length when truncated",
    );
    if cut > 0 {
        let kept = n.min(cut - 1);
        check(
            part[..kept] == whole[..kept],
            "a truncated text is a prefix",
        );
        check(part[kept] == 0, "a truncated text is NUL-terminated");
    }
    check(
        part[cut.min(n + 1)..].iter().all(|&b| b == 0x3c),
        "nothing written past what the text needs",
    );
    whole
}

/// The C library's text of an IPv4 or IPv6 address, into `out`; its length.
fn ntop(family: c_int, addr: &[u8], out: &mut [u8; 64]) -> usize {
    match sys::fuzzing::numeric_host(family, addr, out) {
        Some(n) => n,
        None => sys::fuzzing::fuzz_abort("getnameinfo failed"),
    }
}

/// `csock_format_addr` on arbitrary bytes. Input: a protocol selector byte, a truncation size
/// byte, then the address bytes (their number is `len`). Beyond the snprintf contract, IPv4 and
/// IPv6 texts are compared with `inet_ntop(3)` (which is what CPython shows).
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_format_addr(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    let ([selector, cut], addr) = take::<2>(data);
    let proto = match selector {
        0 => 0,
        1 => libc::CAN_ISOTP,
        2 => libc::CAN_J1939,
        other => c_int::from(other),
    };
    let Ok(addr_len) = socklen_t::try_from(addr.len()) else {
        return 0;
    };
    let ptr = if addr.is_empty() {
        core::ptr::null()
    } else {
        addr.as_ptr().cast::<sockaddr>()
    };
    let text = snprintf_contract(usize::from(cut), |buf, size| {
        // SAFETY: `ptr` is readable for `addr_len` bytes; `buf` writable for what the call needs.
        unsafe { csock_format_addr(ptr, addr_len, proto, buf, size) }
    });
    let text = &text[..text.len() - 1];
    let family = if addr.len() >= 2 {
        c_int::from(u16::from_ne_bytes([addr[0], addr[1]]))
    } else {
        -1
    };
    let unnamed = family == libc::AF_UNIX && addr.len() == 2;
    check(
        text.is_empty() == (addr.is_empty() || unnamed),
        "the empty text only for len 0 and an unnamed AF_UNIX address",
    );
    let mut want = [0u8; 64];
    if family == libc::AF_INET && addr.len() >= 8 {
        let n = ntop(libc::AF_INET, &addr[4..8], &mut want);
        check(
            text.starts_with(&want[..n]),
            "AF_INET: the address as inet_ntop",
        );
        check(text.get(n) == Some(&b':'), "AF_INET: then the port");
    } else if family == libc::AF_INET6 && addr.len() >= 24 {
        let n = ntop(libc::AF_INET6, &addr[8..24], &mut want);
        check(text.first() == Some(&b'['), "AF_INET6: [");
        check(
            text[1..].starts_with(&want[..n]),
            "AF_INET6: the address as inet_ntop",
        );
    }
    0
}

/// `csock_repr`'s text (`addr::repr_with`, the exported function without its two system calls)
/// for an arbitrary socket value and addresses. Input: fd selector, family, type, proto (4 bytes
/// each), a truncation size byte, a split byte, then the bytes of the two addresses.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_repr(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    let (head, rest) = take::<18>(data);
    let int = |i: usize| c_int::from_ne_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let sock = csock_socket {
        fd: int(0),
        family: int(4),
        r#type: int(8),
        proto: int(12),
    };
    let (cut, split) = (head[16], usize::from(head[17]));
    let (local, peer) = rest.split_at(split.min(rest.len()));
    let local = (!local.is_empty()).then_some(local);
    let peer = (split < 255).then_some(peer);
    let text = snprintf_contract(usize::from(cut), |buf, size| match text_buf(buf, size) {
        Ok(mut sink) => {
            let sink: &mut dyn Sink = &mut sink;
            addr::repr_with(&sock, local, peer, sink) as c_int
        }
        Err(_) => -1,
    });
    let text = &text[..text.len() - 1];
    let head: &[u8] = if sock.fd < 0 {
        b"<csock [closed] fd="
    } else {
        b"<csock fd="
    };
    check(text.starts_with(head), "starts as Python's repr");
    check(text.ends_with(b">"), "ends with >");
    // SAFETY: csock_family_name returns NULL or a static C string.
    if let Some(name) = unsafe { csock_family_name(sock.family).as_ref() } {
        // SAFETY: as above.
        let name = unsafe { CStr::from_ptr(name) }.to_bytes();
        check(
            text.windows(name.len() + 8)
                .any(|w| w.starts_with(b"family=") && &w[7..7 + name.len()] == name),
            "the family's name",
        );
    }
    0
}

/// The name lookups on arbitrary bytes: `csock_constant` and `csock_constant64` on the bytes as a
/// name (up to the first NUL), and `csock_family_name` / `csock_type_name` on the first four as
/// an `int`, each name found looked up again.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_names(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    let end = data.iter().position(|&b| b == 0).unwrap_or(data.len());
    let mut name = buffer(end + 1, 0);
    name[..end].copy_from_slice(&data[..end]);
    let (mut v32, mut v64) = (0x5a5a_5a5a as c_int, 0x5a5a_5a5a_5a5a_5a5a_i64);
    // SAFETY: `name` is NUL-terminated; the values are writable.
    let (r32, r64) = unsafe {
        (
            csock_constant(name.as_ptr().cast(), &mut v32),
            csock_constant64(name.as_ptr().cast(), &mut v64),
        )
    };
    check(r32 == r64, "csock_constant and csock_constant64 agree");
    check(r32 == 0 || r32 == -libc::ENOENT, "found, or -ENOENT");
    if r32 == 0 {
        check(v32 == v64 as u32 as c_int, "the int is the 32-bit pattern");
    } else {
        check(
            v32 == 0x5a5a_5a5a && v64 == 0x5a5a_5a5a_5a5a_5a5a,
            "untouched on -ENOENT",
        );
    }
    let (value, _) = take::<4>(data);
    let value = c_int::from_ne_bytes(value);
    let flags = libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
    for (name, prefix, want) in [
        (csock_family_name(value), &b"AF_"[..], value),
        (csock_type_name(value), &b"SOCK_"[..], value & !flags),
    ] {
        if name.is_null() {
            continue;
        }
        // SAFETY: the names are static C strings.
        let text = unsafe { CStr::from_ptr(name) }.to_bytes();
        check(text.starts_with(prefix), "a name of its kind");
        let mut found = 0;
        // SAFETY: as above; `found` is writable.
        let r = unsafe { csock_constant(name, &mut found) };
        check(
            r == 0 && found == want,
            "a name found is a constant of its value",
        );
    }
    0
}

/// A reference for the activation parser, written independently of it: what sd_listen_fds
/// accepts, strictly (digits only; no sign, space or overflow).
fn reference_listen(vars: ListenVars<'_>, own_pid: c_int) -> Result<Option<usize>, ()> {
    fn number(text: &[u8]) -> Option<u64> {
        // Leading zeros are digits like any other ("007" is 7); a value past u32 is too large
        // for every use below, and saturates there.
        if text.is_empty() || text.iter().any(|c| !c.is_ascii_digit()) {
            return None;
        }
        Some(text.iter().fold(0u64, |n, &c| {
            (n * 10 + u64::from(c - b'0')).min(u64::from(u32::MAX) + 1)
        }))
    }
    let Some(pid) = vars.pid else {
        return Ok(None);
    };
    match number(pid) {
        Some(p) if p >= 1 && p <= c_int::MAX as u64 => {
            if p != own_pid as u64 {
                return Ok(None);
            }
        }
        _ => return Err(()),
    }
    let Some(fds) = vars.fds else {
        return Ok(None);
    };
    let n = match number(fds) {
        Some(n) if n >= 1 && n <= (c_int::MAX - 3) as u64 => n as usize,
        _ => return Err(()),
    };
    if let Some(names) = vars.names {
        let (mut count, mut current, mut longest) = (0usize, 0usize, 0usize);
        if !names.is_empty() {
            count = 1;
            for &c in names {
                if c == b':' {
                    count += 1;
                    current = 0;
                } else {
                    current += 1;
                    longest = longest.max(current);
                }
            }
        }
        if count != n || longest > 255 {
            return Err(());
        }
    }
    Ok(Some(n))
}

/// The `LISTEN_PID` / `LISTEN_FDS` / `LISTEN_FDNAMES` parser (`activation::parse`) on arbitrary
/// values, compared with [`reference_listen`]. Input: a presence byte (bit 0: pid, 1: fds,
/// 2: names; bit 3: this process is the pid given), this process's id (4 bytes), then the
/// values, separated by NUL bytes.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_activation(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    let ([present, a, b, c, d], rest) = take::<5>(data);
    let mut parts = rest.split(|&x| x == 0);
    let (pid, fds, names) = (parts.next(), parts.next(), parts.next());
    let vars = ListenVars {
        pid: pid.filter(|_| present & 1 != 0),
        fds: fds.filter(|_| present & 2 != 0),
        names: names.filter(|_| present & 4 != 0),
    };
    let mut own = c_int::from_ne_bytes([a, b, c, d]);
    if present & 8 != 0 {
        if let Some(pid) = vars.pid.and_then(|p| core::str::from_utf8(p).ok()) {
            own = pid.parse::<c_int>().unwrap_or(own);
        }
    }
    let got = activation::parse(vars, own);
    let want = reference_listen(vars, own);
    match (&got, &want) {
        (Ok(g), Ok(w)) => check(g == w, "the parser agrees with the reference"),
        (Err(e), Err(())) => check(e.errno.0 == libc::EINVAL, "a malformed value is EINVAL"),
        _ => check(false, "the parser agrees with the reference on success"),
    }
    0
}

/// Timeout arithmetic (`wait::remaining_ms`, `Deadline`) on arbitrary times, compared with the
/// same arithmetic in 128 bits. Input: two times (8 bytes each) and a timeout (4 bytes).
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_wait(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    let (head, _) = take::<20>(data);
    let i64_at = |i: usize| {
        let mut b = [0u8; 8];
        b.copy_from_slice(&head[i..i + 8]);
        i64::from_ne_bytes(b)
    };
    let (at, now) = (i64_at(0), i64_at(8));
    let timeout = c_int::from_ne_bytes([head[16], head[17], head[18], head[19]]);
    let left = wait::remaining_ms(at, now);
    let want = (i128::from(at) - i128::from(now)).clamp(0, i128::from(c_int::MAX));
    check(
        i128::from(left) == want,
        "remaining_ms is the clamped difference",
    );
    let (x, y) = (Deadline::At(at), Deadline::At(now));
    check(
        x.min(y) == Deadline::At(at.min(now)),
        "min of two deadlines",
    );
    check(
        x.min(Deadline::Never) == x && Deadline::Never.min(y) == y,
        "Never is no limit",
    );
    check(Deadline::Never.remaining() == -1, "no limit is -1");
    let r = x.remaining();
    check(
        (0..=c_int::MAX).contains(&r),
        "a deadline's time left is what poll takes",
    );
    match Deadline::after(timeout) {
        Deadline::Never => check(timeout < 0, "only a negative timeout waits without limit"),
        Deadline::At(_) => check(timeout >= 0, "a timeout of 0 or more has a deadline"),
    }
    if timeout >= 0 {
        let left = Deadline::after(timeout).remaining();
        check(
            (0..=timeout).contains(&left),
            "a fresh deadline's time left is at most the timeout",
        );
    }
    0
}

/// `csock_create_server`'s address parsing (`serve::parse_address`, no system call) on arbitrary
/// text. Input: a family selector byte (0 `AF_INET`, 1 `AF_INET6`, 2 `AF_UNIX`, else the byte),
/// a presence byte (bit 0: host given, bit 1: port given), then the host and the port, separated
/// by a NUL. Compared with `inet_pton(3)` (what CPython tries before the resolver) for numeric
/// hosts, with the port's rules, and for `AF_UNIX` with `csock_format_addr` (the round trip).
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_serve(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    let ([selector, present], rest) = take::<2>(data);
    let family = match selector {
        0 => libc::AF_INET,
        1 => libc::AF_INET6,
        2 => libc::AF_UNIX,
        other => c_int::from(other),
    };
    let mut parts = rest.splitn(2, |&b| b == 0);
    let host = parts.next().filter(|_| present & 1 != 0);
    let port = parts.next().filter(|_| present & 2 != 0);
    let got = serve::parse_address(family, host, port);
    match family {
        libc::AF_UNIX => check_unix_server(host, port, got),
        libc::AF_INET | libc::AF_INET6 => check_inet_server(family, host, port, got),
        _ => check(
            matches!(got, Err(e) if e.errno.0 == libc::EAFNOSUPPORT),
            "another family is EAFNOSUPPORT",
        ),
    }
    0
}

fn check_unix_server(host: Option<&[u8]>, port: Option<&[u8]>, got: Result<Parsed, Error>) {
    if port.is_some() || host.is_none() {
        check(
            matches!(got, Err(e) if e.errno.0 == libc::EINVAL),
            "AF_UNIX with a port or without a path is EINVAL",
        );
        return;
    }
    let host = host.unwrap_or_default();
    let (name, abstract_) = match host.split_first() {
        Some((b'@', rest)) => (rest, true),
        _ => (host, false),
    };
    let room = 108 - usize::from(abstract_);
    if name.len() > room {
        check(
            matches!(got, Err(e) if e.errno.0 == libc::ENAMETOOLONG),
            "an AF_UNIX name too long is ENAMETOOLONG",
        );
        return;
    }
    let Ok(Parsed::Ready(addr)) = got else {
        return check(false, "an AF_UNIX path that fits is an address");
    };
    let bytes = sys::storage_bytes(&addr.storage, addr.len);
    check(
        bytes.get(..2) == Some(&(libc::AF_UNIX as u16).to_ne_bytes()[..]),
        "AF_UNIX family",
    );
    // The round trip: the address's text is the host as given (csock_format_addr writes a NUL
    // of an abstract name as '@', and stops a path at its first NUL).
    let mut text = [0u8; 128];
    let mut sink = addr::Bytes(&mut text);
    let n = addr::format_addr(bytes, 0, &mut sink);
    let shown = &text[..n.min(text.len())];
    let want: &[u8] = if abstract_ {
        host
    } else {
        let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
        &name[..end]
    };
    if abstract_ {
        check(
            shown.len() == want.len(),
            "an abstract name's text has its length",
        );
        check(
            shown
                .iter()
                .zip(want)
                .all(|(&s, &w)| s == w || (w == 0 && s == b'@')),
            "an abstract name's text is the host",
        );
    } else {
        check(shown == want, "a path's text is the path");
    }
}

fn check_inet_server(
    family: c_int,
    host: Option<&[u8]>,
    port: Option<&[u8]>,
    got: Result<Parsed, Error>,
) {
    // The port: absent is 0, digits up to 65535 a number, more EINVAL, anything else a name.
    let port_value = match port {
        None => Some(0u32),
        Some(p) if !p.is_empty() && p.iter().all(u8::is_ascii_digit) => Some(
            p.iter()
                .fold(0u32, |n, &d| (n * 10 + u32::from(d - b'0')).min(70000)),
        ),
        Some(_) => None,
    };
    match port_value {
        Some(v) if v > 65535 => {
            return check(
                matches!(got, Err(e) if e.errno.0 == libc::EINVAL),
                "a port above 65535 is EINVAL",
            );
        }
        None => {
            return check(
                matches!(got, Ok(Parsed::Resolve)),
                "a service name goes to the resolver",
            );
        }
        Some(_) => {}
    }
    let port_value = port_value.unwrap_or(0) as u16;
    let host = host.unwrap_or_default();
    let v4 = family == libc::AF_INET;
    let want: Option<[u8; 16]> = if host.is_empty() {
        Some([0; 16])
    } else if v4 && host == b"<broadcast>" {
        Some([255, 255, 255, 255, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])
    } else if !v4 && host.contains(&b'%') {
        None
    } else {
        sys::fuzzing::parse_numeric(family, host)
    };
    match (got, want) {
        (Ok(Parsed::Ready(addr)), Some(ip)) => {
            let b = sys::storage_bytes(&addr.storage, addr.len);
            check(
                b.get(..2) == Some(&(family as u16).to_ne_bytes()[..]),
                "the family asked",
            );
            check(
                b.get(2..4) == Some(&port_value.to_be_bytes()[..]),
                "the port given",
            );
            let (at, n) = if v4 { (4, 4) } else { (8, 16) };
            check(
                b.get(at..at + n) == Some(&ip[..n]),
                "the address inet_pton reads",
            );
        }
        (Ok(Parsed::Resolve), None) => {}
        (Ok(Parsed::Ready(_)), None) => check(false, "numeric where inet_pton is not"),
        (Ok(Parsed::Resolve), Some(_)) => check(false, "a name where inet_pton reads an address"),
        (Err(_), _) => check(false, "a valid port never fails"),
    }
}

/// The `recv_fds` control-message walk (`fdpass::control_messages`, `fdpass::installed`) on
/// arbitrary bytes, as a kernel-filled control buffer. Every message lies in the buffer at an
/// aligned offset; the walk agrees with the C library's `CMSG_FIRSTHDR` / `CMSG_NXTHDR` on every
/// message those return (the walk also reports a truncated last one, which they skip); the
/// descriptors are the non-negative ints of `SCM_RIGHTS` messages and the first of `SCM_PIDFD`.
///
/// # Safety
/// `data` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_fuzz_cmsg(data: *const u8, len: usize) -> c_int {
    // SAFETY: per the contract.
    let data = unsafe { input(data, len) };
    // An aligned copy, as a control buffer is.
    let words = data.len().div_ceil(8);
    let Some(mut aligned) = Buffer::new(words, 0u64) else {
        sys::fuzzing::fuzz_abort("out of memory");
    };
    // SAFETY: the buffer holds `words * 8 >= data.len()` bytes, initialised.
    let control =
        unsafe { core::slice::from_raw_parts_mut(aligned.as_mut_ptr().cast::<u8>(), data.len()) };
    control.copy_from_slice(data);
    let base = control.as_ptr() as usize;
    let mut walked = 0usize;
    let mut last_end = 0usize;
    let mut reference = [(0usize, 0usize, 0, 0); 64];
    let mut n_ref = 0;
    let mut ended = false;
    sys::fuzzing::walk_cmsg(control, |offset, cmsg_len, level, kind| {
        // CMSG_FIRSTHDR returns a first header whatever its length; one shorter than a header
        // carries nothing and ends the walk (CMSG_NXTHDR stops there too).
        ended |= cmsg_len < fdpass::HEADER;
        if ended {
            return;
        }
        if n_ref < reference.len() {
            reference[n_ref] = (offset, cmsg_len, level, kind);
        }
        n_ref += 1;
    });
    for (i, m) in fdpass::control_messages(control).enumerate() {
        let offset = m.data.as_ptr() as usize - base - fdpass::HEADER;
        check(offset % 8 == 0, "a message starts at an aligned offset");
        check(offset >= last_end, "messages do not overlap");
        check(
            offset + fdpass::HEADER + m.data.len() <= control.len(),
            "a message lies in the buffer",
        );
        last_end = offset + fdpass::HEADER;
        if i < n_ref.min(reference.len()) {
            let (r_off, r_len, r_level, r_kind) = reference[i];
            check(r_off == offset, "the C library's walk: the same offset");
            check(
                r_level == m.level && r_kind == m.kind,
                "the same level and type",
            );
            check(
                m.data.len()
                    == r_len
                        .saturating_sub(fdpass::HEADER)
                        .min(control.len() - offset - fdpass::HEADER),
                "the same payload",
            );
        }
        walked = i + 1;
    }
    check(walked >= n_ref, "every message the C library's walk finds");
    check(
        walked <= n_ref + 1,
        "at most one more (a truncated last message)",
    );
    let mut passed = 0usize;
    for fd in fdpass::installed(control) {
        check(fd.fd() >= 0, "only non-negative descriptors");
        passed += 1;
    }
    check(
        passed <= control.len() / 4,
        "no more descriptors than ints in the buffer",
    );
    0
}
