//! Names and constants for callers that cannot read C headers: one table of every `AF_*`,
//! `SOCK_*`, `SHUT_*`, `SOL_*`, `IPPROTO_*` and `CAN_*` name Python's `socket` module defines on
//! Linux, with the same values.

use core::ffi::CStr;

use libc::c_int;

use crate::socket::TypeFlags;

/// `(name, value)`, grouped by prefix; within `AF_*` and `SOCK_*`, sorted by value with the name
/// Python's `AddressFamily` / `SocketKind` uses first among aliases (`AF_NETLINK` before
/// `AF_ROUTE`). Values wider than `int` (`CAN_EFF_FLAG`, 0x80000000) keep their 32-bit pattern.
pub static CONSTANTS: &[(&CStr, c_int)] = &[
    (c"AF_UNSPEC", libc::AF_UNSPEC),
    (c"AF_UNIX", libc::AF_UNIX),
    (c"AF_INET", libc::AF_INET),
    (c"AF_AX25", libc::AF_AX25),
    (c"AF_IPX", libc::AF_IPX),
    (c"AF_APPLETALK", libc::AF_APPLETALK),
    (c"AF_NETROM", libc::AF_NETROM),
    (c"AF_BRIDGE", libc::AF_BRIDGE),
    (c"AF_ATMPVC", libc::AF_ATMPVC),
    (c"AF_X25", libc::AF_X25),
    (c"AF_INET6", libc::AF_INET6),
    (c"AF_ROSE", libc::AF_ROSE),
    (c"AF_DECnet", libc::AF_DECnet),
    (c"AF_NETBEUI", libc::AF_NETBEUI),
    (c"AF_SECURITY", libc::AF_SECURITY),
    (c"AF_KEY", libc::AF_KEY),
    (c"AF_NETLINK", libc::AF_NETLINK),
    (c"AF_ROUTE", libc::AF_ROUTE),
    (c"AF_PACKET", libc::AF_PACKET),
    (c"AF_ASH", libc::AF_ASH),
    (c"AF_ECONET", libc::AF_ECONET),
    (c"AF_ATMSVC", libc::AF_ATMSVC),
    (c"AF_RDS", libc::AF_RDS),
    (c"AF_SNA", libc::AF_SNA),
    (c"AF_IRDA", libc::AF_IRDA),
    (c"AF_PPPOX", libc::AF_PPPOX),
    (c"AF_WANPIPE", libc::AF_WANPIPE),
    (c"AF_LLC", libc::AF_LLC),
    (c"AF_CAN", libc::AF_CAN),
    (c"AF_TIPC", libc::AF_TIPC),
    (c"AF_ALG", libc::AF_ALG),
    (c"AF_VSOCK", libc::AF_VSOCK),
    (c"AF_QIPCRTR", 42),
    (c"SOCK_STREAM", libc::SOCK_STREAM),
    (c"SOCK_DGRAM", libc::SOCK_DGRAM),
    (c"SOCK_RAW", libc::SOCK_RAW),
    (c"SOCK_RDM", libc::SOCK_RDM),
    (c"SOCK_SEQPACKET", libc::SOCK_SEQPACKET),
    (c"SOCK_NONBLOCK", libc::SOCK_NONBLOCK),
    (c"SOCK_CLOEXEC", libc::SOCK_CLOEXEC),
    (c"SHUT_RD", libc::SHUT_RD),
    (c"SHUT_RDWR", libc::SHUT_RDWR),
    (c"SHUT_WR", libc::SHUT_WR),
    (c"SOL_ALG", libc::SOL_ALG),
    (c"SOL_CAN_BASE", 100),
    (c"SOL_CAN_RAW", 101),
    (c"SOL_IP", libc::SOL_IP),
    (c"SOL_RDS", libc::SOL_RDS),
    (c"SOL_SOCKET", libc::SOL_SOCKET),
    (c"SOL_TCP", libc::SOL_TCP),
    (c"SOL_TIPC", libc::SOL_TIPC),
    (c"SOL_UDP", libc::SOL_UDP),
    (c"IPPROTO_AH", libc::IPPROTO_AH),
    (c"IPPROTO_DSTOPTS", libc::IPPROTO_DSTOPTS),
    (c"IPPROTO_EGP", libc::IPPROTO_EGP),
    (c"IPPROTO_ESP", libc::IPPROTO_ESP),
    (c"IPPROTO_FRAGMENT", libc::IPPROTO_FRAGMENT),
    (c"IPPROTO_GRE", libc::IPPROTO_GRE),
    (c"IPPROTO_HOPOPTS", libc::IPPROTO_HOPOPTS),
    (c"IPPROTO_ICMP", libc::IPPROTO_ICMP),
    (c"IPPROTO_ICMPV6", libc::IPPROTO_ICMPV6),
    (c"IPPROTO_IDP", libc::IPPROTO_IDP),
    (c"IPPROTO_IGMP", libc::IPPROTO_IGMP),
    (c"IPPROTO_IP", libc::IPPROTO_IP),
    (c"IPPROTO_IPIP", libc::IPPROTO_IPIP),
    (c"IPPROTO_IPV6", libc::IPPROTO_IPV6),
    (c"IPPROTO_MPTCP", libc::IPPROTO_MPTCP),
    (c"IPPROTO_NONE", libc::IPPROTO_NONE),
    (c"IPPROTO_PIM", libc::IPPROTO_PIM),
    (c"IPPROTO_PUP", libc::IPPROTO_PUP),
    (c"IPPROTO_RAW", libc::IPPROTO_RAW),
    (c"IPPROTO_ROUTING", libc::IPPROTO_ROUTING),
    (c"IPPROTO_RSVP", libc::IPPROTO_RSVP),
    (c"IPPROTO_SCTP", libc::IPPROTO_SCTP),
    (c"IPPROTO_TCP", libc::IPPROTO_TCP),
    (c"IPPROTO_TP", libc::IPPROTO_TP),
    (c"IPPROTO_UDP", libc::IPPROTO_UDP),
    (c"IPPROTO_UDPLITE", libc::IPPROTO_UDPLITE),
    (c"CAN_BCM", 2),
    (c"CAN_BCM_CAN_FD_FRAME", 2048),
    (c"CAN_BCM_RX_ANNOUNCE_RESUME", 256),
    (c"CAN_BCM_RX_CHANGED", 12),
    (c"CAN_BCM_RX_CHECK_DLC", 64),
    (c"CAN_BCM_RX_DELETE", 6),
    (c"CAN_BCM_RX_FILTER_ID", 32),
    (c"CAN_BCM_RX_NO_AUTOTIMER", 128),
    (c"CAN_BCM_RX_READ", 7),
    (c"CAN_BCM_RX_RTR_FRAME", 1024),
    (c"CAN_BCM_RX_SETUP", 5),
    (c"CAN_BCM_RX_STATUS", 10),
    (c"CAN_BCM_RX_TIMEOUT", 11),
    (c"CAN_BCM_SETTIMER", 1),
    (c"CAN_BCM_STARTTIMER", 2),
    (c"CAN_BCM_TX_ANNOUNCE", 8),
    (c"CAN_BCM_TX_COUNTEVT", 4),
    (c"CAN_BCM_TX_CP_CAN_ID", 16),
    (c"CAN_BCM_TX_DELETE", 2),
    (c"CAN_BCM_TX_EXPIRED", 9),
    (c"CAN_BCM_TX_READ", 3),
    (c"CAN_BCM_TX_RESET_MULTI_IDX", 512),
    (c"CAN_BCM_TX_SEND", 4),
    (c"CAN_BCM_TX_SETUP", 1),
    (c"CAN_BCM_TX_STATUS", 8),
    (c"CAN_EFF_FLAG", 0x80000000_u32 as c_int),
    (c"CAN_EFF_MASK", 536870911),
    (c"CAN_ERR_FLAG", 536870912),
    (c"CAN_ERR_MASK", 536870911),
    (c"CAN_ISOTP", 6),
    (c"CAN_J1939", 7),
    (c"CAN_RAW", 1),
    (c"CAN_RAW_FD_FRAMES", 5),
    (c"CAN_RAW_FILTER", 1),
    (c"CAN_RAW_JOIN_FILTERS", 6),
    (c"CAN_RAW_LOOPBACK", 3),
    (c"CAN_RAW_RECV_OWN_MSGS", 4),
    (c"CAN_RTR_FLAG", 1073741824),
    (c"CAN_SFF_MASK", 2047),
];

