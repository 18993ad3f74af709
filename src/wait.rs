//! Waiting, timeouts and signals: the one rule set of every call that waits (`csock_accept`,
//! `csock_connect`, `csock_create_connection`, `csock_send_fds`, `csock_recv_fds`).
//!
//! - A timeout is an `int` of milliseconds, as for `poll(2)`: negative waits without limit, `0`
//!   does not wait, a positive value waits at most that long ([`Deadline`]).
//! - A signal that interrupts a call or a wait (`EINTR`) resumes it with the time that is left
//!   (PEP 475), unless the caller gave `CSOCK_EINTR`, which makes it return `EINTR`
//!   ([`Signals`]).

use libc::c_int;

use crate::error::{Error, Result};
use crate::socket::CSOCK_EINTR;
use crate::sys::{self, Errno, RawFd, SysResult};

/// What a call does when a signal interrupts it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Signals {
    /// Resume, with the time that is left (the default, PEP 475).
    Resume,
    /// Return `EINTR` (`CSOCK_EINTR` was given).
    Interrupt,
}

impl Signals {
    /// Takes `CSOCK_EINTR` out of a call's flags: the rule, and the flags left for the kernel.
    pub fn from_flags(flags: c_int) -> (Signals, c_int) {
        if flags & CSOCK_EINTR != 0 {
            (Signals::Interrupt, flags & !CSOCK_EINTR)
        } else {
            (Signals::Resume, flags)
        }
    }

    /// Runs a system call, again after each `EINTR` when resuming; `what` names it in the error.
    pub fn call<T>(self, what: &'static str, mut call: impl FnMut() -> SysResult<T>) -> Result<T> {
        loop {
            match call() {
                Err(Errno(libc::EINTR)) if self == Signals::Resume => continue,
                other => return other.map_err(Error::at(what)),
            }
        }
    }
}

/// When a wait must end: never, or at a point of the monotonic clock.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Deadline {
    /// Wait without limit (a negative timeout).
    Never,
    /// Wait until this time of the monotonic clock, in milliseconds (`0` is already past).
    At(i64),
}

impl Deadline {
    /// The deadline of a timeout that starts now; `0` is a deadline that has passed.
    pub fn after(timeout_ms: c_int) -> Self {
        if timeout_ms < 0 {
            Deadline::Never
        } else {
            Deadline::At(sys::monotonic_ms() + i64::from(timeout_ms))
        }
    }

    /// The earlier of two deadlines.
    pub fn min(self, other: Deadline) -> Deadline {
        match (self, other) {
            (Deadline::Never, d) | (d, Deadline::Never) => d,
            (Deadline::At(a), Deadline::At(b)) => Deadline::At(a.min(b)),
        }
    }

    /// The time left, as `poll(2)` takes it: `-1` for no limit, else `0 ..= c_int::MAX` ms.
    pub fn remaining(self) -> c_int {
        match self {
            Deadline::Never => -1,
            Deadline::At(at) => remaining_ms(at, sys::monotonic_ms()),
        }
    }
}

/// The milliseconds from `now` to `at`, clamped to what `poll(2)` takes (never negative).
pub fn remaining_ms(at: i64, now: i64) -> c_int {
    c_int::try_from(at.saturating_sub(now).max(0)).unwrap_or(c_int::MAX)
}

/// Waits for `events` on `fd` until `deadline`: the events that happened, or `ETIMEDOUT` when
/// the time ran out. `EINTR` resumes the wait with the time left, or is returned.
pub fn wait_for(
    fd: RawFd,
    events: libc::c_short,
    deadline: Deadline,
    signals: Signals,
) -> Result<libc::c_short> {
    loop {
        match sys::poll_one(fd, events, deadline.remaining()) {
            Ok(0) => return Err(Error::new(libc::ETIMEDOUT, "poll: timed out")),
            Ok(revents) => return Ok(revents),
            Err(Errno(libc::EINTR)) if signals == Signals::Resume => continue,
            Err(errno) => return Err(Error::at("poll")(errno)),
        }
    }
}

