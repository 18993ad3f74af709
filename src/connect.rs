//! Connecting: `csock_connect` (CPython's `internal_connect`, with the timeout an argument) and
//! `csock_create_connection` (`socket.create_connection`, with an attempt report and Happy
//! Eyeballs v2, RFC 8305 sections 4 and 5).
//!
//! A connect is started once and never re-issued: when a signal interrupts it, or the descriptor
//! is non-blocking, the connection goes on in the kernel and csock waits for it with `poll(2)`,
//! then reads its outcome with `getsockopt(SO_ERROR)` ([`wait`](crate::wait) holds the rules for
//! the deadline and for signals). A descriptor csock makes non-blocking for a wait is made
//! blocking again before the call returns, on every path.
//!
//! The race of Happy Eyeballs runs in the calling thread: the addresses are interleaved by family
//! (the resolver's first family first), a new attempt starts when the previous one fails or after
//! the attempt delay, earlier ones keep going, and one `poll` watches every attempt in flight. The
//! first to connect wins; the others are closed and reported as `ECANCELED`.

use core::ffi::CStr;

use libc::c_int;

use crate::audit::{self, Event};
use crate::create::{self, Address};
use crate::error::{self, Error, Result};
use crate::lifecycle::live;
use crate::resolve;
use crate::socket::csock_socket;
use crate::sys::rt::Scratch;
use crate::sys::{self, AddrEntry, Fd, RawFd};
use crate::wait::{self, Deadline, Signals};

/// `csock_attempt.step`: the attempt failed creating its socket (or a hook refused it).
pub const CSOCK_STEP_SOCKET: c_int = 1;
/// `csock_attempt.step`: the attempt failed binding to the source address.
pub const CSOCK_STEP_BIND: c_int = 2;
/// `csock_attempt.step`: the attempt reached connect (it connected, or connect failed).
pub const CSOCK_STEP_CONNECT: c_int = 3;

/// The shortest attempt delay of Happy Eyeballs (RFC 8305 section 5: at least 10 ms).
pub(crate) const MIN_ATTEMPT_DELAY_MS: c_int = 10;

/// How a connect started.
enum Started {
    /// Connected at once.
    Connected,
    /// Going on in the kernel: wait for the descriptor to become writable, then `SO_ERROR`.
    InProgress,
}

/// `connect(2)`, once. `EINPROGRESS` and a resumed `EINTR` mean the connection goes on.
fn start(fd: RawFd, addr: &Address, signals: Signals) -> Result<Started> {
    match sys::connect(fd, &addr.storage, addr.len) {
        Ok(()) => Ok(Started::Connected),
        Err(sys::Errno(libc::EINPROGRESS)) => Ok(Started::InProgress),
        Err(sys::Errno(libc::EINTR)) if signals == Signals::Resume => Ok(Started::InProgress),
        Err(errno) => Err(Error::at("connect")(errno)),
    }
}

/// The outcome of a connection that went on in the kernel: `SO_ERROR`.
fn outcome(fd: RawFd) -> Result<()> {
    match sys::getsockopt_int(fd, libc::SOL_SOCKET, libc::SO_ERROR) {
        Ok(0) => Ok(()),
        Ok(code) => Err(Error::new(code, "connect")),
        Err(errno) => Err(Error::at("getsockopt(SO_ERROR)")(errno)),
    }
}

/// Waits for a started connection until `deadline`, then reads its outcome.
fn finish(fd: RawFd, deadline: Deadline, signals: Signals) -> Result<()> {
    wait::wait_for(fd, libc::POLLOUT, deadline, signals).map_err(timed_out_as_connect)?;
    outcome(fd)
}

fn timed_out_as_connect(err: Error) -> Error {
    if err.errno.0 == libc::ETIMEDOUT {
        Error::new(libc::ETIMEDOUT, "connect: timed out")
    } else {
        err
    }
}

/// Connects a descriptor whose mode is known: blocking descriptors are only given a negative
/// timeout here (the callers make them non-blocking for any other).
fn connect_fd(
    fd: RawFd,
    addr: &Address,
    timeout_ms: c_int,
    deadline: Deadline,
    signals: Signals,
) -> Result<()> {
    match start(fd, addr, signals)? {
        Started::Connected => Ok(()),
        Started::InProgress if timeout_ms == 0 => Err(Error::new(libc::EINPROGRESS, "connect")),
        Started::InProgress => finish(fd, deadline, signals),
    }
}

