//! The runtime that replaces Rust's std: descriptor ownership, the panic handler, the per-thread
//! message buffer, and the few heap objects csock keeps (audit hooks, scratch arrays).
//!
//! Everything here is built on libc alone, so that the shipped library needs nothing but the C
//! library (no `libgcc_s`, no unwinder, no std runtime).
//!
//! # The per-thread message
//!
//! Each thread that has a failure gets one page of its own, mapped with `mmap(2)` at its first
//! failure and found again through a `pthread_key_t` (the key is created by the first failure in
//! the process). So:
//!
//! - a success path never touches it;
//! - a failure in steady state costs a `pthread_getspecific` and a flag, never an allocation;
//! - the first failure of a thread costs one `mmap` and a `pthread_setspecific` (plus one
//!   `pthread_key_create` for the first failure of the process), whether the library was linked
//!   or `dlopen`'ed; the page is unmapped when the thread exits;
//! - nothing on the path can abort or deadlock in a signal handler: no lock, no `malloc`. A
//!   handler that fails while a call it interrupted is writing the message finds the page busy,
//!   and its own message is dropped (the return code is still right).

use core::cell::UnsafeCell;
use core::ffi::{c_char, c_void};
use core::mem;
use core::ops::{Deref, DerefMut};
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicPtr, AtomicU32, Ordering};

use super::RawFd;

/// An owned descriptor: closed when dropped, unless handed over with [`Fd::into_raw`].
#[derive(Debug)]
pub struct Fd(RawFd);

impl Fd {
    /// Takes ownership of a descriptor the kernel has just returned.
    pub(in crate::sys) fn from_new(fd: RawFd) -> Self {
        Fd(fd)
    }

    /// The descriptor number; ownership stays here.
    pub fn raw(&self) -> RawFd {
        self.0
    }

    /// Hands the descriptor over to the caller, who must close it.
    pub fn into_raw(self) -> RawFd {
        let fd = self.0;
        mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: this value owns the descriptor; nothing else closes it.
        unsafe { libc::close(self.0) };
    }
}

/// A panic cannot unwind into C and none should be reachable: if one is, stop the process.
#[cfg(not(test))]
#[panic_handler]
fn panic(_: &core::panic::PanicInfo<'_>) -> ! {
    // SAFETY: abort has no preconditions.
    unsafe { libc::abort() }
}

/// The unwinding personality routine, for builds with debug assertions only (the dev profile of
/// `make debug-test` and the fuzzing build): there, the standard library's checks of unsafe preconditions
/// pull in `core::panicking::panic_nounwind_fmt`, which core was compiled to unwind from, and so
/// refers to this symbol, which only std would define. It is never called: the personality runs
/// only while a panic unwinds, and the panic handler above aborts instead.
///
/// cbindgen:ignore
#[cfg(all(not(test), debug_assertions))]
#[unsafe(no_mangle)]
extern "C" fn rust_eh_personality() {}

// std links the C library for its users; without std the library asks for it itself.
#[link(name = "c")]
unsafe extern "C" {}

/// The size of a thread's message page.
const PAGE: usize = 4096;

/// The room for a message, its NUL included.
pub const MESSAGE_CAP: usize = PAGE - mem::size_of::<usize>();

/// One thread's message: a busy flag (set while the message is written) and the bytes.
#[repr(C)]
struct MessagePage {
    busy: AtomicBool,
    bytes: UnsafeCell<[u8; MESSAGE_CAP]>,
}

const _: () = assert!(mem::size_of::<MessagePage>() <= PAGE);

/// The `pthread_key_t` of the message pages, plus one; 0 until the first failure creates it.
static KEY: AtomicU32 = AtomicU32::new(0);

unsafe extern "C" fn unmap_page(page: *mut c_void) {
    // SAFETY: the key's values are only pages this module mapped, each PAGE bytes.
    unsafe { libc::munmap(page, PAGE) };
}

