# Installation, like a distribution's C library.
#
#   make install     header, libcsock.so.X.Y.Z + libcsock.so.MAJOR (soname) + libcsock.so (for
#                    -lcsock), libcsock.a and csock.pc
#   make uninstall   removes exactly those files (directories are left in place)
#   make pkgconfig   writes build/pkgconfig/csock.pc only
#
# PREFIX, LIBDIR, INCLUDEDIR and PKGCONFIGDIR are where the files live once installed, and what
# csock.pc says; DESTDIR is a staging root prepended to every path when copying, and never
# written into any file. Directories under PREFIX are written as ${prefix}/... in csock.pc, so
# `pkg-config --define-variable=prefix=...` relocates them.

PREFIX       ?= /usr/local
LIBDIR       ?= $(PREFIX)/lib
INCLUDEDIR   ?= $(PREFIX)/include
PKGCONFIGDIR ?= $(LIBDIR)/pkgconfig
DESTDIR      ?=
INSTALL      ?= install

PC_DIR       := $(BUILD)/pkgconfig
# The generated csock.pc; `make check-install` gives its installs their own, so that a concurrent
# `make install` never picks up a .pc written for the check's directories.
PC_FILE      := $(PC_DIR)/csock.pc
DESCRIPTION  := $(shell sed -n 's/^description = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# A directory under PREFIX, as csock.pc writes it.
pc_dir        = $(patsubst $(PREFIX)/%,$${prefix}/%,$(1))
# $(1) as the replacement of a single-quoted sed 's|...|...|'.
sed_value     = $(subst ','\'',$(subst &,\&,$(subst |,\|,$(1))))

# What a program linking libcsock.a needs besides it, as rustc prints it. The staticlib is built
# for the host triple named explicitly, so cargo puts it in target/<triple>/ and never replaces
# the libraries `make lib` stages from target/release/ (cargo's lock orders the two builds). A
# fresh build replays rustc's note, so this costs one up-to-date check once built.
NATIVE_LIBS  := $(PC_DIR)/native-static-libs

.PHONY: install uninstall pkgconfig $(NATIVE_LIBS)

$(NATIVE_LIBS):
	@mkdir -p $(PC_DIR)
	@host=$$($${RUSTC:-rustc} -vV | sed -n 's/^host: //p') && \
	  $(CARGO) rustc --release --quiet --lib --crate-type staticlib --target "$$host" \
	    -- --print native-static-libs 2>$@.log.$$$$ && \
	  sed -n 's/^note: native-static-libs: //p' $@.log.$$$$ | tail -n 1 >$@.new.$$$$ && \
	  test -s $@.new.$$$$ || { cat $@.log.$$$$ >&2; \
	    echo "no native-static-libs note from rustc" >&2; rm -f $@.*.$$$$; exit 1; }; \
	  $(call stage,$@.new.$$$$,$@); status=$$?; rm -f $@.*.$$$$; exit $$status

pkgconfig: $(NATIVE_LIBS)
	@for dir in "$(PREFIX)" "$(LIBDIR)" "$(INCLUDEDIR)" "$(PKGCONFIGDIR)"; do \
	  case "$$dir" in /*) ;; *) echo "install paths must be absolute: '$$dir'" >&2; exit 1;; \
	  esac; done
	@mkdir -p $(dir $(PC_FILE))
	@sed -e 's|@PREFIX@|$(call sed_value,$(PREFIX))|' \
	  -e 's|@LIBDIR@|$(call sed_value,$(call pc_dir,$(LIBDIR)))|' \
	  -e 's|@INCLUDEDIR@|$(call sed_value,$(call pc_dir,$(INCLUDEDIR)))|' \
	  -e 's|@VERSION@|$(VERSION)|' -e 's|@DESCRIPTION@|$(call sed_value,$(DESCRIPTION))|' \
	  -e "s|@LIBS_PRIVATE@|$$(cat $(NATIVE_LIBS))|" \
	  csock.pc.in >$(PC_FILE).new.$$$$ && \
	  $(call stage,$(PC_FILE).new.$$$$,$(PC_FILE)); status=$$?; rm -f $(PC_FILE).new.$$$$; \
	  exit $$status

# The dev link points at the soname, as in build/lib.
install: lib pkgconfig
	$(INSTALL) -d "$(DESTDIR)$(INCLUDEDIR)" "$(DESTDIR)$(LIBDIR)" "$(DESTDIR)$(PKGCONFIGDIR)"
	$(INSTALL) -m 644 include/csock.h "$(DESTDIR)$(INCLUDEDIR)/csock.h"
	$(INSTALL) -m 755 $(LIBOUT)/$(REALNAME) "$(DESTDIR)$(LIBDIR)/$(REALNAME)"
	ln -sfn $(REALNAME) "$(DESTDIR)$(LIBDIR)/$(SONAME)"
	ln -sfn $(SONAME) "$(DESTDIR)$(LIBDIR)/libcsock.so"
	$(INSTALL) -m 644 $(LIBOUT)/libcsock.a "$(DESTDIR)$(LIBDIR)/libcsock.a"
	$(INSTALL) -m 644 $(PC_FILE) "$(DESTDIR)$(PKGCONFIGDIR)/csock.pc"

uninstall:
	rm -f "$(DESTDIR)$(INCLUDEDIR)/csock.h" "$(DESTDIR)$(LIBDIR)/$(REALNAME)" \
	  "$(DESTDIR)$(LIBDIR)/$(SONAME)" "$(DESTDIR)$(LIBDIR)/libcsock.so" \
	  "$(DESTDIR)$(LIBDIR)/libcsock.a" "$(DESTDIR)$(PKGCONFIGDIR)/csock.pc"