/// `csock_connect`: `sock.settimeout(t); sock.connect(addr)` without changing the mode for good.
///
/// Negative timeout: one `connect(2)`, and a wait without limit when it goes on. `0`: one
/// non-blocking attempt (`EINPROGRESS` when it goes on). Positive: a non-blocking attempt, a wait
/// of at most `timeout_ms`, `SO_ERROR`. A blocking descriptor is made non-blocking for the call
/// and blocking again on every path.
pub fn connect(sock: &csock_socket, addr: &Address, timeout_ms: c_int, flags: c_int) -> Result<()> {
    let fd = live(sock)?;
    let (signals, rest) = Signals::from_flags(flags);
    if rest != 0 {
        return Err(Error::new(libc::EINVAL, "flags other than CSOCK_EINTR"));
    }
    if timeout_ms < 0 {
        return connect_fd(fd, addr, timeout_ms, Deadline::Never, signals);
    }
    let deadline = Deadline::after(timeout_ms);
    let flags = sys::status_flags(fd).map_err(Error::at("fcntl(F_GETFL)"))?;
    if flags & libc::O_NONBLOCK != 0 {
        return connect_fd(fd, addr, timeout_ms, deadline, signals);
    }
    sys::set_nonblocking(fd, true).map_err(Error::at("ioctl(FIONBIO)"))?;
    let result = connect_fd(fd, addr, timeout_ms, deadline, signals);
    let restored = sys::set_nonblocking(fd, false).map_err(Error::at("ioctl(FIONBIO)"));
    result.and(restored)
}

// ---- csock_create_connection ---------------------------------------------------------------

/// What `csock_create_connection` takes besides the host, the port and the timeout.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options<'a> {
    /// Bind each attempt to this address first (`None` with no port: no bind).
    pub source_host: Option<&'a CStr>,
    /// The source port; `None` means `"0"`.
    pub source_port: Option<&'a CStr>,
    /// One deadline for all attempts together, after resolution; `<= 0`: none.
    pub total_timeout_ms: c_int,
    /// `> 0`: Happy Eyeballs with this delay between attempts (at least 10 ms).
    pub attempt_delay_ms: c_int,
    /// `SOCK_NONBLOCK`, `CSOCK_EINTR`.
    pub flags: c_int,
}

/// One address tried.
#[derive(Clone, Copy)]
pub struct Attempt {
    /// The address, as the resolver returned it.
    pub addr: Address,
    /// `CSOCK_STEP_*`: the step the attempt reached.
    pub step: c_int,
    /// Why it failed; `None` for the attempt that connected.
    pub error: Option<Error>,
}

const NO_ATTEMPT: Attempt = Attempt {
    addr: Address {
        storage: EMPTY_STORAGE,
        len: 0,
    },
    step: 0,
    error: None,
};

const EMPTY_STORAGE: libc::sockaddr_storage = sys::ZEROED_STORAGE;

/// The addresses tried, in the order the attempts started: the attempt report and the message.
pub struct Report {
    attempts: Option<Scratch<Attempt, 8>>,
    len: usize,
}

impl Default for Report {
    fn default() -> Self {
        Self::new()
    }
}

impl Report {
    /// No attempt yet.
    pub const fn new() -> Self {
        Report {
            attempts: None,
            len: 0,
        }
    }

    fn reserve(&mut self, n: usize) -> Result<()> {
        let slots = Scratch::new(n, NO_ATTEMPT).ok_or(Error::new(libc::ENOMEM, "malloc"))?;
        self.attempts = Some(slots);
        Ok(())
    }

    /// The attempts made, in the order they started.
    pub fn attempts(&self) -> &[Attempt] {
        self.attempts
            .as_deref()
            .and_then(|a| a.get(..self.len))
            .unwrap_or(&[])
    }

