# Man pages, generated from include/csock.h's documentation with doxygen (doc/Doxyfile).
#
#   make man         $(BUILD)/man/man3: csock(3) (the header: overview, every function and
#                    macro), csock_socket(3), csock_info(3), csock_listen_fd(3), and a .so alias
#                    page for each function, macro and type; skipped with a message without doxygen
#   make check-man   each page renders clean under groff -ww -z -man, and every exported
#                    function has a page (part of make check; skipped without doxygen)
#
# `make` builds them when doxygen is there; `make install` installs what $(BUILD)/man holds.

DOXYGEN  ?= doxygen
GROFF    ?= groff
MAN_OUT  := $(BUILD)/man
HAVE_DOXYGEN := $(shell command -v $(DOXYGEN) >/dev/null 2>&1 && echo yes)
# The date in each page's header: the last commit's, so that the same sources give the same
# pages (reproducible builds); a SOURCE_DATE_EPOCH from the environment wins.
SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null)

.PHONY: man check-man
all: man
check: check-man

ifeq ($(HAVE_DOXYGEN),yes)
man: $(MAN_OUT)/pages.txt
else
man:
	@echo "man: $(DOXYGEN) not found: no man pages built (install doxygen to build them)"
endif

# doxygen writes csock.h.3 for the header and one .so alias per member, of struct fields too
# (fd.3, family.3, ...): the header's page becomes csock.3, the aliases point at it, and only
# the pages of csock's own names are kept. pages.txt lists them, for install and uninstall.
$(MAN_OUT)/pages.txt: include/csock.h doc/Doxyfile mk/man.mk
	@rm -rf $(MAN_OUT).tmp && mkdir -p $(MAN_OUT).tmp
	@CSOCK_HEADER=include/csock.h CSOCK_MAN_OUT=$(MAN_OUT).tmp CSOCK_VERSION=$(VERSION) \
	  $(if $(SOURCE_DATE_EPOCH),SOURCE_DATE_EPOCH=$(SOURCE_DATE_EPOCH)) \
	  $(DOXYGEN) doc/Doxyfile 2>$(MAN_OUT).tmp/warnings; status=$$?; \
	  if [ -s $(MAN_OUT).tmp/warnings ]; then cat $(MAN_OUT).tmp/warnings >&2; \
	    echo "doxygen warned about include/csock.h" >&2; exit 1; fi; exit $$status
	@cd $(MAN_OUT).tmp/man/man3 && \
	  for page in *.3; do case $$page in \
	    csock.h.3|csock_*.3|CSOCK_*.3) ;; *) rm -f "$$page";; esac; done && \
	  sed -e '1s/^\.TH "csock\.h" 3/.TH "csock" 3/' -e 's/^csock\.h \\-/csock \\-/' \
	    -e '/^\\fC#include <.*>\\fP$$/d' \
	    -e '/^\.SH SYNOPSIS/,/^\.SS/s/^\.PP$$/.PP\n\\fC#include <csock\\\&.h>\\fP\n.br\n.PP\nLink with \\fC-lcsock\\fP: \\fCcc app\\\&.c $$(pkg-config --cflags --libs csock)\\fP\n.br/' \
	    csock.h.3 >csock.3 && rm -f csock.h.3 && \
	  for page in *.3; do \
	    sed -i '/^\.nf/,/^\.fi/s/\\\([^&fe(-]\)/\\e\1/g' "$$page"; done && \
	  for page in *.3; do \
	    if [ "$$(sed -n 1p "$$page")" = ".so man3/csock.h.3" ]; then \
	      echo ".so man3/csock.3" >"$$page"; fi; done && \
	  ls *.3 | LC_ALL=C sort >../../pages.txt
	@rm -rf $(MAN_OUT)/man3 && mkdir -p $(MAN_OUT) && mv $(MAN_OUT).tmp/man/man3 $(MAN_OUT)/man3 && \
	  mv $(MAN_OUT).tmp/pages.txt $(MAN_OUT)/pages.txt && rm -rf $(MAN_OUT).tmp
	@echo "man: $$(wc -l <$(MAN_OUT)/pages.txt) pages in $(MAN_OUT)/man3"

ifeq ($(HAVE_DOXYGEN),yes)
check-man: man lib
	@cd $(MAN_OUT) && for page in man3/*.3; do \
	  out=$$($(GROFF) -ww -z -man -k -s "$$page" 2>&1) || { echo "$$page: groff failed" >&2; exit 1; }; \
	  test -z "$$out" || { echo "$$page: groff -ww -z -man warns:" >&2; echo "$$out" >&2; exit 1; }; \
	done
	@mkdir -p $(BUILD)/man-check
	@$(NM) -D --defined-only $(SHARED_LIB) | awk '$$3 ~ /^csock_/ { sub(/@.*/, "", $$3); print $$3 ".3" }' \
	  | LC_ALL=C sort >$(BUILD)/man-check/functions.txt; \
	  missing=$$(LC_ALL=C comm -23 $(BUILD)/man-check/functions.txt $(MAN_OUT)/pages.txt); \
	  test -z "$$missing" || { echo "exported functions without a man page:" $$missing >&2; exit 1; }
	@grep -q '^\.SH NAME' $(MAN_OUT)/man3/csock.3 && \
	  sed -n '/^\.SH NAME/{n;p;}' $(MAN_OUT)/man3/csock.3 | grep -q '^csock \\-' || { \
	  echo "$(MAN_OUT)/man3/csock.3 has no NAME line for csock" >&2; exit 1; }
	@echo "man: $$(wc -l <$(MAN_OUT)/pages.txt) pages render clean under $(GROFF) -ww -z -man;" \
	  "every one of the $$(wc -l <$(BUILD)/man-check/functions.txt) exported functions has one"
else
check-man:
	@echo "check-man: SKIPPED: $(DOXYGEN) not found, no man pages to check (install doxygen)"
endif