/// Waits until one of `fds` has an event or `deadline` passes: how many have events, `0` when
/// the time ran out (not an error: the caller's deadline may be a timer of its own). `EINTR`
/// resumes the wait with the time left, or is returned.
pub fn poll_until(fds: &mut [libc::pollfd], deadline: Deadline, signals: Signals) -> Result<c_int> {
    loop {
        match sys::poll(fds, deadline.remaining()) {
            Err(Errno(libc::EINTR)) if signals == Signals::Resume => continue,
            other => return other.map_err(Error::at("poll")),
        }
    }
}

impl Deadline {
    /// Whether the deadline has passed.
    pub fn passed(self) -> bool {
        self.remaining() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csock_eintr_is_taken_out_of_the_flags() {
        let (s, rest) = Signals::from_flags(CSOCK_EINTR | libc::SOCK_NONBLOCK);
        assert_eq!((s, rest), (Signals::Interrupt, libc::SOCK_NONBLOCK));
        assert_eq!(Signals::from_flags(0), (Signals::Resume, 0));
    }

    #[test]
    fn remaining_time_is_clamped() {
        assert_eq!(remaining_ms(10, 20), 0);
        assert_eq!(remaining_ms(20, 10), 10);
        assert_eq!(remaining_ms(i64::MAX, i64::MIN), c_int::MAX);
        assert_eq!(Deadline::Never.remaining(), -1);
        assert_eq!(Deadline::At(0).remaining(), 0);
        assert_eq!(Deadline::At(5).min(Deadline::Never), Deadline::At(5));
        assert_eq!(Deadline::At(5).min(Deadline::At(3)), Deadline::At(3));
    }

    #[test]
    fn interrupted_calls_resume_or_return() {
        let mut answers = [Err(Errno(libc::EINTR)), Err(Errno(libc::EINTR)), Ok(7)].into_iter();
        assert_eq!(Signals::Resume.call("x", || answers.next().unwrap()), Ok(7));
        let mut answers = [Err(Errno(libc::EINTR)), Ok(7)].into_iter();
        let err = Signals::Interrupt
            .call("x", || answers.next().unwrap())
            .unwrap_err();
        assert_eq!(err, Error::new(libc::EINTR, "x"));
    }

    #[test]
    fn poll_until_reports_the_ready_and_the_timeout() {
        let [a, b] = crate::create::socketpair(-1, -1, -1).unwrap();
        let mut fds = [
            libc::pollfd {
                fd: a.fd,
                events: libc::POLLIN,
                revents: 0,
            },
            libc::pollfd {
                fd: b.fd,
                events: libc::POLLOUT,
                revents: 0,
            },
        ];
        assert_eq!(
            poll_until(&mut fds, Deadline::Never, Signals::Resume),
            Ok(1)
        );
        assert_eq!((fds[0].revents, fds[1].revents), (0, libc::POLLOUT));
        fds[1].events = libc::POLLIN;
        assert_eq!(
            poll_until(&mut fds, Deadline::after(0), Signals::Resume),
            Ok(0)
        );
        assert!(Deadline::after(0).passed() && !Deadline::Never.passed());
        sys::close(a.fd).unwrap();
        sys::close(b.fd).unwrap();
    }

    #[test]
    fn a_wait_that_runs_out_is_etimedout() {
        let (a, _b) = crate::create::socketpair(-1, -1, -1)
            .map(|[a, b]| (a, b))
            .unwrap();
        let err = wait_for(a.fd, libc::POLLIN, Deadline::after(0), Signals::Resume).unwrap_err();
        assert_eq!(err.errno.0, libc::ETIMEDOUT);
        let writable = wait_for(a.fd, libc::POLLOUT, Deadline::Never, Signals::Resume).unwrap();
        assert_ne!(writable & libc::POLLOUT, 0);
        sys::close(a.fd).unwrap();
        sys::close(_b.fd).unwrap();
    }
}
