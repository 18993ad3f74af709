//! Creating sockets: CPython's defaults, atomic close-on-exec and its fallback.
//!
//! Every socket csock creates is non-inheritable from the moment it exists: the kernel is asked
//! for `SOCK_CLOEXEC` (or `F_DUPFD_CLOEXEC`, or `accept4(SOCK_CLOEXEC)`) in the creating call
//! itself. Only a kernel that rejects the flag gets the two-step fallback, and only a successful
//! retry proves that the kernel lacks it.

use core::sync::atomic::{AtomicU8, Ordering};

use libc::{c_int, sockaddr_storage, socklen_t};

use crate::audit::{self, Event};
use crate::error::{Error, Result};
use crate::socket::{TypeFlags, csock_socket};
use crate::sys::{self, Fd, RawFd};
use crate::wait::Signals;

/// What this process has learnt about the kernel's support for `SOCK_CLOEXEC` in a type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum Support {
    /// Nothing yet: the first successful creation checks the flag once.
    Unknown = 0,
    /// The kernel applies the flag: one system call per creation.
    Atomic = 1,
    /// The kernel accepts the flag but did not apply it: set close-on-exec after creating.
    Ignored = 2,
    /// The kernel rejects the flag with `EINVAL`: create without it, then set close-on-exec.
    Rejected = 3,
}

/// A process-wide [`Support`] value, learnt once.
#[derive(Debug)]
pub struct CloexecSupport(AtomicU8);

impl CloexecSupport {
    /// Nothing learnt yet.
    pub const fn new() -> Self {
        CloexecSupport(AtomicU8::new(Support::Unknown as u8))
    }

    /// What is known now.
    pub fn get(&self) -> Support {
        match self.0.load(Ordering::Relaxed) {
            1 => Support::Atomic,
            2 => Support::Ignored,
            3 => Support::Rejected,
            _ => Support::Unknown,
        }
    }

    fn learn(&self, support: Support) {
        self.0.store(support as u8, Ordering::Relaxed);
    }
}

impl Default for CloexecSupport {
    fn default() -> Self {
        Self::new()
    }
}

/// The kernel operations [`create_cloexec`] needs, so its decisions can be tested with injected
/// answers.
pub trait Kernel {
    /// What the creating call returns (one descriptor, or a pair).
    type Created;
    /// The creating call, with the caller's flag bits (`atomic`) or with none of them.
    fn create(&mut self, atomic: bool) -> Result<Self::Created>;
    /// Whether close-on-exec is set on what was created (the one-time check).
    fn is_cloexec(&mut self, created: &Self::Created) -> Result<bool>;
    /// Sets close-on-exec, and `O_NONBLOCK` when `nonblock`, after a non-atomic creation.
    fn fix(&mut self, created: &Self::Created, nonblock: bool) -> Result<()>;
}

/// Creates through `kernel` so that the result is close-on-exec, learning into `support`:
///
/// - `Atomic`: one call with the flags; an `EINVAL` is the call's own error.
/// - `Unknown`: one call with the flags. On success, check once whether close-on-exec was applied
///   (`Atomic` if so, `Ignored` and fix it if not). On `EINVAL`, retry without the flags; only if
///   the retry succeeds is the kernel known to reject them (`Rejected`); if it fails too, the
///   error is the call's own and nothing is learnt.
/// - `Ignored` / `Rejected`: create, then fix.
///
/// On any failure after creation the created descriptors are dropped, which closes them.
pub fn create_cloexec<K: Kernel>(
    support: &CloexecSupport,
    nonblock: bool,
    kernel: &mut K,
) -> Result<K::Created> {
    match support.get() {
        Support::Atomic => kernel.create(true),
        Support::Ignored => {
            let created = kernel.create(true)?;
            kernel.fix(&created, nonblock)?;
            Ok(created)
        }
        Support::Rejected => {
            let created = kernel.create(false)?;
            kernel.fix(&created, nonblock)?;
            Ok(created)
        }
        Support::Unknown => match kernel.create(true) {
            Ok(created) => {
                if kernel.is_cloexec(&created)? {
                    support.learn(Support::Atomic);
                } else {
                    support.learn(Support::Ignored);
                    kernel.fix(&created, nonblock)?;
                }
                Ok(created)
            }
            Err(err) if err.errno.0 == libc::EINVAL => {
                let created = kernel.create(false)?;
                support.learn(Support::Rejected);
                kernel.fix(&created, nonblock)?;
                Ok(created)
            }
            Err(err) => Err(err),
        },
    }
}

