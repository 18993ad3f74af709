# Packaging checks, run by `make check` (and so by `make test`):
#
#   make check-header-compile  include/csock.h compiles on its own, as C99 and as C++11 with
#                              -pedantic -Wall -Wextra -Werror, once and twice per unit
#   make check-abi             the soname, what a program linked like the C tests needs, and the
#                              exported symbols: only csock_*, exactly abi/symbols.txt, exactly
#                              the functions the header declares, all defined in libcsock.a
#   make check-install         a staged install used through pkg-config, shared and static, then
#                              uninstalled (tests/install/check-install.sh, TAP)
#   make update-abi            rewrites abi/symbols.txt from the built library, after a
#                              deliberate ABI change

PKG_CONFIG      ?= pkg-config
NM              ?= nm
READELF         ?= readelf
HEADER_CFLAGS   := -std=c99 -pedantic -Wall -Wextra -Werror -Wstrict-prototypes
HEADER_CXXFLAGS := -std=c++11 -pedantic -Wall -Wextra -Werror
ABI_DIR         := $(BUILD)/abi
SHARED_LIB      := $(LIBOUT)/$(REALNAME)

.PHONY: check-header-compile check-abi check-install update-abi

check: check-header-compile check-abi check-install

# Each unit is nothing but `#include <csock.h>`, once, then twice (the include guard).
check-header-compile: lib
	@for times in 1 2; do \
	  unit=$$(i=0; while [ $$i -lt $$times ]; do echo '#include <csock.h>'; i=$$((i + 1)); done); \
	  echo "csock.h x$$times as C99:   $(CC) $(HEADER_CFLAGS)"; \
	  echo "$$unit" | $(CC) $(HEADER_CFLAGS) $(CPPFLAGS) -x c -c -o /dev/null - || exit 1; \
	  echo "csock.h x$$times as C++11: $(CXX) $(HEADER_CXXFLAGS)"; \
	  echo "$$unit" | $(CXX) $(HEADER_CXXFLAGS) $(CPPFLAGS) -x c++ -c -o /dev/null - || exit 1; \
	done

# Symbol lists, one name per line, sorted: what the shared library exports (without version
# suffixes or version nodes), the csock_ functions libcsock.a defines, what the header declares.
exported_symbols = $(NM) -D --defined-only $(SHARED_LIB) \
	| awk '$$2 != "A" { sub(/@.*/, "", $$3); print $$3 }' | LC_ALL=C sort -u
static_symbols   = $(NM) -g --defined-only $(LIBOUT)/libcsock.a 2>/dev/null \
	| awk '$$2 == "T" && $$3 ~ /^csock_/ { print $$3 }' | LC_ALL=C sort -u
header_functions = sed -n 's/^[^ \#/*].*[ *]\(csock_[a-z0-9_]*\)(.*/\1/p' include/csock.h \
	| LC_ALL=C sort -u

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
	@$(header_functions) >$(ABI_DIR)/header.txt
	@diff -u --label 'exported by $(SHARED_LIB)' --label 'declared in include/csock.h' \
	  $(ABI_DIR)/exported.txt $(ABI_DIR)/header.txt
	@$(static_symbols) >$(ABI_DIR)/static.txt
	@diff -u --label 'exported by $(SHARED_LIB)' --label 'defined in libcsock.a' \
	  $(ABI_DIR)/exported.txt $(ABI_DIR)/static.txt
	@echo "ABI: $$(wc -l <$(ABI_DIR)/exported.txt) csock_* functions, the same in" \
	  "abi/symbols.txt, include/csock.h and libcsock.a"

update-abi: lib
	@mkdir -p $(ABI_DIR)
	@$(exported_symbols) >$(ABI_DIR)/exported.txt
	@cp $(ABI_DIR)/exported.txt abi/symbols.txt
	@echo "abi/symbols.txt: $$(wc -l <abi/symbols.txt) symbols"

check-install: lib
	MAKE="$(MAKE)" CC="$(CC)" PKG_CONFIG="$(PKG_CONFIG)" BUILD="$(BUILD)" VERSION="$(VERSION)" \
	  NATIVE_LIBS="$(NATIVE_LIBS)" $(PROVE) --exec sh tests/install/check-install.sh
