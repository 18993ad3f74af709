//! The C surface: every exported function. Each one checks its pointers, calls the safe core and
//! turns the `Result` into the C return value in one place ([`IntoCReturn`], [`c_call!`]).

use core::ffi::c_char;

use libc::c_int;

use crate::addr::Sink;
use crate::error::{Arg, Call, Error, Result};
use crate::socket::csock_socket;

mod activation;
mod audit;
mod connect;
mod fdpass;
/// cbindgen:ignore
#[cfg(feature = "fuzz")]
pub mod fuzz;
mod names;
mod serve;
mod socket;
mod text;

pub use activation::*;
pub use audit::*;
pub use connect::*;
pub use fdpass::*;
pub use names::*;
pub use serve::*;
pub use socket::*;
pub use text::*;

/// What a successful core result returns to C.
pub(crate) trait IntoCReturn {
    fn into_c(self) -> c_int;
}

impl IntoCReturn for () {
    fn into_c(self) -> c_int {
        0
    }
}

impl IntoCReturn for c_int {
    fn into_c(self) -> c_int {
        self
    }
}

impl IntoCReturn for bool {
    fn into_c(self) -> c_int {
        c_int::from(self)
    }
}

impl IntoCReturn for usize {
    fn into_c(self) -> c_int {
        c_int::try_from(self).unwrap_or(c_int::MAX)
    }
}

/// Runs `$body` (a block returning `Result`) and converts its outcome: the value on success;
/// on failure the message `"<context>: <what>: <ENAME>: <description>"` is recorded, `errno` is
/// set and `-errno` returned. The context is recorded only on failure:
///
/// `c_call!({ ... }, csock_open(family = family, type = r#type))`: the call and its arguments,
/// `csock_open(family=2, type=1)`, written without the formatting machinery (`_ = x` shows a value
/// without a label). Richer messages use `error::fail_parts`.
macro_rules! c_call {
    ($body:block, $name:ident ( $($label:tt = $value:expr),* $(,)? )) => {
        {
            // The closure gives `$body` its own `?` scope.
            #[allow(clippy::redundant_closure_call)]
            let result: $crate::error::Result<_> = (|| $body)();
            match result {
                Ok(value) => $crate::ffi::IntoCReturn::into_c(value),
                Err(err) => $crate::error::fail_call(
                    &err,
                    &$crate::error::Call {
                        name: concat!(stringify!($name), "("),
                        args: &[$(($crate::ffi::label!($label), $crate::error::Arg::from($value))),*],
                    },
                ),
            }
        }
    };
}

/// The label of a [`c_call!`] argument as [`Call`] takes it, `", label="`; `_` for none.
macro_rules! label {
    (_) => {
        ", "
    };
    ($label:ident) => {
        concat!(", ", stringify!($label), "=")
    };
}
pub(crate) use label;

pub(crate) use c_call;

/// Resolves a pointer the caller must provide; `NULL` gives `EINVAL`.
///
/// # Safety
/// `ptr` is `NULL` or valid for reads of a `T` for the duration of the call, and nothing writes
/// the `T` while the reference lives: for inputs that an output may alias, use [`read_arg`].
#[allow(dead_code)] // every function of 0.1 reads its inputs by value now
pub(crate) unsafe fn arg<'a, T>(ptr: *const T, what: &'static str) -> Result<&'a T> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid; `as_ref` checks NULL.
    unsafe { ptr.as_ref() }.ok_or(Error::new(libc::EINVAL, what))
}

/// Resolves an in-out pointer the caller must provide (the one object a call both reads and
/// writes, such as `csock_close`'s socket); `NULL` gives `EINVAL`.
///
/// # Safety
/// `ptr` is `NULL` or valid for reads and writes of a `T` for the duration of the call, and no
/// other argument points into it.
pub(crate) unsafe fn arg_mut<'a, T>(ptr: *mut T, what: &'static str) -> Result<&'a mut T> {
    // SAFETY: the caller guarantees `ptr` is NULL or valid and unaliased; `as_mut` checks NULL.
    unsafe { ptr.as_mut() }.ok_or(Error::new(libc::EINVAL, what))
}

/// Reads an input the caller must provide, by value, through the raw pointer; `NULL` gives
/// `EINVAL`. No reference to the caller's memory outlives this call, so an output of the same
/// call may point at the same object (`csock_dup(&s, &s)`): every input is read before any
/// output is written.
///
/// # Safety
/// `ptr` is `NULL` or valid for reads of a `T`.
pub(crate) unsafe fn read_arg<T: Copy>(ptr: *const T, what: &'static str) -> Result<T> {
    if ptr.is_null() {
        return Err(Error::new(libc::EINVAL, what));
    }
    // SAFETY: non-NULL and valid for reads, per the caller; `read_unaligned` makes no claim on
    // alignment and creates no reference.
    Ok(unsafe { ptr.read_unaligned() })
}

