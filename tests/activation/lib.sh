# Shared by tests/activation/*.t (sourced, not run by prove): TAP output, a temporary folder
# removed at exit, and programs started under the real systemd-socket-activate.
#
# CSOCK_BUILD is the build folder (default: build), relative to the repository's root.

set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${CSOCK_BUILD:-build}
case $build in /*) ;; *) build=$root/$build ;; esac
sockcat=$build/c-tests/helpers/sockcat

tap_n=0
tap_failed=0

# ok STATUS NAME: passes when STATUS is 0.
ok() {
    tap_n=$((tap_n + 1))
    if [ "$1" -eq 0 ]; then
        echo "ok $tap_n - $2"
    else
        echo "not ok $tap_n - $2"
        tap_failed=$((tap_failed + 1))
    fi
}

# is GOT WANT NAME
is() {
    [ "$1" = "$2" ]
    ok $? "$3"
    [ "$1" = "$2" ] || printf '#          got: %s\n#     expected: %s\n' "'$1'" "'$2'"
}

diag() { printf '# %s\n' "$@"; }

done_testing() {
    echo "1..$tap_n"
    [ "$tap_failed" -eq 0 ]
}

bail() {
    echo "Bail out! $*"
    exit 1
}

# The value of KEY in a report of "key=value" lines.
field() { printf '%s\n' "$1" | sed -n "s/^$2=//p" | head -n 1; }

# need PROGRAM...: bails out unless each is built.
need() {
    local program
    for program in "$@"; do
        [ -x "$program" ] || bail "$program is not built (make activation-test builds it)"
    done
}

need "$sockcat"
command -v systemd-socket-activate >/dev/null ||
    bail "systemd-socket-activate not found: install it (Debian's systemd package; .ci/run does)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/csock-activation.XXXXXX") || bail "mktemp -d failed"
started=()

cleanup() {
    local pid
    for pid in "${started[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null
            wait "$pid" 2>/dev/null
        fi
    done
    rm -rf "$tmp"
}
trap cleanup EXIT

# wait_for PID PATH: waits until PATH is a socket, or PID has exited (returns 1). Bounded.
wait_for() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [ -S "$2" ] && return 0
        kill -0 "$1" 2>/dev/null || return 1
        sleep 0.01
    done
    return 1
}

# activate LOG UNIXPATH [--fdname=...] -- PROGRAM ARGS...
# Starts PROGRAM under systemd-socket-activate listening on 127.0.0.1:$port then UNIXPATH (so
# descriptors 3 and 4), on a free port: one the kernel chose for a socket just closed, tried again
# with another if something took it meanwhile. Sets $port and $pid (which, once a connection
# starts it, is PROGRAM's: systemd-socket-activate execs it in place).
activate() {
    local log=$1 unix=$2 attempt
    shift 2
    local options=()
    while [ "$1" != "--" ]; do
        options+=("$1")
        shift
    done
    shift
    for ((attempt = 0; attempt < 20; attempt++)); do
        port=$("$sockcat" free-port) || bail "no free port on 127.0.0.1"
        rm -f "$unix"
        systemd-socket-activate -l "127.0.0.1:$port" -l "$unix" "${options[@]}" "$@" \
            >"$log" 2>&1 &
        pid=$!
        started+=("$pid")
        wait_for "$pid" "$unix" && return 0
        wait "$pid" 2>/dev/null
        grep -q "in use" "$log" || { diag "$(cat "$log")"; bail "systemd-socket-activate failed"; }
    done
    bail "no free port after $attempt attempts"
}

# reap PID: waits for PID to exit (killed with SIGKILL if it has not after about ten seconds)
# and sets $status to its exit status. Not in a subshell: only this shell can wait for PID.
reap() {
    local i
    for ((i = 0; i < 1000; i++)); do
        kill -0 "$1" 2>/dev/null || break
        sleep 0.01
    done
    kill -0 "$1" 2>/dev/null && kill -KILL "$1"
    wait "$1" 2>/dev/null
    status=$?
}