static SUPPORT: CloexecSupport = CloexecSupport::new();

fn fix_fd(fd: RawFd, nonblock: bool) -> Result<()> {
    sys::set_cloexec(fd, true).map_err(Error::at("ioctl(FIOCLEX)"))?;
    if nonblock {
        sys::set_nonblocking(fd, true).map_err(Error::at("ioctl(FIONBIO)"))?;
    }
    Ok(())
}

fn is_cloexec_fd(fd: RawFd) -> Result<bool> {
    let flags = sys::fd_flags(fd).map_err(Error::at("fcntl(F_GETFD)"))?;
    Ok(flags & libc::FD_CLOEXEC != 0)
}

/// `socket(2)` as a [`Kernel`].
struct SocketCall {
    family: c_int,
    ty: c_int,
    proto: c_int,
}

impl Kernel for SocketCall {
    type Created = Fd;
    fn create(&mut self, atomic: bool) -> Result<Fd> {
        let ty = if atomic {
            self.ty | libc::SOCK_CLOEXEC
        } else {
            TypeFlags::strip(self.ty)
        };
        sys::socket(self.family, ty, self.proto).map_err(Error::at("socket"))
    }
    fn is_cloexec(&mut self, fd: &Fd) -> Result<bool> {
        is_cloexec_fd(fd.raw())
    }
    fn fix(&mut self, fd: &Fd, nonblock: bool) -> Result<()> {
        fix_fd(fd.raw(), nonblock)
    }
}

/// `socketpair(2)` as a [`Kernel`].
struct SocketpairCall(SocketCall);

impl Kernel for SocketpairCall {
    type Created = (Fd, Fd);
    fn create(&mut self, atomic: bool) -> Result<(Fd, Fd)> {
        let SocketCall { family, ty, proto } = self.0;
        let ty = if atomic {
            ty | libc::SOCK_CLOEXEC
        } else {
            TypeFlags::strip(ty)
        };
        sys::socketpair(family, ty, proto).map_err(Error::at("socketpair"))
    }
    fn is_cloexec(&mut self, pair: &(Fd, Fd)) -> Result<bool> {
        is_cloexec_fd(pair.0.raw())
    }
    fn fix(&mut self, pair: &(Fd, Fd), nonblock: bool) -> Result<()> {
        fix_fd(pair.0.raw(), nonblock)?;
        fix_fd(pair.1.raw(), nonblock)
    }
}

fn default(value: c_int, default: c_int) -> c_int {
    if value == -1 { default } else { value }
}

/// Hands an owned descriptor over to a C value.
pub(crate) fn into_socket(fd: Fd, family: c_int, ty: c_int, proto: c_int) -> csock_socket {
    csock_socket {
        fd: fd.into_raw(),
        family,
        r#type: TypeFlags::strip(ty),
        proto,
    }
}

/// `socket.socket(family, type, proto)`: defaults, audit, one atomic `socket(2)` call.
pub fn open(family: c_int, ty: c_int, proto: c_int) -> Result<csock_socket> {
    let family = default(family, libc::AF_INET);
    let ty = default(ty, libc::SOCK_STREAM);
    let proto = default(proto, 0);
    audit::check(&Event::socket_new(-1, family, ty, proto))?;
    let nonblock = TypeFlags::of(ty).contains(TypeFlags::NONBLOCK);
    let fd = create_cloexec(&SUPPORT, nonblock, &mut SocketCall { family, ty, proto })?;
    Ok(into_socket(fd, family, ty, proto))
}

/// One atomic close-on-exec `socket(2)` call, as [`open`] makes it, without defaults or audit:
/// for the calls that audit with values of their own (`csock_create_connection`,
/// `csock_create_server`).
pub fn socket_cloexec(family: c_int, ty: c_int, proto: c_int) -> Result<Fd> {
    let nonblock = TypeFlags::of(ty).contains(TypeFlags::NONBLOCK);
    create_cloexec(&SUPPORT, nonblock, &mut SocketCall { family, ty, proto })
}

