#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# SIGHUP: a good configuration applies its rules to new calls; a bad one is
# refused with a message and the running one stays. Three batches of calls:
#   1. rule upstream           → recorded
#   2. bad file + SIGHUP       → refused; still recorded under the old rules
#   3. rule none + SIGHUP      → reloaded; new calls not recorded
#
#   reload.sh BUILDDIR
set -eu

. "$(dirname "$0")/lib.sh"
it_begin reload "$1"

mkdir -p "$tmp/sim" "$tmp/rec"
"$build/tools/trunkrec" keygen "$tmp/r.pub" "$tmp/r.sec" >/dev/null
config() {
	cat > "$tmp/trunkrecd.conf" <<CONF
[general]
recordings = $tmp/rec
recipient_key = $tmp/r.pub
control_socket = $tmp/control
[rule default]
announcement = $1
[pair p1]
port_a = $tmp/sim/a1
port_b = $tmp/sim/b1
CONF
}
batch() {
	"$trunksim" --dir "$tmp/sim" --pairs 1 --calls 3 --concurrency 3 --hold 1500 --seed "$1" \
		--report "$tmp/report$1.tsv" > "$tmp/trunksim$1.out" 2>&1 || fail "batch $1: trunksim failed"
	it_wait_closed "$tmp/rec"
	# Every RELEASE answered: a leg cleared twice left the far end waiting for T308.
	grep -q '^trunksim: clearing unanswered=0$' "$tmp/trunksim$1.out" ||
		fail "batch $1: $(grep 'clearing unanswered' "$tmp/trunksim$1.out")"
}
recordings() { ls "$tmp"/rec/*.trec 2>/dev/null | wc -l; }

config upstream
"$build/tools/trunkrecd" -c "$tmp/trunkrecd.conf" > "$tmp/trunkrecd.out" 2> "$tmp/trunkrecd.err" &
rec_pid=$!
batch 1
[ "$(recordings)" -eq 3 ] || fail "batch 1: $(recordings) recordings, expected 3"

printf '[general]\nrecordings = %s\nbogus_key = 1\n' "$tmp/rec" > "$tmp/trunkrecd.conf"
kill -HUP "$rec_pid"
sleep 1
grep -q 'reload refused: .*bogus_key' "$tmp/trunkrecd.err" || fail "the bad file was not refused with its reason"
batch 2
[ "$(recordings)" -eq 6 ] || fail "batch 2: $(recordings) recordings, expected 6 (old rules kept)"

config none
kill -HUP "$rec_pid"
sleep 1
grep -q 'configuration reloaded' "$tmp/trunkrecd.err" || fail "the good file was not reloaded"
batch 3
[ "$(recordings)" -eq 6 ] || fail "batch 3: $(recordings) recordings, expected still 6 (announcement = none)"

kill -TERM "$rec_pid" 2>/dev/null || fail "trunkrecd died during the run"
wait "$rec_pid" || fail "trunkrecd exit status $?"
rec_pid=""
echo "reload: $(recordings) recordings over 3 batches; $failures failures"
[ "$failures" -eq 0 ] || { tail -15 "$tmp/trunkrecd.err"; exit 1; }
