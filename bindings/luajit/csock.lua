-- csock for LuaJIT: CPython's socket creation semantics through libcsock and the FFI.
--
--   local csock = require("csock")
--   local s = assert(csock.open(csock.DEFAULT, csock.const.SOCK_STREAM + csock.const.SOCK_NONBLOCK))
--   print(s, s.type, s:getblocking())   --> <csock fd=3, family=AF_INET, ...>  1  false
--   s:close()                           -- or let the garbage collector close it
--
-- The C declarations come from include/csock.h itself: the build turns it into the module
-- csock_cdef (bindings/luajit/gen_cdef.lua), so this file declares nothing by hand. The library
-- is $CSOCK_LIBRARY if set, else libcsock.so.0 from the loader's search path.
--
-- Errors are returned as Lua's io functions return them: nil, the message of
-- csock_last_error() and the errno (a positive number), so that assert(csock.open()) works. A
-- resolver failure's number is above csock.EAI_BASE; csock.gai_error(n) gives its EAI_* value.
-- A socket is a csock_socket cdata: its fields fd, family, type and proto are readable, its
-- methods are below, tostring() is csock_repr, and the garbage collector closes it if it was
-- not closed or detached.

local ffi = require("ffi")
local bit = require("bit")
local header = require("csock_cdef")

ffi.cdef(header.cdef)

local lib = ffi.load(os.getenv("CSOCK_LIBRARY") or "libcsock.so.0")
local C = ffi.C

local csock = { lib = lib }

-- CSOCK_DEFAULT, CSOCK_SERVER_REUSE_PORT, ... as csock.DEFAULT, csock.SERVER_REUSE_PORT, ...
for _, name in ipairs(header.constants) do
  csock[name:sub(7)] = C[name]
end

--- True if the loaded library exports `name` (a function declared by the header).
function csock.has(name)
  return (pcall(function() return lib[name] end))
end

--- csock_last_error(): this thread's last failure message.
function csock.last_error()
  return ffi.string(lib.csock_last_error())
end

--- csock_gai_error: the resolver's EAI_* value behind an error number (the third value of a
-- failure), or nil if it is an errno.
function csock.gai_error(code)
  local gai = lib.csock_gai_error(-code)
  if gai == 0 then return nil end
  return gai
end

--- csock_version(): "0.2.0".
function csock.version()
  return ffi.string(lib.csock_version())
end

-- nil, message, errno for a negative return; else the return value itself.
local function check(rc)
  rc = tonumber(rc)
  if rc < 0 then
    return nil, csock.last_error(), -rc
  end
  return rc
end

-- Returns true, or nil, message, errno.
local function check_ok(rc)
  local v, err, code = check(rc)
  if v == nil then return nil, err, code end
  return true
end

local socket_t = ffi.typeof("csock_socket")
local storage_t = ffi.typeof("struct sockaddr_storage")
local socklen_p = ffi.typeof("socklen_t[1]")

local function closed_socket()
  return socket_t(-1, -1, -1, -1)
end

-- csock_format_addr and csock_repr work like snprintf: ask for the length, then fill.
-- f(args..., buf, size).
local function snprintf(f, ...)
  local args, n = { ... }, select("#", ...)
  args[n + 1], args[n + 2] = nil, 0
  local len, err, code = check(f(unpack(args, 1, n + 2)))
  if len == nil then return nil, err, code end
  local buf = ffi.new("char[?]", len + 1)
  args[n + 1], args[n + 2] = buf, len + 1
  f(unpack(args, 1, n + 2))
  return ffi.string(buf, len)
end

local function format_storage(addr, len, proto)
  return snprintf(lib.csock_format_addr, ffi.cast("const struct sockaddr *", addr), len, proto)
end

-- Functions whose call may run an audit hook written in Lua must not be JIT-compiled: LuaJIT
-- cannot re-enter Lua from a C call made by a compiled trace ("bad callback").
local function creating(f)
  jit.off(f, true)
  return f
end

local Socket = {}
Socket.__index = Socket

--- The descriptor, -1 once closed or detached.
function Socket:fileno()
  return self.fd
end

--- csock_close: closes the descriptor once; closing a closed socket does nothing.
function Socket:close()
  return check_ok(lib.csock_close(self))
end

--- csock_detach: hands the descriptor back (the socket no longer owns it).
function Socket:detach()
  return check(lib.csock_detach(self))
end

--- csock_shutdown(how): csock.const.SHUT_RD, SHUT_WR or SHUT_RDWR.
function Socket:shutdown(how)
  return check_ok(lib.csock_shutdown(self, how))
end

--- csock_dup: a non-inheritable duplicate recording the same values.
Socket.dup = creating(function(self)
  local out = closed_socket()
  local ok, err, code = check(lib.csock_dup(out, self))
  if not ok then return nil, err, code end
  return out
end)

