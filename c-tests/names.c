/*
 * csock_family_name, csock_type_name, csock_constant: Python's names, the platform's values.
 * (The whole table is compared with Python's socket module by the Python suite.)
 */
#include <csock.h>

#include <linux/can.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tap.h"

/* Expects csock_constant(name) to give `value`. */
static void constant_is(const char *name, int value) {
    int got = 0x5a5a5a5a;
    is_int(csock_constant(name, &got), 0, "%s: found", name);
    is_int(got, value, "%s is %d", name, value);
}

/* Expects csock_constant(name, value) to fail with -err, leaving *value untouched. */
static void constant_fails(const char *name, int *value, int err, const char *what) {
    if (value) *value = 0x5a5a5a5a;
    errno = 0;
    is_int(csock_constant(name, value), -err, "%s: returns -%s", what, strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    ok(!value || *value == 0x5a5a5a5a, "%s: value untouched", what);
}

int main(void) {
    static const struct {
        int value;
        const char *name;
    } families[] = {
        {AF_UNSPEC, "AF_UNSPEC"}, {AF_UNIX, "AF_UNIX"},       {AF_INET, "AF_INET"},
        {AF_INET6, "AF_INET6"},   {16, "AF_NETLINK"},         {AF_PACKET, "AF_PACKET"},
        {AF_VSOCK, "AF_VSOCK"},   {AF_CAN, "AF_CAN"},         {AF_TIPC, "AF_TIPC"},
        {AF_ALG, "AF_ALG"},       {AF_QIPCRTR, "AF_QIPCRTR"}, {AF_BRIDGE, "AF_BRIDGE"},
    };
    for (size_t i = 0; i < sizeof families / sizeof families[0]; i++)
        is_str(csock_family_name(families[i].value), families[i].name, "family %d is %s",
               families[i].value, families[i].name);
    ok(csock_family_name(AF_INET) == csock_family_name(AF_INET), "the name is a static string");
    is_str(csock_family_name(AF_ROUTE), "AF_NETLINK", "AF_ROUTE (alias of 16) is AF_NETLINK");
    /* Python's AddressFamily drops the mixed-case AF_DECnet; csock names it (README). */
    is_str(csock_family_name(AF_DECnet), "AF_DECnet", "family 12 is AF_DECnet");
    const int unknown_families[] = {12345, -1, 46, 1 << 20};
    for (size_t i = 0; i < sizeof unknown_families / sizeof unknown_families[0]; i++)
        is_str(csock_family_name(unknown_families[i]), NULL, "family %d: NULL",
               unknown_families[i]);

    static const struct {
        int value;
        const char *name;
    } types[] = {
        {SOCK_STREAM, "SOCK_STREAM"},
        {SOCK_DGRAM, "SOCK_DGRAM"},
        {SOCK_RAW, "SOCK_RAW"},
        {SOCK_RDM, "SOCK_RDM"},
        {SOCK_SEQPACKET, "SOCK_SEQPACKET"},
    };
    const int flags[] = {0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++)
            is_str(csock_type_name(types[i].value | flags[f]), types[i].name,
                   "type %d with flags 0x%x is %s", types[i].value, flags[f], types[i].name);
    const int unknown_types[] = {0, 999, -1, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_PACKET, 6};
    for (size_t i = 0; i < sizeof unknown_types / sizeof unknown_types[0]; i++)
        is_str(csock_type_name(unknown_types[i]), NULL, "type %d: NULL", unknown_types[i]);

    constant_is("SOCK_NONBLOCK", SOCK_NONBLOCK);
    constant_is("SOCK_CLOEXEC", SOCK_CLOEXEC);
    constant_is("SOCK_SEQPACKET", SOCK_SEQPACKET);
    constant_is("CAN_ISOTP", CAN_ISOTP);
    constant_is("CAN_J1939", CAN_J1939);
    constant_is("CAN_EFF_FLAG", (int)CAN_EFF_FLAG);
    constant_is("SHUT_RD", SHUT_RD);
    constant_is("SHUT_WR", SHUT_WR);
    constant_is("SHUT_RDWR", SHUT_RDWR);
    constant_is("IPPROTO_TCP", IPPROTO_TCP);
    constant_is("IPPROTO_UDP", IPPROTO_UDP);
    constant_is("IPPROTO_IPV6", IPPROTO_IPV6);
    constant_is("SOL_SOCKET", SOL_SOCKET);
    constant_is("SOL_TCP", SOL_TCP);
    constant_is("AF_INET6", AF_INET6);
    constant_is("AF_ROUTE", AF_ROUTE);
    constant_is("AF_DECnet", AF_DECnet);

    int value;
    constant_fails("SOCK_NOPE", &value, ENOENT, "unknown name");
    constant_fails("sock_stream", &value, ENOENT, "names are case-sensitive");
    constant_fails("SOCK_STREAMX", &value, ENOENT, "no prefix matching");
    constant_fails("SOCK_STREA", &value, ENOENT, "no truncated matching");
    constant_fails("", &value, ENOENT, "empty name");
    constant_fails("SO_REUSEADDR", &value, ENOENT, "SO_* is not in the table");
    constant_fails(NULL, &value, EINVAL, "NULL name");
    constant_fails("SOCK_STREAM", NULL, EINVAL, "NULL value");
    constant_fails(NULL, NULL, EINVAL, "both NULL");

    return done_testing();
}
