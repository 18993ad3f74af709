//! The plain C values csock hands out, and the flag sets inside them.

use libc::{c_char, c_int};

/// `-1`: as a family, type or protocol, "the default" when creating and "detect it" when adopting.
pub const CSOCK_DEFAULT: c_int = -1;

/// In the flags of a call that waits (`csock_accept`, `csock_connect`, ...): a signal that
/// interrupts the call makes it return -EINTR, instead of resuming it with the time that is left.
/// Bit 31 (`0x80000000`): Linux refuses it from user space in every flags argument csock forwards,
/// and csock never passes it to the kernel.
pub const CSOCK_EINTR: c_int = -0x7fff_ffff - 1;

/// `csock_inspect()` flag: `O_NONBLOCK` is set on the descriptor.
pub const CSOCK_INFO_NONBLOCK: u32 = 0x1;
/// `csock_inspect()` flag: `FD_CLOEXEC` is set (the descriptor is not inheritable).
pub const CSOCK_INFO_CLOEXEC: u32 = 0x2;
/// `csock_inspect()` flag: the socket is listening (`SO_ACCEPTCONN`).
pub const CSOCK_INFO_LISTENING: u32 = 0x4;

/// `csock_listen_fds()` flag: remove `LISTEN_PID`, `LISTEN_FDS`, `LISTEN_FDNAMES` and
/// `LISTEN_PIDFDID` from the environment, whatever the outcome.
pub const CSOCK_LISTEN_UNSET_ENV: u32 = 0x1;

/// A socket: an owned descriptor and the family, type and protocol it was created or adopted as.
///
/// A plain value owned by the caller; csock never allocates for it. `fd` is `-1` once the socket
/// is closed or detached. `type` never carries `SOCK_NONBLOCK` or `SOCK_CLOEXEC`. State the kernel
/// owns (blocking mode, inheritability) is not stored here: csock reads it from the kernel.
///
/// Declare one with `CSOCK_SOCKET_INIT` (closed: every field `-1`). A zeroed value is not
/// closed: its `fd` 0 is standard input, which a cleanup path's `csock_close()` would close.
/// Copying the value copies the ownership claim: close only one copy.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct csock_socket {
    /// The owned descriptor; `-1` once closed or detached.
    pub fd: c_int,
    /// `AF_*` as recorded: given, defaulted or detected.
    pub family: c_int,
    /// `SOCK_*` as recorded, never with `SOCK_NONBLOCK` or `SOCK_CLOEXEC` bits.
    pub r#type: c_int,
    /// The protocol as recorded.
    pub proto: c_int,
}

/// What `csock_inspect()` reads from the kernel about a descriptor.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct csock_info {
    /// `AF_*`, detected as `csock_adopt()` would.
    pub family: c_int,
    /// `SOCK_*`, detected as `csock_adopt()` would.
    pub r#type: c_int,
    /// The protocol, detected as `csock_adopt()` would.
    pub proto: c_int,
    /// `CSOCK_INFO_*` bits.
    pub flags: u32,
}

/// One socket received by `csock_listen_fds()`, with the name its supervisor gave it.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
pub struct csock_listen_fd {
    /// The adopted socket (close-on-exec set, family, type and protocol detected).
    pub sock: csock_socket,
    /// The name from `LISTEN_FDNAMES`, NUL-terminated; `"unknown"` when none was given.
    pub name: [c_char; 256],
}

bitflags::bitflags! {
    /// The flag bits Linux accepts in a socket type, besides the type itself.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct TypeFlags: c_int {
        /// `SOCK_NONBLOCK`: create the descriptor non-blocking.
        const NONBLOCK = libc::SOCK_NONBLOCK;
        /// `SOCK_CLOEXEC`: create the descriptor close-on-exec.
        const CLOEXEC = libc::SOCK_CLOEXEC;
    }
}

impl TypeFlags {
    /// The flag bits present in a socket type.
    pub fn of(ty: c_int) -> Self {
        TypeFlags::from_bits_truncate(ty)
    }

    /// A socket type with the flag bits cleared: what csock records.
    pub fn strip(ty: c_int) -> c_int {
        ty & !TypeFlags::all().bits()
    }
}

bitflags::bitflags! {
    /// The `CSOCK_INFO_*` bits of [`csock_info::flags`].
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct InfoFlags: u32 {
        /// `O_NONBLOCK` is set.
        const NONBLOCK = CSOCK_INFO_NONBLOCK;
        /// `FD_CLOEXEC` is set.
        const CLOEXEC = CSOCK_INFO_CLOEXEC;
        /// `SO_ACCEPTCONN` is true.
        const LISTENING = CSOCK_INFO_LISTENING;
    }
}

bitflags::bitflags! {
    /// The flags `csock_listen_fds()` accepts.
    #[derive(Clone, Copy, Debug, PartialEq, Eq)]
    pub struct ListenFlags: u32 {
        /// Remove the `LISTEN_*` variables from the environment.
        const UNSET_ENV = CSOCK_LISTEN_UNSET_ENV;
    }
}

impl csock_socket {
    /// The value of a socket that is closed or detached: `fd == -1`.
    pub const fn closed(family: c_int, ty: c_int, proto: c_int) -> Self {
        csock_socket {
            fd: -1,
            family,
            r#type: ty,
            proto,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_clears_only_the_flag_bits() {
        let ty = libc::SOCK_DGRAM | libc::SOCK_NONBLOCK | libc::SOCK_CLOEXEC;
        assert_eq!(TypeFlags::strip(ty), libc::SOCK_DGRAM);
        assert_eq!(TypeFlags::strip(999), 999 & !TypeFlags::all().bits());
        assert_eq!(TypeFlags::of(ty), TypeFlags::all());
    }
}
