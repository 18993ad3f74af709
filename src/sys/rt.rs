//! The runtime that replaces Rust's std: descriptor ownership, the panic handler, the per-thread
//! message buffer, and the few heap objects csock keeps (audit hooks, scratch arrays).
//!
//! Everything here is built on libc alone, so that the shipped library needs nothing but the C
//! library (no `libgcc_s`, no unwinder, no std runtime).
//!
//! # The per-thread message
//!
//! Each thread that has a failure gets one page of its own ([`PerThread`]), mapped with `mmap(2)`
//! at its first failure and found again through a `pthread_key_t` (the key is created by the first
//! failure in the process). So:
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
use core::ffi::c_void;
use core::marker::PhantomData;
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

    /// Takes back a descriptor that [`Fd::into_raw`] handed out (an attempt kept in a plain
    /// array while it was in flight); the caller gives up its claim.
    pub fn reclaim(fd: RawFd) -> Self {
        Fd(fd)
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

/// The value a [`PerThread`] starts with in each thread (written into the thread's fresh page).
pub trait Initial {
    /// The starting value.
    fn initial() -> Self;
}

/// The size of a thread's page.
const PAGE: usize = 4096;

/// One thread's value, with a busy flag (set while it is in use).
#[repr(C)]
struct Page<T> {
    busy: AtomicBool,
    value: UnsafeCell<T>,
}

/// The keys of every [`PerThread`], so that unloading the library deletes them (see
/// [`delete_keys`]); each holds a `pthread_key_t` plus one, 0 when unused.
static KEYS: [AtomicU32; 4] = [const { AtomicU32::new(0) }; 4];

unsafe extern "C" fn unmap_page(page: *mut c_void) {
    // SAFETY: the keys' values are only pages this module mapped, each PAGE bytes.
    unsafe { libc::munmap(page, PAGE) };
}

/// Deletes the keys when the library is unloaded, so that no thread that exits afterwards calls
/// `unmap_page` in unmapped code. (Pages of threads still running then are left mapped.)
extern "C" fn delete_keys() {
    for slot in &KEYS {
        let key = slot.swap(0, Ordering::AcqRel);
        if key != 0 {
            // SAFETY: the key was created by `PerThread::key` and is deleted once.
            unsafe { libc::pthread_key_delete(key - 1) };
        }
    }
}

#[used]
#[unsafe(link_section = ".fini_array")]
static DELETE_KEYS: extern "C" fn() = delete_keys;

/// A value of its own for each thread, in a page mapped with `mmap(2)` at the thread's first use
/// and found again through a `pthread_key_t` (created by the first use in the process); the page
/// is unmapped when the thread exits. No lock and no `malloc`: usable from a signal handler.
pub struct PerThread<T: Initial + 'static> {
    /// Which of [`KEYS`] this value's key lives in.
    slot: usize,
    value: PhantomData<T>,
}