    /// Starts the record of an attempt at `CSOCK_STEP_SOCKET`; its index.
    fn begin(&mut self, addr: Address) -> usize {
        let at = self.len;
        if let Some(slot) = self.attempts.as_deref_mut().and_then(|a| a.get_mut(at)) {
            *slot = Attempt {
                addr,
                step: CSOCK_STEP_SOCKET,
                error: None,
            };
            self.len += 1;
        }
        at
    }

    fn step(&mut self, at: usize, step: c_int) {
        if let Some(slot) = self.slot(at) {
            slot.step = step;
        }
    }

    fn failed(&mut self, at: usize, err: Error) {
        if let Some(slot) = self.slot(at) {
            slot.error = Some(err);
        }
    }

    fn slot(&mut self, at: usize) -> Option<&mut Attempt> {
        let len = self.len;
        self.attempts.as_deref_mut()?.get_mut(..len)?.get_mut(at)
    }

    /// The addresses tried and why each failed, for the message of a failure: `": 2 addresses
    /// tried: [::1]:80 (connect: ECONNREFUSED: Connection refused), 127.0.0.1:80 (...); the last
    /// error"`, or nothing when none was tried.
    pub fn summary(&self, w: &mut error::Writer<'_, '_>) {
        let attempts = self.attempts();
        if attempts.is_empty() {
            return;
        }
        w.text(": ");
        w.int(attempts.len() as i64);
        w.text(if attempts.len() == 1 {
            " address tried: "
        } else {
            " addresses tried: "
        });
        for (i, attempt) in attempts.iter().enumerate() {
            if i > 0 {
                w.text(", ");
            }
            w.addr(sys::storage_bytes(&attempt.addr.storage, attempt.addr.len));
            w.text(" (");
            match &attempt.error {
                None => w.text("connected"),
                Some(err) => w.error(err),
            }
            w.text(")");
        }
        w.text("; the last error");
    }
}

/// The source address of each family, resolved once when an attempt of that family needs it.
struct Source<'a> {
    host: Option<&'a CStr>,
    port: &'a CStr,
    resolved: [(c_int, Option<Result<Address>>); 2],
}

impl<'a> Source<'a> {
    fn new(opts: &Options<'a>) -> Option<Self> {
        if opts.source_host.is_none() && opts.source_port.is_none() {
            return None;
        }
        let host = opts.source_host.filter(|h| !h.is_empty());
        Some(Source {
            host,
            port: opts.source_port.unwrap_or(c"0"),
            resolved: [(libc::AF_INET, None), (libc::AF_INET6, None)],
        })
    }

    /// The address to bind a socket of `family` to.
    fn for_family(&mut self, family: c_int) -> Result<Address> {
        let (host, port) = (self.host, self.port);
        let resolve = || -> Result<Address> {
            resolve::check_port(port)?;
            let list = resolve::resolve(host, Some(port), family, libc::AI_PASSIVE)?;
            let entry = list
                .iter()
                .next()
                .ok_or(Error::new(libc::EADDRNOTAVAIL, "getaddrinfo: no address"))?;
            Ok(Address {
                storage: entry.storage,
                len: entry.len,
            })
        };
        match self.resolved.iter_mut().find(|(f, _)| *f == family) {
            Some((_, cached)) => *cached.get_or_insert_with(resolve),
            None => resolve(),
        }
    }
}

/// The port of an IPv4 or IPv6 address (0 for other families).
fn port_of(addr: &Address) -> u16 {
    let b = sys::storage_bytes(&addr.storage, addr.len);
    match b.get(2..4) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

/// Everything an attempt needs besides its address.
struct Attempts<'a> {
    timeout_ms: c_int,
    total: Deadline,
    signals: Signals,
    nonblock_result: bool,
    create_nonblock: bool,
    source: Option<Source<'a>>,
}

/// Why an attempt did not go on.
enum Stop {
    /// This attempt failed; the next one may start.
    Failed(Error),
    /// The whole call ends with this error (a hook refused, or `CSOCK_EINTR`).
    Call(Error),
}

