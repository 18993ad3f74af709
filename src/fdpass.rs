//! Passing descriptors over unix sockets: `socket.send_fds` / `socket.recv_fds`, done right.
//!
//! - One `sendmsg(2)` / `recvmsg(2)` with `SCM_RIGHTS`. The caller's flags (`MSG_PEEK`,
//!   `MSG_DONTWAIT`, `MSG_WAITALL`, ...) and address reach the kernel (CPython drops both,
//!   gh-107898); `CSOCK_EINTR` follows the rule of every call that waits ([`Signals`]).
//! - Sending always adds `MSG_NOSIGNAL`: a closed peer is `EPIPE`, never `SIGPIPE`. More than
//!   [`SCM_MAX_FD`] descriptors, or descriptors without a data byte on a stream socket (which the
//!   kernel would drop silently), are `EINVAL` before any system call.
//! - Receiving always adds `MSG_CMSG_CLOEXEC`, so every descriptor is close-on-exec from the call
//!   that installs it. At most `maxfds` of them are kept: extra ones (a control buffer rounded up
//!   by alignment has room for more) are closed again and `MSG_CTRUNC` reported; descriptors of
//!   other control messages (`SCM_PIDFD`), which the caller has no way to receive, are closed.
//!   On every failure, everything the kernel installed is closed.
//!
//! The control messages the kernel returns are read by [`installed`], a pure function over
//! bytes (no kernel, no pointers), so that every shape can be tested and fuzzed: several
//! `SCM_RIGHTS` messages, `SCM_CREDENTIALS` and others mixed in, a message cut off by the end of
//! the buffer, lengths that make no sense.

use core::mem;

use libc::c_int;

use crate::create::Address;
use crate::error::{Error, Result};
use crate::socket::csock_socket;
use crate::sys::{self, Fd, IoVecs, RawFd, RecvBuf};
use crate::wait::Signals;

/// `SCM_MAX_FD`: the most descriptors Linux passes in one message.
pub(crate) const SCM_MAX_FD: usize = 253;

/// `SCM_PIDFD` (Linux 6.5): a pidfd of the sender, installed when `SO_PASSPIDFD` is set.
pub(crate) const SCM_PIDFD: c_int = 0x04;

const INT: usize = mem::size_of::<c_int>();

/// The alignment of control messages: the kernel's and glibc's `CMSG_ALIGN`, `sizeof(long)`.
const ALIGN: usize = mem::size_of::<usize>();

/// `CMSG_ALIGN(len)`; `None` when it overflows.
pub const fn align(len: usize) -> Option<usize> {
    match len.checked_add(ALIGN - 1) {
        Some(n) => Some(n & !(ALIGN - 1)),
        None => None,
    }
}

/// The size of a control message header (`struct cmsghdr`: `size_t cmsg_len; int cmsg_level;
/// int cmsg_type;`), aligned: 16 bytes on 64-bit Linux.
pub const HEADER: usize = (mem::size_of::<usize>() + 2 * INT + ALIGN - 1) & !(ALIGN - 1);

// The layout the walk reads is the C library's.
const _: () = assert!(mem::size_of::<libc::cmsghdr>() == HEADER);
const _: () = assert!(mem::offset_of!(libc::cmsghdr, cmsg_len) == 0);
const _: () = assert!(mem::offset_of!(libc::cmsghdr, cmsg_level) == mem::size_of::<usize>());
const _: () = assert!(mem::offset_of!(libc::cmsghdr, cmsg_type) == mem::size_of::<usize>() + INT);

/// `CMSG_LEN(data)`: a message's length with `data` bytes of payload.
pub const fn cmsg_len(data: usize) -> usize {
    HEADER + data
}

/// `CMSG_SPACE(data)`: the room a message with `data` bytes of payload takes, padding included.
pub const fn cmsg_space(data: usize) -> usize {
    HEADER + ((data + ALIGN - 1) & !(ALIGN - 1))
}

