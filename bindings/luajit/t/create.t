-- csock.open with defaults and flags, the recorded values, state read back from the kernel,
-- errors as nil, message, errno, constants by name, repr, and the generated declarations.
local ffi = require("ffi")
local csock = require("csock")
local tap = require("tap")

local K = csock.const
local EBADF, ENOENT, EINVAL, EAFNOSUPPORT = 9, 2, 22, 97

ffi.cdef [[ int fcntl(int fd, int cmd, ...); ]]
local F_GETFD, F_GETFL, FD_CLOEXEC = 1, 3, 1

-- The declarations are the header's, with Linux's layouts for the stubbed system types.
tap.is(ffi.sizeof("csock_socket"), 16, "csock_socket is four ints")
tap.is(ffi.sizeof("struct sockaddr_storage"), 128, "sockaddr_storage is 128 bytes")
tap.is(ffi.alignof("struct sockaddr_storage"), ffi.alignof("unsigned long"),
       "sockaddr_storage is aligned like unsigned long")
tap.is(ffi.sizeof("csock_listen_fd"), 16 + 256, "csock_listen_fd: a socket and 256 bytes")
tap.is(csock.DEFAULT, -1, "CSOCK_DEFAULT comes from the header's macro")
tap.is(csock.INFO_LISTENING, 4, "CSOCK_INFO_LISTENING comes from the header's macro")
tap.ok(csock.has("csock_create_connection") and not csock.has("csock_nope"),
       "has() tells the library's functions")
tap.is(csock.version(), ("%d.%d.%d"):format(csock.VERSION_MAJOR, csock.VERSION_MINOR,
                                            csock.VERSION_PATCH),
       "csock_version matches the header's version macros")

-- Defaults: socket.socket() is AF_INET, SOCK_STREAM, 0; blocking, not inheritable.
local s, err = csock.open()
tap.ok(s ~= nil, "open() with defaults", err)
tap.ok(s.fd >= 0, "open() owns a descriptor")
tap.is(s.family, K.AF_INET, "default family AF_INET")
tap.is(s.type, K.SOCK_STREAM, "default type SOCK_STREAM")
tap.is(s.proto, 0, "default proto 0")
tap.is(s:getblocking(), true, "a default socket is blocking")
tap.is(s:getinheritable(), false, "a default socket is not inheritable")
tap.is(ffi.C.fcntl(s.fd, F_GETFD), FD_CLOEXEC, "FD_CLOEXEC is set in the kernel")
tap.is(tostring(s),
       ("<csock fd=%d, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0.0.0.0:0>"):format(s.fd),
       "tostring is csock_repr")
local fd = s.fd
tap.ok(s:close(), "close")
tap.is(s.fd, -1, "close sets fd to -1")
tap.is(ffi.C.fcntl(fd, F_GETFD), -1, "close closed the descriptor")
tap.ok(s:close(), "closing again is a no-op")
tap.like(tostring(s), "^<csock %[closed%] fd=%-1, family=AF_INET, type=SOCK_STREAM, proto=0>$",
         "repr of a closed socket")
local r, msg, code = s:getblocking()
tap.ok(r == nil and code == EBADF, "getblocking on a closed socket: EBADF", msg)

-- SOCK_NONBLOCK: the descriptor is non-blocking, the recorded type is without the flag.
s = assert(csock.open(K.AF_INET, K.SOCK_STREAM + K.SOCK_NONBLOCK))
tap.is(s.type, K.SOCK_STREAM, "SOCK_STREAM | SOCK_NONBLOCK records SOCK_STREAM")
tap.is(s:getblocking(), false, "SOCK_NONBLOCK: getblocking reads false")
tap.ok(bit.band(ffi.C.fcntl(s.fd, F_GETFL), K.SOCK_NONBLOCK) ~= 0,
       "SOCK_NONBLOCK: O_NONBLOCK is set in the kernel")
tap.ok(s:setblocking(true), "setblocking(true)")
tap.is(s:getblocking(), true, "getblocking reads the change back")
s:close()

s = assert(csock.open(K.AF_INET6, K.SOCK_DGRAM + K.SOCK_NONBLOCK + K.SOCK_CLOEXEC))
tap.ok(s.family == K.AF_INET6 and s.type == K.SOCK_DGRAM and s.proto == 0,
       "AF_INET6, SOCK_DGRAM with both flags records SOCK_DGRAM")
tap.is(s:getblocking(), false, "and is non-blocking")
tap.like(tostring(s), "family=AF_INET6, type=SOCK_DGRAM, proto=0", "repr names the values")
local d = assert(s:dup())
tap.ok(d.fd ~= s.fd and d.family == s.family and d.type == s.type, "dup records the same values")
tap.is(d:getinheritable(), false, "dup is not inheritable")
d:close()
s:close()

-- Errors: nil, csock_last_error()'s text and the errno.
r, msg, code = csock.open(12345)
tap.ok(r == nil, "open(12345) fails")
tap.is(code, EAFNOSUPPORT, "open(12345): EAFNOSUPPORT")
tap.like(msg, "csock_open.*EAFNOSUPPORT", "the message names the function and the errno")
tap.is(msg, csock.last_error(), "the message is csock_last_error()")
r, msg, code = csock.open(K.AF_INET, 999)
tap.ok(r == nil and code == EINVAL, "a bad type: EINVAL", msg)
r, msg, code = csock.adopt(-7)
tap.ok(r == nil and code == EBADF, "adopt(-7): EBADF", msg)
tap.like(msg, "csock_adopt%(fd=%-7%)", "the message names the call")

-- Constants by name.
tap.is(K.SOCK_NONBLOCK, 2048, "SOCK_NONBLOCK by name")
tap.is(K.AF_UNIX, 1, "AF_UNIX by name")
tap.is(K.IPPROTO_TCP, 6, "IPPROTO_TCP by name")
r, msg, code = csock.constant("AF_NOPE")
tap.ok(r == nil and code == ENOENT, "an unknown name: ENOENT", msg)
tap.like(msg, "ENOENT", "the message names the errno")
tap.ok(not pcall(function() return K.AF_NOPE end), "csock.const.AF_NOPE raises an error")
tap.is(csock.constant("CAN_EFF_FLAG"), 2147483648, "CAN_EFF_FLAG exact (csock_constant64)")
tap.is(csock.constant("INADDR_NONE"), 4294967295, "INADDR_NONE exact (csock_constant64)")
tap.is(csock.EINTR, -2147483648, "CSOCK_EINTR from the header's macro")
tap.is(csock.family_name(K.AF_INET6), "AF_INET6", "family_name")
tap.is(csock.type_name(K.SOCK_DGRAM + K.SOCK_NONBLOCK), "SOCK_DGRAM", "type_name ignores flags")
tap.is(csock.family_name(4242), nil, "family_name of an unknown family is nil")

-- The garbage collector closes a socket nobody closed.
s = assert(csock.open())
fd = s.fd
s = nil
collectgarbage()
collectgarbage()
tap.is(ffi.C.fcntl(fd, F_GETFD), -1, "a collected socket's descriptor is closed")

-- A detached descriptor is the caller's: the collector leaves it open.
s = assert(csock.open())
fd = assert(s:detach())
tap.is(s.fd, -1, "detach sets fd to -1")
s = nil
collectgarbage()
collectgarbage()
tap.is(ffi.C.fcntl(fd, F_GETFD), FD_CLOEXEC, "a detached descriptor stays open after collection")
s = assert(csock.adopt(fd))
s:close()

tap.done()
