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

/// `"ENAME: description"` in one piece, for an errno value that has both.
fn name_and_description(errno: Errno) -> Option<&'static str> {
    let [name, name_len, text, text_len] = *usize::try_from(errno.0)
        .ok()
        .and_then(|i| errnos::SPANS.get(i))?;
    if name_len == 0 || text_len == 0 {
        return None;
    }
    errnos::TEXT.get(usize::from(name)..usize::from(text) + usize::from(text_len))
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

/// A message being written into a thread's buffer; text beyond the buffer is cut off (never
/// inside a UTF-8 sequence). [`Message::finish`] NUL-terminates it.
struct Message<'a> {
    bytes: &'a mut [u8; rt::MESSAGE_CAP],
    len: usize,
}

impl Message<'_> {
    /// Appends text that holds no NUL byte (csock's own strings, a caller's C string).
    #[inline]
    fn push(&mut self, s: &str) {
        let end = self.len + s.len();
        match self.bytes.get_mut(self.len..end) {
            // Room for the text and the NUL after it.
            Some(dst) if end < rt::MESSAGE_CAP => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            _ => self.push_cut(s),
        }
    }

    /// Appends ASCII bytes (no NUL), cut where the buffer ends.
    fn push_ascii(&mut self, ascii: &[u8]) {
        let room = (rt::MESSAGE_CAP - 1).saturating_sub(self.len);
        let take = ascii.len().min(room);
        if let (Some(dst), Some(src)) = (
            self.bytes.get_mut(self.len..self.len + take),
            ascii.get(..take),
        ) {
            dst.copy_from_slice(src);
            self.len += take;
        }
    }

    /// Appends what fits of `s`, cut at a character boundary.
    #[cold]
    fn push_cut(&mut self, s: &str) {
        let room = (rt::MESSAGE_CAP - 1).saturating_sub(self.len);
        let take = (0..=room.min(s.len()))
            .rev()
            .find(|&n| s.is_char_boundary(n))
            .unwrap_or(0);
        if let (Some(dst), Some(src)) = (
            self.bytes.get_mut(self.len..self.len + take),
            s.as_bytes().get(..take),
        ) {
            dst.copy_from_slice(src);
            self.len += take;
        }
    }

    /// Appends a number in decimal (with a minus sign if `negative`), without the formatting
    /// machinery: the digits are written in place, last first.
    fn push_decimal(&mut self, n: u64, negative: bool) {
        let digits = n.checked_ilog10().map_or(1, |log| log as usize + 1);
        let start = self.len + usize::from(negative);
        let end = start + digits;
        let Some(dst) = self
            .bytes
            .get_mut(self.len..end)
            .filter(|_| end < rt::MESSAGE_CAP)
        else {
            return;
        };
        if negative {
            dst[0] = b'-';
        }
        let mut n = n;
        for d in dst.iter_mut().rev().take(digits) {
            *d = b'0' + (n % 10) as u8;
            n /= 10;
        }
        self.len = end;
    }

    fn finish(self) {
        if let Some(end) = self.bytes.get_mut(self.len) {
            *end = 0;
        }
    }
}

/// For a context formatted with `core::fmt` (rich messages, such as the addresses a connection
/// tried). Every piece is csock's own text or a caller's C string, so none holds a NUL byte.
impl Write for Message<'_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.push(s);
        Ok(())
    }
}

/// One argument of a failed call, as its message shows it.
#[derive(Clone, Copy, Debug)]
pub enum Arg<'a> {
    /// A number, in decimal.
    Int(i64),
    /// An unsigned number (sizes, flags), in decimal.
    Uint(u64),
    /// `true` or `false`.
    Bool(bool),
    /// A caller's string, quoted: at most [`TEXT_LIMIT`] bytes, then `...`; bytes other than
    /// printable ASCII (and `"` and `\`) escaped. `None`: a NULL pointer, shown as `NULL`.
    Text(Option<&'a [u8]>),
}

/// The most bytes of a caller's string that a message shows.
pub(crate) const TEXT_LIMIT: usize = 64;

impl From<c_int> for Arg<'_> {
    fn from(value: c_int) -> Self {
        Arg::Int(i64::from(value))
    }
}

impl From<u32> for Arg<'_> {
    fn from(value: u32) -> Self {
        Arg::Uint(u64::from(value))
    }
}

impl From<usize> for Arg<'_> {
    fn from(value: usize) -> Self {
        Arg::Uint(value as u64)
    }
}

impl From<bool> for Arg<'_> {
    fn from(value: bool) -> Self {
        Arg::Bool(value)
    }
}

impl<'a> From<Option<&'a [u8]>> for Arg<'a> {
    fn from(value: Option<&'a [u8]>) -> Self {
        Arg::Text(value)
    }
}