/// The control buffer of [`send`]: one `SCM_RIGHTS` message of up to [`SCM_MAX_FD`] ints.
const SEND_CONTROL: usize = cmsg_space(SCM_MAX_FD * INT);

/// The room [`recv`] adds for the messages the kernel puts before the descriptors when the
/// receiving socket asks for them: `SCM_CREDENTIALS` (`SO_PASSCRED`) and `SCM_PIDFD`
/// (`SO_PASSPIDFD`). Without it, credentials would take the descriptors' room.
const EXTRA_ROOM: usize = cmsg_space(mem::size_of::<libc::ucred>()) + cmsg_space(INT);

/// The control buffer of [`recv`] at most, on the stack: about 1 KB.
const RECV_CONTROL: usize = SEND_CONTROL + EXTRA_ROOM;

/// The most descriptors a control buffer of [`recv`] can report, whatever its contents.
const KEEP_CAP: usize = RECV_CONTROL / INT;

/// One control message: its level and type, and the payload bytes present in the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ControlMessage<'a> {
    /// `cmsg_level` (`SOL_SOCKET` for descriptors and credentials).
    pub level: c_int,
    /// `cmsg_type` (`SCM_RIGHTS`, `SCM_CREDENTIALS`, ...).
    pub kind: c_int,
    /// The payload, cut off at the end of the buffer.
    pub data: &'a [u8],
    /// The header claimed more bytes than the buffer holds (the kernel truncated the message).
    pub truncated: bool,
}

/// The control messages in a buffer, in order ([`control_messages`]).
#[derive(Clone, Debug)]
pub struct ControlMessages<'a> {
    rest: &'a [u8],
}

/// Walks the control messages in `control` (the bytes the kernel reported, `msg_controllen`),
/// with the C library's rules (`CMSG_FIRSTHDR` / `CMSG_NXTHDR`): each message starts at an
/// aligned offset, a header that does not fit or whose `cmsg_len` is shorter than a header ends
/// the walk, and a `cmsg_len` past the end gives a truncated last message.
pub fn control_messages(control: &[u8]) -> ControlMessages<'_> {
    ControlMessages { rest: control }
}

fn read_usize(bytes: &[u8], at: usize) -> Option<usize> {
    let raw = bytes.get(at..at.checked_add(mem::size_of::<usize>())?)?;
    raw.try_into().ok().map(usize::from_ne_bytes)
}

fn read_int(bytes: &[u8], at: usize) -> Option<c_int> {
    let raw = bytes.get(at..at.checked_add(INT)?)?;
    raw.try_into().ok().map(c_int::from_ne_bytes)
}

impl<'a> Iterator for ControlMessages<'a> {
    type Item = ControlMessage<'a>;

    fn next(&mut self) -> Option<ControlMessage<'a>> {
        let rest = mem::take(&mut self.rest);
        let header = rest.get(..HEADER)?;
        let len = read_usize(header, 0)?;
        let level = read_int(header, mem::size_of::<usize>())?;
        let kind = read_int(header, mem::size_of::<usize>() + INT)?;
        if len < HEADER {
            return None;
        }
        let end = len.min(rest.len());
        let data = rest.get(HEADER..end).unwrap_or_default();
        // The next message starts at CMSG_ALIGN(cmsg_len); nothing follows a truncated one.
        self.rest = align(len)
            .and_then(|next| rest.get(next..))
            .unwrap_or_default();
        Some(ControlMessage {
            level,
            kind,
            data,
            truncated: len > rest.len(),
        })
    }
}

/// A descriptor that a control message says the kernel installed in this process.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Installed {
    /// Passed by the sender (`SCM_RIGHTS`), in the order sent.
    Passed(RawFd),
    /// Installed for another reason (`SCM_PIDFD`): not the sender's to pass, and not the
    /// caller's to receive.
    Other(RawFd),
}

impl Installed {
    /// The descriptor.
    pub fn fd(self) -> RawFd {
        match self {
            Installed::Passed(fd) | Installed::Other(fd) => fd,
        }
    }
}

