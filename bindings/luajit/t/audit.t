-- An audit hook written in Lua sees every creation, with the values csock records, and refuses
-- the ones it chooses: its number is the caller's error, an error it raises is EPERM.
local ffi = require("ffi")
local csock = require("csock")
local tap = require("tap")

local K = csock.const
local EPERM, EACCES = 1, 13

ffi.cdef [[
int fcntl(int fd, int cmd, ...);
int socketpair(int domain, int type, int protocol, int sv[2]);
int close(int fd);
]]

local events = {}
local refuse = nil -- nil: allow; a number: return it; "raise": raise an error
tap.ok(csock.audit_add(function(event, fd, family, type, proto)
  events[#events + 1] = { event = event, fd = fd, family = family, type = type, proto = proto }
  if refuse == "raise" then error("refused by a Lua error") end
  return refuse
end), "audit_add")

local s = assert(csock.open(K.AF_INET6, K.SOCK_DGRAM + K.SOCK_NONBLOCK))
local e = events[#events]
tap.is(#events, 1, "one event for one creation")
tap.is(e.event, "socket.__new__", "event socket.__new__")
tap.ok(e.fd == -1 and e.family == K.AF_INET6 and e.proto == 0,
       "open: fd -1 and the family and proto after defaulting")
tap.is(e.type, K.SOCK_DGRAM + K.SOCK_NONBLOCK, "open: the type exactly as given, flags included")
s:close()

s = assert(csock.open())
e = events[#events]
tap.ok(e.family == K.AF_INET and e.type == K.SOCK_STREAM and e.proto == 0,
       "defaults are filled in before the hook sees them")
s:close()

-- Refused with the hook's own error, and with EPERM for a positive value.
refuse = -EACCES
local r, msg, code = csock.open()
tap.ok(r == nil and code == EACCES, "a hook returning -EACCES refuses with EACCES", msg)
refuse = 7
r, msg, code = csock.open()
tap.ok(r == nil and code == EPERM, "a hook returning 7 refuses with EPERM", msg)
tap.like(msg, "audit", "the message says an audit hook refused")
refuse = "raise"
r, msg, code = csock.open()
tap.ok(r == nil and code == EPERM, "a hook that raises an error refuses with EPERM", msg)
refuse = nil

-- Adoption: the hook sees the descriptor and the detected values; a refusal leaves it alone.
local fds = ffi.new("int[2]")
assert(ffi.C.socketpair(K.AF_UNIX, K.SOCK_SEQPACKET, 0, fds) == 0)
refuse = -EACCES
local before = #events
r, msg, code = csock.adopt(fds[0])
e = events[#events]
tap.is(#events, before + 1, "adopt runs the hook once")
tap.ok(e.fd == fds[0] and e.family == K.AF_UNIX and e.type == K.SOCK_SEQPACKET and e.proto == 0,
       "the hook sees the descriptor and the detected values, not -1")
tap.ok(r == nil and code == EACCES, "the refused adoption fails with the hook's error", msg)
tap.ok(ffi.C.fcntl(fds[0], 1) ~= -1, "the refused descriptor is still open")
refuse = nil
local a = assert(csock.adopt(fds[0]))
tap.is(a.type, K.SOCK_SEQPACKET, "allowed again, adoption succeeds")
a:close()
ffi.C.close(fds[1])

-- socketpair: one event per end; a refusal makes nothing.
before = #events
local x, y = assert(csock.socketpair())
tap.is(#events, before + 2, "socketpair: one event per end")
x:close()
y:close()

do
  refuse = -EACCES
  r, msg, code = csock.create_server("127.0.0.1", 0)
  tap.ok(r == nil and code == EACCES, "create_server refused by the hook", msg)
  e = events[#events]
  tap.ok(e.family == K.AF_INET and e.type == K.SOCK_STREAM, "the hook saw AF_INET, SOCK_STREAM")
  refuse = nil
end

do
  local listener = assert(csock.create_server("127.0.0.1", 0))
  local port = listener:getsockname():match(":(%d+)$")
  refuse = -EACCES
  local attempts
  r, msg, code, attempts = csock.create_connection("127.0.0.1", port)
  tap.ok(r == nil and code == EACCES, "create_connection refused by the hook", msg)
  e = events[#events]
  tap.ok(e.family == K.AF_INET and e.type == K.SOCK_STREAM and e.proto == K.IPPROTO_TCP,
         "the hook saw the attempt's AF_INET, SOCK_STREAM, IPPROTO_TCP")
  tap.ok(attempts ~= nil and #attempts == 1 and attempts[1].error == EACCES
         and attempts[1].step == csock.STEP_SOCKET,
         "the attempt report: refused at CSOCK_STEP_SOCKET with EACCES")
  refuse = nil
  listener:close()
end

tap.done()
