-- The example of README.md runs as it is and prints what its comment says.
local tap = require("tap")

local dir = (arg and arg[0] or ""):match("^(.*)/t/[^/]*$") or "."
local f = assert(io.open(dir .. "/README.md"))
local text = f:read("*a")
f:close()

local code = text:match("```lua\n(.-)```")
tap.ok(code ~= nil, "README.md has a lua example")
local lines = select(2, code:gsub("\n", "\n"))
tap.is(lines, 5, "the example is five lines")

local printed = {}
local env = setmetatable({ print = function(...)
  local parts = {}
  for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
  printed[#printed + 1] = table.concat(parts, "\t")
end }, { __index = _G })
local chunk, err = loadstring(code, "=README.md")
tap.ok(chunk ~= nil, "the example compiles", err)
local ok, rerr = pcall(setfenv(chunk, env))
tap.ok(ok, "the example runs", rerr)
tap.is(#printed, 1, "it prints one line")
tap.like(printed[1] or "",
         "^<csock fd=%d+, family=AF_INET, type=SOCK_STREAM, proto=0, laddr=0%.0%.0%.0:0>\ttrue\tfalse$",
         "it prints the repr, true and false")
tap.done()
