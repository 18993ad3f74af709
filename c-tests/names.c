/*
 * csock_family_name, csock_type_name, csock_constant, csock_constant64: Python's names, the
 * platform's values. (The whole table is compared, both ways, with the socket module of every
 * Python on the machine by the Python suite; here the values are the C headers'.)
 */
#include <csock.h>

#include <limits.h>
#include <linux/can.h>
#include <linux/tipc.h>
#include <linux/vm_sockets.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "tap.h"

#define POISON 0x5a5a5a5a
#define POISON64 INT64_C(0x5a5a5a5a5a5a5a5a)

static bool starts_with(const char *text, const char *prefix) {
    return strncmp(text, prefix, strlen(prefix)) == 0;
}

/* Expects csock_constant64(name) to give exactly `value`, and csock_constant its 32-bit
 * pattern. */
static void constant_is(const char *name, long long value) {
    int64_t got64 = POISON64;
    is_int(csock_constant64(name, &got64), 0, "%s: found by csock_constant64", name);
    ok(got64 == value, "%s is %lld (exact)", name, value);
    if (got64 != value) diag("got %lld", (long long)got64);
    int got = POISON;
    is_int(csock_constant(name, &got), 0, "%s: found by csock_constant", name);
    is_int(got, (int)(uint32_t)value, "%s is %d as an int", name, (int)(uint32_t)value);
}