--- csock_accept(flags): the connection and the peer's address text.
Socket.accept = creating(function(self, flags)
  local out, addr, len = closed_socket(), storage_t(), socklen_p(ffi.sizeof(storage_t))
  local ok, err, code = check(lib.csock_accept(self, out, ffi.cast("struct sockaddr *", addr),
                                               len, flags or 0))
  if not ok then return nil, err, code end
  return out, format_storage(addr, len[0], self.proto)
end)

local function flag(rc)
  local v, err, code = check(rc)
  if v == nil then return nil, err, code end
  return v == 1
end

--- csock_get_blocking, read from the kernel: true or false.
function Socket:getblocking()
  return flag(lib.csock_get_blocking(self))
end

--- csock_set_blocking(bool).
function Socket:setblocking(blocking)
  return check_ok(lib.csock_set_blocking(self, blocking and true or false))
end

--- csock_get_inheritable, read from the kernel: true or false.
function Socket:getinheritable()
  return flag(lib.csock_get_inheritable(self))
end

--- csock_set_inheritable(bool).
function Socket:setinheritable(inheritable)
  return check_ok(lib.csock_set_inheritable(self, inheritable and true or false))
end

local function address(self, f)
  local addr, len = storage_t(), socklen_p(0)
  local ok, err, code = check(f(self, addr, len))
  if not ok then return nil, err, code end
  return format_storage(addr, len[0], self.proto)
end

--- csock_getsockname, as csock_format_addr text ("127.0.0.1:8080").
function Socket:getsockname()
  return address(self, lib.csock_getsockname)
end

--- csock_getpeername, as csock_format_addr text.
function Socket:getpeername()
  return address(self, lib.csock_getpeername)
end

--- csock_repr: "<csock fd=3, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=...>".
function Socket:repr()
  return snprintf(lib.csock_repr, self)
end

Socket.__tostring = function(self) return (self:repr()) end

-- Runs when the garbage collector collects a socket that still owns its descriptor.
Socket.__gc = function(self)
  if self.fd >= 0 then lib.csock_close(self) end
end

ffi.metatype(socket_t, Socket)

local function default(v)
  if v == nil then return C.CSOCK_DEFAULT end
  return v
end

--- csock_open(family, type, proto): each nil or csock.DEFAULT is defaulted
-- (AF_INET, SOCK_STREAM, 0).
csock.open = creating(function(family, type, proto)
  local out = closed_socket()
  local ok, err, code = check(lib.csock_open(out, default(family), default(type), default(proto)))
  if not ok then return nil, err, code end
  return out
end)

--- csock_adopt(fd, family, type, proto): takes ownership of fd; each nil is detected.
csock.adopt = creating(function(fd, family, type, proto)
  local out = closed_socket()
  local ok, err, code = check(lib.csock_adopt(out, fd, default(family), default(type),
                                              default(proto)))
  if not ok then return nil, err, code end
  return out
end)

--- csock_fromfd(fd, family, type, proto): adopts a non-inheritable duplicate; fd stays the
-- caller's.
csock.fromfd = creating(function(fd, family, type, proto)
  local out = closed_socket()
  local ok, err, code = check(lib.csock_fromfd(out, fd, default(family), default(type),
                                               default(proto)))
  if not ok then return nil, err, code end
  return out
end)

--- csock_socketpair(family, type, proto): two connected sockets (AF_UNIX, SOCK_STREAM, 0).
csock.socketpair = creating(function(family, type, proto)
  local pair = ffi.new("csock_socket[2]")
  local ok, err, code = check(lib.csock_socketpair(pair, default(family), default(type),
                                                   default(proto)))
  if not ok then return nil, err, code end
  -- The array is not a csock_socket, so no finalizer runs for it: each end is a copy that owns.
  return socket_t(pair[0]), socket_t(pair[1])
end)

--- csock_inspect(fd): { family, type, proto, flags, nonblock, cloexec, listening }.
function csock.inspect(fd)
  local info = ffi.new("csock_info")
  local ok, err, code = check(lib.csock_inspect(fd, info))
  if not ok then return nil, err, code end
  local flags = tonumber(info.flags)
  return {
    family = info.family, type = info.type, proto = info.proto, flags = flags,
    nonblock = bit.band(flags, C.CSOCK_INFO_NONBLOCK) ~= 0,
    cloexec = bit.band(flags, C.CSOCK_INFO_CLOEXEC) ~= 0,
    listening = bit.band(flags, C.CSOCK_INFO_LISTENING) ~= 0,
  }
end