/// Every descriptor the control messages in `control` report, in order: the ints of each
/// `SOL_SOCKET` / `SCM_RIGHTS` message (a truncated trailing int is ignored) as
/// [`Installed::Passed`], the int of `SCM_PIDFD` as [`Installed::Other`]; other messages
/// (`SCM_CREDENTIALS`, `SCM_SECURITY`, other levels) are skipped, and negative values, which are
/// no descriptor, too. Pure: it reads bytes and nothing else.
pub fn installed(control: &[u8]) -> impl Iterator<Item = Installed> + '_ {
    control_messages(control)
        .filter(|m| m.level == libc::SOL_SOCKET)
        .flat_map(|m| {
            let kind = match m.kind {
                libc::SCM_RIGHTS => Some(Installed::Passed as fn(RawFd) -> Installed),
                SCM_PIDFD => Some(Installed::Other as fn(RawFd) -> Installed),
                _ => None,
            };
            let data = if kind.is_some() { m.data } else { &[] };
            // SCM_PIDFD carries one int; SCM_RIGHTS as many as fit.
            let count = if m.kind == SCM_PIDFD { 1 } else { usize::MAX };
            data.chunks_exact(INT)
                .take(count)
                .filter_map(|c| c.try_into().ok().map(c_int::from_ne_bytes))
                .filter(|fd| *fd >= 0)
                .filter_map(move |fd| kind.map(|k| k(fd)))
        })
}

/// Writes one `SOL_SOCKET` / `SCM_RIGHTS` message carrying `fds` at the start of `out`; returns
/// the bytes it takes (`CMSG_SPACE`, padding zeroed), or `None` when `out` is too small.
pub fn rights_message(fds: &[RawFd], out: &mut [u8]) -> Option<usize> {
    let payload = fds.len().checked_mul(INT)?;
    let space = align(payload)?.checked_add(HEADER)?;
    let out = out.get_mut(..space)?;
    out.fill(0);
    let (header, data) = out.split_at_mut(HEADER);
    let word = mem::size_of::<usize>();
    header
        .get_mut(..word)?
        .copy_from_slice(&cmsg_len(payload).to_ne_bytes());
    header
        .get_mut(word..word + INT)?
        .copy_from_slice(&libc::SOL_SOCKET.to_ne_bytes());
    header
        .get_mut(word + INT..word + 2 * INT)?
        .copy_from_slice(&libc::SCM_RIGHTS.to_ne_bytes());
    for (slot, fd) in data.chunks_exact_mut(INT).zip(fds) {
        slot.copy_from_slice(&fd.to_ne_bytes());
    }
    Some(space)
}

/// `EINVAL` unless `nfds` is at most [`SCM_MAX_FD`].
pub fn check_count(nfds: usize) -> Result<()> {
    if nfds > SCM_MAX_FD {
        Err(Error::new(
            libc::EINVAL,
            "more than 253 descriptors (SCM_MAX_FD)",
        ))
    } else {
        Ok(())
    }
}

/// Whether the kernel would drop descriptors sent without a data byte: on a stream socket. The
/// recorded type decides without a system call when it says `SOCK_STREAM`; otherwise the
/// kernel's `SO_TYPE` is read, so that a type recorded wrong cannot make descriptors vanish.
fn drops_empty(sock: &csock_socket, fd: RawFd) -> Result<bool> {
    if sock.r#type == libc::SOCK_STREAM {
        return Ok(true);
    }
    let ty = sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_TYPE)
        .map_err(Error::at("getsockopt(SO_TYPE)"))?;
    Ok(ty == libc::SOCK_STREAM)
}