/* Expects both lookups of `name` to fail with -err, errno err and the values untouched. */
static void constant_fails(const char *name, bool give_value, int err, const char *what) {
    int value = POISON;
    int64_t value64 = POISON64;
    errno = 0;
    is_int(csock_constant(name, give_value ? &value : NULL), -err, "%s: returns -%s", what,
           strerrorname_np(err));
    is_int(errno, err, "%s: errno is %s", what, strerrorname_np(err));
    ok(value == POISON, "%s: value untouched", what);
    errno = 0;
    is_int(csock_constant64(name, give_value ? &value64 : NULL), -err, "%s: 64: returns -%s",
           what, strerrorname_np(err));
    is_int(errno, err, "%s: 64: errno is %s", what, strerrorname_np(err));
    ok(value64 == POISON64, "%s: 64: value untouched", what);
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

    /* A few of every group, with the C headers' values. */
    static const struct {
        const char *name;
        long long value;
    } constants[] = {
        {"SOCK_NONBLOCK", SOCK_NONBLOCK},
        {"SOCK_CLOEXEC", SOCK_CLOEXEC},
        {"SOCK_SEQPACKET", SOCK_SEQPACKET},
        {"AF_INET6", AF_INET6},
        {"AF_ROUTE", AF_ROUTE},
        {"AF_DECnet", AF_DECnet},
        {"AF_BLUETOOTH", AF_BLUETOOTH},
        {"PF_CAN", PF_CAN},
        {"SHUT_RD", SHUT_RD},
        {"SHUT_WR", SHUT_WR},
        {"SHUT_RDWR", SHUT_RDWR},
        {"SOL_SOCKET", SOL_SOCKET},
        {"SOL_TCP", SOL_TCP},
        {"SOL_ALG", SOL_ALG},
        {"SO_REUSEADDR", SO_REUSEADDR},
        {"SO_REUSEPORT", SO_REUSEPORT},
        {"SO_DOMAIN", SO_DOMAIN},
        {"SO_INCOMING_CPU", SO_INCOMING_CPU},
        {"SCM_RIGHTS", SCM_RIGHTS},
        {"MSG_NOSIGNAL", MSG_NOSIGNAL},
        {"MSG_CMSG_CLOEXEC", MSG_CMSG_CLOEXEC},
        {"IPPROTO_TCP", IPPROTO_TCP},
        {"IPPROTO_UDP", IPPROTO_UDP},
        {"IPPROTO_IPV6", IPPROTO_IPV6},
        {"IPPROTO_MPTCP", IPPROTO_MPTCP},
        {"IP_TTL", IP_TTL},
        {"IP_BIND_ADDRESS_NO_PORT", IP_BIND_ADDRESS_NO_PORT},
        {"IPV6_V6ONLY", IPV6_V6ONLY},
        {"IPV6_RECVPKTINFO", IPV6_RECVPKTINFO},
        {"TCP_NODELAY", TCP_NODELAY},
        {"TCP_KEEPIDLE", TCP_KEEPIDLE},
        {"TCP_FASTOPEN", TCP_FASTOPEN},
        {"AI_PASSIVE", AI_PASSIVE},
        {"NI_NUMERICHOST", NI_NUMERICHOST},
        {"EAI_NONAME", EAI_NONAME},
        {"EAI_AGAIN", EAI_AGAIN},
        {"INADDR_LOOPBACK", INADDR_LOOPBACK},
        {"CAN_ISOTP", CAN_ISOTP},
        {"CAN_J1939", CAN_J1939},
        {"TIPC_ADDR_ID", TIPC_ADDR_ID},
        {"VMADDR_CID_HOST", VMADDR_CID_HOST},
        /* Above INT_MAX: exact from csock_constant64, the 32-bit pattern from csock_constant. */
        {"CAN_EFF_FLAG", CAN_EFF_FLAG},
        {"INADDR_NONE", INADDR_NONE},
        {"INADDR_BROADCAST", INADDR_BROADCAST},
        {"INADDR_ALLHOSTS_GROUP", INADDR_ALLHOSTS_GROUP},
        {"VMADDR_CID_ANY", VMADDR_CID_ANY},
        {"VMADDR_PORT_ANY", VMADDR_PORT_ANY},
        /* Negative in Python (an int in C): the same in both. */
        {"TIPC_WAIT_FOREVER", -1},
    };
    for (size_t i = 0; i < sizeof constants / sizeof constants[0]; i++)
        constant_is(constants[i].name, constants[i].value);

    int64_t wide = 0;
    int narrow = 0;
    csock_constant64("CAN_EFF_FLAG", &wide);
    csock_constant("CAN_EFF_FLAG", &narrow);
    ok(wide == INT64_C(0x80000000) && wide > INT_MAX, "CAN_EFF_FLAG is 0x80000000 exactly");
    is_int(narrow, INT_MIN, "CAN_EFF_FLAG as an int is INT_MIN, (int)0x80000000");
    csock_constant64("INADDR_NONE", &wide);
    csock_constant("INADDR_NONE", &narrow);
    ok(wide == INT64_C(0xffffffff), "INADDR_NONE is 0xffffffff exactly");
    is_int(narrow, -1, "INADDR_NONE as an int is -1");
    csock_constant64("EAI_AGAIN", &wide);
    ok(wide == -3 && wide == EAI_AGAIN, "EAI_AGAIN is -3 in 64 bits too (sign kept)");

    constant_fails("SOCK_NOPE", true, ENOENT, "unknown name");
    constant_fails("sock_stream", true, ENOENT, "names are case-sensitive");
    constant_fails("SOCK_STREAMX", true, ENOENT, "no prefix matching");
    constant_fails("SOCK_STREA", true, ENOENT, "no truncated matching");
    constant_fails("", true, ENOENT, "empty name");
    constant_fails("has_ipv6", true, ENOENT, "a bool is not a constant");
    constant_fails("EBADF", true, ENOENT, "errno values socket.py imports are not constants");
    constant_fails("\xff\xfe", true, ENOENT, "bytes that are not UTF-8");
    constant_fails(NULL, true, EINVAL, "NULL name");
    constant_fails("SOCK_STREAM", false, EINVAL, "NULL value");
    constant_fails(NULL, false, EINVAL, "both NULL");

    /* The message names the function and the name. */
    int value = POISON;
    csock_constant("AF_NOPE", &value);
    is_str(csock_last_error(),
           "csock_constant(\"AF_NOPE\"): no constant of that name: ENOENT: No such file or "
           "directory",
           "a miss: the message names the name");
    int64_t value64 = POISON64;
    csock_constant64("AF_NOPE64", &value64);
    is_str(csock_last_error(),
           "csock_constant64(\"AF_NOPE64\"): no constant of that name: ENOENT: No such file or "
           "directory",
           "a miss of csock_constant64: the message names it");
    csock_constant("A\"B\n\xff", &value);
    ok(starts_with(csock_last_error(), "csock_constant(\"A\\\"B\\n\\xff\"): no constant"),
       "a name that is not plain ASCII is shown escaped");
    diag("%s", csock_last_error());
    csock_constant(NULL, &value);
    ok(starts_with(csock_last_error(), "csock_constant(NULL): name is NULL: EINVAL: "),
       "a NULL name: the message says so");
    csock_constant("SOCK_STREAM", NULL);
    ok(starts_with(csock_last_error(), "csock_constant(\"SOCK_STREAM\"): value is NULL: EINVAL: "),
       "a NULL value: the message says so");

    /* A very long name is cut off in the message (and is still looked up whole). */
    static char long_name[4097];
    memset(long_name, 'X', sizeof long_name - 1);
    char want[128];
    snprintf(want, sizeof want, "csock_constant(\"%.64s\"...): no constant of that name",
             long_name);
    is_int(csock_constant(long_name, &value), -ENOENT, "a 4096-byte name: -ENOENT");
    ok(starts_with(csock_last_error(), want), "the message shows 64 bytes, then ...");
    diag("%.120s", csock_last_error());
    memcpy(long_name + 4096 - 9, "AF_INET", 8);
    is_int(csock_constant(long_name + 4096 - 9, &value), 0, "the tail of a long buffer is a name");
    is_int(value, AF_INET, "and its value");

    /* A hit leaves the last message alone. */
    csock_constant("AF_NOPE", &value);
    csock_constant("AF_INET", &value);
    ok(strstr(csock_last_error(), "AF_NOPE") != NULL, "a hit records no message");

    return done_testing();
}
