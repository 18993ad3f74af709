-- Adoption: descriptors made outside csock (libc's socketpair through the FFI, and luasocket's
-- sockets when luasocket is installed) are validated, detected and never changed.
local ffi = require("ffi")
local csock = require("csock")
local tap = require("tap")

local K = csock.const
local EBADF, ENOTSOCK = 9, 88

ffi.cdef [[
int fcntl(int fd, int cmd, ...);
int socketpair(int domain, int type, int protocol, int sv[2]);
int pipe(int fds[2]);
int close(int fd);
]]
local F_GETFD, F_GETFL, FD_CLOEXEC = 1, 3, 1
local function is_open(fd) return ffi.C.fcntl(fd, F_GETFD) ~= -1 end
local function nonblocking(fd) return bit.band(ffi.C.fcntl(fd, F_GETFL), K.SOCK_NONBLOCK) ~= 0 end

-- A socketpair made by libc: AF_UNIX, SOCK_DGRAM, one end non-blocking, both inheritable.
local fds = ffi.new("int[2]")
assert(ffi.C.socketpair(K.AF_UNIX, K.SOCK_DGRAM, 0, fds) == 0)
assert(ffi.C.fcntl(fds[1], 4 --[[F_SETFL]], ffi.cast("int", K.SOCK_NONBLOCK)) == 0)

local a, err = csock.adopt(fds[0])
tap.ok(a ~= nil, "adopt a socketpair end", err)
tap.ok(a.family == K.AF_UNIX and a.type == K.SOCK_DGRAM and a.proto == 0,
       "family, type and proto detected: AF_UNIX, SOCK_DGRAM, 0",
       ("got %d, %d, %d"):format(a.family, a.type, a.proto))
tap.is(a:getinheritable(), true, "adoption leaves the descriptor inheritable")
tap.is(ffi.C.fcntl(fds[0], F_GETFD), 0, "FD_CLOEXEC still clear in the kernel")
tap.is(a:getblocking(), true, "a blocking descriptor reads blocking")

local b = assert(csock.adopt(fds[1], K.AF_UNIX, K.SOCK_DGRAM + K.SOCK_NONBLOCK, 0))
tap.is(b.type, K.SOCK_DGRAM, "an explicit SOCK_NONBLOCK is cleared from the recorded type")
tap.is(b:getblocking(), false, "the non-blocking end reads non-blocking")
tap.ok(nonblocking(fds[1]), "and adoption did not change it")
tap.like(tostring(b), "family=AF_UNIX, type=SOCK_DGRAM, proto=0", "repr of an adopted socket")

local fd = a.fd
tap.ok(a:close() and not is_open(fd), "closing the adopted socket closes the descriptor")
fd = b.fd
b = nil
collectgarbage()
collectgarbage()
tap.ok(not is_open(fd), "collecting the adopted socket closes the descriptor")

-- Refusals: the caller keeps the descriptor, open.
local p = ffi.new("int[2]")
assert(ffi.C.pipe(p) == 0)
local r, msg, code = csock.adopt(p[0])
tap.ok(r == nil and code == ENOTSOCK, "adopting a pipe: ENOTSOCK", msg)
tap.like(msg, "ENOTSOCK", "the message names the errno")
tap.ok(is_open(p[0]), "the pipe is still open")
ffi.C.close(p[0])
ffi.C.close(p[1])
r, msg, code = csock.adopt(p[0])
tap.ok(r == nil and code == EBADF, "adopting a closed descriptor: EBADF", msg)

-- fromfd adopts a duplicate; the original stays the caller's.
assert(ffi.C.socketpair(K.AF_UNIX, K.SOCK_STREAM, 0, fds) == 0)
local f = assert(csock.fromfd(fds[0]))
tap.ok(f.fd ~= fds[0] and f.type == K.SOCK_STREAM, "fromfd: a duplicate, type detected")
tap.is(f:getinheritable(), false, "the duplicate is not inheritable")
f:close()
tap.ok(is_open(fds[0]), "closing the duplicate leaves the original open")
ffi.C.close(fds[0])
ffi.C.close(fds[1])

-- csock's own socketpair.
local x, y = csock.socketpair()
tap.ok(x and y and x.family == K.AF_UNIX and y.type == K.SOCK_STREAM,
       "socketpair: AF_UNIX, SOCK_STREAM at both ends")
tap.ok(not x:getinheritable() and not y:getinheritable(), "both ends not inheritable")
local info = assert(csock.inspect(x.fd))
tap.ok(info.cloexec and not info.nonblock and not info.listening, "inspect reads the flags")
x:close()
y:close()

-- luasocket, Lua's own socket library.
local have, socket = pcall(require, "socket")
if not have then
  tap.skip("luasocket is not installed (Debian: lua-socket)", 9)
else
  local server = assert(socket.bind("127.0.0.1", 0))
  local host, port = server:getsockname()
  local lfd = server:getfd()
  local s = assert(csock.fromfd(lfd))
  tap.ok(s.family == K.AF_INET and s.type == K.SOCK_STREAM and s.proto == K.IPPROTO_TCP,
         "luasocket's server: AF_INET, SOCK_STREAM, IPPROTO_TCP detected",
         ("got %d, %d, %d"):format(s.family, s.type, s.proto))
  tap.is(s:getsockname(), host .. ":" .. port, "the address luasocket bound")
  tap.ok(assert(csock.inspect(lfd)).listening, "inspect sees it listening")
  tap.is(s:getblocking(), not nonblocking(lfd), "blocking mode read as the kernel has it")
  s:close()
  tap.ok(server:getfd() == lfd and is_open(lfd), "luasocket's descriptor is still open")

  -- Ownership moves to csock: luasocket forgets the descriptor, csock closes it.
  local client = assert(socket.connect(host, port))
  local was_nonblocking = nonblocking(client:getfd())
  local cfd = client:getfd()
  client:setfd(-1)
  local c = assert(csock.adopt(cfd))
  tap.is(c:getpeername(), host .. ":" .. port, "the adopted client's peer is the server")
  tap.is(c:getblocking(), not was_nonblocking, "adoption did not change the blocking mode")
  tap.like(tostring(c), "raddr=127%.0%.0%.1:" .. port, "repr shows the peer")
  c:close()
  tap.ok(not is_open(cfd), "closing csock's socket closed luasocket's descriptor")
  server:close()
end

tap.done()