impl Attempts<'_> {
    /// Audits, creates, binds and starts connecting one attempt.
    fn open(
        &mut self,
        entry: &AddrEntry,
        report: &mut Report,
        at: usize,
    ) -> core::result::Result<(Fd, Started), Stop> {
        audit::check(&Event::socket_new(
            -1,
            entry.family,
            libc::SOCK_STREAM,
            entry.protocol,
        ))
        .map_err(Stop::Call)?;
        let ty = libc::SOCK_STREAM
            | if self.create_nonblock {
                libc::SOCK_NONBLOCK
            } else {
                0
            };
        let fd = create::socket_cloexec(entry.family, ty, entry.protocol).map_err(Stop::Failed)?;
        if let Some(source) = self.source.as_mut() {
            report.step(at, CSOCK_STEP_BIND);
            let addr = source.for_family(entry.family).map_err(Stop::Failed)?;
            if port_of(&addr) == 0 {
                // Best effort: without it the bind only uses up an ephemeral port early.
                let _ = sys::setsockopt_int(
                    fd.raw(),
                    libc::IPPROTO_IP,
                    libc::IP_BIND_ADDRESS_NO_PORT,
                    1,
                );
            }
            sys::bind(fd.raw(), &addr.storage, addr.len)
                .map_err(|e| Stop::Failed(Error::at("bind")(e)))?;
        }
        report.step(at, CSOCK_STEP_CONNECT);
        let addr = Address {
            storage: entry.storage,
            len: entry.len,
        };
        match start(fd.raw(), &addr, self.signals) {
            Ok(Started::Connected) => Ok((fd, Started::Connected)),
            Ok(Started::InProgress) if self.timeout_ms == 0 => {
                Err(Stop::Failed(Error::new(libc::EINPROGRESS, "connect")))
            }
            Ok(Started::InProgress) => Ok((fd, Started::InProgress)),
            Err(err) if err.errno.0 == libc::EINTR => Err(Stop::Call(err)),
            Err(err) => Err(Stop::Failed(err)),
        }
    }

    /// The deadline of an attempt that starts now.
    fn attempt_deadline(&self) -> Deadline {
        Deadline::after(self.timeout_ms).min(self.total)
    }

    /// The winner, in the mode the caller asked for.
    fn finish_winner(&self, fd: Fd, entry: &AddrEntry) -> Result<csock_socket> {
        if self.create_nonblock && !self.nonblock_result {
            sys::set_nonblocking(fd.raw(), false).map_err(Error::at("ioctl(FIONBIO)"))?;
        }
        Ok(create::into_socket(
            fd,
            entry.family,
            libc::SOCK_STREAM,
            entry.protocol,
        ))
    }
}

const TOTAL_TIMEOUT: Error = Error::new(libc::ETIMEDOUT, "the total timeout ran out");

/// `socket.create_connection((host, port), timeout, source_address)`: see API.md. Every address
/// tried is recorded in `report`, on success and on failure.
pub fn create_connection(
    host: Option<&CStr>,
    port: Option<&CStr>,
    timeout_ms: c_int,
    opts: &Options<'_>,
    report: &mut Report,
) -> Result<csock_socket> {
    let (signals, rest) = Signals::from_flags(opts.flags);
    if rest & !libc::SOCK_NONBLOCK != 0 {
        return Err(Error::new(
            libc::EINVAL,
            "opts->flags other than SOCK_NONBLOCK and CSOCK_EINTR",
        ));
    }
    let port = port.ok_or(Error::new(libc::EINVAL, "port is NULL"))?;
    resolve::check_port(port)?;
    let list = resolve::resolve(host, Some(port), libc::AF_UNSPEC, 0)?;
    let n = list.iter().count();
    report.reserve(n)?;
    let total = if opts.total_timeout_ms > 0 {
        Deadline::after(opts.total_timeout_ms)
    } else {
        Deadline::Never
    };
    let race = opts.attempt_delay_ms > 0;
    let nonblock_result = rest & libc::SOCK_NONBLOCK != 0;
    let mut attempts = Attempts {
        timeout_ms,
        total,
        signals,
        nonblock_result,
        create_nonblock: nonblock_result || timeout_ms >= 0 || total != Deadline::Never || race,
        source: Source::new(opts),
    };
    if race {
        let delay = opts.attempt_delay_ms.max(MIN_ATTEMPT_DELAY_MS);
        happy_eyeballs(&list, n, delay, &mut attempts, report)
    } else {
        one_at_a_time(&list, &mut attempts, report)
    }
}

