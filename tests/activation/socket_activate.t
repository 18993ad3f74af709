#!/usr/bin/env bash
# csock_listen_fds with the real peer: systemd-socket-activate listens on 127.0.0.1:PORT (fd 3)
# and a unix socket in a temporary folder (fd 4), and on the first connection execs
# helpers/activated_report, which receives both with CSOCK_LISTEN_UNSET_ENV, accepts that
# connection and answers it with its report (see c-tests/helpers/activated_report.c).

. "$(dirname "$0")/lib.sh"
report_helper=$build/c-tests/helpers/activated_report
need "$report_helper"

# Linux's values, as the report prints numbers.
AF_UNIX=1 AF_INET=2 SOCK_STREAM=1 IPPROTO_TCP=6

# --- Named listeners; the start is triggered through the TCP listener. ---------------------
activate "$tmp/named.log" "$tmp/named.sock" --fdname=web:local -- "$report_helper" serve
report=$("$sockcat" "127.0.0.1:$port")
ok $? "connecting to 127.0.0.1:$port starts the program and gets its report"
reap "$pid"
is "$status" 0 "the activated program exits 0"

is "$(field "$report" env_before.LISTEN_PID)" "$(field "$report" pid)" \
    "LISTEN_PID is the program's own pid (systemd-socket-activate execs it)"
is "$(field "$report" env_before.LISTEN_FDS)" 2 "LISTEN_FDS=2"
is "$(field "$report" env_before.LISTEN_FDNAMES)" web:local "LISTEN_FDNAMES=web:local"
is "$(field "$report" ret)" 2 "csock_listen_fds returns 2"
is "$(field "$report" sock0)" \
    "fd=3 family=$AF_INET type=$SOCK_STREAM proto=$IPPROTO_TCP listening=1 cloexec=1 name=web" \
    "fd 3: the TCP listener, detected, close-on-exec, named web"
is "$(field "$report" sock1)" \
    "fd=4 family=$AF_UNIX type=$SOCK_STREAM proto=0 listening=1 cloexec=1 name=local" \
    "fd 4: the unix listener, detected, close-on-exec, named local"
is "$(field "$report" cloexec_before)" 00 "both were inherited without close-on-exec"
is "$(field "$report" cloexec_after)" 11 "both are close-on-exec afterwards"
is "$(field "$report" nonblock_after)" "$(field "$report" nonblock_before)" \
    "blocking modes unchanged"
is "$(field "$report" fds_after)" "$(field "$report" fds_before)" "no descriptor opened or closed"
is "$(field "$report" audits)" 2 "two socket.__new__ audit events"
is "$(field "$report" audit0)" \
    "socket.__new__ fd=3 family=$AF_INET type=$SOCK_STREAM proto=$IPPROTO_TCP" "audit of fd 3"
is "$(field "$report" audit1)" "socket.__new__ fd=4 family=$AF_UNIX type=$SOCK_STREAM proto=0" \
    "audit of fd 4"
for var in LISTEN_PID LISTEN_FDS LISTEN_FDNAMES LISTEN_PIDFDID; do
    is "$(field "$report" "env.$var")" unset "$var removed from the environment"
done
is "$(field "$report" second)" 0 "a second call returns 0"
is "$(field "$report" accepted_on)" web "the connection that started it was pending on web"
is "$(field "$report" conn_cloexec)" 1 "the accepted connection is close-on-exec"

# --- No --fdname; the start is triggered through the unix listener. ------------------------
activate "$tmp/unnamed.log" "$tmp/unnamed.sock" -- "$report_helper" serve
report=$("$sockcat" "unix:$tmp/unnamed.sock")
ok $? "connecting to the unix socket starts the program and gets its report"
reap "$pid"
is "$status" 0 "the activated program exits 0"
is "$(field "$report" env_before.LISTEN_FDNAMES)" unset "no LISTEN_FDNAMES without --fdname"
is "$(field "$report" ret)" 2 "csock_listen_fds returns 2"
is "$(field "$report" sock0)" \
    "fd=3 family=$AF_INET type=$SOCK_STREAM proto=$IPPROTO_TCP listening=1 cloexec=1 name=unknown" \
    "fd 3 named unknown"
is "$(field "$report" sock1)" \
    "fd=4 family=$AF_UNIX type=$SOCK_STREAM proto=0 listening=1 cloexec=1 name=unknown" \
    "fd 4 named unknown"
is "$(field "$report" accepted_on)" unknown "accepted on the unix listener"
is "$(field "$report" env.LISTEN_PID)" unset "LISTEN_PID removed"

# --- Three names for two descriptors: systemd-socket-activate passes them anyway. ----------
activate "$tmp/mismatch.log" "$tmp/mismatch.sock" --fdname=a:b:c -- "$report_helper" serve
answer=$("$sockcat" "unix:$tmp/mismatch.sock" 2>/dev/null)
reap "$pid"
is "$status" 1 "the program finds nothing to serve and exits 1"
is "$answer" "" "the connection is closed unanswered"
log=$(cat "$tmp/mismatch.log")
is "$(field "$log" env_before.LISTEN_FDNAMES)" a:b:c "LISTEN_FDNAMES=a:b:c for LISTEN_FDS=2"
is "$(field "$log" ret)" -22 "csock_listen_fds returns -EINVAL"
is "$(field "$log" cloexec_after)" 00 "no descriptor changed"
is "$(field "$log" audits)" 0 "nothing audited"
is "$(field "$log" env.LISTEN_FDS)" unset "the variables are removed all the same"

done_testing