/// `socket.socketpair(family, type, proto)`: defaults `AF_UNIX`, `SOCK_STREAM`, `0`; both ends
/// close-on-exec atomically and audited once each, with the type as given (flag bits included),
/// as `csock_open` and CPython's `socketpair` do. A refused end closes both.
pub fn socketpair(family: c_int, ty: c_int, proto: c_int) -> Result<[csock_socket; 2]> {
    let family = default(family, libc::AF_UNIX);
    let ty = default(ty, libc::SOCK_STREAM);
    let proto = default(proto, 0);
    let nonblock = TypeFlags::of(ty).contains(TypeFlags::NONBLOCK);
    let call = SocketCall { family, ty, proto };
    let (a, b) = create_cloexec(&SUPPORT, nonblock, &mut SocketpairCall(call))?;
    for end in [&a, &b] {
        audit::check(&Event::socket_new(end.raw(), family, ty, proto))?;
    }
    Ok([
        into_socket(a, family, ty, proto),
        into_socket(b, family, ty, proto),
    ])
}

/// An address as the kernel returned it: a whole zeroed storage and the reported length.
#[derive(Clone, Copy)]
pub struct Address {
    /// The storage, zeroed before the kernel wrote into it.
    pub storage: sockaddr_storage,
    /// The length the kernel reported (may exceed the storage for truncated unix paths).
    pub len: socklen_t,
}