/// CPython's loop: each address in turn, the last error if none connects.
fn one_at_a_time(
    list: &sys::AddrInfo,
    attempts: &mut Attempts<'_>,
    report: &mut Report,
) -> Result<csock_socket> {
    let mut last = Error::new(libc::EADDRNOTAVAIL, "getaddrinfo returned no address");
    for entry in list.iter() {
        if attempts.total.passed() {
            return Err(TOTAL_TIMEOUT);
        }
        let at = report.begin(Address {
            storage: entry.storage,
            len: entry.len,
        });
        let deadline = attempts.attempt_deadline();
        let result = match attempts.open(&entry, report, at) {
            Ok((fd, Started::Connected)) => Ok(fd),
            Ok((fd, Started::InProgress)) => finish(fd.raw(), deadline, attempts.signals)
                .map(|()| fd)
                .map_err(|err| {
                    if err.errno.0 == libc::EINTR {
                        Stop::Call(err)
                    } else {
                        Stop::Failed(err)
                    }
                }),
            Err(stop) => Err(stop),
        };
        match result {
            Ok(fd) => match attempts.finish_winner(fd, &entry) {
                Ok(sock) => return Ok(sock),
                Err(err) => {
                    report.failed(at, err);
                    return Err(err);
                }
            },
            Err(Stop::Failed(err)) => {
                report.failed(at, err);
                last = err;
            }
            Err(Stop::Call(err)) => {
                report.failed(at, err);
                return Err(err);
            }
        }
    }
    Err(last)
}

/// The order of Happy Eyeballs (RFC 8305 section 4): the resolver's first family first, then
/// the families alternating, each in the resolver's order; what is left of one family at the end.
/// `families` are the resolver's families in its order; writes indexes into `order`.
pub fn interleave(families: &[c_int], order: &mut [usize]) {
    let first = families.first().copied().unwrap_or(0);
    let mut a = families
        .iter()
        .enumerate()
        .filter(|(_, f)| **f == first)
        .map(|(i, _)| i);
    let mut b = families
        .iter()
        .enumerate()
        .filter(|(_, f)| **f != first)
        .map(|(i, _)| i);
    let mut slots = order.iter_mut();
    let mut turn_a = true;
    loop {
        let next = if turn_a {
            a.next().or_else(|| b.next())
        } else {
            b.next().or_else(|| a.next())
        };
        turn_a = !turn_a;
        match (next, slots.next()) {
            (Some(i), Some(slot)) => *slot = i,
            _ => return,
        }
    }
}

/// An attempt in flight.
#[derive(Clone, Copy)]
struct Flight {
    fd: RawFd,
    entry: usize,
    report: usize,
    deadline: Deadline,
}

/// The attempts in flight; every descriptor left when it is dropped is closed.
struct Flights {
    slots: Scratch<Flight, 8>,
    len: usize,
}

impl Drop for Flights {
    fn drop(&mut self) {
        for flight in self.slots.get(..self.len).unwrap_or(&[]) {
            let _ = sys::close(flight.fd);
        }
    }
}

impl Flights {
    fn push(&mut self, flight: Flight) {
        if let Some(slot) = self.slots.get_mut(self.len) {
            *slot = flight;
            self.len += 1;
        } else {
            // Never happens: there is a slot for every address. Close rather than leak.
            let _ = sys::close(flight.fd);
        }
    }

    /// Takes flight `i` out (the last one takes its place).
    fn take(&mut self, i: usize) -> Option<Flight> {
        let flight = *self.slots.get(..self.len)?.get(i)?;
        let last = *self.slots.get(self.len - 1)?;
        *self.slots.get_mut(i)? = last;
        self.len -= 1;
        Some(flight)
    }

    fn live(&self) -> &[Flight] {
        self.slots.get(..self.len).unwrap_or(&[])
    }

    /// Closes every attempt left, reporting each with `err`.
    fn cancel(&mut self, report: &mut Report, err: Error) {
        while let Some(flight) = self.take(0) {
            let _ = sys::close(flight.fd);
            report.failed(flight.report, err);
        }
    }
}

