#!/bin/sh
# Out-of-tree, read-only and offline builds (TAP, for prove).
#
# A copy of the source tree, made read-only (a read-only bind mount in a private mount
# namespace where `unshare` allows it, and chmod a-w besides), is built:
#   - offline, with a CARGO_HOME that holds only the crates a Linux build of the library can use
#     (libc, bitflags, cbindgen and cbindgen's own dependencies: no socket2, no windows-*
#     crates), as a distribution builds it;
#   - with BUILD and CARGO_TARGET_DIR outside the tree, through `make -f <src>/Makefile` run from
#     another directory, then through `make -C <src>`;
# and nothing in the copy may change. The library built there must export the same versioned
# symbols as the one in $BUILD/lib. Then a stale header: the read-only build fails and says so,
# a writable one rewrites it.
#
# Run from the top of the tree by `make check-build`, which sets MAKE, CARGO, BUILD and
# VERSION. Its cargo home and target directory are kept under $BUILD/check-build, so a second
# run rebuilds only csock itself.

set -u

MAKE=${MAKE:-make}
CARGO=${CARGO:-cargo}
BUILD=${BUILD:-build}
VERSION=${VERSION:?VERSION is the version in Cargo.toml}
REALNAME=libcsock.so.$VERSION

mkdir -p "$BUILD/check-build" || exit 1
base=$(cd "$BUILD/check-build" && pwd) || exit 1
src=$base/src
log=$base/log
n=0
trap 'chmod -R u+w "$src" 2>/dev/null' EXIT
trap 'exit 1' HUP INT PIPE TERM

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

# The files of the tree: git's list (tracked, and new files not ignored) in a checkout.
tree_files() {
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        git ls-files -z --cached --others --exclude-standard | xargs -0 -n 200 sh -c \
            'for f; do [ -e "$f" ] && printf "%s\n" "$f"; done' sh
    else
        find . -path ./build -prune -o -path ./target -prune -o ! -type d -print | sed 's|^\./||'
    fi
}

copy_tree() {
    chmod -R u+w "$src" 2>/dev/null
    rm -rf "$src" && mkdir -p "$src" || return 1
    tree_files | while IFS= read -r f; do
        mkdir -p "$src/$(dirname "$f")" && cp -p "$f" "$src/$f" || exit 1
    done && chmod -R a-w "$src" && touch "$base/stamp"
}

