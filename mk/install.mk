# Installation, like a distribution's C library.
#
#   make install     header, libcsock.so.X.Y.Z + libcsock.so.MAJOR (soname) + libcsock.so (for
#                    -lcsock), libcsock.a, csock.pc, csock-static.pc, the CMake package and the
#                    man pages; only copies what `make` built (no cargo, nothing rebuilt)
#   make uninstall   removes exactly those files (directories are left in place)
#
# PREFIX, LIBDIR, INCLUDEDIR, PKGCONFIGDIR, CMAKEDIR and MANDIR are where the files live once
# installed, and what csock.pc says; DESTDIR is a staging root prepended to every path when
# copying, and never written into any file. Directories under PREFIX are written as ${prefix}/...
# in the .pc files, so `pkg-config --define-variable=prefix=...` relocates them; the CMake
# package finds the library and the header relative to its own directory.
#
# `make install` reads only files: the libraries in $(BUILD)/lib, $(NATIVE_LIBS) (rustc's
# native-static-libs, written by `make lib`), the man pages in $(BUILD)/man, and templates of
# the source tree. It runs no cargo, so `sudo make install` works without cargo on root's PATH,
# and writes nothing but the installed files.

PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
CMAKEDIR     ?= $(LIBDIR)/cmake/csock
MANDIR       ?= $(PREFIX)/share/man
DESTDIR      ?=
INSTALL      ?= install

