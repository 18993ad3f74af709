//! Errors: the errno a call failed with and what failed, and the thread-local message that
//! `csock_last_error()` returns.
//!
//! A success never touches the message. A failure stores what failed in this thread's slot
//! ([`rt::PerThread`]): the errno, the check or system call, the function and its arguments
//! (copied: a [`Pending`] failure), and `csock_last_error()` writes the text from it when it is
//! asked, once; so a failure that nobody reads (`EAGAIN` in a loop) costs little. Messages richer
//! than a call's arguments are written at once. Errno names and descriptions come from a static
//! table with glibc's C-locale texts ([`errnos`]), so that a failure takes no lock and no locale.

use core::ffi::c_char;

use libc::c_int;

use crate::audit::Event;
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
    /// What else the message names: the event a hook refused, the descriptor or the value of
    /// an environment variable that was wrong.
    pub detail: Detail,
}

/// The longest part of a variable's value that a [`Detail::Var`] keeps (enough for any
/// `LISTEN_PID` or `LISTEN_FDS`; a longer `LISTEN_FDNAMES` is shown cut).
pub(crate) const VALUE_LIMIT: usize = 14;

/// What an [`Error`]'s message names besides what failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Detail {
    /// Nothing.
    None,
    /// The event an audit hook refused: `socket.__new__(fd=.., family=.., type=.., proto=..)`.
    Event(Event),
    /// The descriptor the system call was made on: `on fd 4`.
    Fd(c_int),
    /// An environment variable and the first [`VALUE_LIMIT`] bytes of its value (`len` is the
    /// whole length): `(LISTEN_FDS="3x")`.
    Var {
        /// The variable.
        name: &'static str,
        /// Its value's first bytes.
        value: [u8; VALUE_LIMIT],
        /// Its value's length, up to 255 (a longer value counts as 255: it is shown cut).
        len: u8,
    },
}

/// The result of a core operation.
pub type Result<T> = core::result::Result<T, Error>;

impl Error {
    /// An error found by csock itself, before or instead of a system call.
    pub const fn new(errno: c_int, what: &'static str) -> Self {
        Error {
            errno: Errno(errno),
            what,
            detail: Detail::None,
        }
    }

    /// For `map_err`: names the system call that failed with the given errno.
    pub fn at(what: &'static str) -> impl FnOnce(Errno) -> Error {
        move |errno| Error {
            errno,
            what,
            detail: Detail::None,
        }
    }

    /// A hook's refusal of `event`.
    pub const fn refused(errno: c_int, event: &Event) -> Self {
        Error {
            errno: Errno(errno),
            what: "audit hook refused",
            detail: Detail::Event(*event),
        }
    }

    /// This error, naming the descriptor it happened on.
    pub fn on_fd(self, fd: c_int) -> Self {
        Error {
            detail: Detail::Fd(fd),
            ..self
        }
    }

    /// This error, quoting the environment variable `name` whose value it is about.
    pub fn with_var(self, name: &'static str, value: &[u8]) -> Self {
        let mut kept = [0u8; VALUE_LIMIT];
        let n = value.len().min(VALUE_LIMIT);
        if let (Some(dst), Some(src)) = (kept.get_mut(..n), value.get(..n)) {
            dst.copy_from_slice(src);
        }
        Error {
            detail: Detail::Var {
                name,
                value: kept,
                len: u8::try_from(value.len()).unwrap_or(u8::MAX),
            },
            ..self
        }
    }

    /// The value a C function returns for this error: `-errno`.
    pub fn code(&self) -> c_int {
        -self.errno.0
    }
}

/// The symbolic name of an errno value, such as `"ENOTSOCK"` (or of a resolver code's value,
/// such as `"EAI_NONAME"`, see [`crate::resolve`]).
pub fn errno_name(errno: Errno) -> Option<&'static str> {
    if let Some((name, _)) = crate::resolve::eai_entry(errno) {
        return Some(name);
    }
    errno_entry(errno)
        .map(|(name, _)| name)
        .filter(|name| !name.is_empty())
}