const CANCELED: Error = Error::new(libc::ECANCELED, "another attempt connected first");
const ENDED: Error = Error::new(libc::ECANCELED, "closed when the call ended");

/// Happy Eyeballs v2: the staggered race, in this thread, with one `poll`.
fn happy_eyeballs(
    list: &sys::AddrInfo,
    n: usize,
    delay_ms: c_int,
    attempts: &mut Attempts<'_>,
    report: &mut Report,
) -> Result<csock_socket> {
    let no_memory = Error::new(libc::ENOMEM, "malloc");
    let mut entries = Scratch::<Option<AddrEntry>, 8>::new(n, None).ok_or(no_memory)?;
    let mut families = Scratch::<c_int, 8>::new(n, 0).ok_or(no_memory)?;
    for ((slot, family), entry) in entries.iter_mut().zip(families.iter_mut()).zip(list.iter()) {
        *family = entry.family;
        *slot = Some(entry);
    }
    let mut order = Scratch::<usize, 8>::new(n, 0).ok_or(no_memory)?;
    interleave(&families, &mut order);
    let idle = Flight {
        fd: -1,
        entry: 0,
        report: 0,
        deadline: Deadline::Never,
    };
    let mut flights = Flights {
        slots: Scratch::new(n, idle).ok_or(no_memory)?,
        len: 0,
    };
    let pfd = libc::pollfd {
        fd: -1,
        events: libc::POLLOUT,
        revents: 0,
    };
    let mut pollfds = Scratch::<libc::pollfd, 8>::new(n, pfd).ok_or(no_memory)?;
    let mut last = Error::new(libc::EADDRNOTAVAIL, "getaddrinfo returned no address");
    let mut next = 0usize;
    let mut next_start = Deadline::At(0);
    // The report index of the attempt started last: when it fails, the next one starts at once.
    let mut latest = usize::MAX;
    let entry_at = |i: usize| entries.get(i).copied().flatten();

    loop {
        if attempts.total.passed() {
            flights.cancel(report, TOTAL_TIMEOUT);
            return Err(TOTAL_TIMEOUT);
        }
        // Start the next attempt when it is due: at once when nothing is in flight.
        if next < n && (flights.len == 0 || next_start.passed()) {
            let index = order.get(next).copied().unwrap_or(0);
            next += 1;
            let Some(entry) = entry_at(index) else {
                continue;
            };
            let at = report.begin(Address {
                storage: entry.storage,
                len: entry.len,
            });
            let deadline = attempts.attempt_deadline();
            match attempts.open(&entry, report, at) {
                Ok((fd, Started::Connected)) => {
                    flights.cancel(report, CANCELED);
                    return attempts.finish_winner(fd, &entry).inspect_err(|err| {
                        report.failed(at, *err);
                    });
                }
                Ok((fd, Started::InProgress)) => {
                    flights.push(Flight {
                        fd: fd.into_raw(),
                        entry: index,
                        report: at,
                        deadline,
                    });
                    next_start = Deadline::after(delay_ms);
                    latest = at;
                }
                Err(Stop::Failed(err)) => {
                    report.failed(at, err);
                    last = err;
                }
                Err(Stop::Call(err)) => {
                    report.failed(at, err);
                    flights.cancel(report, ENDED);
                    return Err(err);
                }
            }
            continue;
        }
        if flights.len == 0 {
            return Err(last);
        }
        // Wait for an attempt to finish, the next one to be due, or a deadline.
        let mut wake = attempts.total;
        if next < n {
            wake = wake.min(next_start);
        }
        for (flight, pfd) in flights.live().iter().zip(pollfds.iter_mut()) {
            wake = wake.min(flight.deadline);
            *pfd = libc::pollfd {
                fd: flight.fd,
                events: libc::POLLOUT,
                revents: 0,
            };
        }
        let live = flights.len;
        let ready = match wait::poll_until(
            pollfds.get_mut(..live).unwrap_or(&mut []),
            wake,
            attempts.signals,
        ) {
            Ok(ready) => ready,
            Err(err) => {
                flights.cancel(report, ENDED);
                return Err(err);
            }
        };
        // Walk backwards: taking a flight moves the last one into its place. Of the attempts
        // that connected in this round, the one that started first wins.
        let mut winner: Option<Flight> = None;
        for i in (0..live).rev() {
            let Some(flight) = flights.live().get(i).copied() else {
                continue;
            };
            let revents = pollfds.get(i).map_or(0, |p| p.revents);
            let result = if ready > 0 && revents != 0 {
                outcome(flight.fd)
            } else if flight.deadline.passed() {
                Err(Error::new(libc::ETIMEDOUT, "connect: timed out"))
            } else {
                continue;
            };
            let Some(flight) = flights.take(i) else {
                continue;
            };
            match result {
                Ok(()) => {
                    let (first, other) = match winner {
                        Some(w) if w.report < flight.report => (w, Some(flight)),
                        Some(w) => (flight, Some(w)),
                        None => (flight, None),
                    };
                    winner = Some(first);
                    if let Some(other) = other {
                        let _ = sys::close(other.fd);
                        report.failed(other.report, CANCELED);
                    }
                }
                Err(err) => {
                    let _ = sys::close(flight.fd);
                    report.failed(flight.report, err);
                    last = err;
                    if flight.report == latest {
                        next_start = Deadline::At(0);
                    }
                }
            }
        }
        if let Some(flight) = winner {
            flights.cancel(report, CANCELED);
            let fd = Fd::reclaim(flight.fd);
            let entry = entry_at(flight.entry).ok_or(Error::new(libc::EIO, "lost attempt"))?;
            return attempts.finish_winner(fd, &entry).inspect_err(|err| {
                report.failed(flight.report, *err);
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order_of(families: &[c_int]) -> Vec<usize> {
        let mut order = vec![99; families.len()];
        interleave(families, &mut order);
        order
    }

    #[test]
    fn families_interleave_from_the_resolver_s_first() {
        let (a, b) = (libc::AF_INET6, libc::AF_INET);
        assert_eq!(order_of(&[]), Vec::<usize>::new());
        assert_eq!(order_of(&[a]), [0]);
        assert_eq!(order_of(&[a, a, b, b]), [0, 2, 1, 3]);
        assert_eq!(order_of(&[b, b, b, a]), [0, 3, 1, 2]);
        assert_eq!(order_of(&[a, b, a, a, a]), [0, 1, 2, 3, 4]);
        assert_eq!(order_of(&[b, a, a, a]), [0, 1, 2, 3]);
        assert_eq!(order_of(&[a, a, a, b]), [0, 3, 1, 2]);
    }

    fn inet(ip: [u8; 4], port: u16) -> Address {
        let mut storage = sys::zeroed_storage();
        let b = sys::storage_bytes_mut(&mut storage);
        b[..2].copy_from_slice(&(libc::AF_INET as u16).to_ne_bytes());
        b[2..4].copy_from_slice(&port.to_be_bytes());
        b[4..8].copy_from_slice(&ip);
        Address { storage, len: 16 }
    }

    #[test]
    fn the_summary_names_every_attempt_and_why() {
        let mut report = Report::new();
        assert_eq!(error::render(|w| report.summary(w)), "");
        report.reserve(3).unwrap();
        let a = report.begin(inet([127, 0, 0, 1], 80));
        report.step(a, CSOCK_STEP_CONNECT);
        report.failed(a, Error::new(libc::ECONNREFUSED, "connect"));
        let b = report.begin(inet([127, 0, 0, 2], 80));
        report.failed(b, Error::new(resolve::CSOCK_EAI_BASE + 9, "getaddrinfo"));
        report.step(b, CSOCK_STEP_BIND);
        let c = report.begin(inet([127, 0, 0, 3], 80));
        report.step(c, CSOCK_STEP_CONNECT);
        assert_eq!(report.attempts().len(), 3);
        assert_eq!(report.attempts()[1].step, CSOCK_STEP_BIND);
        assert_eq!(report.attempts()[2].error, None);
        assert_eq!(
            error::render(|w| report.summary(w)),
            ": 3 addresses tried: 127.0.0.1:80 (connect: ECONNREFUSED: Connection refused), \
             127.0.0.2:80 (getaddrinfo: EAI_ADDRFAMILY: Address family for hostname not \
             supported), 127.0.0.3:80 (connected); the last error"
        );
        // A report has no room beyond what it reserved.
        assert_eq!(report.begin(inet([127, 0, 0, 4], 80)), 3);
        assert_eq!(report.attempts().len(), 3);
    }

    #[test]
    fn flights_close_what_is_left() {
        let idle = Flight {
            fd: -1,
            entry: 0,
            report: 0,
            deadline: Deadline::Never,
        };
        let mut flights = Flights {
            slots: Scratch::new(3, idle).unwrap(),
            len: 0,
        };
        // Each flight holds one end of a pair; the other end sees it closed.
        let pairs: Vec<[csock_socket; 2]> = (0..3)
            .map(|_| create::socketpair(-1, -1, -1).unwrap())
            .collect();
        for (i, [ours, _]) in pairs.iter().enumerate() {
            flights.push(Flight {
                fd: ours.fd,
                report: i,
                ..idle
            });
        }
        let taken = flights.take(0).unwrap();
        assert_eq!(taken.fd, pairs[0][0].fd);
        let left: Vec<usize> = flights.live().iter().map(|f| f.report).collect();
        assert_eq!(
            left,
            [2, 1],
            "the last flight takes the place of the one taken"
        );
        assert!(flights.take(5).is_none());
        drop(flights);
        for (i, [_, peer]) in pairs.iter().enumerate() {
            let hup = sys::poll_one(peer.fd, libc::POLLIN, 0).unwrap() & libc::POLLHUP != 0;
            assert_eq!(
                hup,
                i != 0,
                "pair {i}: closed when the flights were dropped"
            );
            sys::close(peer.fd).unwrap();
        }
        sys::close(taken.fd).unwrap();
    }

    #[test]
    fn bad_flags_and_ports_make_no_call() {
        let mut report = Report::new();
        let opts = Options {
            flags: libc::SOCK_CLOEXEC,
            ..Options::default()
        };
        let err = create_connection(Some(c"127.0.0.1"), Some(c"1"), -1, &opts, &mut report);
        assert_eq!(err.unwrap_err().errno.0, libc::EINVAL);
        let opts = Options::default();
        let err = create_connection(Some(c"127.0.0.1"), Some(c"70000"), -1, &opts, &mut report);
        assert_eq!(err.unwrap_err().errno.0, libc::EINVAL);
        let err = create_connection(Some(c"127.0.0.1"), None, -1, &opts, &mut report);
        assert_eq!(err.unwrap_err().errno.0, libc::EINVAL);
        assert!(report.attempts().is_empty());
    }

    #[test]
    fn a_refused_connection_is_reported_and_named() {
        // A port nobody listens on: bind a listener-less socket to learn a free port.
        let probe = create::socket_cloexec(libc::AF_INET, libc::SOCK_STREAM, 0).unwrap();
        let mut addr = sys::zeroed_storage();
        let sin = (&raw mut addr).cast::<libc::sockaddr_in>();
        // SAFETY: the storage is large enough for a sockaddr_in.
        unsafe {
            (*sin).sin_family = libc::AF_INET as libc::sa_family_t;
            (*sin).sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        }
        sys::bind(probe.raw(), &addr, 16).unwrap();
        let (bound, _) = sys::getsockname(probe.raw()).unwrap();
        let port = port_of(&Address {
            storage: bound,
            len: 16,
        });
        let port = std::ffi::CString::new(port.to_string()).unwrap();
        let mut report = Report::new();
        let err = create_connection(
            Some(c"127.0.0.1"),
            Some(&port),
            -1,
            &Options::default(),
            &mut report,
        )
        .unwrap_err();
        assert_eq!(err.errno.0, libc::ECONNREFUSED);
        let attempts = report.attempts();
        assert_eq!(attempts.len(), 1);
        assert_eq!(attempts[0].step, CSOCK_STEP_CONNECT);
        let text = error::render(|w| report.summary(w));
        assert!(text.contains("127.0.0.1:"), "{text}");
        assert!(text.contains("ECONNREFUSED"), "{text}");
    }
}
