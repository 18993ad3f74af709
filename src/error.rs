//! Errors: the errno a call failed with and what failed, and the thread-local message that
//! `csock_last_error()` returns.
//!
//! The message is written only when a call fails, into a fixed per-thread buffer, so the success
//! path neither allocates nor touches thread-local storage.

use std::cell::RefCell;
use std::ffi::CStr;
use std::fmt::{self, Write};

use libc::c_int;

use crate::sys::{self, Errno};

/// Why a csock call failed: the errno and the system call (or check) that produced it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Error {
    /// The positive errno value.
    pub errno: Errno,
    /// What failed: a system call such as `"getsockopt(SO_TYPE)"`, or a check such as
    /// `"negative file descriptor"`.
    pub what: &'static str,
}

/// The result of a core operation.
pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// An error found by csock itself, before or instead of a system call.
    pub const fn new(errno: c_int, what: &'static str) -> Self {
        Error {
            errno: Errno(errno),
            what,
        }
    }

    /// For `map_err`: names the system call that failed with the given errno.
    pub fn at(what: &'static str) -> impl FnOnce(Errno) -> Error {
        move |errno| Error { errno, what }
    }

    /// The value a C function returns for this error: `-errno`.
    pub fn code(&self) -> c_int {
        -self.errno.0
    }
}

/// The symbolic name of an errno value, such as `"ENOTSOCK"`.
pub fn errno_name(errno: Errno) -> Option<&'static str> {
    macro_rules! names {
        ($($name:ident),* $(,)?) => {
            match errno.0 {
                $(libc::$name => Some(stringify!($name)),)*
                _ => None,
            }
        };
    }
    names!(
        EPERM,
        ENOENT,
        ESRCH,
        EINTR,
        EIO,
        ENXIO,
        E2BIG,
        ENOEXEC,
        EBADF,
        ECHILD,
        EAGAIN,
        ENOMEM,
        EACCES,
        EFAULT,
        EBUSY,
        EEXIST,
        EXDEV,
        ENODEV,
        ENOTDIR,
        EISDIR,
        EINVAL,
        ENFILE,
        EMFILE,
        ENOTTY,
        EFBIG,
        ENOSPC,
        ESPIPE,
        EROFS,
        EMLINK,
        EPIPE,
        EDOM,
        ERANGE,
        ENOSYS,
        ENAMETOOLONG,
        EOVERFLOW,
        ENOTSOCK,
        EDESTADDRREQ,
        EMSGSIZE,
        EPROTOTYPE,
        ENOPROTOOPT,
        EPROTONOSUPPORT,
        ESOCKTNOSUPPORT,
        EOPNOTSUPP,
        EPFNOSUPPORT,
        EAFNOSUPPORT,
        EADDRINUSE,
        EADDRNOTAVAIL,
        ENETDOWN,
        ENETUNREACH,
        ENETRESET,
        ECONNABORTED,
        ECONNRESET,
        ENOBUFS,
        EISCONN,
        ENOTCONN,
        ESHUTDOWN,
        ETIMEDOUT,
        ECONNREFUSED,
        EHOSTDOWN,
        EHOSTUNREACH,
        EALREADY,
        EINPROGRESS,
    )
}

const MESSAGE_CAP: usize = 512;

/// A fixed, NUL-terminated message buffer; text beyond its size is cut off.
struct Message {
    bytes: [u8; MESSAGE_CAP],
    len: usize,
}

impl Message {
    const fn new() -> Self {
        Message {
            bytes: [0; MESSAGE_CAP],
            len: 0,
        }
    }

    fn clear(&mut self) {
        self.len = 0;
        self.bytes[0] = 0;
    }
}

impl Write for Message {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        let room = MESSAGE_CAP - 1 - self.len;
        // Never write a NUL inside the message, and never split a UTF-8 sequence.
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        for (dst, &src) in self.bytes[self.len..self.len + take]
            .iter_mut()
            .zip(s.as_bytes())
        {
            *dst = if src == 0 { b'?' } else { src };
        }
        self.len += take;
        self.bytes[self.len] = 0;
        Ok(())
    }
}

thread_local! {
    static LAST: RefCell<Message> = const { RefCell::new(Message::new()) };
}

/// Records a failure of the C function described by `call`: writes the message
/// `"<call>: <what>: <ENAME>: <description>"`, sets `errno`, and returns `-errno`.
pub fn fail(err: &Error, call: fmt::Arguments<'_>) -> c_int {
    LAST.with(|last| {
        let mut msg = last.borrow_mut();
        msg.clear();
        let mut desc = [0u8; 128];
        let desc = sys::strerror(err.errno, &mut desc);
        // Writing into a Message never fails; it truncates.
        let _ = match errno_name(err.errno) {
            Some(name) => write!(msg, "{call}: {}: {name}: {desc}", err.what),
            None => write!(msg, "{call}: {}: errno {}: {desc}", err.what, err.errno.0),
        };
    });
    sys::set_errno(err.errno);
    err.code()
}

/// Calls `f` with this thread's last failure message (empty if no call has failed yet).
pub fn with_last_error<R>(f: impl FnOnce(&CStr) -> R) -> R {
    LAST.with(|last| {
        let msg = last.borrow();
        let text = CStr::from_bytes_until_nul(&msg.bytes).unwrap_or(c"");
        f(text)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        with_last_error(|s| s.to_string_lossy().into_owned())
    }

    #[test]
    fn message_names_call_syscall_and_errno() {
        let err = Error::new(libc::ENOTSOCK, "getsockopt(SO_TYPE)");
        assert_eq!(
            fail(&err, format_args!("csock_adopt(fd={})", 7)),
            -libc::ENOTSOCK
        );
        assert_eq!(
            last(),
            "csock_adopt(fd=7): getsockopt(SO_TYPE): ENOTSOCK: Socket operation on non-socket"
        );
        assert_eq!(
            std::io::Error::last_os_error().raw_os_error(),
            Some(libc::ENOTSOCK)
        );
    }

    #[test]
    fn empty_before_any_failure_and_per_thread() {
        std::thread::spawn(|| assert_eq!(last(), ""))
            .join()
            .unwrap();
    }

    #[test]
    fn long_messages_are_cut_and_terminated() {
        let long = "x".repeat(2 * MESSAGE_CAP);
        fail(&Error::new(libc::EINVAL, "check"), format_args!("{long}"));
        assert_eq!(last().len(), MESSAGE_CAP - 1);
    }

    #[test]
    fn unknown_errno_is_numbered() {
        fail(&Error::new(4000, "check"), format_args!("f"));
        assert!(last().starts_with("f: check: errno 4000: "), "{}", last());
    }
}