fn named(prefix: &str, value: c_int) -> Option<&'static CStr> {
    CONSTANTS
        .iter()
        .find(|(name, v)| *v == value && name.to_bytes().starts_with(prefix.as_bytes()))
        .map(|(name, _)| *name)
}

/// `"AF_INET"` for `AF_INET`; `None` for a family Python does not name.
pub fn family_name(family: c_int) -> Option<&'static CStr> {
    named("AF_", family)
}

/// `"SOCK_STREAM"` for `SOCK_STREAM`, flag bits ignored; `None` for an unknown type.
pub fn type_name(ty: c_int) -> Option<&'static CStr> {
    let base = TypeFlags::strip(ty);
    if base == 0 {
        return None;
    }
    named("SOCK_", base)
}

/// The value of a constant by its Python name (`"SOCK_NONBLOCK"`, `"CAN_ISOTP"`).
pub fn constant(name: &[u8]) -> Option<c_int> {
    CONSTANTS
        .iter()
        .find(|(n, _)| n.to_bytes() == name)
        .map(|(_, v)| *v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values() {
        assert_eq!(family_name(libc::AF_INET6), Some(c"AF_INET6"));
        assert_eq!(family_name(libc::AF_NETLINK), Some(c"AF_NETLINK"));
        assert_eq!(family_name(12345), None);
        assert_eq!(
            type_name(libc::SOCK_DGRAM | libc::SOCK_CLOEXEC),
            Some(c"SOCK_DGRAM")
        );
        assert_eq!(type_name(libc::SOCK_NONBLOCK), None);
        assert_eq!(constant(b"SHUT_RDWR"), Some(libc::SHUT_RDWR));
        assert_eq!(constant(b"CAN_ISOTP"), Some(6));
        assert_eq!(constant(b"SOCK_NONBLOCK"), Some(libc::SOCK_NONBLOCK));
        assert_eq!(constant(b"AF_NOPE"), None);
    }

    #[test]
    fn one_entry_per_name() {
        let mut names: Vec<_> = CONSTANTS.iter().map(|(n, _)| *n).collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), CONSTANTS.len());
    }
}
