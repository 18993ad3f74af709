//! Connecting, resolver codes, and closing a bare descriptor.

use core::ffi::{CStr, c_char};
use core::mem;

use libc::{c_int, sockaddr, sockaddr_storage, socklen_t};

use super::{Out, address, c_call, fd_of, read_arg};
use crate::connect::{self, Options, Report};
use crate::error::{self, Error, Result};
use crate::socket::csock_socket;
use crate::{lifecycle, resolve, sys};

/// One address `csock_create_connection()` tried, in its attempt report.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct csock_attempt {
    /// The address tried, as getaddrinfo returned it (a whole zeroed storage).
    pub addr: sockaddr_storage,
    /// The address's length.
    pub addrlen: socklen_t,
    /// `CSOCK_STEP_*`: the step the attempt reached.
    pub step: c_int,
    /// 0 for the attempt that connected, else its error code (-errno or a resolver code);
    /// -ECANCELED for an attempt closed because another one connected first.
    pub error: c_int,
}

/// The options of `csock_create_connection()`. Set `size` to `sizeof(csock_connect_opts)`; a
/// zeroed struct with `size` set behaves as NULL.
#[repr(C)]
pub struct csock_connect_opts {
    /// `sizeof(csock_connect_opts)`: later versions may add fields.
    pub size: usize,
    /// Bind each attempt to this address first; NULL: no bind (unless `source_port` is given).
    pub source_host: *const c_char,
    /// The source port; NULL means "0" (any port, with `IP_BIND_ADDRESS_NO_PORT`).
    pub source_port: *const c_char,
    /// One deadline for all attempts together, after resolution, in ms; 0: none.
    pub total_timeout_ms: c_int,
    /// Above 0: Happy Eyeballs (RFC 8305) with this delay between attempts (at least 10 ms);
    /// 0: one address at a time.
    pub attempt_delay_ms: c_int,
    /// `SOCK_NONBLOCK` (the result is non-blocking), `CSOCK_EINTR`.
    pub flags: c_int,
    /// Where to report every address tried; NULL: no report.
    pub attempts: *mut csock_attempt,
    /// Room in `attempts`.
    pub attempts_cap: usize,
    /// Written: how many addresses were tried (may exceed the cap).
    pub attempts_len: usize,
}

/// A caller's optional string.
///
/// # Safety
/// `s` is NULL or a NUL-terminated string that outlives the call.
pub(crate) unsafe fn opt_str<'a>(s: *const c_char) -> Option<&'a CStr> {
    // SAFETY: forwarded from the caller.
    (!s.is_null()).then(|| unsafe { CStr::from_ptr(s) })
}

/// Connects a socket, like `sock.settimeout(t); sock.connect(addr)` in CPython, without changing
/// the socket's mode for good.
///
/// - `timeout_ms` negative (`CSOCK_DEFAULT`): `connect(2)` once; if it is interrupted by a signal,
///   or the descriptor is non-blocking and the connection goes on (`EINPROGRESS`), csock waits
///   for it and returns its outcome (`SO_ERROR`). A blocking socket that connects at once costs
///   one system call.
/// - `0`: one non-blocking attempt: 0, -EINPROGRESS (the connection goes on in the background),
///   or the error.
/// - Positive: a non-blocking attempt, a wait (`poll`) of at most `timeout_ms`, then `SO_ERROR`;
///   -ETIMEDOUT when the time runs out. A blocking descriptor is made non-blocking for the call
///   and blocking again before it returns, on every path.
///
/// A signal never makes csock issue `connect` again: it resumes the wait with the time that is
/// left, or, with `CSOCK_EINTR` in `flags`, returns -EINTR (the connection goes on).
///
/// Returns 0 or -errno: -EINVAL for a NULL `sock` or `addr`, a `len` above
/// `sizeof(struct sockaddr_storage)` or unknown flag bits, -EBADF for a closed socket (all
/// without a system call), or the connection's error (-ECONNREFUSED, -ETIMEDOUT, ...).
///
/// # Safety
/// `sock` is NULL or valid; `addr` is NULL or readable for `len` bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_connect(
    sock: *const csock_socket,
    addr: *const sockaddr,
    len: socklen_t,
    timeout_ms: c_int,
    flags: c_int,
) -> c_int {
    // SAFETY: `addr` is NULL or readable for `len` bytes, per this function's contract.
    let target = unsafe { address(addr, len) };
    // SAFETY: `sock` is NULL or valid, per this function's contract.
    let result = unsafe { read_arg(sock, "sock is NULL") }
        .and_then(|s| connect::connect(&s, target.as_ref().map_err(|e| *e)?, timeout_ms, flags));
    match result {
        Ok(()) => 0,
        Err(err) => error::fail_parts(
            &err,
            |w| {
                w.text("csock_connect(fd=");
                // SAFETY: as above.
                w.int(i64::from(unsafe { fd_of(sock) }));
                w.text(", addr=");
                match &target {
                    Ok(addr) => w.addr(sys::storage_bytes(&addr.storage, addr.len)),
                    Err(_) => w.text("?"),
                }
                w.text(", timeout_ms=");
                w.int(i64::from(timeout_ms));
                w.text(", flags=");
                w.int(i64::from(flags));
                w.text(")");
            },
            |_| {},
        ),
    }
}