/// Deletes the key when the library is unloaded, so that no thread that exits afterwards calls
/// `unmap_page` in unmapped code. (Pages of threads still running then are left mapped.)
extern "C" fn delete_key() {
    let key = KEY.swap(0, Ordering::AcqRel);
    if key != 0 {
        // SAFETY: the key was created by `key` below and is deleted once.
        unsafe { libc::pthread_key_delete(key - 1) };
    }
}

#[used]
#[unsafe(link_section = ".fini_array")]
static DELETE_KEY: extern "C" fn() = delete_key;

/// The message key, created by the first caller (a racing creator deletes its own).
fn key(create: bool) -> Option<libc::pthread_key_t> {
    match KEY.load(Ordering::Acquire) {
        0 if !create => None,
        0 => {
            let mut new: libc::pthread_key_t = 0;
            // SAFETY: `new` is valid for writes; the destructor has the signature pthreads wants.
            if unsafe { libc::pthread_key_create(&mut new, Some(unmap_page)) } != 0 {
                return None;
            }
            match KEY.compare_exchange(0, new + 1, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => Some(new),
                Err(winner) => {
                    // SAFETY: `new` was created above and nothing has used it.
                    unsafe { libc::pthread_key_delete(new) };
                    Some(winner - 1)
                }
            }
        }
        key => Some(key - 1),
    }
}

/// This thread's page, mapping it if `create` and it does not exist yet.
fn page(create: bool) -> Option<&'static MessagePage> {
    let key = key(create)?;
    // SAFETY: `key` is a live key; the value is NULL or a page of this thread.
    let current = unsafe { libc::pthread_getspecific(key) };
    if !current.is_null() {
        // SAFETY: the key's values are pages mapped below, valid until this thread exits.
        return Some(unsafe { &*current.cast::<MessagePage>() });
    }
    if !create {
        return None;
    }
    // SAFETY: an anonymous private mapping with no address hint: no memory is aliased.
    let mapped = unsafe {
        libc::mmap(
            ptr::null_mut(),
            PAGE,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if mapped == libc::MAP_FAILED {
        return None;
    }
    // SAFETY: `key` is live and `mapped` is this thread's page from now on.
    if unsafe { libc::pthread_setspecific(key, mapped) } != 0 {
        // SAFETY: the page was mapped above and is not referenced anywhere.
        unsafe { libc::munmap(mapped, PAGE) };
        return None;
    }
    // SAFETY: a fresh zeroed mapping is a valid MessagePage (flag false, empty message).
    Some(unsafe { &*mapped.cast::<MessagePage>() })
}

/// Runs `f` with exclusive access to this thread's message bytes, mapping the page at the
/// thread's first failure. `None` when there is no page (no memory) or when the page is busy,
/// which only happens to a signal handler that interrupted a write on this thread.
pub fn with_message<R>(f: impl FnOnce(&mut [u8; MESSAGE_CAP]) -> R) -> Option<R> {
    let page = page(true)?;
    if page.busy.swap(true, Ordering::Acquire) {
        return None;
    }
    // SAFETY: the page belongs to this thread and the busy flag, taken above, excludes the only
    // other writer there can be (a signal handler on this thread).
    let result = f(unsafe { &mut *page.bytes.get() });
    page.busy.store(false, Ordering::Release);
    Some(result)
}

/// This thread's NUL-terminated message, or NULL when the thread has had no failure.
pub fn message() -> *const c_char {
    page(false).map_or(ptr::null(), |page| page.bytes.get().cast::<c_char>())
}

/// A link that is set once to a value that lives for the rest of the process (see [`leak`]).
#[derive(Debug)]
pub struct OnceRef<T: 'static>(AtomicPtr<T>);

impl<T: Sync + 'static> OnceRef<T> {
    /// An empty link.
    pub const fn new() -> Self {
        OnceRef(AtomicPtr::new(ptr::null_mut()))
    }

    /// The value, once set.
    pub fn get(&self) -> Option<&'static T> {
        // SAFETY: the pointer is NULL or came from a `&'static T` in `set`.
        unsafe { self.0.load(Ordering::Acquire).as_ref() }
    }

    /// Sets the link; if it was set already, gives `value` back.
    pub fn set(&self, value: &'static T) -> Result<(), &'static T> {
        let new = ptr::from_ref(value).cast_mut();
        self.0
            .compare_exchange(ptr::null_mut(), new, Ordering::AcqRel, Ordering::Acquire)
            .map(drop)
            .map_err(|_| value)
    }
}

