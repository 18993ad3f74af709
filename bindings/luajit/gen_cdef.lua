-- Writes the Lua module csock_cdef (the C declarations of include/csock.h, as ffi.cdef reads
-- them) from two outputs of the C preprocessor run on the header with the stub system headers
-- of cdef/ (see the Makefile's rule in mk/ffi.mk):
--
--   luajit gen_cdef.lua DECLS MACROS HEADER >csock_cdef.lua
--
-- DECLS is `cc -E -P` (the declarations, comments and directives gone), MACROS is `cc -E -dM`
-- (every macro defined). Each object-like CSOCK_* macro with an integer value becomes a
-- `static const int`, which ffi.cdef evaluates, in the order the header defines them so that
-- one may refer to another. The module returns { cdef = <text>, constants = { names } }.

local decls_path, macros_path, header_path = ...
assert(header_path, "usage: luajit gen_cdef.lua DECLS MACROS HEADER")

local function slurp(path)
  local f = assert(io.open(path, "rb"))
  local text = f:read("*a")
  f:close()
  return text
end

local decls, header = slurp(decls_path), slurp(header_path)

local macros = {}
for line in io.lines(macros_path) do
  -- Object-like only: a function-like macro has "(" right after its name.
  local name, body = line:match("^#define (CSOCK_[%w_]+) (.*)$")
  body = body and body:match("^%s*(.-)%s*$")
  -- Integer expressions only: not the include guard (empty), an initialiser or a string.
  if name and body ~= "" and body:match("^[%w_%s%(%)%+%-%*/%%<>|&~^]+$") then
    local at = header:find("#define%s+" .. name .. "%f[^%w_]")
    macros[#macros + 1] = { name = name, body = body, at = at or math.huge }
  end
end
table.sort(macros, function(a, b)
  if a.at ~= b.at then return a.at < b.at end
  return a.name < b.name
end)

local out, names = { (decls:gsub("\n\n+", "\n")) }, {}
for _, m in ipairs(macros) do
  local ctype = m.body:match("%d[xX]?%x*[uU]") and "unsigned int" or "int"
  out[#out + 1] = ("static const %s %s = %s;"):format(ctype, m.name, m.body)
  names[#names + 1] = ("%q"):format(m.name)
end
local cdef = table.concat(out, "\n") .. "\n"

local level = ""
while cdef:find("]" .. level .. "]", 1, true) do level = level .. "=" end
io.write("-- Generated from include/csock.h by bindings/luajit/gen_cdef.lua: do not edit.\n",
         "return {\n  cdef = [", level, "[\n", cdef, "]", level, "],\n",
         "  constants = { ", table.concat(names, ", "), " },\n}\n")