/// What csock read of the caller's options.
struct OptsView<'a> {
    options: Options<'a>,
    attempts: *mut csock_attempt,
    cap: usize,
    /// Whether `attempts_len` lies within the `size` the caller gave.
    has_len: bool,
}

/// Reads the caller's options: the fields that lie within `size`, the rest as zero; bytes past
/// this version's struct must be zero.
///
/// # Safety
/// `opts` is NULL or valid for reads (and writes) of `opts->size` bytes.
unsafe fn read_opts<'a>(opts: *mut csock_connect_opts) -> Result<Option<OptsView<'a>>> {
    if opts.is_null() {
        return Ok(None);
    }
    // SAFETY: a non-NULL `opts` starts with its `size` field.
    let size = unsafe { opts.cast::<usize>().read_unaligned() };
    let known = mem::size_of::<csock_connect_opts>();
    if size < mem::size_of::<usize>() {
        return Err(Error::new(
            libc::EINVAL,
            "opts->size is smaller than its first field",
        ));
    }
    if size > known {
        // SAFETY: the caller's struct is `size` bytes long.
        let extra = unsafe {
            core::slice::from_raw_parts(opts.cast::<u8>().cast_const().add(known), size - known)
        };
        if extra.iter().any(|b| *b != 0) {
            return Err(Error::new(
                libc::EINVAL,
                "opts->size is larger than this version's struct, with non-zero bytes past it",
            ));
        }
    }
    // SAFETY: all-zero bytes are a valid csock_connect_opts (NULL pointers, zero numbers).
    let mut local: csock_connect_opts = unsafe { mem::zeroed() };
    // SAFETY: the caller's struct holds at least `size` readable bytes, and at most `known` are
    // copied into `local`.
    unsafe {
        core::ptr::copy_nonoverlapping(
            opts.cast::<u8>().cast_const(),
            (&raw mut local).cast::<u8>(),
            size.min(known),
        );
    }
    let has_len =
        size >= mem::offset_of!(csock_connect_opts, attempts_len) + mem::size_of::<usize>();
    Ok(Some(OptsView {
        options: Options {
            // SAFETY: the strings are NULL or NUL-terminated, per this function's contract.
            source_host: unsafe { opt_str(local.source_host) },
            // SAFETY: as above.
            source_port: unsafe { opt_str(local.source_port) },
            total_timeout_ms: local.total_timeout_ms,
            attempt_delay_ms: local.attempt_delay_ms,
            flags: local.flags,
        },
        attempts: local.attempts,
        cap: local.attempts_cap,
        has_len,
    }))
}

/// Writes the attempt report: up to `cap` entries, and `attempts_len`.
///
/// # Safety
/// As for [`read_opts`]; `view.attempts` is NULL or writable for `view.cap` entries.
unsafe fn write_report(opts: *mut csock_connect_opts, view: &OptsView<'_>, report: &Report) {
    let attempts = report.attempts();
    if !view.attempts.is_null() {
        for (i, attempt) in attempts.iter().take(view.cap).enumerate() {
            let entry = csock_attempt {
                addr: attempt.addr.storage,
                addrlen: attempt.addr.len,
                step: attempt.step,
                error: attempt.error.map_or(0, |e| e.code()),
            };
            // SAFETY: `i < cap`, and the array holds `cap` entries.
            unsafe { view.attempts.add(i).write_unaligned(entry) };
        }
    }
    if view.has_len {
        // SAFETY: `attempts_len` lies within the caller's `size` bytes.
        unsafe { (&raw mut (*opts).attempts_len).write_unaligned(attempts.len()) };
    }
}