impl<T: Initial + 'static> PerThread<T> {
    /// The per-thread value whose key lives in `KEYS[slot]` (one slot per static).
    pub const fn new(slot: usize) -> Self {
        const { assert!(mem::size_of::<Page<T>>() <= PAGE) };
        assert!(slot < KEYS.len());
        PerThread {
            slot,
            value: PhantomData,
        }
    }

    /// The key, created by the first caller that asks to (a racing creator deletes its own).
    fn key(&self, create: bool) -> Option<libc::pthread_key_t> {
        let slot = KEYS.get(self.slot)?;
        match slot.load(Ordering::Acquire) {
            0 if !create => None,
            0 => {
                let mut new: libc::pthread_key_t = 0;
                // SAFETY: `new` is valid for writes; the destructor has the signature pthreads
                // wants.
                if unsafe { libc::pthread_key_create(&mut new, Some(unmap_page)) } != 0 {
                    return None;
                }
                match slot.compare_exchange(0, new + 1, Ordering::AcqRel, Ordering::Acquire) {
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
    fn page(&self, create: bool) -> Option<&'static Page<T>> {
        let key = self.key(create)?;
        // SAFETY: `key` is a live key; the value is NULL or a page of this thread.
        let current = unsafe { libc::pthread_getspecific(key) };
        if !current.is_null() {
            // SAFETY: the key's values are pages mapped below, valid until this thread exits.
            return Some(unsafe { &*current.cast::<Page<T>>() });
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
        let page = mapped.cast::<Page<T>>();
        // SAFETY: the mapping is this thread's, large enough and aligned (page-aligned) for a
        // Page<T>, which is written whole before it is used.
        unsafe {
            page.write(Page {
                busy: AtomicBool::new(false),
                value: UnsafeCell::new(T::initial()),
            });
            Some(&*page)
        }
    }

    /// Runs `f` with exclusive access to this thread's value, mapping its page first if `create`.
    /// `None` when there is no page (not created yet, or no memory) or when the value is busy,
    /// which only happens to a signal handler that interrupted a use on this thread.
    pub fn with<R>(&self, create: bool, f: impl FnOnce(&mut T) -> R) -> Option<R> {
        let page = self.page(create)?;
        if page.busy.swap(true, Ordering::Acquire) {
            return None;
        }
        // SAFETY: the page belongs to this thread and the busy flag, taken above, excludes the
        // only other user there can be (a signal handler on this thread).
        let result = f(unsafe { &mut *page.value.get() });
        page.busy.store(false, Ordering::Release);
        Some(result)
    }
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

/// `len` values of a plain type: on the stack when `len <= N`, else in a [`Buffer`]. The scratch
/// arrays of a call whose size depends on its input (the addresses of a name).
pub enum Scratch<T: Copy, const N: usize> {
    /// Up to `N` values, the first `len` of them in use.
    Stack([T; N], usize),
    /// More than `N` values.
    Heap(Buffer<T>),
}

impl<T: Copy, const N: usize> Scratch<T, N> {
    /// `len` copies of `fill`; `None` when out of memory.
    pub fn new(len: usize, fill: T) -> Option<Self> {
        if len <= N {
            Some(Scratch::Stack([fill; N], len))
        } else {
            Buffer::new(len, fill).map(Scratch::Heap)
        }
    }
}

impl<T: Copy, const N: usize> Deref for Scratch<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Scratch::Stack(values, len) => values.get(..*len).unwrap_or(&[]),
            Scratch::Heap(buffer) => buffer,
        }
    }
}

impl<T: Copy, const N: usize> DerefMut for Scratch<T, N> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Scratch::Stack(values, len) => values.get_mut(..*len).unwrap_or(&mut []),
            Scratch::Heap(buffer) => buffer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Counter(u64);
    impl Initial for Counter {
        fn initial() -> Self {
            Counter(0)
        }
    }
    static COUNTER: PerThread<Counter> = PerThread::new(3);

    #[test]
    fn a_thread_has_no_value_until_it_asks_for_one() {
        std::thread::spawn(|| {
            assert_eq!(COUNTER.with(false, |c| c.0), None);
            assert_eq!(
                COUNTER.with(true, |c| c.0),
                Some(0),
                "a fresh page holds the initial value"
            );
            COUNTER.with(true, |c| c.0 = 7).unwrap();
            assert_eq!(COUNTER.with(false, |c| c.0), Some(7));
        })
        .join()
        .unwrap();
        let other = std::thread::spawn(|| COUNTER.with(true, |c| c.0))
            .join()
            .unwrap();
        assert_eq!(other, Some(0), "each thread has its own");
    }

    #[test]
    fn a_busy_value_refuses_a_nested_user() {
        let nested = COUNTER.with(true, |_| COUNTER.with(true, |_| ())).unwrap();
        assert!(nested.is_none(), "a nested use must be refused, not block");
        assert!(COUNTER.with(true, |_| ()).is_some(), "the flag is released");
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
    fn scratch_is_on_the_stack_or_the_heap() {
        let mut small = Scratch::<u8, 4>::new(3, 1).unwrap();
        small[2] = 5;
        assert!(matches!(small, Scratch::Stack(..)));
        assert_eq!(&small[..], &[1, 1, 5]);
        let big = Scratch::<u8, 4>::new(6, 2).unwrap();
        assert!(matches!(big, Scratch::Heap(..)));
        assert_eq!(&big[..], &[2; 6]);
    }

    #[test]
    fn buffer_is_filled() {
        let mut b = Buffer::new(5, 3u16).unwrap();
        b[4] = 9;
        assert_eq!(&b[..], &[3, 3, 3, 3, 9]);
        assert!(Buffer::new(usize::MAX, 0u64).is_none());
    }
}
