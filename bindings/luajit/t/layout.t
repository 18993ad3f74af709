-- The declarations generated from the header, with the stub system types of cdef/, have the
-- layout the C compiler gives the real ones (printed by bindings/layout.c, built by make as
-- $CSOCK_LAYOUT).
local ffi = require("ffi")
require("csock")
local tap = require("tap")

local program = os.getenv("CSOCK_LAYOUT")
if not program then
  tap.skip("CSOCK_LAYOUT is not set", 1)
  tap.done()
end

local ctypes = { sockaddr_storage = "struct sockaddr_storage" }
local p = assert(io.popen(program))
for line in p:lines() do
  local name, what, a, b = line:match("^(%S+) (%S+) (%d+) %S+ (%d+)$")
  local type, field = name:match("^([^.]+)%.?(.*)$")
  local ct = ctypes[type] or type
  if field == "" then
    tap.ok(ffi.sizeof(ct) == tonumber(a) and ffi.alignof(ct) == tonumber(b), line,
           ("LuaJIT: size %d align %d"):format(ffi.sizeof(ct), ffi.alignof(ct)))
  else
    tap.is(ffi.offsetof(ct, field), tonumber(a), line)
  end
end
p:close()
tap.ok(tap.count >= 10, "every type of the header compared")
tap.done()
