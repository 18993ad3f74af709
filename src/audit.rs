//! Audit hooks, like `sys.addaudithook`: append-only, called in order, from any thread.
//!
//! The hooks form a singly linked list whose links are [`OnceLock`]s: a link is set once and
//! never changed, so readers walk the list without a lock while writers append at the tail. With
//! no hook registered, a creation costs one atomic load (the head's `get`).

use std::ffi::CStr;
use std::sync::OnceLock;

use libc::c_int;

use crate::error::{Error, Result};

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

/// A hook: returns `0` to allow, anything else to refuse.
pub type Hook = Box<dyn Fn(&Event) -> c_int + Send + Sync>;

struct Node {
    hook: Hook,
    next: OnceLock<Box<Node>>,
}

static HEAD: OnceLock<Box<Node>> = OnceLock::new();

/// Appends a hook; it sees every creation that starts after this returns.
pub fn add(hook: Hook) {
    let mut node = Box::new(Node {
        hook,
        next: OnceLock::new(),
    });
    loop {
        let mut link = &HEAD;
        while let Some(next) = link.get() {
            link = &next.next;
        }
        // Another thread may have appended since the walk: walk again from where it stopped.
        match link.set(node) {
            Ok(()) => return,
            Err(back) => node = back,
        }
    }
}

/// Runs the hooks in order for `event`. The first refusal stops the walk and becomes the error:
/// a negative value `-e` gives errno `e`, a positive value gives `EPERM`.
pub fn check(event: &Event) -> Result<()> {
    let mut link = &HEAD;
    while let Some(node) = link.get() {
        match (node.hook)(event) {
            0 => {}
            refusal => return Err(refused(refusal)),
        }
        link = &node.next;
    }
    Ok(())
}

fn refused(value: c_int) -> Error {
    let errno = if value < 0 && value != c_int::MIN {
        -value
    } else {
        libc::EPERM
    };
    Error::new(errno, "audit hook refused socket.__new__")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_values_map_to_errno() {
        assert_eq!(refused(-libc::EACCES).errno.0, libc::EACCES);
        assert_eq!(refused(1).errno.0, libc::EPERM);
        assert_eq!(refused(c_int::MIN).errno.0, libc::EPERM);
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
            add(Box::new(move |e: &Event| {
                if e.proto == MAGIC {
                    SEEN.lock().unwrap().push(i);
                }
                0
            }));
        }
        add(Box::new(
            |e: &Event| if e.proto == MAGIC { -libc::EACCES } else { 0 },
        ));
        add(Box::new(|e: &Event| {
            if e.proto == MAGIC {
                CALLS.fetch_add(1, Ordering::SeqCst);
            }
            0
        }));
        let threads: Vec<_> = (0..4)
            .map(|_| std::thread::spawn(|| add(Box::new(|_: &Event| 0))))
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
