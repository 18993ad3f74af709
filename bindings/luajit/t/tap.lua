-- A tiny TAP producer for the tests under t/ (run by prove): plan, ok, is, like, skip, done.

local tap = { count = 0, failed = 0 }

function tap.ok(cond, name, ...)
  tap.count = tap.count + 1
  if not cond then tap.failed = tap.failed + 1 end
  io.write(cond and "ok " or "not ok ", tap.count, " - ", name, "\n")
  if not cond then
    for _, line in ipairs({ ... }) do io.write("#   ", tostring(line), "\n") end
  end
  return cond
end

function tap.is(got, want, name)
  return tap.ok(got == want, name, "got:      " .. tostring(got), "expected: " .. tostring(want))
end

function tap.like(got, pattern, name)
  return tap.ok(type(got) == "string" and got:find(pattern) ~= nil, name,
                "got:      " .. tostring(got), "expected: a match for " .. pattern)
end

function tap.skip(reason, n)
  for _ = 1, n or 1 do
    tap.count = tap.count + 1
    io.write("ok ", tap.count, " # SKIP ", reason, "\n")
  end
end

function tap.diag(text)
  io.write("# ", tostring(text), "\n")
end

-- Prints the plan last ("1..N" after the tests is valid TAP) and exits non-zero on a failure.
function tap.done()
  io.write("1..", tap.count, "\n")
  os.exit(tap.failed == 0 and 0 or 1)
end

return tap