/// glibc's description of an errno value in the C locale, such as `"Bad file descriptor"` (or
/// `gai_strerror`'s text of a resolver code's value).
pub fn description(errno: Errno) -> Option<&'static str> {
    if let Some((_, text)) = crate::resolve::eai_entry(errno) {
        return Some(text.to_str().unwrap_or(""));
    }
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

/// [`description`] of an errno value as a static NUL-terminated string, for `csock_strerror`:
/// each description in the table is followed by a NUL.
pub fn c_description(errno: Errno) -> Option<&'static core::ffi::CStr> {
    let [_, _, at, len] = *usize::try_from(errno.0)
        .ok()
        .and_then(|i| errnos::SPANS.get(i))?;
    if len == 0 {
        return None;
    }
    let at = usize::from(at);
    let with_nul = errnos::TEXT.as_bytes().get(at..=at + usize::from(len))?;
    core::ffi::CStr::from_bytes_with_nul(with_nul).ok()
}

/// The room for a message, its NUL included.
pub(crate) const MESSAGE_CAP: usize = 3072;

/// The most arguments a [`Pending`] failure keeps (a call with more is written at once).
const PENDING_ARGS: usize = 6;

/// An argument as a [`Pending`] failure keeps it: copied, with no borrow.
#[derive(Clone, Copy, Debug)]
enum Kept {
    Int(i64),
    Uint(u64),
    Bool(bool),
    /// The caller's string, in [`Pending::text`].
    Text,
    Null,
}

/// A failure recorded but not written yet: everything its message needs, copied.
#[derive(Clone, Copy, Debug)]
struct Pending {
    error: Error,
    name: &'static str,
    labels: [&'static str; PENDING_ARGS],
    args: [Kept; PENDING_ARGS],
    count: usize,
    /// The one caller's string of the call: at most [`TEXT_LIMIT`] bytes and one more when it
    /// is longer (so that the message still shows it was cut), and how many are kept.
    text: [u8; TEXT_LIMIT + 1],
    text_len: usize,
}

impl Pending {
    const NONE: Pending = Pending {
        error: Error::new(0, ""),
        name: "",
        labels: [""; PENDING_ARGS],
        args: [Kept::Null; PENDING_ARGS],
        count: 0,
        text: [0; TEXT_LIMIT + 1],
        text_len: 0,
    };

    /// Copies what `call` says, in place; `false` (and nothing usable kept) when it has more
    /// than [`PENDING_ARGS`] arguments or more than one string.
    fn keep(&mut self, error: &Error, call: &Call<'_>) -> bool {
        if call.args.len() > PENDING_ARGS {
            return false;
        }
        self.error = *error;
        self.name = call.name;
        self.count = call.args.len();
        let mut strings = 0;
        for ((label, arg), (kept_label, kept_arg)) in call
            .args
            .iter()
            .zip(self.labels.iter_mut().zip(self.args.iter_mut()))
        {
            *kept_label = label;
            *kept_arg = match *arg {
                Arg::Int(n) => Kept::Int(n),
                Arg::Uint(n) => Kept::Uint(n),
                Arg::Bool(b) => Kept::Bool(b),
                Arg::Text(None) => Kept::Null,
                Arg::Text(Some(text)) => {
                    strings += 1;
                    let kept = text.get(..TEXT_LIMIT + 1).unwrap_or(text);
                    if let Some(dst) = self.text.get_mut(..kept.len()) {
                        dst.copy_from_slice(kept);
                    }
                    self.text_len = kept.len();
                    Kept::Text
                }
            };
        }
        strings <= 1
    }