/// What a failed call was, for its message: `name(label=value, ...)`, written without the
/// formatting machinery. Each label is written as it will appear, `", label="` (`", "` for a
/// value shown alone), so that an argument takes one copy besides its value.
#[derive(Clone, Copy, Debug)]
pub struct Call<'a> {
    /// The C function and its parenthesis, such as `"csock_adopt("`.
    pub name: &'static str,
    /// Its arguments, each with its label as `", label="`.
    pub args: &'a [(&'static str, Arg<'a>)],
}

impl Message<'_> {
    fn push_call(&mut self, call: &Call<'_>) {
        self.push(call.name);
        for (i, (label, arg)) in call.args.iter().enumerate() {
            // Each label comes as `", label="` (or `", "`): the first argument drops the comma.
            self.push(if i == 0 {
                label.get(2..).unwrap_or_default()
            } else {
                label
            });
            match *arg {
                Arg::Int(n) => self.push_decimal(n.unsigned_abs(), n < 0),
                Arg::Uint(n) => self.push_decimal(n, false),
                Arg::Bool(b) => self.push(if b { "true" } else { "false" }),
                Arg::Text(None) => self.push("NULL"),
                Arg::Text(Some(text)) => self.push_quoted(text),
            }
        }
        self.push("): ");
    }

    fn push_quoted(&mut self, text: &[u8]) {
        let shown = text.get(..TEXT_LIMIT).unwrap_or(text);
        self.push("\"");
        if crate::names::is_plain(shown) {
            self.push_ascii(shown);
        } else {
            for byte in shown.iter().flat_map(|b| b.escape_ascii()) {
                // escape_ascii yields ASCII only.
                self.push_ascii(&[byte]);
            }
        }
        self.push(if shown.len() < text.len() {
            "\"..."
        } else {
            "\""
        });
    }
}

/// Records a failure of the C function described by `call`: writes the message
/// `"<call>: <what>: <ENAME>: <description>"` (`errno N` and `Unknown error N` for a value
/// without a name), sets `errno`, and returns `-errno`. A signal handler that fails while this
/// thread is writing its message leaves the message as it is.
pub fn fail_call(err: &Error, call: &Call<'_>) -> c_int {
    record(err, |msg| msg.push_call(call))
}

/// [`fail_call`] with a context formatted by `core::fmt`, for messages richer than a call's
/// arguments.
pub fn fail(err: &Error, call: fmt::Arguments<'_>) -> c_int {
    record(err, |msg| {
        match call.as_str() {
            Some(text) => msg.push(text),
            // Writing into a Message never fails; it truncates.
            None => drop(msg.write_fmt(call)),
        }
        msg.push(": ");
    })
}

fn record(err: &Error, context: impl FnOnce(&mut Message<'_>)) -> c_int {
    rt::with_message(|bytes| {
        let mut msg = Message { bytes, len: 0 };
        context(&mut msg);
        msg.push(err.what);
        msg.push(": ");
        let code = err.errno.0;
        if let Some(both) = name_and_description(err.errno) {
            msg.push(both);
            msg.finish();
            return;
        }
        match errno_name(err.errno) {
            Some(name) => msg.push(name),
            None => {
                msg.push("errno ");
                msg.push_decimal(u64::from(code.unsigned_abs()), code < 0);
            }
        }
        msg.push(": ");
        match description(err.errno) {
            Some(text) => msg.push(text),
            None => {
                msg.push("Unknown error ");
                msg.push_decimal(u64::from(code.unsigned_abs()), code < 0);
            }
        }
        msg.finish();
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
    fn a_call_and_its_arguments() {
        let call = Call {
            name: "f(",
            args: &[
                (", fd=", Arg::from(-17)),
                (", size=", Arg::from(usize::MAX)),
                (", ", Arg::Text(Some(b"AF_INET"))),
                (", ", Arg::Text(Some(b"a\"b\n\xff"))),
                (", name=", Arg::Text(None)),
                (", min=", Arg::from(c_int::MIN)),
            ],
        };
        assert_eq!(
            fail_call(&Error::new(libc::EBADF, "x"), &call),
            -libc::EBADF
        );
        assert_eq!(
            last(),
            "f(fd=-17, size=18446744073709551615, \"AF_INET\", \"a\\\"b\\n\\xff\", name=NULL, \
             min=-2147483648): x: EBADF: Bad file descriptor"
        );
        let long = [b'n'; TEXT_LIMIT + 1];
        let call = Call {
            name: "g(",
            args: &[(", ", Arg::Text(Some(&long)))],
        };
        fail_call(&Error::new(libc::ENOENT, "y"), &call);
        assert_eq!(
            last(),
            format!(
                "g(\"{}\"...): y: ENOENT: No such file or directory",
                "n".repeat(TEXT_LIMIT)
            )
        );
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
