# Bindings beyond Python, each under bindings/<language>/ with its README and its own tests,
# against the freshly built library:
#
#   make ffi-test      all four below (part of `make test`)
#   make luajit-test   LuaJIT's ffi: bindings/luajit/t/*.t under prove (TAP); the declarations
#                      are generated from include/csock.h into $(BUILD)/ffi/luajit/csock_cdef.lua
#   make node-test     Node.js with koffi (`npm ci` against bindings/node/package-lock.json):
#                      node's test runner, TAP reporter, under prove
#   make go-test       Go with cgo, standard library only, nothing fetched: go test
#   make ruby-test     Ruby's fiddle (standard library): minitest
#
# Each suite also runs the example of its README. The toolchains are Debian's packages luajit,
# lua-socket, golang-go, ruby, and Node.js with npm (see .ci/run).

LUAJIT ?= luajit
NODE   ?= node
NPM    ?= npm
GO     ?= go
RUBY   ?= ruby

FFI_BUILD   := $(BUILD)/ffi
# The library the bindings load at run time (they look for libcsock.so.$(MAJOR) by default).
FFI_LIBRARY := $(abspath $(LIBOUT))/$(SONAME)
# Prints the C layout of the header's types, which the bindings' tests compare with theirs
# (built by the Makefile's rule for C programs).
FFI_LAYOUT  := $(BUILD)/bindings/layout
FFI_ENV      = CSOCK_LIBRARY=$(FFI_LIBRARY) CSOCK_LAYOUT=$(abspath $(FFI_LAYOUT))

.PHONY: ffi-test luajit-test node-test go-test ruby-test

ffi-test: luajit-test node-test go-test ruby-test

TEST_TARGETS += ffi-test

# LuaJIT: ffi.cdef cannot read the header as it is (system includes full of macros and
# attributes), so the preprocessor reads it against the stub system headers of
# bindings/luajit/cdef/, and gen_cdef.lua turns the declarations and the CSOCK_* macros into a
# Lua module.
LUAJIT_CDEF  := $(FFI_BUILD)/luajit/csock_cdef.lua
LUAJIT_STUBS := $(wildcard bindings/luajit/cdef/*.h bindings/luajit/cdef/*/*.h)
LUAJIT_ENV    = $(FFI_ENV) \
  LUA_PATH='$(abspath bindings/luajit)/?.lua;$(abspath bindings/luajit/t)/?.lua;$(abspath $(dir $(LUAJIT_CDEF)))/?.lua;;'

$(LUAJIT_CDEF): include/csock.h bindings/luajit/gen_cdef.lua $(LUAJIT_STUBS)
	@mkdir -p $(dir $@)
	$(CC) -E -P -nostdinc -Ibindings/luajit/cdef include/csock.h >$@.decls
	$(CC) -E -dM -nostdinc -Ibindings/luajit/cdef include/csock.h >$@.macros
	$(LUAJIT) bindings/luajit/gen_cdef.lua $@.decls $@.macros include/csock.h >$@.tmp
	@rm -f $@.decls $@.macros
	@mv -f $@.tmp $@

luajit-test: lib $(LUAJIT_CDEF) $(FFI_LAYOUT)
	$(LUAJIT_ENV) $(PROVE) --exec '$(LUAJIT)' bindings/luajit/t/*.t

# Node.js: koffi comes from the npm registry, pinned by the committed lockfile. `npm ci` runs in
# a copy of the package's manifest under $(BUILD) (the source tree is only read), again when
# the lockfile changes, and the tests find koffi there through NODE_PATH. --ignore-scripts:
# koffi's binary comes in its platform package, so its install script has nothing to do.
NODE_DIR   := $(FFI_BUILD)/node
NODE_STAMP := $(NODE_DIR)/node_modules/.npm-ci.stamp

$(NODE_STAMP): bindings/node/package.json bindings/node/package-lock.json
	@mkdir -p $(NODE_DIR)
	cp bindings/node/package.json bindings/node/package-lock.json $(NODE_DIR)/
	cd $(NODE_DIR) && $(NPM) ci --ignore-scripts --no-audit --no-fund
	@touch $@

node-test: lib $(NODE_STAMP) $(FFI_LAYOUT)
	$(FFI_ENV) NODE_PATH=$(abspath $(NODE_DIR))/node_modules \
	  $(PROVE) --exec '$(NODE) --expose-gc --test-reporter=tap' bindings/node/test/*.test.js

# Ruby: one process per test file, since audit hooks last as long as their process.
RUBY_TESTS := $(wildcard bindings/ruby/test/test_*.rb)

ruby-test: lib $(FFI_LAYOUT)
	@set -e; for t in $(RUBY_TESTS); do \
	  echo "$(RUBY) -Ibindings/ruby/lib $$t"; \
	  $(FFI_ENV) $(RUBY) -Ibindings/ruby/lib $$t; \
	done

# Go: cgo reads include/csock.h and links the library built here. Everything the go command
# keeps goes under $(BUILD), for the go commands the tests run themselves too (the README's
# example); no toolchain or module is fetched, and the user's go settings (GOENV, GOFLAGS) are
# left out.
GO_DIR  := $(abspath $(FFI_BUILD))/go
GO_ENV   = GOCACHE=$(GO_DIR)/cache GOPATH=$(GO_DIR)/path GOTOOLCHAIN=local GOPROXY=off \
  GOENV=off GOFLAGS= GO111MODULE=on CGO_ENABLED=1 \
  CGO_LDFLAGS='-L$(abspath $(LIBOUT)) -Wl,-rpath,$(abspath $(LIBOUT))'

go-test: lib
	cd bindings/go && $(GO_ENV) $(GO) vet . && $(GO_ENV) $(GO) test -count=1 -v .