/// Connects to a host and port, like Python's `socket.create_connection((host, port), timeout,
/// source_address, all_errors=...)`.
///
/// 1. Resolves once: `getaddrinfo(host, port, AF_UNSPEC, SOCK_STREAM)`, no `AI_ADDRCONFIG`.
///    `host` NULL means loopback (Python's `None`). `port` NULL, or a number above 65535, is
///    -EINVAL. A resolver failure returns its code (see `csock_gai_error()`) with no socket made.
/// 2. Tries each address in the resolver's order: a socket made as `csock_open()` makes it
///    (audited `"socket.__new__"` with the address's family, `SOCK_STREAM` and protocol; a hook's
///    refusal ends the whole call with its error), bound to the source address for its family if
///    one is given, then connected with `timeout_ms` (as for `csock_connect()`, per attempt).
///    A failed attempt's socket is closed before the next starts.
/// 3. On success `*out` records the address's family, `SOCK_STREAM` and the resolver's protocol
///    (6); the descriptor is close-on-exec and blocking (non-blocking with `SOCK_NONBLOCK` in
///    `opts->flags`).
/// 4. When every attempt fails, the last attempt's error is returned, and the message of
///    `csock_last_error()` names every address tried and why it failed.
///
/// `opts` may be NULL; see `csock_connect_opts` for the attempt report (`all_errors` for C: every
/// address tried, in order, written on success and on failure: the only thing a failure writes),
/// the source address, the total deadline and Happy Eyeballs (`attempt_delay_ms`: the addresses
/// interleaved by family, a new attempt when the previous fails or after the delay, the first to
/// connect wins, the others closed; all in the calling thread with one `poll`).
///
/// Returns 0 and fills `*out` (which then owns the descriptor), or a negative code: -errno, or a
/// resolver code. No descriptor is left behind on any path.
///
/// ```c
/// csock_attempt tried[4];
/// csock_connect_opts opts = {.size = sizeof opts, .attempt_delay_ms = 250,
///                            .attempts = tried, .attempts_cap = 4};
/// csock_socket s;
/// if (csock_create_connection(&s, "localhost", "8080", 5000, &opts) < 0)
///     fprintf(stderr, "%s\n", csock_last_error());
/// ```
///
/// # Safety
/// `out` is NULL or writable; `host` and `port` are NULL or NUL-terminated; `opts` is NULL or
/// valid for `opts->size` bytes, its strings NULL or NUL-terminated, its `attempts` NULL or
/// writable for `attempts_cap` entries.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_create_connection(
    out: *mut csock_socket,
    host: *const c_char,
    port: *const c_char,
    timeout_ms: c_int,
    opts: *mut csock_connect_opts,
) -> c_int {
    // SAFETY: the strings are NULL or NUL-terminated, per this function's contract.
    let (host, port) = unsafe { (opt_str(host), opt_str(port)) };
    let mut report = Report::new();
    let result = (|| -> Result<()> {
        // `out` is written last, through the pointer: it may alias an input.
        let out = Out::new(out, "out is NULL")?;
        // SAFETY: as above.
        let view = unsafe { read_opts(opts) }?;
        let options = view.as_ref().map(|v| v.options).unwrap_or_default();
        let result = connect::create_connection(host, port, timeout_ms, &options, &mut report);
        if let Some(view) = &view {
            // SAFETY: as above.
            unsafe { write_report(opts, view, &report) };
        }
        // SAFETY: `out` is writable, per this function's contract.
        unsafe { out.write(result?) };
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        Err(err) => error::fail_parts(
            &err,
            |w| {
                w.text("csock_create_connection(host=");
                w.quoted(host.map(CStr::to_bytes));
                w.text(", port=");
                w.quoted(port.map(CStr::to_bytes));
                w.text(", timeout_ms=");
                w.int(i64::from(timeout_ms));
                w.text(")");
                report.summary(w);
            },
            |_| {},
        ),
    }
}

/// The `EAI_*` value behind a resolver code: for a return code `rc` of
/// `-(CSOCK_EAI_BASE - EAI_x)`, `EAI_x` (e.g. -4098 gives `EAI_NONAME`, -2); 0 for any other
/// `rc` (0, -errno, ...). Never fails.
#[unsafe(no_mangle)]
pub extern "C" fn csock_gai_error(rc: c_int) -> c_int {
    resolve::gai_error(rc)
}

/// A text for any csock return code: -errno (`"Connection refused"`), a resolver code (`"Name or
/// service not known"`), or 0 (`"Success"`); glibc's texts in the C locale. A static string:
/// thread-safe, never NULL, one fixed text (`"Unknown error"`) for an unknown code.
#[unsafe(no_mangle)]
pub extern "C" fn csock_strerror(rc: c_int) -> *const c_char {
    resolve::strerror(rc).as_ptr()
}

/// Closes a bare descriptor, like Python's `socket.close(fd)`: `close(2)` once, never retried on
/// `EINTR`, `ECONNRESET` ignored. For descriptors csock handed out without a `csock_socket`
/// (received ones, detached ones).
///
/// Returns 0, or -errno: -EBADF for a negative descriptor (without a system call) or one that is
/// not open, or close's error.
#[unsafe(no_mangle)]
pub extern "C" fn csock_close_fd(fd: c_int) -> c_int {
    c_call!({ lifecycle::close_fd(fd) }, csock_close_fd(fd = fd))
}
