-- csock_create_server and csock_create_connection over loopback: the recorded values, the
-- attempt report, blocking mode read back, a refused connection's errno, accept.
local csock = require("csock")
local tap = require("tap")

local K = csock.const
local ECONNREFUSED, EINVAL = 111, 22

local server, err = csock.create_server("127.0.0.1", 0)
tap.ok(server ~= nil, "create_server on 127.0.0.1, port 0", err)
tap.ok(server.family == K.AF_INET and server.type == K.SOCK_STREAM and server.proto == 0,
       "the server records AF_INET, SOCK_STREAM, 0")
tap.ok(assert(csock.inspect(server.fd)).listening, "it is listening")
tap.is(server:getblocking(), true, "and blocking")
tap.is(server:getinheritable(), false, "and not inheritable")
local laddr = assert(server:getsockname())
local port = tonumber(laddr:match("^127%.0%.0%.1:(%d+)$"))
tap.ok(port and port > 0, "bound to 127.0.0.1 on a free port", laddr)
tap.like(tostring(server), "laddr=127%.0%.0%.1:" .. port .. ">$", "repr shows the address")

local conn, attempts = csock.create_connection("127.0.0.1", port)
tap.ok(conn ~= nil, "create_connection to the server", attempts)
tap.ok(conn.family == K.AF_INET and conn.type == K.SOCK_STREAM and conn.proto == K.IPPROTO_TCP,
       "the connection records AF_INET, SOCK_STREAM, IPPROTO_TCP")
tap.is(conn:getpeername(), laddr, "connected to the server's address")
tap.is(conn:getblocking(), true, "a blocking connection by default")
tap.ok(#attempts == 1 and attempts[1].addr == laddr and attempts[1].error == 0
       and attempts[1].step == csock.STEP_CONNECT, "one attempt reported, connected")
local peer, peer_addr = server:accept()
tap.ok(peer ~= nil, "accept the connection", peer_addr)
tap.is(peer_addr, conn:getsockname(), "the accepted peer is the connection's address")
tap.is(peer.family, K.AF_INET, "the accepted socket records the listener's family")
peer:close()
conn:close()

-- A port given as a number or a string; SOCK_NONBLOCK and a timeout.
conn = assert(csock.create_connection("127.0.0.1", tostring(port), { nonblock = true,
                                                                      timeout = 5000 }))
tap.is(conn:getblocking(), false, "nonblock: the connection is non-blocking")
tap.is(conn.type, K.SOCK_STREAM, "and records SOCK_STREAM without the flag")
conn:close()
assert(server:accept()):close()

-- "localhost" resolves to loopback addresses only, tried in order until one connects.
conn, attempts = csock.create_connection("localhost", port)
tap.ok(conn ~= nil, "create_connection to localhost", attempts)
tap.ok(attempts[#attempts].error == 0 and attempts[#attempts].addr == laddr,
       "the last attempt connected to 127.0.0.1")
conn:close()
server:close()

-- Nobody listens on a port just closed: ECONNREFUSED, with the attempt that failed.
local r, msg, code
r, msg, code, attempts = csock.create_connection("127.0.0.1", port)
tap.ok(r == nil and code == ECONNREFUSED, "a closed port: ECONNREFUSED", msg)
tap.like(msg, "127%.0%.0%.1:" .. port, "the message names the address tried")
tap.ok(attempts and #attempts == 1 and attempts[1].error == ECONNREFUSED
       and attempts[1].step == csock.STEP_CONNECT, "the report: refused at connect")
r, msg, code = csock.create_connection("127.0.0.1", 70000)
tap.ok(r == nil and code == EINVAL, "a port above 65535: EINVAL", msg)
tap.is(csock.gai_error(code), nil, "EINVAL is not a resolver error")

-- A service the resolver does not know (no DNS asked): a code of the resolver's own.
r, msg, code, attempts = csock.create_connection("127.0.0.1", "no-such-service-csock")
tap.ok(r == nil and code > csock.EAI_BASE, "an unknown service: a resolver code", msg)
tap.is(csock.gai_error(code), K.EAI_SERVICE, "gai_error gives EAI_SERVICE")
tap.like(msg, "getaddrinfo: EAI_SERVICE", "the message names it")
tap.is(#attempts, 0, "no address tried")

-- A non-blocking server, the backlog, and a bind failure's message.
server = assert(csock.create_server("127.0.0.1", 0, { nonblock = true, backlog = 4 }))
tap.is(server:getblocking(), false, "nonblock: a non-blocking listener")
port = server:getsockname():match(":(%d+)$")
r, msg, code = csock.create_server("127.0.0.1", port)
tap.ok(r == nil and code == 98, "binding a port in use: EADDRINUSE", msg)
tap.like(msg, "%(while attempting to bind on address 127%.0%.0%.1:" .. port .. "%)$",
         "the message ends as CPython's does")
r, msg, code = csock.create_server("127.0.0.1", 0, { dualstack = true })
tap.ok(r == nil and code == EINVAL, "dualstack with AF_INET: EINVAL", msg)
server:close()

-- AF_UNIX: the host is the path (an abstract name here).
local name = "@csock-luajit-test-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e9))
local us = csock.create_server(name, nil, { family = K.AF_UNIX })
tap.ok(us ~= nil and us.family == K.AF_UNIX, "an AF_UNIX server on an abstract name")
if us then
  tap.is(us:getsockname(), name, "bound to that name")
  us:close()
else
  tap.skip("no AF_UNIX server", 1)
end

tap.done()