/// An out-parameter, checked for `NULL` up front and written once, through the raw pointer,
/// only when the call has succeeded (no `&mut` to the caller's memory ever exists, so it may
/// alias an input, which is read before).
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    /// Checks an out-pointer the caller must provide; `NULL` gives `EINVAL` (`what` names it).
    pub(crate) fn new(ptr: *mut T, what: &'static str) -> Result<Self> {
        if ptr.is_null() {
            Err(Error::new(libc::EINVAL, what))
        } else {
            Ok(Out(ptr))
        }
    }

    /// Writes the value.
    ///
    /// # Safety
    /// The pointer given to [`Out::new`] is valid for writes of a `T`.
    pub(crate) unsafe fn write(self, value: T) {
        // SAFETY: non-NULL (checked in `new`) and writable, per the caller.
        unsafe { self.0.write_unaligned(value) };
    }
}

/// Makes a value with `make` and writes it to the caller's `out`, only on success; a `NULL`
/// `out` gives `EINVAL` (`what` names it) before anything is made. `out` is written through the
/// raw pointer after `make` has read every input, so it may alias one.
///
/// # Safety
/// `out` is `NULL` or valid for writes of a `T`.
pub(crate) unsafe fn write_out<T>(
    out: *mut T,
    what: &'static str,
    make: impl FnOnce() -> Result<T>,
) -> Result<()> {
    let out = Out::new(out, what)?;
    let value = make()?;
    // SAFETY: forwarded from the caller.
    unsafe { out.write(value) };
    Ok(())
}

/// A caller's text buffer, written through its pointer only where the text goes: `size` is an
/// upper bound, and any value up to `SIZE_MAX` is fine when the buffer holds the text.
pub(crate) struct TextBuf {
    buf: *mut u8,
    size: usize,
}

/// Resolves a caller's text buffer: `NULL` with size 0 asks for the length only.
pub(crate) fn text_buf(buf: *mut c_char, size: usize) -> Result<TextBuf> {
    if buf.is_null() && size != 0 {
        return Err(Error::new(libc::EINVAL, "buf is NULL"));
    }
    Ok(TextBuf {
        buf: buf.cast::<u8>(),
        size,
    })
}

impl Sink for TextBuf {
    fn size(&self) -> usize {
        self.size
    }

    fn write_at(&mut self, at: usize, bytes: &[u8]) {
        // SAFETY: `Text` writes only below `size` (so `buf` is not NULL), and the caller of the
        // exported function guarantees the buffer holds the text and its NUL.
        unsafe {
            core::ptr::copy_nonoverlapping(bytes.as_ptr(), self.buf.add(at), bytes.len());
        }
    }
}

/// The whole body of an exported function that works on one socket: resolves `sock` (`NULL`
/// gives `EINVAL`), runs `op`, and reports a failure as `name(fd=N, <args>)` (`name` is given
/// with its parenthesis, `"csock_shutdown("`).
///
/// # Safety
/// As for [`arg`].
pub(crate) unsafe fn sock_call<T: IntoCReturn>(
    name: &'static str,
    sock: *const csock_socket,
    args: &[(&'static str, Arg<'_>)],
    op: impl FnOnce(&csock_socket) -> Result<T>,
) -> c_int {
    // SAFETY: forwarded from the caller.
    match unsafe { read_arg(sock, "sock is NULL") }.and_then(|s| op(&s)) {
        Ok(value) => value.into_c(),
        Err(err) => {
            // SAFETY: as above.
            let fd = unsafe { fd_of(sock) };
            let mut all = [(", fd=", Arg::from(fd)); 4];
            let n = 1 + args.len().min(all.len() - 1);
            for (slot, arg) in all.iter_mut().skip(1).zip(args) {
                *slot = *arg;
            }
            let args = all.get(..n).unwrap_or_default();
            crate::error::fail_call(&err, &Call { name, args })
        }
    }
}

/// The descriptor of a socket pointer, for error messages only (`-1` for `NULL`).
///
/// # Safety
/// As for [`arg`].
pub(crate) unsafe fn fd_of(sock: *const csock_socket) -> c_int {
    // SAFETY: forwarded from the caller; the field is read through the pointer, by value.
    unsafe { read_arg(sock, "") }.map_or(-1, |s| s.fd)
}

/// The caller's address, copied into a whole zeroed storage: `NULL` or a `len` above
/// `sizeof(struct sockaddr_storage)` is `EINVAL`.
///
/// # Safety
/// `addr` is NULL or readable for `len` bytes.
pub(crate) unsafe fn address(
    addr: *const libc::sockaddr,
    len: libc::socklen_t,
) -> Result<crate::create::Address> {
    if addr.is_null() {
        return Err(Error::new(libc::EINVAL, "addr is NULL"));
    }
    let size = core::mem::size_of::<libc::sockaddr_storage>();
    if len as usize > size {
        return Err(Error::new(
            libc::EINVAL,
            "len is larger than sizeof(struct sockaddr_storage)",
        ));
    }
    let mut storage = crate::sys::zeroed_storage();
    // SAFETY: `addr` is readable for `len` bytes, which fit in the storage.
    unsafe {
        core::ptr::copy_nonoverlapping(
            addr.cast::<u8>(),
            (&raw mut storage).cast::<u8>(),
            len as usize,
        );
    }
    Ok(crate::create::Address { storage, len })
}
