//! Audit hooks, like `sys.addaudithook`: append-only, called in order, from any thread.
//!
//! The hooks form a singly linked list whose links are [`OnceRef`]s: a link is set once and
//! never changed, so readers walk the list without a lock while writers append at the tail. With
//! no hook registered, a creation costs one atomic load (the head's `get`). Hooks live for the
//! rest of the process ([`rt::leak`]).

use core::ffi::CStr;

use libc::c_int;

use crate::error::{Error, Result};
use crate::sys::rt::{self, OnceRef};

/// The event every socket creation raises.
pub const SOCKET_NEW: &CStr = c"socket.__new__";

/// What a hook is told about a socket being created or adopted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Event {
    /// The event name, `"socket.__new__"`.
    pub name: &'static CStr,
    /// The descriptor, or `-1` when it does not exist yet (`csock_open`).
    pub fd: c_int,
    /// The family that will be recorded.
    pub family: c_int,
    /// The type (as given to `csock_open`, flag bits included; as recorded otherwise).
    pub ty: c_int,
    /// The protocol that will be recorded.
    pub proto: c_int,
}

impl Event {
    /// A `socket.__new__` event.
    pub const fn socket_new(fd: c_int, family: c_int, ty: c_int, proto: c_int) -> Self {
        Event {
            name: SOCKET_NEW,
            fd,
            family,
            ty,
            proto,
        }
    }
}

/// A hook: returns `0` to allow, anything else to refuse. Called from any thread.
pub trait Hook: Send + Sync {
    /// Decides on one event.
    fn call(&self, event: &Event) -> c_int;
}

impl<F: Fn(&Event) -> c_int + Send + Sync> Hook for F {
    fn call(&self, event: &Event) -> c_int {
        self(event)
    }
}

struct Node {
    hook: &'static dyn Hook,
    next: OnceRef<Node>,
}

static HEAD: OnceRef<Node> = OnceRef::new();

const NO_MEMORY: Error = Error::new(libc::ENOMEM, "malloc");

/// Appends a hook; it sees every creation that starts after this returns. `ENOMEM` when it
/// cannot be stored.
pub fn add(hook: impl Hook + 'static) -> Result<()> {
    let hook: &'static dyn Hook = rt::leak(hook).ok_or(NO_MEMORY)?;
    let mut node = rt::leak(Node {
        hook,
        next: OnceRef::new(),
    })
    .ok_or(NO_MEMORY)?;
    let mut link = &HEAD;
    loop {
        while let Some(next) = link.get() {
            link = &next.next;
        }
        // Another thread may have appended since the walk: walk on from where it stopped.
        match link.set(node) {
            Ok(()) => return Ok(()),
            Err(back) => node = back,
        }
    }
}

/// Runs the hooks in order for `event`. The first refusal stops the walk and becomes the error:
/// a negative value `-e` gives errno `e`, a positive value gives `EPERM`.
pub fn check(event: &Event) -> Result<()> {
    let mut link = &HEAD;
    while let Some(node) = link.get() {
        match node.hook.call(event) {
            0 => {}
            refusal => return Err(Error::refused(refused_errno(refusal), event)),
        }
        link = &node.next;
    }
    Ok(())
}

/// The errno of a refusal: `-value` for a negative value, `EPERM` otherwise.
fn refused_errno(value: c_int) -> c_int {
    if value < 0 && value != c_int::MIN {
        -value
    } else {
        libc::EPERM
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_values_map_to_errno() {
        assert_eq!(refused_errno(-libc::EACCES), libc::EACCES);
        assert_eq!(refused_errno(1), libc::EPERM);
        assert_eq!(refused_errno(c_int::MIN), libc::EPERM);
    }

    // Hooks are process-wide and cannot be removed, so one test exercises the list: order,
    // refusal stopping the walk, and concurrent appends.
    #[test]
    fn hooks_run_in_order_and_stop_at_a_refusal() {
        use std::sync::Mutex;
        use std::sync::atomic::{AtomicUsize, Ordering};
        static SEEN: Mutex<Vec<usize>> = Mutex::new(Vec::new());
        static CALLS: AtomicUsize = AtomicUsize::new(0);
        const MAGIC: c_int = 0x5eed;

        for i in 0..3 {
            add(move |e: &Event| {
                if e.proto == MAGIC {
                    SEEN.lock().unwrap().push(i);
                }
                0
            })
            .unwrap();
        }
        add(|e: &Event| if e.proto == MAGIC { -libc::EACCES } else { 0 }).unwrap();
        add(|e: &Event| {
            if e.proto == MAGIC {
                CALLS.fetch_add(1, Ordering::SeqCst);
            }
            0
        })
        .unwrap();
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| add(|_: &Event| 0).unwrap()))
            .collect();
        for t in threads {
            t.join().unwrap();
        }

        let err = check(&Event::socket_new(-1, 2, 1, MAGIC)).unwrap_err();
        assert_eq!(err.errno.0, libc::EACCES);
        assert_eq!(*SEEN.lock().unwrap(), vec![0, 1, 2]);
        assert_eq!(
            CALLS.load(Ordering::SeqCst),
            0,
            "hooks after a refusal are not called"
        );
        assert!(check(&Event::socket_new(-1, 2, 1, 0)).is_ok());
    }
}
