# SPDX-License-Identifier: GPL-2.0-or-later
# What every integration script begins with. Sourced after `set -eu`:
#
#   . "$(dirname "$0")/lib.sh"
#   it_begin NAME BUILDDIR
#
# gives
#   $build      the build directory, absolute
#   $tmp        a scratch directory, removed at exit (KEEP=1 keeps it and says where)
#   $trunksim   the card: $TRUNKSIM when set (tools/test --sanitize passes the plain
#               build's, so the sanitizers slow the code under test, not its clock)
#   fail MSG    prints "NAME: FAIL: MSG" and counts it in $failures
# At exit, the processes whose pids are in $sim_pid and $rec_pid are stopped
# (trunkrecd with $rec_kill_signal, default TERM), then it_on_exit runs if the
# script defines it (e.g. to unmount), then $tmp goes.

it_begin() {
	it_name=$1
	build=$(cd "$2" && pwd)
	tmp=$(mktemp -d "/tmp/trunkrec-$1.XXXXXX")
	trunksim=${TRUNKSIM:-$build/tools/trunksim}
	failures=0
	sim_pid=""
	rec_pid=""
	rec_kill_signal=${rec_kill_signal:-TERM}
	trap it_cleanup EXIT INT TERM
}

it_cleanup() {
	[ -n "$rec_pid" ] && kill -s "$rec_kill_signal" "$rec_pid" 2>/dev/null || true
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	command -v it_on_exit >/dev/null 2>&1 && it_on_exit
	if [ "${KEEP:-0}" = 1 ]; then echo "$it_name: kept $tmp"; else rm -rf "$tmp"; fi
}

fail() {
	echo "$it_name: FAIL: $*"
	failures=$((failures + 1))
}

# it_wait_active N SOCKET: until trunkrecd says N calls are connected (at most 20 s); prints how many are.
it_wait_active() {
	it_active=0
	for _ in $(seq 1 100); do
		it_active=$("$build/tools/trunkrec" stats --json --socket "$2" 2>/dev/null |
			sed -n 's/.*"calls_active":\([0-9]*\).*/\1/p')
		[ "${it_active:-0}" -ge "$1" ] && break
		sleep 0.2
	done
	echo "${it_active:-0}"
}

# it_wait_closed DIR: until no recording in DIR is still open (.partial), at most 10 s. The
# worker closes a recording after the call has ended (FINAL record, fdatasync, rename), so
# trunksim can exit before the last file is in place.
it_wait_closed() {
	for _ in $(seq 1 50); do
		ls "$1"/*.partial > /dev/null 2>&1 || return 0
		sleep 0.2
	done
}

# it_config PORTDIR NPAIRS [EXTRA_GENERAL_LINES]: a recipient key pair ($tmp/r.pub,
# $tmp/r.sec) and $tmp/trunkrecd.conf for trunkrecd with recordings in $tmp/rec, the
# control socket $tmp/control, every call recorded from answer (announcement upstream)
# and NPAIRS pairs on PORTDIR/a1,b1 … (as trunksim --dir PORTDIR makes them).
it_config() {
	mkdir -p "$1" "$tmp/rec"
	"$build/tools/trunkrec" keygen "$tmp/r.pub" "$tmp/r.sec" >/dev/null
	{
		printf '[general]\nrecordings = %s\nrecipient_key = %s\ncontrol_socket = %s\n' \
			"$tmp/rec" "$tmp/r.pub" "$tmp/control"
		[ -n "${3:-}" ] && printf '%s\n' "$3"
		printf '[rule default]\nannouncement = upstream\n'
		for i in $(seq 1 "$2"); do
			printf '[pair p%d]\nport_a = %s/a%d\nport_b = %s/b%d\n' "$i" "$1" "$i" "$1" "$i"
		done
	} > "$tmp/trunkrecd.conf"
}

# it_start_trunkrecd: start it on $tmp/trunkrecd.conf, output in $tmp/trunkrecd.{out,err}; sets rec_pid.
it_start_trunkrecd() {
	"$build/tools/trunkrecd" -c "$tmp/trunkrecd.conf" > "$tmp/trunkrecd.out" 2> "$tmp/trunkrecd.err" &
	rec_pid=$!
}