/// `socket.send_fds(sock, buffers, fds, flags, address)`: one `sendmsg` of the data in `iov`
/// with `fds` in an `SCM_RIGHTS` message, `flags | MSG_NOSIGNAL` and `addr`; returns the bytes
/// sent. `EINTR` is retried unless `flags` holds `CSOCK_EINTR`.
pub fn send(
    sock: &csock_socket,
    iov: &IoVecs,
    fds: &[RawFd],
    flags: c_int,
    addr: Option<&Address>,
) -> Result<usize> {
    let fd = crate::lifecycle::live(sock)?;
    check_count(fds.len())?;
    let (signals, flags) = Signals::from_flags(flags);
    if !fds.is_empty() && !iov.has_data() && drops_empty(sock, fd)? {
        return Err(Error::new(
            libc::EINVAL,
            "descriptors without a data byte on a stream socket (the kernel would drop them)",
        ));
    }
    let mut control = [0u8; SEND_CONTROL];
    let used = if fds.is_empty() {
        0
    } else {
        rights_message(fds, &mut control).ok_or(Error::new(libc::EINVAL, "control message"))?
    };
    let control = control.get(..used).unwrap_or_default();
    let addr = addr.map(|a| (&a.storage, a.len));
    signals.call("sendmsg", || {
        sys::sendmsg(fd, iov, control, addr, flags | libc::MSG_NOSIGNAL)
    })
}

/// The descriptors [`recv`] keeps for the caller, owned until handed over: dropping the value
/// closes them.
pub struct Kept {
    fds: [Option<Fd>; KEEP_CAP],
    len: usize,
}

impl Kept {
    fn new() -> Self {
        Kept {
            fds: [const { None }; KEEP_CAP],
            len: 0,
        }
    }

    /// Keeps `fd`; `false` (and `fd` closed) when there is no room, which the control buffer's
    /// size rules out.
    fn push(&mut self, fd: Fd) -> bool {
        match self.fds.get_mut(self.len) {
            Some(slot) => {
                *slot = Some(fd);
                self.len += 1;
                true
            }
            None => false,
        }
    }

    /// How many descriptors are kept.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Hands every descriptor over, in order, to `each(index, fd)`; the caller owns them.
    pub fn hand_over(mut self, mut each: impl FnMut(usize, RawFd)) {
        for (i, fd) in self.fds.iter_mut().filter_map(Option::take).enumerate() {
            each(i, fd.into_raw());
        }
    }
}

/// What [`recv`] received.
pub struct Received {
    /// The byte count, as `recvmsg` returned it.
    pub bytes: usize,
    /// The descriptors kept (at most `maxfds`).
    pub fds: Kept,
    /// The message's flags, with `MSG_CTRUNC` added when descriptors beyond `maxfds` were closed.
    pub flags: c_int,
    /// The sender's address, when asked for.
    pub addr: Option<Address>,
}

/// Closes every descriptor the control bytes report.
fn close_installed(control: &[u8]) {
    installed(control).for_each(|i| drop(sys::received_fd(i.fd())));
}

