# Packaging checks, run by `make check` (and so by `make test`):
#
#   make check-header-compile  include/csock.h compiles on its own, as C99 and as C++11 with
#                              -pedantic -Wall -Wextra -Werror, once and twice per unit
#   make check-abi             the soname, what a program linked like the C tests needs, and the
#                              exported symbols: only csock_*, exactly abi/symbols.txt, exactly
#                              the functions the header declares, all defined in libcsock.a
#   make check-install         a staged install used through pkg-config, shared and static, then
#                              uninstalled (tests/install/check-install.sh, TAP)
#   make check-abi-layout      the public structs' layout and the functions' signatures, as C
#                              sees them, against abi/csock.abi (abidiff, from abigail-tools)
#   make update-abi            rewrites abi/symbols.txt and abi/csock.abi from the built
#                              library and the header, after a deliberate ABI change

PKG_CONFIG      ?= pkg-config
NM              ?= nm
READELF         ?= readelf
CMAKE           ?= cmake
HEADER_CFLAGS   := -std=c99 -pedantic -Wall -Wextra -Werror -Wstrict-prototypes
HEADER_CXXFLAGS := -std=c++11 -pedantic -Wall -Wextra -Werror
ABI_DIR         := $(BUILD)/abi
SHARED_LIB      := $(LIBOUT)/$(REALNAME)

.PHONY: check-header-compile check-abi check-abi-layout check-install update-abi

check: check-header-compile check-abi check-abi-layout check-install

# Each unit is nothing but `#include <csock.h>`, once, then twice (the include guard).
check-header-compile: lib
	@for times in 1 2; do \
	  unit=$$(i=0; while [ $$i -lt $$times ]; do echo '#include <csock.h>'; i=$$((i + 1)); done); \
	  echo "csock.h x$$times as C99:   $(CC) $(HEADER_CFLAGS)"; \
	  echo "$$unit" | $(CC) $(HEADER_CFLAGS) $(CPPFLAGS) -x c -c -o /dev/null - || exit 1; \
	  echo "csock.h x$$times as C++11: $(CXX) $(HEADER_CXXFLAGS)"; \
	  echo "$$unit" | $(CXX) $(HEADER_CXXFLAGS) $(CPPFLAGS) -x c++ -c -o /dev/null - || exit 1; \
	done
	@echo "CSOCK_SOCKET_INIT in C99 and C++11 initialisers (automatic, static, array, member)"
	@for lang in "c $(CC) $(HEADER_CFLAGS)" "c++ $(CXX) $(HEADER_CXXFLAGS)"; do \
	  set -- $$lang; x=$$1; shift; \
	  printf '%s\n' '#include <csock.h>' 'static csock_socket s1 = CSOCK_SOCKET_INIT;' \
	    'struct holder { int id; csock_socket sock; };' \
	    'static struct holder h = { 1, CSOCK_SOCKET_INIT };' \
	    'int f(void);' 'int f(void) { csock_socket s = CSOCK_SOCKET_INIT;' \
	    '  csock_socket pair[2] = { CSOCK_SOCKET_INIT, CSOCK_SOCKET_INIT };' \
	    '  return s.fd + pair[1].fd + s1.fd + h.sock.fd; }' \
	  | "$$@" $(CPPFLAGS) -x $$x -c -o /dev/null - || exit 1; \
	done

# Symbol lists, one name per line, sorted: what the shared library exports (without version
# suffixes or version nodes), the csock_ functions libcsock.a defines, what the header declares.
exported_symbols = $(NM) -D --defined-only $(SHARED_LIB) \
	| awk '$$2 != "A" { sub(/@.*/, "", $$3); print $$3 }' | LC_ALL=C sort -u
static_symbols   = $(NM) -g --defined-only $(LIBOUT)/libcsock.a 2>/dev/null \
	| awk '$$2 == "T" && $$3 ~ /^csock_/ { print $$3 }' | LC_ALL=C sort -u
header_functions = sed -n 's/^[^ \#/*].*[ *]\(csock_[a-z0-9_]*\)(.*/\1/p' include/csock.h \
	| LC_ALL=C sort -u