/// `socket.accept()`: `accept4(SOCK_CLOEXEC | flags)`, retried on `EINTR` unless `flags` holds
/// `CSOCK_EINTR`. `flags` may hold `SOCK_NONBLOCK` and `CSOCK_EINTR` only. The new socket records
/// the listener's family, type and protocol.
pub fn accept(listener: &csock_socket, flags: c_int) -> Result<(csock_socket, Address)> {
    let fd = crate::lifecycle::live(listener)?;
    let (signals, flags) = Signals::from_flags(flags);
    if flags & !libc::SOCK_NONBLOCK != 0 {
        return Err(Error::new(
            libc::EINVAL,
            "flags other than SOCK_NONBLOCK and CSOCK_EINTR",
        ));
    }
    let (conn, storage, len) =
        signals.call("accept4", || sys::accept4(fd, flags | libc::SOCK_CLOEXEC))?;
    let (family, ty, proto) = (listener.family, listener.r#type, listener.proto);
    audit::check(&Event::socket_new(conn.raw(), family, ty, proto))?;
    Ok((
        into_socket(conn, family, ty, proto),
        Address { storage, len },
    ))
}

#[cfg(test)]
mod tests {
    use std::cell::Cell;
    use std::rc::Rc;

    use super::*;

    /// What a scripted creation returns: an id, counted alive until dropped, as a descriptor
    /// stays open until closed.
    #[derive(Debug)]
    struct Live {
        id: u32,
        alive: Rc<Cell<usize>>,
    }

    impl Drop for Live {
        fn drop(&mut self) {
            self.alive.set(self.alive.get() - 1);
        }
    }

    /// A kernel that answers from a script, records what was asked and counts what is alive;
    /// its one-time check and its fix fail when told to.
    struct Scripted {
        answers: Vec<Result<u32>>,
        cloexec_applied: bool,
        check: Result<()>,
        fix: Result<()>,
        calls: Vec<&'static str>,
        alive: Rc<Cell<usize>>,
    }

    impl Scripted {
        fn new(answers: Vec<Result<u32>>, cloexec_applied: bool) -> Self {
            Scripted {
                answers,
                cloexec_applied,
                check: Ok(()),
                fix: Ok(()),
                calls: Vec::new(),
                alive: Rc::default(),
            }
        }

        /// Creates through `create_cloexec`, returning the id created.
        fn run(&mut self, support: &CloexecSupport, nonblock: bool) -> Result<u32> {
            create_cloexec(support, nonblock, self).map(|live| live.id)
        }
    }

    impl Kernel for Scripted {
        type Created = Live;
        fn create(&mut self, atomic: bool) -> Result<Live> {
            self.calls
                .push(if atomic { "create+flags" } else { "create" });
            let id = self.answers.remove(0)?;
            self.alive.set(self.alive.get() + 1);
            Ok(Live {
                id,
                alive: self.alive.clone(),
            })
        }
        fn is_cloexec(&mut self, _: &Live) -> Result<bool> {
            self.calls.push("check");
            self.check.map(|()| self.cloexec_applied)
        }
        fn fix(&mut self, _: &Live, nonblock: bool) -> Result<()> {
            self.calls
                .push(if nonblock { "fix+nonblock" } else { "fix" });
            self.fix
        }
    }

    const EINVAL: Error = Error::new(libc::EINVAL, "socket");

    #[test]
    fn honoured_flag_is_checked_once_then_one_call() {
        let support = CloexecSupport::new();
        let mut k = Scripted::new(vec![Ok(3), Ok(4)], true);
        assert_eq!(k.run(&support, false), Ok(3));
        assert_eq!(support.get(), Support::Atomic);
        assert_eq!(k.run(&support, false), Ok(4));
        assert_eq!(k.calls, ["create+flags", "check", "create+flags"]);
    }

    #[test]
    fn rejected_flag_with_successful_retry_is_remembered() {
        let support = CloexecSupport::new();
        let mut k = Scripted::new(vec![Err(EINVAL), Ok(3), Ok(4)], false);
        assert_eq!(k.run(&support, true), Ok(3));
        assert_eq!(support.get(), Support::Rejected);
        assert_eq!(k.run(&support, true), Ok(4));
        assert_eq!(
            k.calls,
            [
                "create+flags",
                "create",
                "fix+nonblock",
                "create",
                "fix+nonblock"
            ]
        );
    }

    #[test]
    fn einval_twice_is_the_call_s_own_error_and_not_remembered() {
        let support = CloexecSupport::new();
        let mut k = Scripted::new(vec![Err(EINVAL), Err(EINVAL), Ok(5)], true);
        assert_eq!(k.run(&support, false), Err(EINVAL));
        assert_eq!(support.get(), Support::Unknown);
        assert_eq!(k.run(&support, false), Ok(5));
        assert_eq!(support.get(), Support::Atomic);
        assert_eq!(k.calls, ["create+flags", "create", "create+flags", "check"]);
    }

    #[test]
    fn silently_ignored_flag_is_detected_once_and_fixed_every_time() {
        let support = CloexecSupport::new();
        let mut k = Scripted::new(vec![Ok(3), Ok(4)], false);
        assert_eq!(k.run(&support, false), Ok(3));
        assert_eq!(support.get(), Support::Ignored);
        assert_eq!(k.run(&support, false), Ok(4));
        assert_eq!(
            k.calls,
            ["create+flags", "check", "fix", "create+flags", "fix"]
        );
    }

    #[test]
    fn einval_when_atomic_is_known_is_not_retried() {
        let support = CloexecSupport::new();
        support.learn(Support::Atomic);
        let mut k = Scripted::new(vec![Err(EINVAL)], true);
        assert_eq!(k.run(&support, false), Err(EINVAL));
        assert_eq!(k.calls, ["create+flags"]);
        assert_eq!(support.get(), Support::Atomic);
    }

    #[test]
    fn other_errors_are_not_retried() {
        let support = CloexecSupport::new();
        let eafnosupport = Error::new(libc::EAFNOSUPPORT, "socket");
        let mut k = Scripted::new(vec![Err(eafnosupport)], true);
        assert_eq!(k.run(&support, false), Err(eafnosupport));
        assert_eq!(support.get(), Support::Unknown);
    }

    #[test]
    fn open_applies_defaults_and_clears_flags() {
        let s = open(
            -1,
            libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC,
            -1,
        )
        .unwrap();
        assert_eq!(
            (s.family, s.r#type, s.proto),
            (libc::AF_INET, libc::SOCK_STREAM, 0)
        );
        assert!(sys::fd_flags(s.fd).unwrap() & libc::FD_CLOEXEC != 0);
        assert!(sys::status_flags(s.fd).unwrap() & libc::O_NONBLOCK != 0);
        sys::close(s.fd).unwrap();
    }

    #[test]
    fn open_with_a_bad_type_fails_with_einval() {
        let err = open(libc::AF_INET, 999, 0).unwrap_err();
        assert_eq!(err, Error::new(libc::EINVAL, "socket"));
    }

    const ENOTTY: Error = Error::new(libc::ENOTTY, "ioctl(FIOCLEX)");

    #[test]
    fn a_failed_fix_closes_what_was_created() {
        // After a successful retry (the flag is rejected), and after a creation that ignored it.
        let cases = [
            (vec![Err(EINVAL), Ok(3)], Support::Rejected),
            (vec![Ok(3)], Support::Ignored),
        ];
        for (answers, learnt) in cases {
            let support = CloexecSupport::new();
            let mut k = Scripted::new(answers, false);
            k.fix = Err(ENOTTY);
            assert_eq!(k.run(&support, false).err(), Some(ENOTTY));
            assert_eq!(k.alive.get(), 0, "{learnt:?}: what was created is closed");
            assert_eq!(support.get(), learnt, "{learnt:?}: learnt all the same");
        }
    }

    #[test]
    fn a_failed_check_closes_what_was_created_and_learns_nothing() {
        let support = CloexecSupport::new();
        let ebadf = Error::new(libc::EBADF, "fcntl(F_GETFD)");
        let mut k = Scripted::new(vec![Ok(3)], true);
        k.check = Err(ebadf);
        assert_eq!(k.run(&support, false).err(), Some(ebadf));
        assert_eq!(k.alive.get(), 0);
        assert_eq!(support.get(), Support::Unknown);
    }

    #[test]
    fn einval_then_another_error_is_the_retry_s_error_and_not_remembered() {
        let support = CloexecSupport::new();
        let emfile = Error::new(libc::EMFILE, "socket");
        let mut k = Scripted::new(vec![Err(EINVAL), Err(emfile)], false);
        assert_eq!(k.run(&support, false).err(), Some(emfile));
        assert_eq!(support.get(), Support::Unknown);
        assert_eq!(k.alive.get(), 0);
    }

    /// Close-on-exec and O_NONBLOCK as the kernel reports them.
    fn flags_of(fd: RawFd) -> (bool, bool) {
        let cloexec = sys::fd_flags(fd).unwrap() & libc::FD_CLOEXEC != 0;
        let nonblock = sys::status_flags(fd).unwrap() & libc::O_NONBLOCK != 0;
        (cloexec, nonblock)
    }

    const FLAGGED: c_int = libc::SOCK_STREAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;

    // The fallback paths against the real kernel: the retry is made without the flag bits (or
    // the kernel would reject it for the same reason), and the fix really sets FD_CLOEXEC (with
    // FIOCLEX) and O_NONBLOCK when asked, on one socket and on both ends of a pair.
    #[test]
    fn the_fallback_sets_cloexec_and_nonblock_on_the_real_kernel() {
        for learnt in [Support::Rejected, Support::Ignored] {
            let support = CloexecSupport::new();
            support.learn(learnt);
            let mut call = SocketCall {
                family: libc::AF_UNIX,
                ty: FLAGGED,
                proto: 0,
            };
            let fd = create_cloexec(&support, true, &mut call).unwrap();
            assert_eq!(flags_of(fd.raw()), (true, true), "{learnt:?}");
            let pair = create_cloexec(&support, true, &mut SocketpairCall(call)).unwrap();
            assert_eq!(flags_of(pair.0.raw()), (true, true), "{learnt:?}");
            assert_eq!(flags_of(pair.1.raw()), (true, true), "{learnt:?}");
        }
    }

    #[test]
    fn the_non_atomic_creation_carries_no_flag_bits() {
        let mut call = SocketCall {
            family: libc::AF_UNIX,
            ty: FLAGGED,
            proto: 0,
        };
        let fd = call.create(false).unwrap();
        assert_eq!(flags_of(fd.raw()), (false, false));
        call.fix(&fd, false).unwrap();
        assert_eq!(flags_of(fd.raw()), (true, false));
        let pair = SocketpairCall(call).create(false).unwrap();
        assert_eq!(flags_of(pair.0.raw()), (false, false));
        assert_eq!(flags_of(pair.1.raw()), (false, false));
    }
}
