//! Errors: the errno a call failed with and what failed, and the thread-local message that
//! `csock_last_error()` returns.
//!
//! The message is written only when a call fails, into a fixed per-thread buffer
//! ([`rt::with_message`]), so the success path neither allocates nor touches thread-local storage.
//! Errno names and descriptions come from a static table with glibc's C-locale texts
//! ([`errnos`]), so that a failure takes no lock and no locale.

use core::ffi::c_char;
use core::fmt::{self, Write};

use libc::c_int;

use crate::sys::{self, Errno, rt};

mod errnos;

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
pub type Result<T> = core::result::Result<T, Error>;

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
    errno_entry(errno)
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty())
}

/// glibc's description of an errno value in the C locale, such as `"Bad file descriptor"`.
pub fn description(errno: Errno) -> Option<&'static str> {
    errno_entry(errno)
        .map(|(_, text)| text)
        .filter(|text| !text.is_empty())
}

fn errno_entry(errno: Errno) -> Option<(&'static str, &'static str)> {
    let [name, name_len, text, text_len] = *usize::try_from(errno.0)
        .ok()
        .and_then(|i| errnos::SPANS.get(i))?;
    let span = |at: u16, len: u16| {
        let at = usize::from(at);
        errnos::TEXT.get(at..at + usize::from(len))
    };
    Some((span(name, name_len)?, span(text, text_len)?))
}

/// A message being written into a thread's buffer: NUL-terminated after every write; text beyond
/// the buffer is cut off (never inside a UTF-8 sequence), and a NUL byte is written as `?`.
struct Message<'a> {
    bytes: &'a mut [u8; rt::MESSAGE_CAP],
    len: usize,
}

impl Message<'_> {
    fn push(&mut self, s: &str) {
        let room = rt::MESSAGE_CAP - 1 - self.len;
        let mut take = s.len().min(room);
        while !s.is_char_boundary(take) {
            take -= 1;
        }
        let dst = &mut self.bytes[self.len..self.len + take];
        dst.copy_from_slice(&s.as_bytes()[..take]);
        if dst.contains(&0) {
            dst.iter_mut().filter(|b| **b == 0).for_each(|b| *b = b'?');
        }
        self.len += take;
        self.bytes[self.len] = 0;
    }
}

impl Write for Message<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}

/// Writes a number in decimal, without the formatting machinery.
fn push_decimal(msg: &mut Message<'_>, value: c_int) {
    let mut digits = [0u8; 11];
    let mut at = digits.len();
    let mut n = value.unsigned_abs();
    loop {
        at -= 1;
        digits[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if value < 0 {
        at -= 1;
        digits[at] = b'-';
    }
    // The digits are ASCII.
    msg.push(core::str::from_utf8(&digits[at..]).unwrap_or("?"));
}

/// Records a failure of the C function described by `call`: writes the message
/// `"<call>: <what>: <ENAME>: <description>"` (`errno N` and `Unknown error N` for a value
/// without a name), sets `errno`, and returns `-errno`. A signal handler that fails while this
/// thread is writing its message leaves the message as it is.
pub fn fail(err: &Error, call: fmt::Arguments<'_>) -> c_int {
    rt::with_message(|bytes| {
        let mut msg = Message { bytes, len: 0 };
        match call.as_str() {
            Some(text) => msg.push(text),
            // Writing into a Message never fails; it truncates.
            None => drop(msg.write_fmt(call)),
        }
        msg.push(": ");
        msg.push(err.what);
        msg.push(": ");
        match errno_name(err.errno) {
            Some(name) => msg.push(name),
            None => {
                msg.push("errno ");
                push_decimal(&mut msg, err.errno.0);
            }
        }
        msg.push(": ");
        match description(err.errno) {
            Some(text) => msg.push(text),
            None => {
                msg.push("Unknown error ");
                push_decimal(&mut msg, err.errno.0);
            }
        }
    });
    sys::set_errno(err.errno);
    err.code()
}

/// This thread's last failure message, NUL-terminated (`""` if no call has failed on it yet).
/// Constant time: the message is not measured or copied.
pub fn last_error() -> *const c_char {
    match rt::message() {
        message if message.is_null() => c"".as_ptr(),
        message => message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn last() -> String {
        // SAFETY: last_error returns a NUL-terminated string.
        unsafe { core::ffi::CStr::from_ptr(last_error()) }
            .to_string_lossy()
            .into_owned()
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
        let long = "x".repeat(2 * rt::MESSAGE_CAP);
        fail(&Error::new(libc::EINVAL, "check"), format_args!("{long}"));
        assert_eq!(last().len(), rt::MESSAGE_CAP - 1);
    }

    #[test]
    fn unknown_errno_is_numbered() {
        fail(&Error::new(4000, "check"), format_args!("f"));
        assert_eq!(last(), "f: check: errno 4000: Unknown error 4000");
    }

    #[test]
    fn numbers_and_nul_bytes_in_the_context() {
        fail(
            &Error::new(libc::EBADF, "x"),
            format_args!("f(fd={}, {})", -17, "a\0b"),
        );
        assert_eq!(last(), "f(fd=-17, a?b): x: EBADF: Bad file descriptor");
        fail(&Error::new(-5, "x"), format_args!("f"));
        assert_eq!(last(), "f: x: errno -5: Unknown error -5");
    }

    /// The table holds exactly glibc's texts: compared with strerror(3) in the C locale (the
    /// test harness never calls setlocale) for every value it knows and beyond.
    #[test]
    fn table_matches_strerror() {
        for code in -1..4200 {
            // SAFETY: strerror returns a NUL-terminated string; the test runs it on one thread
            // at a time per value and copies it at once.
            let glibc = unsafe { core::ffi::CStr::from_ptr(libc::strerror(code)) }
                .to_str()
                .unwrap()
                .to_owned();
            let ours = description(Errno(code))
                .map(str::to_owned)
                .unwrap_or_else(|| format!("Unknown error {code}"));
            assert_eq!(ours, glibc, "errno {code}");
        }
        assert_eq!(errno_name(Errno(libc::EWOULDBLOCK)), Some("EAGAIN"));
        assert_eq!(errno_name(Errno(libc::ENOTSUP)), Some("EOPNOTSUPP"));
        assert_eq!(errno_name(Errno(libc::EDEADLOCK)), Some("EDEADLK"));
        assert_eq!(errno_name(Errno(libc::EHWPOISON)), Some("EHWPOISON"));
        assert_eq!(errno_name(Errno(0)), None);
        assert_eq!(errno_name(Errno(41)), None);
    }
}
