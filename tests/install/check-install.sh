#!/bin/sh
# A staged `make install`, used the way a packager and a C programmer use it (TAP, for prove).
#
# Installs into a temporary DESTDIR twice: with the default layout (PREFIX=/usr/local), then with
# every directory moved. Each time: exactly the expected files, the soname links, a csock.pc that
# never mentions the staging root, a consumer (tests/install/consumer.c) built through pkg-config
# and run, shared and static; then `make uninstall` removes exactly what was installed.
#
# Run from the top of the tree by `make check-install`, which sets MAKE, CC, PKG_CONFIG, BUILD,
# VERSION and NATIVE_LIBS (the file holding rustc's native-static-libs). The temporary folder is
# under $BUILD and removed on exit.

set -u

MAKE=${MAKE:-make}
CC=${CC:-cc}
PKG_CONFIG=${PKG_CONFIG:-pkg-config}
BUILD=${BUILD:-build}
VERSION=${VERSION:?VERSION is the version in Cargo.toml}
NATIVE_LIBS=${NATIVE_LIBS:-$BUILD/pkgconfig/native-static-libs}
MAJOR=${VERSION%%.*}
SONAME=libcsock.so.$MAJOR
REALNAME=libcsock.so.$VERSION
CONSUMER_CFLAGS="-std=c99 -D_POSIX_C_SOURCE=200809L -pedantic -Wall -Wextra -Werror"

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
# so the defaults under test are the Makefile's own. The .pc is generated into $work.
submake() {
    MAKEFLAGS= MFLAGS= $MAKE -s --no-print-directory PC_FILE="$work/csock.pc" "$@"
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

pc_clean() { ! grep -nF "$work" "$1"; }

# pc ARGS...: pkg-config seeing only the staged csock.pc, through PC_PATH and PC_SYSROOT.
pc() {
    PKG_CONFIG_LIBDIR=$PC_PATH PKG_CONFIG_PATH= PKG_CONFIG_SYSROOT_DIR=$PC_SYSROOT \
        $PKG_CONFIG "$@" csock
}

build_shared() {
    cflags=$(pc --cflags $PC_DEFINE) && libs=$(pc --libs $PC_DEFINE) &&
        echo "$CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c $libs" &&
        $CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c -o "$1" $libs
}

# libcsock.a sits next to libcsock.so, so -lcsock is wrapped in -Bstatic/-Bdynamic; the rest of
# `pkg-config --static --libs` (Libs.private, rustc's native-static-libs) stays dynamic.
build_static() {
    cflags=$(pc --cflags $PC_DEFINE) && libs=$(pc --static --libs $PC_DEFINE) &&
        libs=$(echo " $libs " | sed 's/ -lcsock / -Wl,-Bstatic -lcsock -Wl,-Bdynamic /') &&
        echo "$CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c $libs" &&
        $CC $CONSUMER_CFLAGS $cflags tests/install/consumer.c -o "$1" $libs
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
    expected=$(printf '%s\n' "${includedir#/}/csock.h" "${libdir#/}/libcsock.a" \
        "${libdir#/}/libcsock.so" "${libdir#/}/$SONAME" "${libdir#/}/$REALNAME" \
        "${pkgconfigdir#/}/csock.pc" | LC_ALL=C sort)

    t "$name: make install DESTDIR=<stage>${*#DESTDIR=$stage}" submake install "$@"
    t "$name: exactly the header, the libraries and csock.pc are installed" \
        same_lines "$expected" files_under "$stage"
    t "$name: libcsock.so -> $SONAME -> $REALNAME" \
        same_lines "$SONAME $REALNAME" links "$lib"
    t "$name: the installed library's SONAME is $SONAME" \
        same_lines "$SONAME" soname_of "$lib/$REALNAME"
    t "$name: installed files are the built ones" eval \
        'cmp include/csock.h "$stage$includedir/csock.h" &&
         cmp "$BUILD/lib/$REALNAME" "$lib/$REALNAME" &&
         cmp "$BUILD/lib/libcsock.a" "$lib/libcsock.a"'
    t "$name: csock.pc never mentions the staging root" pc_clean "$pcfile"
    t "$name: csock.pc writes directories under PREFIX as \${prefix}/..." same_lines \
        "$(printf '%s\n' "prefix=$prefix" "libdir=$(under_prefix "$libdir")" \
            "includedir=$(under_prefix "$includedir")")" \
        sed -n '/^\(prefix\|libdir\|includedir\)=/p' "$pcfile"
    PC_PATH=$stage$pkgconfigdir
    PC_SYSROOT=
    PC_DEFINE=
    t "$name: pkg-config --modversion is $VERSION" same_lines "$VERSION" pc --modversion
    t "$name: pkg-config --static adds rustc's native-static-libs to -lcsock" \
        same_lines "-lcsock $(cat "$NATIVE_LIBS")" eval 'echo $(pc --static --libs-only-l)'
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

    t "$name: the consumer builds with pkg-config --static --libs" build_static "$work/$name-static"
    t "$name: the static consumer does not need libcsock.so" needs_no_csock "$work/$name-static"
    t "$name: the static consumer runs and prints csock_version=$VERSION" runs "$work/$name-static"

    touch "$lib/libother.so.1" "$stage$includedir/other.h"
    t "$name: make uninstall" submake uninstall "$@"
    t "$name: uninstall removes exactly what install put there" \
        same_lines "$(printf '%s\n' "${includedir#/}/other.h" "${libdir#/}/libother.so.1" |
            LC_ALL=C sort)" files_under "$stage"
}

layout default /usr/local /usr/local/lib /usr/local/include /usr/local/lib/pkgconfig
layout moved /opt/csock /opt/csock/lib64 /opt/include/csock-$MAJOR /opt/pkgconfig

echo "1..$n"
