#!/bin/sh
# A staged `make install`, used the way a packager and a C programmer use it (TAP, for prove).
#
# Installs into a temporary DESTDIR twice: with the default layout (PREFIX=/usr/local), then with
# every directory moved. Each time: `make install` runs without cargo on PATH and changes nothing
# in the build; exactly the expected files, the soname links, .pc files that never mention the
# staging root; a consumer (tests/install/consumer.c) built through pkg-config shared, with
# csock-static.pc, and with `cc -static`; the same consumer built by a CMake project through
# find_package(csock) (tests/install/cmake), shared and static; the examples built as copies
# with `cc $(pkg-config --cflags --libs csock)`; the man pages; then `make uninstall` removes
# exactly what was installed.
#
# Run from the top of the tree by `make check-install`, which sets MAKE, CC, PKG_CONFIG, CMAKE,
# BUILD, VERSION and NATIVE_LIBS (the file holding rustc's native-static-libs). The temporary
# folder is under $BUILD and removed on exit.

set -u

MAKE=${MAKE:-make}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
CMAKE=${CMAKE:-cmake}
BUILD=${BUILD:-build}
VERSION=${VERSION:?VERSION is the version in Cargo.toml}
NATIVE_LIBS=${NATIVE_LIBS:-$BUILD/pkgconfig/native-static-libs}
MAJOR=${VERSION%%.*}
MINOR=${VERSION#*.}
MINOR=${MINOR%%.*}
SONAME=libcsock.so.$MAJOR
REALNAME=libcsock.so.$VERSION
CONSUMER_CFLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Wextra -Werror"

# rustc's native-static-libs as the .pc files give them: without -lgcc_s, which the C compiler's
# driver links itself (mk/install.mk).
native_libs=$(awk '{ for (i = 1; i <= NF; i++) if ($i != "-lgcc_s") printf "%s%s",
    (n++ ? " " : ""), $i } END { print "" }' "$NATIVE_LIBS") || exit 1

mkdir -p "$BUILD" || exit 1
work=$(mktemp -d "$(cd "$BUILD" && pwd)/install-check.XXXXXX") || exit 1
trap 'rm -rf "$work"' EXIT
trap 'exit 1' HUP INT PIPE TERM
log=$work/log
n=0

# t DESCRIPTION COMMAND...: one TAP result; the command's output becomes a diagnostic on failure.
t() {
    desc=$1
    shift
    n=$((n + 1))
    if "$@" >"$log" 2>&1; then
        echo "ok $n - $desc"
    else
        echo "not ok $n - $desc"
        sed 's/^/#   /' "$log"
    fi
}

# submake TARGET VAR=VALUE...: the top Makefile, free of the calling make's flags and variables,
# so the defaults under test are the Makefile's own.
submake() {
    MAKEFLAGS= MFLAGS= $MAKE -s --no-print-directory "$@"
}

# A PATH with every directory of this one that has no cargo, rustc or rustup, as under sudo.
no_cargo_path=
IFS_SAVE=$IFS
IFS=:
for dir in $PATH; do
    [ -n "$dir" ] && [ ! -e "$dir/cargo" ] && [ ! -e "$dir/rustc" ] && [ ! -e "$dir/rustup" ] &&
        no_cargo_path=${no_cargo_path:+$no_cargo_path:}$dir
done
IFS=$IFS_SAVE

# install_without_cargo VAR=VALUE...: `make install` with no cargo to be found (PATH, CARGO and
# RUSTC), which must change nothing of what `make` built: the files at the top of the build
# directory (rustc's native-static-libs), the libraries, the man pages, and cargo's release
# output.
# (Only those: under `make -j`, other checks write elsewhere in the build directory.)
install_without_cargo() {
    stamp=$work/stamp
    touch "$stamp" && sleep 1 || return 1
    start=$(date +%s%N)
    env PATH="$no_cargo_path" CARGO=/nonexistent/cargo RUSTC=/nonexistent/rustc \
        MAKEFLAGS= MFLAGS= $MAKE -s --no-print-directory install "$@" || return 1
    echo "make install took $((($(date +%s%N) - start) / 1000000)) ms"
    changed=$(find "$BUILD" -maxdepth 1 ! -type d -newer "$stamp"
        find "$BUILD/lib" "$BUILD/pkgconfig" "$BUILD/man" "${CARGO_TARGET_DIR:-target}/release" \
            -newer "$stamp" 2>/dev/null)
    [ -z "$changed" ] || { echo "make install changed the build:"; echo "$changed"; return 1; }
}

# same_lines EXPECTED COMMAND...: the command prints exactly EXPECTED.
same_lines() {
    expected=$1
    shift
    got=$("$@") || return 1
    [ "$got" = "$expected" ] || { printf 'got:\n%s\nexpected:\n%s\n' "$got" "$expected"; return 1; }
}

files_under() { (cd "$1" && find . ! -type d | sed 's|^\./||' | LC_ALL=C sort); }

links() {
    dir=$1
    echo "$(readlink "$dir/libcsock.so") $(readlink "$dir/$SONAME")"
}

soname_of() { readelf -d "$1" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p'; }

needed_of() {
    dynamic=$(readelf -d "$1") || return 1
    echo "$dynamic" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' | LC_ALL=C sort
}

needs() { needed_of "$1" | grep -qxF "$2"; }

needs_no_csock() {
    needed=$(needed_of "$1") && deps=$(ldd "$1") || return 1
    printf '%s\n' "$needed" "$deps"
    ! printf '%s\n' "$needed" "$deps" | grep -q libcsock
}

under_prefix() {
    case $1 in
        "$prefix"/*) echo "\${prefix}${1#"$prefix"}" ;;
        *) echo "$1" ;;
    esac
}

pc_clean() { ! grep -nF "$work" "$@"; }

# pc ARGS...: pkg-config seeing only the staged .pc files, through PC_PATH and PC_SYSROOT; the
# module is csock, or $PC_MODULE.
pc() {
    PKG_CONFIG_LIBDIR=$PC_PATH PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$PC_SYSROOT \
        $PKG_CONFIG "$@" "${PC_MODULE:-csock}"
}

build_shared() {
    cflags=$(pc --cflags $PC_DEFINE) && libs=$(pc --libs $PC_DEFINE) &&
        echo "$CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c $libs" &&
        $CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c -o "$1" $libs
}

# csock-static.pc links libcsock.a by name (-l:libcsock.a) and adds rustc's native-static-libs,
# so the program is static in csock and dynamic in libc, with no -Bstatic recipe.
build_static() {
    cflags=$(PC_MODULE=csock-static pc --cflags $PC_DEFINE) &&
        libs=$(PC_MODULE=csock-static pc --libs $PC_DEFINE) &&
        echo "$CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c $libs" &&
        $CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c -o "$1" $libs
}

# A fully static program: `cc -static` with `pkg-config --static --libs csock`.
build_all_static() {
    cflags=$(pc --cflags $PC_DEFINE) && libs=$(pc --static --libs $PC_DEFINE) &&
        echo "$CC -static $CONSUMER_CFLAGS $cflags tests/install/consumer.c $libs" &&
        $CC -static $CONSUMER_CFLAGS $cflags tests/install/consumer.c -o "$1" $libs
}

is_static() {
    readelf -l "$1" | tee /dev/stderr | grep -q INTERP && return 1
    ! readelf -d "$1" | grep -q NEEDED
}

# build_cmake DIR REQUEST: configures and builds tests/install/cmake against the stage: found
# through CMAKE_PREFIX_PATH in the default layout (CMake's own search), through csock_DIR when
# the libraries are in lib64 (which CMake searches only on some distributions).
build_cmake() {
    if [ "$name" = default ]; then where=-DCMAKE_PREFIX_PATH=$stage$prefix
    else where=-Dcsock_DIR=$stage$cmakedir; fi
    $CMAKE -S tests/install/cmake -B "$1" "$where" \
        -DCSOCK_REQUEST="$2" -DCMAKE_C_COMPILER="$CC" -DCMAKE_BUILD_TYPE=Release &&
        $CMAKE --build "$1"
}

# cmake_finds REQUEST EXPECTED: what the installed version file answers to
# find_package(csock REQUEST) (tests/install/cmake/find.cmake).
cmake_finds() {
    request=$1
    same_lines "$2" eval '$CMAKE -Dcsock_DIR="$stage$cmakedir" -DREQUEST="$request" \
        -P tests/install/cmake/find.cmake 2>&1'
}

# build_example NAME: examples/NAME.c, copied out of the tree, built with nothing but
# `cc $(pkg-config --cflags --libs csock)`, then again as strict ISO C11 (-std=c11 defines no
# GNU or POSIX extension: the example must ask for what it uses itself).
build_example() {
    mkdir -p "$work/examples" && cp "examples/$1.c" "$work/examples/$1.c" &&
        cflags=$(pc --cflags $PC_DEFINE) && libs=$(pc --libs $PC_DEFINE) &&
        echo "cc $cflags $1.c $libs" &&
        (cd "$work/examples" && $CC $cflags "$1.c" -o "$1" $libs) &&
        echo "cc -std=c11 -pedantic -Wall -Wextra -Werror $cflags $1.c $libs" &&
        (cd "$work/examples" &&
            $CC -std=c11 -pedantic -Wall -Wextra -Werror $cflags "$1.c" -o "$1" $libs)
}

# Each man page renders without a warning (groff -ww -z), .so aliases resolved from the stage.
man_clean() {
    for page in "$1"/*.3; do
        out=$(cd "$1/.." && groff -ww -z -man -k -s "man3/${page##*/}" 2>&1) || return 1
        [ -z "$out" ] || { echo "$page: $out"; return 1; }
    done
}

resolves_from() {
    LD_LIBRARY_PATH=$2 ldd "$1" | tee /dev/stderr |
        grep -qx "[[:space:]]*$SONAME => $2/$SONAME (.*)"
}

runs() {
    same_lines "csock_version=$VERSION" env LD_LIBRARY_PATH="${2-}" "$1" "$VERSION"
}

# layout NAME PREFIX LIBDIR INCLUDEDIR PKGCONFIGDIR: install, inspect, build, run, uninstall.
layout() {
    name=$1 prefix=$2 libdir=$3 includedir=$4 pkgconfigdir=$5
    stage=$work/$name
    mkdir "$stage" || exit 1
    set -- DESTDIR="$stage"
    [ "$name" = default ] || set -- "$@" PREFIX="$prefix" LIBDIR="$libdir" \
        INCLUDEDIR="$includedir" PKGCONFIGDIR="$pkgconfigdir"
    lib=$stage$libdir
    pcfile=$stage$pkgconfigdir/csock.pc
    mandir=$prefix/share/man
    cmakedir=$libdir/cmake/csock
    pages=
    if [ -s "$BUILD/man/pages.txt" ]; then
        pages=$(sed "s|^|${mandir#/}/man3/|" "$BUILD/man/pages.txt")
    fi
    expected=$(printf '%s\n' "${includedir#/}/csock.h" "${libdir#/}/libcsock.a" \
        "${libdir#/}/libcsock.so" "${libdir#/}/$SONAME" "${libdir#/}/$REALNAME" \
        "${pkgconfigdir#/}/csock.pc" "${pkgconfigdir#/}/csock-static.pc" \
        "${cmakedir#/}/csockConfig.cmake" "${cmakedir#/}/csockConfigVersion.cmake" \
        $pages | LC_ALL=C sort)

    t "$name: make install DESTDIR=<stage>${*#DESTDIR=$stage}, without cargo, changes no build file" \
        install_without_cargo "$@"
    t "$name: exactly the header, the libraries, the .pc files, the CMake package and the man pages are installed" \
        same_lines "$expected" files_under "$stage"
    t "$name: libcsock.so -> $SONAME -> $REALNAME" \
        same_lines "$SONAME $REALNAME" links "$lib"
    t "$name: the installed library's SONAME is $SONAME" \
        same_lines "$SONAME" soname_of "$lib/$REALNAME"
    t "$name: installed files are the built ones" eval \
        'cmp include/csock.h "$stage$includedir/csock.h" &&
         cmp "$BUILD/lib/$REALNAME" "$lib/$REALNAME" &&
         cmp "$BUILD/lib/libcsock.a" "$lib/libcsock.a"'
    t "$name: no installed text file mentions the staging root" \
        pc_clean "$pcfile" "$stage$pkgconfigdir/csock-static.pc" "$stage$cmakedir"/*.cmake
    t "$name: csock.pc writes directories under PREFIX as \${prefix}/..." same_lines \
        "$(printf '%s\n' "prefix=$prefix" "libdir=$(under_prefix "$libdir")" \
            "includedir=$(under_prefix "$includedir")")" \
        sed -n '/^\(prefix\|libdir\|includedir\)=/p' "$pcfile"
    PC_PATH=$stage$pkgconfigdir
    PC_SYSROOT=
    PC_DEFINE=
    t "$name: pkg-config --modversion is $VERSION" same_lines "$VERSION" pc --modversion
    t "$name: pkg-config --static adds rustc's native-static-libs ($native_libs) to -lcsock" \
        same_lines "$(echo -lcsock $native_libs)" eval 'echo $(pc --static --libs-only-l)'
    t "$name: csock-static.pc links libcsock.a by name, then rustc's native-static-libs" \
        same_lines "$(echo -l:libcsock.a $native_libs)" \
        eval 'echo $(PC_MODULE=csock-static pc --libs-only-l)'
    t "$name: csock.pc names prefix $prefix, libdir $libdir, includedir $includedir" \
        same_lines "$prefix $libdir $includedir" \
        eval 'echo $(pc --variable=prefix) $(pc --variable=libdir) $(pc --variable=includedir)'

    if [ "$name" = default ]; then
        # Relocated with --define-variable: every directory is under ${prefix}.
        PC_DEFINE=--define-variable=prefix=$stage$prefix
        t "$name: libdir and includedir follow --define-variable=prefix" \
            same_lines "$lib $stage$includedir" \
            eval 'echo $(pc --variable=libdir $PC_DEFINE) $(pc --variable=includedir $PC_DEFINE)'
    else
        # Relocated with a sysroot: directories outside PREFIX are written in full.
        PC_SYSROOT=$stage
    fi

    t "$name: the consumer builds with pkg-config --cflags --libs" build_shared "$work/$name-shared"
    t "$name: the shared consumer needs $SONAME" needs "$work/$name-shared" "$SONAME"
    t "$name: ldd resolves $SONAME from the stage" resolves_from "$work/$name-shared" "$lib"
    t "$name: the shared consumer runs and prints csock_version=$VERSION" \
        runs "$work/$name-shared" "$lib"

    t "$name: the consumer builds with csock-static.pc" build_static "$work/$name-static"
    t "$name: the static consumer does not need libcsock.so" needs_no_csock "$work/$name-static"
    t "$name: the static consumer runs and prints csock_version=$VERSION" runs "$work/$name-static"

    t "$name: cc -static with pkg-config --static --libs csock" \
        build_all_static "$work/$name-all-static"
    t "$name: that program is fully static" is_static "$work/$name-all-static"
    t "$name: it runs and prints csock_version=$VERSION" runs "$work/$name-all-static"

    t "$name: a CMake project builds with find_package(csock ${VERSION%.*}): csock::csock, csock::csock_static" \
        build_cmake "$work/$name-cmake" "${VERSION%.*}"
    t "$name: the CMake shared consumer needs $SONAME" needs "$work/$name-cmake/consumer_shared" "$SONAME"
    t "$name: it runs and prints csock_version=$VERSION" \
        runs "$work/$name-cmake/consumer_shared" "$lib"
    t "$name: the CMake static consumer does not need libcsock.so" \
        needs_no_csock "$work/$name-cmake/consumer_static"
    t "$name: it runs and prints csock_version=$VERSION" runs "$work/$name-cmake/consumer_static"
    t "$name: find_package(csock $VERSION) EXACT-compatible, $MAJOR and ${VERSION%.*} found" eval \
        'cmake_finds "$VERSION" "found $VERSION" && cmake_finds "$MAJOR" "found $VERSION" &&
         cmake_finds "${VERSION%.*}" "found $VERSION"'
    t "$name: find_package(csock) refuses a newer minor and the next major" eval \
        'cmake_finds "$MAJOR.$((MINOR + 1))" "not found" &&
         cmake_finds "$((MAJOR + 1)).0" "not found"'
    t "$name: find_package(csock $MAJOR.0) finds $VERSION: a later minor replaces an earlier one" \
        cmake_finds "$MAJOR.0" "found $VERSION"

    for example in examples/*.c; do
        example=${example#examples/}
        example=${example%.c}
        t "$name: examples/$example.c builds as a copy with cc \$(pkg-config --cflags --libs csock)" \
            build_example "$example"
    done

    if [ -n "$pages" ]; then
        t "$name: the man pages render clean (groff -ww -z -man)" man_clean "$stage$mandir/man3"
        t "$name: man finds csock(3) and csock_open(3) in the stage" eval \
            'MANPATH=$stage$mandir man -w 3 csock csock_open'
    else
        echo "# $name: no man pages were built (doxygen missing at build time): not checked"
    fi

    touch "$lib/libother.so.1" "$stage$includedir/other.h"
    t "$name: make uninstall" submake uninstall "$@"
    t "$name: uninstall removes exactly what install put there" \
        same_lines "$(printf '%s\n' "${includedir#/}/other.h" "${libdir#/}/libother.so.1" |
            LC_ALL=C sort)" files_under "$stage"
}

layout default /usr/local /usr/local/lib /usr/local/include /usr/local/lib/pkgconfig
layout moved /opt/csock /opt/csock/lib64 /opt/include/csock-$MAJOR /opt/pkgconfig

echo "1..$n"