DESCRIPTION  := $(shell sed -n 's/^description = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# A directory under PREFIX, as the .pc files write it.
pc_dir        = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
# $(1) as the replacement of a single-quoted sed 's|...|...|'.
sed_value     = $(subst ','\'',$(subst &,\&,$(subst |,\|,$(1))))
# The path from the CMake package's directory to $(1), both as installed.
cmake_rel     = $$(realpath -m --relative-to='$(CMAKEDIR)' '$(1)')
MAN_PAGES     = $(wildcard $(BUILD)/man/man3/*.3)
# rustc's native-static-libs as a C program links them: without -lgcc_s, which has no static
# archive (so `cc -static` could not link it) and which the C compiler's driver already links
# as needed (libgcc_s, or libgcc_eh with -static), as it does for every C program.
c_native_libs = awk '{ for (i = 1; i <= NF; i++) if ($$i != "-lgcc_s") printf "%s%s", \
	(n++ ? " " : ""), $$i } END { print "" }'

INSTALLED    := $(INCLUDEDIR)/csock.h $(LIBDIR)/$(REALNAME) $(LIBDIR)/$(SONAME) \
                $(LIBDIR)/libcsock.so $(LIBDIR)/libcsock.a $(PKGCONFIGDIR)/csock.pc \
                $(PKGCONFIGDIR)/csock-static.pc $(CMAKEDIR)/csockConfig.cmake \
                $(CMAKEDIR)/csockConfigVersion.cmake

.PHONY: install uninstall install-check-paths

# Every template is filled the same way: @PREFIX@, @LIBDIR@ and @INCLUDEDIR@ as the .pc files
# write them, the version, the description, the native libraries, and the CMake package's
# relative paths. $(1) is the template, $(2) the installed file (without DESTDIR).
fill = sed -e 's|@PREFIX@|$(call sed_value,$(PREFIX))|' \
  -e 's|@LIBDIR@|$(call sed_value,$(call pc_dir,$(LIBDIR)))|' \
  -e 's|@INCLUDEDIR@|$(call sed_value,$(call pc_dir,$(INCLUDEDIR)))|' \
  -e 's|@VERSION@|$(VERSION)|g' -e 's|@MAJOR@|$(MAJOR)|g' -e 's|@MINOR@|$(MINOR)|g' \
  -e "s|@SIZEOF_VOID_P@|$$(($$(od -An -tu1 -j4 -N1 $(LIBOUT)/$(REALNAME)) * 4))|g" \
  -e 's|@DESCRIPTION@|$(call sed_value,$(DESCRIPTION))|' \
  -e "s|@LIBS_PRIVATE@|$$($(c_native_libs) $(NATIVE_LIBS))|" \
  -e "s|@CMAKE_NATIVE_LIBS@|$$($(c_native_libs) $(NATIVE_LIBS) | sed 's/ /;/g')|" \
  -e "s|@CMAKE_REL_LIBDIR@|$(call cmake_rel,$(LIBDIR))|" \
  -e "s|@CMAKE_REL_INCLUDEDIR@|$(call cmake_rel,$(INCLUDEDIR))|" \
  $(1) >"$(DESTDIR)$(2).tmp" && mv -f "$(DESTDIR)$(2).tmp" "$(DESTDIR)$(2)" && \
  chmod 644 "$(DESTDIR)$(2)"

install-check-paths:
	@for dir in "$(PREFIX)" "$(LIBDIR)" "$(INCLUDEDIR)" "$(PKGCONFIGDIR)" "$(CMAKEDIR)" \
	    "$(MANDIR)"; do \
	  case "$$dir" in /*) ;; *) echo "install paths must be absolute: '$$dir'" >&2; exit 1;; \
	  esac; done
	@for f in $(LIBOUT)/$(REALNAME) $(LIBOUT)/libcsock.a $(NATIVE_LIBS); do \
	  test -s $$f || { echo "$$f is missing: run 'make' before 'make install'" >&2; exit 1; }; \
	done

# No prerequisite builds anything: install copies what `make` built. The dev link points at the
# soname, as in $(BUILD)/lib.
install: install-check-paths
	$(INSTALL) -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)" \
	  "$(DESTDIR)$(CMAKEDIR)"
	$(INSTALL) -m 644 include/csock.h "$(DESTDIR)$(INCLUDEDIR)/csock.h"
	$(INSTALL) -m 755 $(LIBOUT)/$(REALNAME) "$(DESTDIR)$(LIBDIR)/$(REALNAME)"
	ln -sfn $(REALNAME) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sfn $(SONAME) "$(DESTDIR)$(LIBDIR)/libcsock.so"
	$(INSTALL) -m 644 $(LIBOUT)/libcsock.a "$(DESTDIR)$(LIBDIR)/libcsock.a"
	@$(call fill,pkg/csock.pc.in,$(PKGCONFIGDIR)/csock.pc)
	@$(call fill,pkg/csock-static.pc.in,$(PKGCONFIGDIR)/csock-static.pc)
	@$(call fill,pkg/csockConfig.cmake.in,$(CMAKEDIR)/csockConfig.cmake)
	@$(call fill,pkg/csockConfigVersion.cmake.in,$(CMAKEDIR)/csockConfigVersion.cmake)
	@if [ -n "$(MAN_PAGES)" ]; then \
	  echo '$(INSTALL) -m 644 $(BUILD)/man/man3/*.3 "$(DESTDIR)$(MANDIR)/man3/"'; \
	  $(INSTALL) -d "$(DESTDIR)$(MANDIR)/man3" && \
	  $(INSTALL) -m 644 $(MAN_PAGES) "$(DESTDIR)$(MANDIR)/man3/"; \
	else echo "no man pages in $(BUILD)/man (doxygen was missing at build time): none installed"; fi

uninstall:
	rm -f $(foreach f,$(INSTALLED),"$(DESTDIR)$(f)")
	@if [ -f $(BUILD)/man/pages.txt ]; then pages=$$(cat $(BUILD)/man/pages.txt); \
	  else pages=$$(cd "$(DESTDIR)$(MANDIR)/man3" 2>/dev/null && \
	    ls csock.3 csock_*.3 CSOCK_*.3 2>/dev/null); fi; \
	  for page in $$pages; do rm -f "$(DESTDIR)$(MANDIR)/man3/$$page"; done