/// `socket.recv_fds(sock, bufsize, maxfds, flags)`: one `recvmsg` into `buf` with
/// `flags | MSG_CMSG_CLOEXEC` and room for `maxfds` descriptors (at most [`SCM_MAX_FD`]). At most
/// `maxfds` descriptors are kept; extra ones are closed and `MSG_CTRUNC` set. `EINTR` is retried
/// unless `flags` holds `CSOCK_EINTR`. On failure nothing the kernel installed is left open.
pub fn recv(
    sock: &csock_socket,
    buf: &RecvBuf,
    maxfds: usize,
    flags: c_int,
    want_addr: bool,
) -> Result<Received> {
    let fd = crate::lifecycle::live(sock)?;
    let (signals, flags) = Signals::from_flags(flags);
    let room = maxfds.min(SCM_MAX_FD);
    // No room at all: no control buffer, and the kernel reports MSG_CTRUNC for descriptors.
    let size = if room == 0 {
        0
    } else {
        cmsg_space(room * INT) + EXTRA_ROOM
    };
    let mut control = [0u8; RECV_CONTROL];
    let control = control.get_mut(..size).unwrap_or_default();
    let got = signals.call("recvmsg", || {
        // A zeroed buffer holds no message, so what a failed call left in it is the kernel's.
        control.fill(0);
        sys::recvmsg(fd, buf, control, want_addr, flags | libc::MSG_CMSG_CLOEXEC)
            .inspect_err(|_| close_installed(control))
    })?;
    let used = control.get(..got.control_len).unwrap_or_default();
    let mut kept = Kept::new();
    // The kernel echoes MSG_CMSG_CLOEXEC in the message's flags; report it only if asked for.
    let mut msg_flags = got.flags & !(libc::MSG_CMSG_CLOEXEC & !flags);
    for item in installed(used) {
        let owned = sys::received_fd(item.fd());
        match item {
            Installed::Passed(_) if kept.len() < maxfds => {
                if !kept.push(owned) {
                    msg_flags |= libc::MSG_CTRUNC;
                }
            }
            Installed::Passed(_) => msg_flags |= libc::MSG_CTRUNC,
            Installed::Other(_) => {}
        }
    }
    Ok(Received {
        bytes: got.len,
        fds: kept,
        flags: msg_flags,
        addr: want_addr.then_some(Address {
            storage: got.addr,
            len: got.addr_len,
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A control buffer built message by message, as the kernel lays them out.
    #[derive(Default)]
    struct Builder(Vec<u8>);

    impl Builder {
        /// A message with a `cmsg_len` of its own choosing and `data`, padded to alignment.
        fn raw(mut self, len: usize, level: c_int, kind: c_int, data: &[u8]) -> Self {
            self.0.extend_from_slice(&len.to_ne_bytes());
            self.0.extend_from_slice(&level.to_ne_bytes());
            self.0.extend_from_slice(&kind.to_ne_bytes());
            self.0.extend_from_slice(data);
            while self.0.len() % ALIGN != 0 {
                self.0.push(0);
            }
            self
        }
        fn msg(self, level: c_int, kind: c_int, data: &[u8]) -> Self {
            self.raw(cmsg_len(data.len()), level, kind, data)
        }
        fn rights(self, fds: &[c_int]) -> Self {
            let data: Vec<u8> = fds.iter().flat_map(|fd| fd.to_ne_bytes()).collect();
            self.msg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &data)
        }
        fn creds(self) -> Self {
            self.msg(libc::SOL_SOCKET, libc::SCM_CREDENTIALS, &[7u8; 12])
        }
    }

    fn passed(control: &[u8]) -> Vec<Installed> {
        installed(control).collect()
    }

    use Installed::{Other, Passed};

    #[test]
    fn layout_matches_the_c_library() {
        for n in [0u32, 1, 4, 5, 12, 1012] {
            // SAFETY: CMSG_SPACE and CMSG_LEN are arithmetic on their argument.
            let (space, len) = unsafe { (libc::CMSG_SPACE(n), libc::CMSG_LEN(n)) };
            assert_eq!(cmsg_space(n as usize), space as usize, "CMSG_SPACE({n})");
            assert_eq!(cmsg_len(n as usize), len as usize, "CMSG_LEN({n})");
        }
        assert_eq!(align(usize::MAX), None);
        assert_eq!(align(1), Some(ALIGN));
        const { assert!(RECV_CONTROL < 1200) };
    }

    #[test]
    fn empty_and_short_buffers_hold_nothing() {
        assert_eq!(passed(&[]), []);
        assert_eq!(passed(&[0u8; HEADER - 1]), []);
        assert_eq!(passed(&[0u8; 64]), [], "a zeroed buffer holds no message");
        let b = Builder::default().rights(&[5]);
        assert_eq!(passed(&b.0[..HEADER - 1]), []);
    }

    #[test]
    fn one_rights_message() {
        let b = Builder::default().rights(&[3, 4, 9]);
        assert_eq!(passed(&b.0), [Passed(3), Passed(4), Passed(9)]);
        let m: Vec<_> = control_messages(&b.0).collect();
        assert_eq!(m.len(), 1);
        assert!(!m[0].truncated);
        assert_eq!(m[0].data.len(), 12);
    }

    #[test]
    fn several_rights_messages_in_order() {
        let b = Builder::default().rights(&[3]).rights(&[4, 5]).rights(&[6]);
        assert_eq!(passed(&b.0), [Passed(3), Passed(4), Passed(5), Passed(6)]);
    }

    #[test]
    fn credentials_and_other_messages_are_skipped() {
        let b = Builder::default()
            .creds()
            .rights(&[10, 11])
            .msg(libc::SOL_SOCKET, 3, b"unconfined\0")
            .msg(libc::IPPROTO_IP, libc::SCM_RIGHTS, &42i32.to_ne_bytes())
            .msg(libc::SOL_SOCKET, libc::SO_TIMESTAMP, &[1u8; 16])
            .rights(&[12]);
        assert_eq!(passed(&b.0), [Passed(10), Passed(11), Passed(12)]);
    }

    #[test]
    fn pidfd_is_reported_as_other() {
        let b = Builder::default().creds().rights(&[5]).msg(
            libc::SOL_SOCKET,
            SCM_PIDFD,
            &8i32.to_ne_bytes(),
        );
        assert_eq!(passed(&b.0), [Passed(5), Other(8)]);
        // A pidfd message never reports more than one descriptor.
        let b = Builder::default().msg(libc::SOL_SOCKET, SCM_PIDFD, &[1, 0, 0, 0, 2, 0, 0, 0]);
        assert_eq!(passed(&b.0).len(), 1);
    }

    #[test]
    fn truncated_trailing_ints_are_ignored() {
        let b = Builder::default().msg(libc::SOL_SOCKET, libc::SCM_RIGHTS, &[3, 0, 0, 0, 4, 0]);
        assert_eq!(passed(&b.0), [Passed(3)]);
    }

    #[test]
    fn a_message_cut_off_by_the_buffer_yields_what_is_present() {
        // The kernel's put_cmsg writes a message it has no room for cut off, with its full
        // cmsg_len: only the ints inside the buffer are read.
        let b = Builder::default().rights(&[3, 4, 5]);
        let cut = &b.0[..HEADER + 6];
        assert_eq!(passed(cut), [Passed(3)]);
        let m: Vec<_> = control_messages(cut).collect();
        assert!(m[0].truncated);
        // Credentials truncated at the end, after the descriptors.
        let b = Builder::default().rights(&[7]).creds();
        let n = b.0.len();
        assert_eq!(passed(&b.0[..n - 8]), [Passed(7)]);
    }

    #[test]
    fn garbage_lengths_end_the_walk() {
        // cmsg_len shorter than a header: stop (as CMSG_NXTHDR does), nothing after is read.
        let b = Builder::default()
            .rights(&[3])
            .raw(
                HEADER - 1,
                libc::SOL_SOCKET,
                libc::SCM_RIGHTS,
                &[4, 0, 0, 0],
            )
            .rights(&[5]);
        assert_eq!(passed(&b.0), [Passed(3)]);
        // cmsg_len 0.
        let b = Builder::default().raw(0, libc::SOL_SOCKET, libc::SCM_RIGHTS, &[4, 0, 0, 0]);
        assert_eq!(passed(&b.0), []);
        // cmsg_len huge: the message is cut off by the buffer, which it takes whole (the
        // kernel only ever truncates the last message); the walk ends there.
        for len in [usize::MAX, usize::MAX - 3, 1 << 40] {
            let b = Builder::default()
                .raw(len, libc::SOL_SOCKET, libc::SCM_RIGHTS, &[4, 0, 0, 0])
                .rights(&[5]);
            let messages: Vec<_> = control_messages(&b.0).collect();
            assert_eq!(messages.len(), 1, "len {len}");
            assert!(messages[0].truncated);
            assert_eq!(messages[0].data, &b.0[HEADER..]);
            let got = passed(&b.0);
            assert_eq!(got.first(), Some(&Passed(4)), "len {len}");
            assert!(got.contains(&Passed(5)), "len {len}");
        }
        // A length that is not a multiple of the alignment: the next message is aligned.
        let b = Builder::default()
            .raw(
                cmsg_len(5),
                libc::SOL_SOCKET,
                libc::SCM_RIGHTS,
                &[6, 0, 0, 0, 9],
            )
            .rights(&[7]);
        assert_eq!(passed(&b.0), [Passed(6), Passed(7)]);
    }

    #[test]
    fn negative_values_are_no_descriptors() {
        let b = Builder::default().rights(&[-1, 3, i32::MIN]);
        assert_eq!(passed(&b.0), [Passed(3)]);
    }

    #[test]
    fn every_prefix_and_every_byte_flip_is_walked_safely() {
        let b = Builder::default().creds().rights(&[3, 4, 5]).rights(&[6]);
        for end in 0..=b.0.len() {
            let got = passed(&b.0[..end]);
            assert!(got.len() <= 4);
        }
        for at in 0..b.0.len() {
            for bit in 0..8 {
                let mut bytes = b.0.clone();
                bytes[at] ^= 1 << bit;
                // Whatever it yields comes from the buffer: at most one per int of it.
                assert!(passed(&bytes).len() <= bytes.len() / INT);
            }
        }
    }

    #[test]
    fn rights_message_round_trips() {
        let mut out = [0xffu8; SEND_CONTROL];
        for fds in [&[][..], &[3], &[3, 4], &[0, 1, 2, 100, 200]] {
            let n = rights_message(fds, &mut out).unwrap();
            assert_eq!(n, cmsg_space(fds.len() * INT));
            let want: Vec<_> = fds.iter().map(|fd| Passed(*fd)).collect();
            assert_eq!(passed(&out[..n]), want);
            assert!(out[cmsg_len(fds.len() * INT)..n].iter().all(|b| *b == 0));
        }
        let all: Vec<c_int> = (0..SCM_MAX_FD as c_int).collect();
        assert_eq!(rights_message(&all, &mut out), Some(SEND_CONTROL));
        assert_eq!(passed(&out).len(), SCM_MAX_FD);
        assert_eq!(rights_message(&[1], &mut [0u8; HEADER]), None);
    }

    #[test]
    fn the_count_is_checked() {
        assert!(check_count(SCM_MAX_FD).is_ok());
        assert_eq!(
            check_count(SCM_MAX_FD + 1).unwrap_err().errno.0,
            libc::EINVAL
        );
        assert_eq!(check_count(usize::MAX).unwrap_err().errno.0, libc::EINVAL);
    }

    #[test]
    fn recv_keeps_at_most_maxfds_and_closes_the_rest() {
        let [a, b] = crate::create::socketpair(libc::AF_UNIX, libc::SOCK_DGRAM, 0).unwrap();
        let pipe = crate::create::socketpair(-1, -1, -1).unwrap();
        let fds = [pipe[0].fd, pipe[1].fd, pipe[0].fd];
        let data = [1u8];
        let iov = libc::iovec {
            iov_base: data.as_ptr() as *mut _,
            iov_len: 1,
        };
        // SAFETY: one valid entry.
        let iovs = unsafe { IoVecs::new(&iov, 1) };
        assert_eq!(send(&a, &iovs, &fds, 0, None), Ok(1));
        let mut buf = [0u8; 4];
        // SAFETY: `buf` is writable for 4 bytes.
        let rb = unsafe { RecvBuf::new(buf.as_mut_ptr().cast(), buf.len()) };
        let got = recv(&b, &rb, 1, 0, true).unwrap();
        assert_eq!(got.bytes, 1);
        assert_eq!(got.fds.len(), 1);
        assert_ne!(got.flags & libc::MSG_CTRUNC, 0);
        let mut handed = Vec::new();
        got.fds.hand_over(|i, fd| handed.push((i, fd)));
        let fd = handed[0].1;
        assert_ne!(sys::fd_flags(fd).unwrap() & libc::FD_CLOEXEC, 0);
        sys::close(fd).unwrap();
        for s in [a, b, pipe[0], pipe[1]] {
            sys::close(s.fd).unwrap();
        }
    }
}