    /// Writes the message of the failure kept.
    fn write(&self, mut msg: Message<'_>) {
        let text = self.text.get(..self.text_len).unwrap_or_default();
        msg.push(self.name);
        for (i, (label, kept)) in self
            .labels
            .iter()
            .zip(&self.args)
            .enumerate()
            .take(self.count)
        {
            let arg = match *kept {
                Kept::Int(n) => Arg::Int(n),
                Kept::Uint(n) => Arg::Uint(n),
                Kept::Bool(b) => Arg::Bool(b),
                Kept::Null => Arg::Text(None),
                Kept::Text => Arg::Text(Some(text)),
            };
            msg.push_arg(i, label, arg);
        }
        msg.push("): ");
        msg.push_error(&self.error);
    }
}

/// A thread's failure message: its text, and the failure not written into it yet (when
/// `pending` is set).
pub struct ThreadMessage {
    text: [u8; MESSAGE_CAP],
    pending: bool,
    failure: Pending,
}

impl rt::Initial for ThreadMessage {
    fn initial() -> Self {
        ThreadMessage {
            text: [0; MESSAGE_CAP],
            pending: false,
            failure: Pending::NONE,
        }
    }
}

/// Every thread's message.
static MESSAGE: rt::PerThread<ThreadMessage> = rt::PerThread::new(0);

/// A message being written into a thread's buffer; text beyond the buffer is cut off (never
/// inside a UTF-8 sequence). [`Message::finish`] NUL-terminates it.
struct Message<'a> {
    bytes: &'a mut [u8; MESSAGE_CAP],
    len: usize,
}

impl Message<'_> {
    /// Appends text that holds no NUL byte (csock's own strings, a caller's C string).
    #[inline]
    fn push(&mut self, s: &str) {
        let end = self.len + s.len();
        match self.bytes.get_mut(self.len..end) {
            // Room for the text and the NUL after it.
            Some(dst) if end < MESSAGE_CAP => {
                dst.copy_from_slice(s.as_bytes());
                self.len = end;
            }
            _ => self.push_cut(s),
        }
    }

    /// Appends ASCII bytes (no NUL), cut where the buffer ends.
    fn push_ascii(&mut self, ascii: &[u8]) {
        let room = (MESSAGE_CAP - 1).saturating_sub(self.len);
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
        let room = (MESSAGE_CAP - 1).saturating_sub(self.len);
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
            .filter(|_| end < MESSAGE_CAP)
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
            self.push_arg(i, label, *arg);
        }
        self.push("): ");
    }

    /// Argument `i` of a call: its label (given as `", label="`, the first without the comma)
    /// and its value.
    fn push_arg(&mut self, i: usize, label: &str, arg: Arg<'_>) {
        self.push(if i == 0 {
            label.get(2..).unwrap_or_default()
        } else {
            label
        });
        match arg {
            Arg::Int(n) => self.push_decimal(n.unsigned_abs(), n < 0),
            Arg::Uint(n) => self.push_decimal(n, false),
            Arg::Bool(b) => self.push(if b { "true" } else { "false" }),
            Arg::Text(None) => self.push("NULL"),
            Arg::Text(Some(text)) => self.push_quoted(text),
        }
    }

    fn push_quoted(&mut self, text: &[u8]) {
        let shown = text.get(..TEXT_LIMIT).unwrap_or(text);
        self.push_quoted_cut(shown, shown.len() < text.len());
    }

    /// `text` quoted and escaped, with `...` after the quote when it was `cut`.
    fn push_quoted_cut(&mut self, text: &[u8], cut: bool) {
        self.push("\"");
        if crate::names::is_plain(text) {
            self.push_ascii(text);
        } else {
            for byte in text.iter().flat_map(|b| b.escape_ascii()) {
                // escape_ascii yields ASCII only.
                self.push_ascii(&[byte]);
            }
        }
        self.push(if cut { "\"..." } else { "\"" });
    }
}