# A cargo home with the registry index and, of the packages in Cargo.lock, only those a Linux
# build can use: none of the windows-*, r-efi, wasi or hermit crates that Cargo.lock lists for
# other platforms (and, since bench/socket2_peer is a project of its own, no socket2).
cargo_home() {
    home=$base/cargo-home
    from=${CARGO_HOME:-$HOME/.cargo}/registry
    crates=$(awk '/^name = / { gsub(/"/, "", $3); name = $3 } /^version = / && name != "" {
            gsub(/"/, "", $3); print name "-" $3; name = "" }' Cargo.lock |
        grep -v -e '^csock-' -e '^windows' -e '^r-efi-' -e '^wasi' -e '^wit-' -e '^hermit' |
        LC_ALL=C sort -u) || return 1
    echo "$crates"
    rm -rf "$home/registry/cache" "$home/registry/index" && mkdir -p "$home/registry/cache" &&
        cp -R "$from/index" "$home/registry/" || return 1
    for dir in "$from"/cache/*/; do
        reg=$(basename "$dir")
        mkdir -p "$home/registry/cache/$reg" || return 1
        for c in $crates; do
            [ -f "$dir/$c.crate" ] && cp "$dir/$c.crate" "$home/registry/cache/$reg/"
        done
    done
    have=$(ls "$home"/registry/cache/*/ | sed 's/\.crate$//' | LC_ALL=C sort -u)
    [ "$have" = "$crates" ] || { echo "crates missing from the registry cache"; return 1; }
    ! ls "$home"/registry/cache/*/ | grep -e '^socket2-' -e '^windows'
}

# in_ro_tree COMMAND...: runs COMMAND with the copy mounted read-only where a private mount
# namespace is allowed (as root, chmod alone does not stop writes), else as it is.
in_ro_tree() {
    if unshare -rm true 2>/dev/null; then
        unshare -rm sh -c 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" "$0" &&
            ! touch "$0/.probe" 2>/dev/null && exec "$@"' "$src" "$@"
    else
        "$@"
    fi
}

# offline MAKE-ARGS...: make in the read-only tree, offline, with the check's cargo home and
# target directory, free of the calling make's flags.
offline() {
    in_ro_tree env CARGO_HOME="$base/cargo-home" CARGO_NET_OFFLINE=true \
        CARGO_TARGET_DIR="$base/target" MAKEFLAGS= MFLAGS= $MAKE "$@"
}

build_from_elsewhere() {
    mkdir -p "$base/elsewhere" && (cd "$base/elsewhere" && offline -f "$src/Makefile" lib BUILD=out)
}

build_with_C() {
    offline -C "$src" lib BUILD="$base/out-C"
}

unchanged() {
    changed=$(find "$src" -newer "$base/stamp")
    [ -z "$changed" ] || { echo "written into the source tree:"; echo "$changed"; return 1; }
}

versioned_symbols() {
    readelf --dyn-syms -W "$1" | awk '$7 != "UND" && $8 ~ /^csock_/ { print $8 }' |
        LC_ALL=C sort
}

same_symbols() {
    a=$(versioned_symbols "$1") && b=$(versioned_symbols "$BUILD/lib/$REALNAME") &&
        [ -n "$a" ] && [ "$a" = "$b" ] || { echo "$a"; echo "---"; echo "$b"; return 1; }
}

t "a read-only copy of the source tree" copy_tree
t "a cargo home with only the crates the library's build needs (no socket2, no windows-*)" \
    cargo_home
t "make -f <src>/Makefile lib, from another directory, offline, BUILD and CARGO_TARGET_DIR outside" \
    build_from_elsewhere
t "the libraries are in that directory's BUILD (relative to it)" eval \
    'test -f "$base/elsewhere/out/lib/$REALNAME" && test -f "$base/elsewhere/out/lib/libcsock.a" &&
     test -f "$base/target/release/libcsock.a"'
t "it exports the same versioned symbols as $BUILD/lib/$REALNAME" \
    same_symbols "$base/elsewhere/out/lib/$REALNAME"
t "make -C <src> lib BUILD=<dir>, offline" build_with_C
t "the libraries are in that BUILD" test -f "$base/out-C/lib/$REALNAME"
t "nothing in the source tree was written (include/csock.h was current)" unchanged
t "no build/ or target/ appeared in the source tree" eval \
    '! test -e "$src/build" && ! test -e "$src/target"'

# A stale header: in the read-only tree the build fails and says why; in a writable one the
# build rewrites it to what it generates.
stale_header() {
    chmod u+w "$src/include" "$src/include/csock.h" &&
        echo '/* stale */' >>"$src/include/csock.h" &&
        chmod a-w "$src/include" "$src/include/csock.h"
}

fails_saying_stale() {
    ! offline -C "$src" lib BUILD="$base/out-C" && grep -q 'csock.h is stale' "$log"
}

rewrites_it() {
    chmod -R u+w "$src" &&
        env CARGO_HOME="$base/cargo-home" CARGO_NET_OFFLINE=true \
            CARGO_TARGET_DIR="$base/target" MAKEFLAGS= MFLAGS= $MAKE -C "$src" lib \
            BUILD="$base/out-C" &&
        cmp "$src/include/csock.h" include/csock.h
}

t "a stale include/csock.h in the read-only tree" stale_header
if unshare -rm true 2>/dev/null || [ "$(id -u)" != 0 ]; then
    t "the build fails, saying the header is stale and cannot be rewritten" fails_saying_stale
else
    n=$((n + 1))
    echo "ok $n - # SKIP root without a private mount namespace: chmod cannot make the tree read-only"
fi
t "in a writable tree the build rewrites it to the generated header" rewrites_it

echo "1..$n"