# The version nodes: from `readelf -V` (each definition but the soname's, with its parent), and
# from the version script (each `NAME {` and what its `} PARENT;` names), as `NODE [PARENT]`.
version_nodes = awk '/^Version definition section/ { d = 1; next } /^Version .* section/ { d = 0 } \
	d && /Name: / && !/Flags: BASE/ { sub(/.*Name: /, ""); node = $$1; nodes[++n] = node } \
	d && /Parent 1: / { sub(/.*Parent 1: /, ""); parent[node] = $$1 } \
	END { for (i = 1; i <= n; i++) print nodes[i], parent[nodes[i]] }' | sed 's/ *$$//'
map_nodes     = sed 's|/\*.*\*/||' $(VERSION_SCRIPT) | awk '/^[A-Za-z_][A-Za-z0-9_.]* *{/ { \
	node = $$1; nodes[++n] = node } /^} *[A-Za-z_][A-Za-z0-9_.]* *;/ { p = $$2; \
	sub(/;.*/, "", p); parent[node] = p } \
	END { for (i = 1; i <= n; i++) print nodes[i], parent[nodes[i]] }' | sed 's/ *$$//'
# `NAME NODE` for each function the version script lists, and for each csock_ function the
# library defines (NODE "Base" when it has none).
map_symbols   = awk '/^[A-Za-z_][A-Za-z0-9_.]* *{/ { node = $$1 } \
	/^ *csock_[a-z0-9_]* *;/ { sub(/;.*/, ""); print $$1, node }' $(VERSION_SCRIPT)
symbol_versions = awk '$$7 != "UND" && $$8 ~ /^csock_/ { split($$8, v, "@@"); \
	print v[1], (v[2] == "" ? "Base" : v[2]) }' | LC_ALL=C sort

