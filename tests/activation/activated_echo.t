#!/usr/bin/env bash
# examples/activated_echo both ways: under systemd-socket-activate (a TCP and a unix listener,
# taken with csock_listen_fds) and started by hand (its own listener from csock_open). Each
# time lines are echoed through it, and it exits 0 on SIGTERM / SIGINT.

. "$(dirname "$0")/lib.sh"
echo_server=$build/examples/activated_echo
need "$echo_server"

# --- Socket-activated. ---------------------------------------------------------------------
unix=$tmp/echo.sock
activate "$tmp/activated.log" "$unix" --fdname=tcp:local -- "$echo_server"
answer=$("$sockcat" "127.0.0.1:$port" "hello over tcp")
ok $? "the first connection starts the server"
is "$answer" "hello over tcp" "a line echoed over the TCP listener it was given"
answer=$("$sockcat" "unix:$unix" $'first line\nsecond line')
is "$answer" $'first line\nsecond line' "two lines echoed over the unix listener it was given"
grep -qxF "listening on 127.0.0.1:$port (tcp)" "$tmp/activated.log"
ok $? "it serves fd 3 as 127.0.0.1:$port, named tcp"
grep -qxF "listening on $unix (local)" "$tmp/activated.log"
ok $? "it serves fd 4 as the unix socket, named local"
kill -TERM "$pid"
reap "$pid"
is "$status" 0 "SIGTERM: exits 0"
grep -qxF "activated_echo: stopping on signal 15" "$tmp/activated.log"
ok $? "SIGTERM: it says it is stopping"

# --- Started by hand: port 0, the kernel picks one and the server prints it. ----------------
"$echo_server" 127.0.0.1 0 >"$tmp/own.log" 2>&1 &
pid=$!
started+=("$pid")
line=
for ((i = 0; i < 1000; i++)); do
    line=$(grep -m1 '^listening on ' "$tmp/own.log")
    [ -n "$line" ] || ! kill -0 "$pid" 2>/dev/null && break
    sleep 0.01
done
own_port=$(printf '%s\n' "$line" | sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\) (own)$/\1/p')
[ -n "$own_port" ]
ok $? "without LISTEN_FDS it opens its own listener ($line)"
answer=$("$sockcat" "127.0.0.1:$own_port" "hello standalone")
is "$answer" "hello standalone" "a line echoed over its own listener"
kill -INT "$pid"
reap "$pid"
is "$status" 0 "SIGINT: exits 0"
grep -qxF "activated_echo: stopping on signal 2" "$tmp/own.log"
ok $? "SIGINT: it says it is stopping"

done_testing