impl<T: Sync + 'static> Default for OnceRef<T> {
    fn default() -> Self {
        Self::new()
    }
}

/// `malloc`'s alignment on the platforms csock supports.
const MALLOC_ALIGN: usize = 16;

/// Moves `value` to the heap for the rest of the process; `None` when out of memory (then
/// `value` is dropped).
pub fn leak<T: Sync>(value: T) -> Option<&'static T> {
    const { assert!(mem::align_of::<T>() <= MALLOC_ALIGN) };
    // SAFETY: malloc has no preconditions; the size is at least 1.
    let raw = unsafe { libc::malloc(mem::size_of::<T>().max(1)) }.cast::<T>();
    if raw.is_null() {
        return None;
    }
    // SAFETY: `raw` is suitably aligned (asserted above) and large enough for a T, and never freed.
    unsafe {
        raw.write(value);
        Some(&*raw)
    }
}

/// A heap array of `len` values of a plain type, freed when dropped: the scratch space that a
/// call needs only when its input is large.
pub struct Buffer<T: Copy> {
    ptr: *mut T,
    len: usize,
}

impl<T: Copy> Buffer<T> {
    /// `len` copies of `fill`; `None` when out of memory or the size overflows.
    pub fn new(len: usize, fill: T) -> Option<Self> {
        const { assert!(mem::align_of::<T>() <= MALLOC_ALIGN) };
        let bytes = len.checked_mul(mem::size_of::<T>())?.max(1);
        // SAFETY: malloc has no preconditions.
        let ptr = unsafe { libc::malloc(bytes) }.cast::<T>();
        if ptr.is_null() {
            return None;
        }
        for i in 0..len {
            // SAFETY: `i < len`, within the allocation, which is aligned for T.
            unsafe { ptr.add(i).write(fill) };
        }
        Some(Buffer { ptr, len })
    }
}

impl<T: Copy> Deref for Buffer<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `ptr` holds `len` initialised values, owned by this buffer.
        unsafe { core::slice::from_raw_parts(self.ptr, self.len) }
    }
}

impl<T: Copy> DerefMut for Buffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as above, and `&mut self` makes the access exclusive.
        unsafe { core::slice::from_raw_parts_mut(self.ptr, self.len) }
    }
}

impl<T: Copy> Drop for Buffer<T> {
    fn drop(&mut self) {
        // SAFETY: `ptr` came from malloc and is freed once.
        unsafe { libc::free(self.ptr.cast::<c_void>()) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_thread_has_no_message_until_it_writes_one() {
        std::thread::spawn(|| {
            assert!(message().is_null());
            with_message(|bytes| bytes[..3].copy_from_slice(b"hi\0")).unwrap();
            // SAFETY: the page holds a NUL-terminated message.
            let text = unsafe { core::ffi::CStr::from_ptr(message()) };
            assert_eq!(text.to_bytes(), b"hi");
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_busy_page_refuses_a_nested_writer() {
        let nested = with_message(|_| with_message(|_| ())).unwrap();
        assert!(
            nested.is_none(),
            "a nested write must be refused, not block"
        );
        assert!(with_message(|_| ()).is_some(), "the flag is released");
    }

    #[test]
    fn once_ref_is_set_once() {
        static LINK: OnceRef<u32> = OnceRef::new();
        assert_eq!(LINK.get(), None);
        assert!(LINK.set(leak(7).unwrap()).is_ok());
        assert_eq!(LINK.set(leak(8).unwrap()), Err(&8));
        assert_eq!(LINK.get(), Some(&7));
    }

    #[test]
    fn buffer_is_filled() {
        let mut b = Buffer::new(5, 3u16).unwrap();
        b[4] = 9;
        assert_eq!(&b[..], &[3, 3, 3, 3, 9]);
        assert!(Buffer::new(usize::MAX, 0u64).is_none());
    }
}