# A program built exactly as the C tests are (the $(BUILD)/tests/% rule, with $(LINK)) must
# record the soname, not the dev link or the full version, or it breaks on the next release.
check-abi: lib $(BUILD)/tests/install/consumer
	@mkdir -p $(ABI_DIR)
	@soname=$$($(READELF) -d $(SHARED_LIB) | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'); \
	  test "$$soname" = "$(SONAME)" || { \
	    echo "$(SHARED_LIB): SONAME is '$$soname', not $(SONAME)"; exit 1; }; \
	  echo "$(SHARED_LIB): SONAME $$soname"
	@needed=$$($(READELF) -d $(BUILD)/tests/install/consumer \
	    | sed -n 's/.*(NEEDED).*\[\(libcsock.*\)\]/\1/p'); \
	  test "$$needed" = "$(SONAME)" || { \
	    echo "$(BUILD)/tests/install/consumer: NEEDED '$$needed', not $(SONAME)"; exit 1; }; \
	  echo "a program linked like the C tests: NEEDED $$needed"
	@$(BUILD)/tests/install/consumer $(VERSION) >/dev/null
	@$(exported_symbols) >$(ABI_DIR)/exported.txt
	@others=$$(grep -v '^csock_' $(ABI_DIR)/exported.txt); test -z "$$others" || { \
	  echo "$(SHARED_LIB) exports symbols outside csock_*:"; echo "$$others"; exit 1; }
	@diff -u abi/symbols.txt $(ABI_DIR)/exported.txt || { \
	  echo "the exported symbols differ from abi/symbols.txt: an ABI change."; \
	  echo "If it is deliberate, run 'make update-abi' and commit abi/symbols.txt."; exit 1; }
	@others=$$(sed -n -e 's/^#define \([A-Za-z_][A-Za-z0-9_]*\).*/\1/p' \
	    -e 's/^typedef .*[ *(]\([A-Za-z_][A-Za-z0-9_]*\)[);]*;$$/\1/p' \
	    -e 's/^\(struct\|enum\|union\) \([A-Za-z_][A-Za-z0-9_]*\) {.*/\2/p' include/csock.h \
	  | grep -v -e '^csock_' -e '^CSOCK_'); test -z "$$others" || { \
	  echo "include/csock.h defines names outside csock_* / CSOCK_*:"; echo "$$others"; exit 1; }
	@$(header_functions) >$(ABI_DIR)/header.txt
	@diff -u --label 'exported by $(SHARED_LIB)' --label 'declared in include/csock.h' \
	  $(ABI_DIR)/exported.txt $(ABI_DIR)/header.txt
	@$(static_symbols) >$(ABI_DIR)/static.txt
	@diff -u --label 'exported by $(SHARED_LIB)' --label 'defined in libcsock.a' \
	  $(ABI_DIR)/exported.txt $(ABI_DIR)/static.txt
	@echo "ABI: $$(wc -l <$(ABI_DIR)/exported.txt) csock_* functions, the same in" \
	  "abi/symbols.txt, include/csock.h and libcsock.a"
	@$(READELF) -V -W $(SHARED_LIB) | $(version_nodes) >$(ABI_DIR)/nodes.txt
	@$(map_nodes) >$(ABI_DIR)/map-nodes.txt
	@awk '$$1 !~ /^CSOCK_[0-9]+\.[0-9]+$$/ || (NR == 1 && NF != 1) || \
	  (NR > 1 && (NF != 2 || $$2 != prev)) { bad = 1 } { prev = $$1 } END { exit bad }' \
	  $(ABI_DIR)/map-nodes.txt || { echo "$(VERSION_SCRIPT): the nodes must be CSOCK_X.Y," \
	  "each inheriting the one before it:"; cat $(ABI_DIR)/map-nodes.txt; exit 1; }
	@diff -u --label 'version nodes of $(VERSION_SCRIPT)' --label 'defined by $(SHARED_LIB)' \
	  $(ABI_DIR)/map-nodes.txt $(ABI_DIR)/nodes.txt || { \
	  echo "the version definitions (readelf -V) are not the nodes of $(VERSION_SCRIPT)"; exit 1; }
	@$(READELF) --dyn-syms -W $(SHARED_LIB) | $(symbol_versions) >$(ABI_DIR)/versioned.txt
	@base=$$(awk '$$2 == "Base"' $(ABI_DIR)/versioned.txt); test -z "$$base" || { \
	  echo "csock_ functions without a version (at Base):"; echo "$$base"; exit 1; }
	@$(map_symbols) | awk 'NR == FNR { node[$$1] = $$2; next } { print $$1, node[$$1] }' \
	  - $(ABI_DIR)/exported.txt >$(ABI_DIR)/map-versions.txt
	@diff -u --label 'nodes $(VERSION_SCRIPT) gives the exported functions' \
	  --label 'versions in $(SHARED_LIB)' $(ABI_DIR)/map-versions.txt $(ABI_DIR)/versioned.txt || { \
	  echo "an exported function is not in the node $(VERSION_SCRIPT) puts it in"; exit 1; }
	@refs=$$($(READELF) --dyn-syms -W $(BUILD)/tests/install/consumer | \
	  awk '$$7 == "UND" && $$8 ~ /^csock_/ { print $$8 }'); \
	  echo "$$refs" | grep -qx 'csock_open@CSOCK_0\.1' || { \
	  echo "$(BUILD)/tests/install/consumer does not record csock_open@CSOCK_0.1:"; \
	  echo "$$refs"; exit 1; }; \
	  unversioned=$$(echo "$$refs" | grep -v '@CSOCK_'); test -z "$$unversioned" || { \
	  echo "$(BUILD)/tests/install/consumer has unversioned references: $$unversioned"; exit 1; }
	@echo "symbol versions: $$(awk '{ printf "%s%s", (NR > 1 ? ", " : ""), $$1; \
	  if (NF > 1) printf " (inherits %s)", $$2 }' $(ABI_DIR)/nodes.txt); each function in its" \
	  "node ($$(awk '{ print $$2 }' $(ABI_DIR)/versioned.txt | LC_ALL=C sort | uniq -c | \
	  awk '{ printf "%s%s: %d", (NR > 1 ? ", " : ""), $$2, $$1 }')), none at Base;" \
	  "a program linked against it records csock_open@CSOCK_0.1"

# The C view of the ABI, for abidiff: a probe library built with debug info from the header
# alone, defining every function the header declares (as a stub), so that its DWARF describes
# exactly what a C program compiled against include/csock.h relies on: each function's
# parameter and return types and the layout of every struct they reach (abidw on the Rust
# library itself would describe Rust's types, with the toolchain's paths). abi/csock.abi is the
# committed baseline, for x86_64 Linux; elsewhere the comparison is skipped.
ABIDW           ?= abidw
ABIDIFF         ?= abidiff
ABIDW_FLAGS     := --no-show-locs --no-corpus-path --no-comp-dir-path --type-id-style hash
ABI_BASELINE    := abi/csock.abi
ABI_ARCH        := $(shell sed -n "s/.*architecture='\([^']*\)'.*/\1/p" $(ABI_BASELINE) 2>/dev/null | head -n 1)

$(ABI_DIR)/probe.abi: include/csock.h mk/check.mk
	@mkdir -p $(ABI_DIR)
	@{ echo '/* Generated from include/csock.h by make: every function, as a stub. */'; \
	  echo '#include <csock.h>'; \
	  awk '/^(typedef|#|\/|\*| )/ && !infn { next } \
	    !infn && /csock_[a-z0-9_]*\(/ { infn = 1; buf = "" } \
	    infn { buf = buf $$0 "\n"; if ($$0 ~ /\);$$/) { \
	      sub(/;\n$$/, " { return 0; }\n", buf); printf "%s", buf; infn = 0 } }' \
	    include/csock.h; } >$(ABI_DIR)/probe.c
	@cd $(ABI_DIR) && $(CC) -std=c11 -g -O0 -fPIC -shared -Wl,-soname,$(SONAME) \
	  -I$(CURDIR)/include -o probe.so probe.c
	@$(ABIDW) $(ABIDW_FLAGS) $(ABI_DIR)/probe.so >$@.tmp && mv -f $@.tmp $@

check-abi-layout: $(ABI_DIR)/probe.abi
	@arch=$$(sed -n "s/.*architecture='\([^']*\)'.*/\1/p" $< | head -n 1); \
	if [ "$$arch" != "$(ABI_ARCH)" ]; then \
	  echo "check-abi-layout: SKIPPED: $(ABI_BASELINE) is for $(ABI_ARCH), this is $$arch"; \
	else \
	  $(ABIDIFF) --no-added-syms $(ABI_BASELINE) $< >$(ABI_DIR)/abidiff.txt; status=$$?; \
	  if [ $$status = 0 ]; then \
	    echo "ABI layout: the structs and the $$(grep -c '<elf-symbol ' $<) functions' signatures" \
	      "match $(ABI_BASELINE) (abidiff)"; \
	  else \
	    cat $(ABI_DIR)/abidiff.txt; \
	    if [ $$((status & 8)) != 0 ]; then \
	      echo "an INCOMPATIBLE ABI change against $(ABI_BASELINE): every 0.x release keeps" \
	        "the layouts and signatures of the one before"; \
	    else echo "the ABI differs from $(ABI_BASELINE) (abidiff exit $$status)."; fi; \
	    echo "If the change is deliberate and compatible, run 'make update-abi' and commit" \
	      "$(ABI_BASELINE)."; exit 1; \
	  fi; \
	fi

update-abi: lib $(ABI_DIR)/probe.abi
	@mkdir -p $(ABI_DIR)
	@$(exported_symbols) >$(ABI_DIR)/exported.txt
	@cp $(ABI_DIR)/exported.txt abi/symbols.txt
	@echo "abi/symbols.txt: $$(wc -l <abi/symbols.txt) symbols"
	@cp $(ABI_DIR)/probe.abi $(ABI_BASELINE)
	@echo "$(ABI_BASELINE): $$(grep -c '<elf-symbol ' $(ABI_BASELINE)) functions"

check-install: all
	MAKE="$(MAKE)" CC="$(CC)" PKG_CONFIG="$(PKG_CONFIG)" BUILD="$(BUILD)" VERSION="$(VERSION)" \
	  NATIVE_LIBS="$(NATIVE_LIBS)" CMAKE="$(CMAKE)" $(PROVE) --exec sh tests/install/check-install.sh

# Out-of-tree, read-only and offline builds (tests/build/check-build.sh, TAP): a read-only copy
# of the tree built offline with only the library's crates, from another directory with
# `make -f` and with `make -C`, writing nothing into the copy.
#
#   make check-build   that check (its cargo home and target directory are kept in
#                      $(BUILD)/check-build, so a second run rebuilds only csock)
.PHONY: check-build
check: check-build
check-build: lib
	MAKE="$(MAKE)" CARGO="$(CARGO)" BUILD="$(BUILD)" VERSION="$(VERSION)" \
	  $(PROVE) --exec sh tests/build/check-build.sh
