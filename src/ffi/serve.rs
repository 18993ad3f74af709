//! Serving.

use core::ffi::{CStr, c_char};

use libc::c_int;

use super::Out;
use super::connect::opt_str;
use crate::error::{self, Result};
use crate::ffi::IntoCReturn;
use crate::socket::csock_socket;
use crate::{serve, sys};

/// Opens a listening server, like Python's `socket.create_server((host, port), family=...,
/// backlog=..., reuse_port=..., dualstack_ipv6=...)`.
///
/// - `family`: `CSOCK_DEFAULT` (`AF_INET`), `AF_INET6` or `AF_UNIX` (-EAFNOSUPPORT otherwise).
/// - `host`: for `AF_INET`/`AF_INET6`, NULL or `""` is the wildcard address, a numeric address is
///   used as it is, a name is resolved (`getaddrinfo(host, port, family, SOCK_STREAM,
///   AI_PASSIVE)`, first result). `port`: 0-65535 or a service name; NULL means 0 (any free
///   port); above 65535 is -EINVAL. For `AF_UNIX`, `host` is the path (`"@name"`: the abstract
///   name `"\0name"`) and `port` must be NULL (-EINVAL).
/// - One socket, made as `csock_open()` makes it (`SOCK_STREAM`, 0, audited), then
///   `SO_REUSEADDR` = 1 (a failure is ignored, as CPython), `SO_REUSEPORT` = 1 with
///   `CSOCK_SERVER_REUSE_PORT` (`AF_INET`/`AF_INET6` only), for `AF_INET6` `IPV6_V6ONLY` = 0
///   with `CSOCK_SERVER_DUALSTACK` (else 1), `bind`, `listen(backlog)`.
/// - `backlog`: `CSOCK_DEFAULT` gives 128, any other negative value 0.
/// - `flags`: `CSOCK_SERVER_REUSE_PORT`, `CSOCK_SERVER_DUALSTACK`, `SOCK_NONBLOCK` (a
///   non-blocking listener); other bits -EINVAL. `CSOCK_SERVER_DUALSTACK` needs `AF_INET6`
///   (-EINVAL, no system call); without dual-stack support it is -EAFNOSUPPORT.
///
/// Returns 0 and fills `*out` (family, `SOCK_STREAM`, 0), or a negative code (-errno, or a
/// resolver code) with `*out` untouched and nothing left open. A bind failure returns the
/// kernel's error, and the message ends as CPython's does:
/// `(while attempting to bind on address 127.0.0.1:8080)`.
///
/// # Safety
/// `out` is NULL or writable; `host` and `port` are NULL or NUL-terminated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn csock_create_server(
    out: *mut csock_socket,
    host: *const c_char,
    port: *const c_char,
    family: c_int,
    backlog: c_int,
    flags: u32,
) -> c_int {
    // SAFETY: the strings are NULL or NUL-terminated, per this function's contract.
    let (host, port) = unsafe { (opt_str(host), opt_str(port)) };
    let mut bound = None;
    let result = (|| -> Result<()> {
        // `out` is written last, through the pointer: it may alias an input.
        let out = Out::new(out, "out is NULL")?;
        let server = serve::create_server(host, port, family, backlog, flags, &mut bound)?;
        // SAFETY: `out` is writable, per this function's contract.
        unsafe { out.write(server) };
        Ok(())
    })();
    match result {
        Ok(()) => ().into_c(),
        Err(err) => {
            let bind_address = bound.filter(|_| err.what == "bind");
            error::fail_parts(
                &err,
                |w| {
                    w.text("csock_create_server(host=");
                    w.quoted(host.map(CStr::to_bytes));
                    w.text(", port=");
                    w.quoted(port.map(CStr::to_bytes));
                    w.text(", family=");
                    w.int(i64::from(family));
                    w.text(", backlog=");
                    w.int(i64::from(backlog));
                    w.text(", flags=");
                    w.int(i64::from(flags));
                    w.text(")");
                },
                |w| {
                    if let Some(addr) = &bind_address {
                        w.text(" (while attempting to bind on address ");
                        w.addr(sys::storage_bytes(&addr.storage, addr.len));
                        w.text(")");
                    }
                },
            )
        }
    }
}

/// Whether an `AF_INET6` socket can also accept IPv4, like Python's
/// `socket.has_dualstack_ipv6()`: a probe socket, `IPV6_V6ONLY` = 0, close (three system
/// calls, nothing left open).
///
/// Returns 1 or 0, or -errno when the probe could not be made for want of descriptors or memory
/// (-EMFILE, -ENFILE, -ENOBUFS, -ENOMEM), which CPython would report as "no".
#[unsafe(no_mangle)]
pub extern "C" fn csock_has_dualstack_ipv6() -> c_int {
    super::c_call!({ serve::has_dualstack_ipv6() }, csock_has_dualstack_ipv6())
}