impl Message<'_> {
    /// ` socket.__new__(fd=-1, family=AF_INET6, type=SOCK_STREAM|SOCK_NONBLOCK, proto=0)`: an
    /// audit event as the hook saw it, with names where they are known.
    fn push_event(&mut self, event: &Event) {
        self.push(" ");
        self.push_ascii(event.name.to_bytes());
        self.push("(fd=");
        self.push_decimal(u64::from(event.fd.unsigned_abs()), event.fd < 0);
        self.push(", family=");
        match crate::names::family_name(event.family) {
            Some(name) => self.push_ascii(name.to_bytes()),
            None => self.push_decimal(u64::from(event.family.unsigned_abs()), event.family < 0),
        }
        self.push(", type=");
        let base = crate::socket::TypeFlags::strip(event.ty);
        match crate::names::type_name(base) {
            Some(name) => {
                self.push_ascii(name.to_bytes());
                let flags = crate::socket::TypeFlags::of(event.ty);
                if flags.contains(crate::socket::TypeFlags::NONBLOCK) {
                    self.push("|SOCK_NONBLOCK");
                }
                if flags.contains(crate::socket::TypeFlags::CLOEXEC) {
                    self.push("|SOCK_CLOEXEC");
                }
            }
            None => self.push_decimal(u64::from(event.ty.unsigned_abs()), event.ty < 0),
        }
        self.push(", proto=");
        self.push_decimal(u64::from(event.proto.unsigned_abs()), event.proto < 0);
        self.push(")");
    }

    /// The end of every message: `<what>: <ENAME>: <description>` and the NUL.
    fn push_error(mut self, err: &Error) {
        self.push_error_text(err);
        self.finish();
    }

    /// `<what>: <ENAME>: <description>`.
    fn push_error_text(&mut self, err: &Error) {
        self.push(err.what);
        match &err.detail {
            Detail::None => {}
            Detail::Event(event) => self.push_event(event),
            Detail::Fd(fd) => {
                self.push(" on fd ");
                self.push_decimal(u64::from(fd.unsigned_abs()), *fd < 0);
            }
            Detail::Var { name, value, len } => {
                self.push(" (");
                self.push(name);
                self.push("=");
                let len = usize::from(*len);
                let kept = value.get(..len.min(VALUE_LIMIT)).unwrap_or_default();
                self.push_quoted_cut(kept, len > VALUE_LIMIT);
                self.push(")");
            }
        }
        self.push(": ");
        let code = err.errno.0;
        if let Some(both) = name_and_description(err.errno) {
            self.push(both);
        } else {
            match errno_name(err.errno) {
                Some(name) => self.push(name),
                None => {
                    self.push("errno ");
                    self.push_decimal(u64::from(code.unsigned_abs()), code < 0);
                }
            }
            self.push(": ");
            match description(err.errno) {
                Some(text) => self.push(text),
                None => {
                    self.push("Unknown error ");
                    self.push_decimal(u64::from(code.unsigned_abs()), code < 0);
                }
            }
        }
    }
}

/// Records a failure of the C function described by `call`, for the message
/// `"<call>: <what>: <ENAME>: <description>"` (`errno N` and `Unknown error N` for a value
/// without a name); sets `errno` and returns `-errno`. What the message needs is copied, and the
/// text is written when `csock_last_error()` asks for it. A signal handler that fails while this
/// thread is recording leaves the record as it is.
pub fn fail_call(err: &Error, call: &Call<'_>) -> c_int {
    MESSAGE.with(true, |m| {
        m.pending = m.failure.keep(err, call);
        if !m.pending {
            let mut msg = Message {
                bytes: &mut m.text,
                len: 0,
            };
            msg.push_call(call);
            msg.push_error(err);
        }
    });
    sys::set_errno(err.errno);
    err.code()
}

/// A message written part by part, for failures richer than a call's arguments (the addresses
/// a connection tried, the address a bind failed on): see [`fail_parts`]. No formatting
/// machinery.
pub struct Writer<'m, 'a>(&'m mut Message<'a>);

impl Writer<'_, '_> {
    /// csock's own text.
    pub fn text(&mut self, s: &str) {
        self.0.push(s);
    }

    /// A number in decimal.
    pub fn int(&mut self, n: i64) {
        self.0.push_decimal(n.unsigned_abs(), n < 0);
    }

    /// A caller's string, quoted and escaped as a call's string argument is; `NULL` for `None`.
    pub fn quoted(&mut self, s: Option<&[u8]>) {
        match s {
            Some(text) => self.0.push_quoted(text),
            None => self.0.push("NULL"),
        }
    }

    /// An address (the bytes of a `sockaddr`), as `csock_format_addr` writes it.
    pub fn addr(&mut self, bytes: &[u8]) {
        let mut buf = [0u8; 160];
        let n = crate::addr::format_addr(bytes, 0, &mut crate::addr::Bytes(&mut buf));
        self.0
            .push_ascii(buf.get(..n.min(buf.len() - 1)).unwrap_or_default());
    }