--- csock_family_name(family): "AF_INET", or nil.
function csock.family_name(family)
  local name = lib.csock_family_name(family)
  return name ~= nil and ffi.string(name) or nil
end

--- csock_type_name(type): "SOCK_STREAM" (flag bits ignored), or nil.
function csock.type_name(type)
  local name = lib.csock_type_name(type)
  return name ~= nil and ffi.string(name) or nil
end

--- csock_constant64(name): the exact value of a constant of Python's socket module, as a Lua
-- number (exact: every value fits 53 bits); nil, message, ENOENT for an unknown name.
function csock.constant(name)
  local value = ffi.new("int64_t[1]")
  local ok, err, code = check(lib.csock_constant64(name, value))
  if not ok then return nil, err, code end
  return tonumber(value[0])
end

--- csock.const.NAME: csock.constant(NAME), looked up once; an unknown name is an error.
csock.const = setmetatable({}, {
  __index = function(t, name)
    local value, err = csock.constant(name)
    if value == nil then error(err, 2) end
    rawset(t, name, value)
    return value
  end,
})

-- Hooks cannot be removed: their callbacks must live as long as the process.
local hooks = {}

--- csock_audit_add(hook): hook(event, fd, family, type, proto) is called for every creation.
-- Returning nothing or 0 allows it; a negative number refuses with that error (-13: EACCES), a
-- positive one with EPERM. A hook that raises an error refuses with EPERM.
function csock.audit_add(hook)
  local callback = ffi.cast("csock_audit_hook", function(event, fd, family, type, proto, _)
    local ok, rc = pcall(hook, ffi.string(event), fd, family, type, proto)
    if not ok then return 1 end
    return tonumber(rc) or 0
  end)
  local ok, err, code = check(lib.csock_audit_add(callback, nil))
  if not ok then
    callback:free()
    return nil, err, code
  end
  hooks[#hooks + 1] = callback
  return true
end

local function port_text(port)
  if port == nil then return nil end
  return tostring(port)
end

local function attempts_of(opts)
  local list = {}
  for i = 0, math.min(tonumber(opts.attempts_len), tonumber(opts.attempts_cap)) - 1 do
    local a = opts.attempts[i]
    list[#list + 1] = {
      addr = format_storage(a.addr, a.addrlen, 0), step = a.step, error = -a.error,
    }
  end
  return list
end

--- csock_create_connection(host, port, options): a connected socket and the list of attempts
-- ({ addr = "127.0.0.1:80", step = csock.STEP_CONNECT, error = 0 or the errno }, in order);
-- nil, message, errno, attempts when every attempt failed. options (all optional):
-- timeout (ms, per attempt; nil waits without limit), total_timeout, attempt_delay (ms: Happy
-- Eyeballs), source_host, source_port, nonblock (true: SOCK_NONBLOCK), max_attempts (16).
csock.create_connection = creating(function(host, port, options)
  options = options or {}
  local cap = options.max_attempts or 16
  local attempts = ffi.new("csock_attempt[?]", cap)
  -- The strings the options point to stay referenced here until the call is over (a hook
  -- written in Lua may run the garbage collector meanwhile).
  local source_host, source_port = options.source_host, port_text(options.source_port)
  local opts = ffi.new("csock_connect_opts")
  opts.size = ffi.sizeof(opts)
  opts.source_host = source_host
  opts.source_port = source_port
  opts.total_timeout_ms = options.total_timeout or 0
  opts.attempt_delay_ms = options.attempt_delay or 0
  opts.flags = options.nonblock and csock.const.SOCK_NONBLOCK or 0
  opts.attempts = attempts
  opts.attempts_cap = cap
  local out = closed_socket()
  local rc = lib.csock_create_connection(out, host, port_text(port), options.timeout or -1, opts)
  local ok, err, code = check(rc)
  local _ = { source_host, source_port, attempts }
  if not ok then return nil, err, code, attempts_of(opts) end
  return out, attempts_of(opts)
end)

--- csock_create_server(host, port, options): a listening socket. options (all optional):
-- family (AF_INET), backlog (128), reuse_port, dualstack, nonblock (booleans).
csock.create_server = creating(function(host, port, options)
  options = options or {}
  local flags = 0
  if options.reuse_port then flags = bit.bor(flags, C.CSOCK_SERVER_REUSE_PORT) end
  if options.dualstack then flags = bit.bor(flags, C.CSOCK_SERVER_DUALSTACK) end
  if options.nonblock then flags = bit.bor(flags, csock.const.SOCK_NONBLOCK) end
  local out = closed_socket()
  local ok, err, code = check(lib.csock_create_server(out, host, port_text(port),
                                                      default(options.family),
                                                      default(options.backlog), flags))
  if not ok then return nil, err, code end
  return out
end)

csock.Socket = Socket
return csock