    /// An error as a message ends with it: `<what>: <ENAME>: <description>`.
    pub fn error(&mut self, err: &Error) {
        self.0.push_error_text(err);
    }
}

/// What `write` writes, as a string: for the tests of the modules that write message parts.
#[cfg(test)]
pub fn render(write: impl FnOnce(&mut Writer<'_, '_>)) -> std::string::String {
    let mut bytes = [0u8; MESSAGE_CAP];
    let mut msg = Message {
        bytes: &mut bytes,
        len: 0,
    };
    write(&mut Writer(&mut msg));
    let len = msg.len;
    std::string::String::from_utf8_lossy(&bytes[..len]).into_owned()
}

/// Records a failure with a message written by `context`, then `": "`, the error, and `tail`
/// (CPython's `" (while attempting to bind on address ...)"`); written at once. Sets `errno` and
/// returns `-errno`.
pub fn fail_parts(
    err: &Error,
    context: impl FnOnce(&mut Writer<'_, '_>),
    tail: impl FnOnce(&mut Writer<'_, '_>),
) -> c_int {
    MESSAGE.with(true, |m| {
        m.pending = false;
        let mut msg = Message {
            bytes: &mut m.text,
            len: 0,
        };
        context(&mut Writer(&mut msg));
        msg.push(": ");
        msg.push_error_text(err);
        tail(&mut Writer(&mut msg));
        msg.finish();
    });
    sys::set_errno(err.errno);
    err.code()
}

/// This thread's last failure message, NUL-terminated (`""` if no call has failed on it yet).
/// The first call after a failure writes the text (once); later calls return it as it is.
pub fn last_error() -> *const c_char {
    MESSAGE
        .with(false, |m| {
            if m.pending {
                m.pending = false;
                m.failure.write(Message {
                    bytes: &mut m.text,
                    len: 0,
                });
            }
            m.text.as_ptr().cast::<c_char>()
        })
        .unwrap_or(c"".as_ptr())
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
            fail_parts(
                &err,
                |w| {
                    w.text("csock_adopt(fd=");
                    w.int(7);
                    w.text(")");
                },
                |_| {}
            ),
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
    fn c_descriptions_are_the_descriptions() {
        for code in -1..200 {
            let c = c_description(Errno(code)).map(|c| c.to_str().unwrap());
            assert_eq!(c, description(Errno(code)), "errno {code}");
        }
        assert_eq!(
            c_description(Errno(libc::EBADF)),
            Some(c"Bad file descriptor")
        );
    }

    #[test]
    fn a_tail_follows_the_description() {
        let addr = [2u8, 0, 0, 80, 127, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0];
        fail_parts(
            &Error::new(libc::EADDRINUSE, "bind"),
            |w| w.text("f"),
            |w| {
                w.text(" (while attempting to bind on address ");
                w.addr(&addr);
                w.text(")");
            },
        );
        assert_eq!(
            last(),
            "f: bind: EADDRINUSE: Address already in use (while attempting to bind on address \
             127.0.0.1:80)"
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
        fail_parts(
            &Error::new(libc::EINVAL, "check"),
            |w| w.text(&long),
            |_| {},
        );
        assert_eq!(last().len(), MESSAGE_CAP - 1);
    }

    #[test]
    fn unknown_errno_is_numbered() {
        fail_parts(&Error::new(4000, "check"), |w| w.text("f"), |_| {});
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
        fail_parts(&Error::new(-5, "x"), |w| w.text("f"), |_| {});
        assert_eq!(last(), "f: x: errno -5: Unknown error -5");
    }

    /// The table holds exactly glibc's texts: compared with strerror(3) in the C locale (the
    /// test harness never calls setlocale) for every value it knows and beyond.
    #[test]
    fn table_matches_strerror() {
        for code in -1..4200 {
            if crate::resolve::eai_entry(Errno(code)).is_some() {
                continue; // a resolver code's value: gai_strerror's text (see crate::resolve)
            }
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
