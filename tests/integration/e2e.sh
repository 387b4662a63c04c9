#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end: trunksim (carrier + PBX, real libpri) ⇄ trunkrecd ⇄ recordings.
#
#   e2e.sh BUILDDIR [trunksim options…]
#
# Checks: pass-through bit-exact both ways (trunksim's own check: exit status);
# per call, one COMPLETE recording with the right audio (checkcalls.sh); the
# operators' figures agree (trunkrec stats).
# Keys are made at test time in a temporary directory.
set -eu

build=$(cd "$1" && pwd)
shift
tmp=$(mktemp -d /tmp/trunkrec-e2e.XXXXXX)
sim_pid=""
rec_pid=""
cleanup() {
	[ -n "$sim_pid" ] && kill "$sim_pid" 2>/dev/null || true
	[ -n "$rec_pid" ] && kill "$rec_pid" 2>/dev/null || true
	wait 2>/dev/null || true
	if [ "${KEEP:-0}" = 1 ]; then echo "e2e: kept $tmp"; else rm -rf "$tmp"; fi
}
trap cleanup EXIT INT TERM

fail() {
	echo "e2e: FAIL: $*"
	failures=$((failures + 1))
}
failures=0

trunkrec=$build/tools/trunkrec
trunkrecd=$build/tools/trunkrecd
# The card is the clock: a sanitized build of it may run late (tools/test --sanitize passes TRUNKSIM).
trunksim=${TRUNKSIM:-$build/tools/trunksim}
toneprobe=$build/tests/integration/toneprobe

"$trunkrec" keygen "$tmp/recipient.pub" "$tmp/recipient.sec" >/dev/null
mkdir -p "$tmp/sim" "$tmp/rec"

pairs=2
for arg in "$@"; do
	case "$arg" in --pairs=*) pairs=${arg#--pairs=} ;; esac
done
{
	printf '[general]\nrecordings = %s\nrecipient_key = %s\nworkers = 2\ncontrol_socket = %s\n' \
		"$tmp/rec" "$tmp/recipient.pub" "$tmp/control"
	# This test checks the relay and the recording pipeline: every line is
	# announced upstream (by the carrier), so recording runs from answer.
	printf '[rule default]\nannouncement = upstream\n'
	i=1
	while [ $i -le "$pairs" ]; do
		printf '[pair p%d]\nport_a = %s/a%d\nport_b = %s/b%d\n' $i "$tmp/sim" $i "$tmp/sim" $i
		i=$((i + 1))
	done
} > "$tmp/trunkrecd.conf"

"$trunksim" --dir "$tmp/sim" --pairs "$pairs" --report "$tmp/report.tsv" "$@" > "$tmp/trunksim.out" 2> "$tmp/trunksim.err" &
sim_pid=$!
"$trunkrecd" -c "$tmp/trunkrecd.conf" > "$tmp/trunkrecd.out" 2> "$tmp/trunkrecd.err" &
rec_pid=$!

sim_status=0
wait "$sim_pid" || sim_status=$?
sim_pid=""
# The operators' view while the daemon still runs: it must agree with what
# trunksim placed and with the files on disk (trunkrec stats, issue 5).
sleep 0.5
"$trunkrec" stats --json --socket "$tmp/control" > "$tmp/stats.json" || fail "trunkrec stats --json failed"
kill -TERM "$rec_pid" 2>/dev/null || fail "trunkrecd died during the run"
rec_status=0
wait "$rec_pid" || rec_status=$?
rec_pid=""
cat "$tmp/trunksim.out" "$tmp/trunkrecd.out"
[ "$sim_status" -eq 0 ] || { fail "trunksim exit $sim_status"; tail -20 "$tmp/trunksim.err"; }
[ "$rec_status" -eq 0 ] || { fail "trunkrecd exit $rec_status"; tail -20 "$tmp/trunkrecd.err"; }
# Every call was over when trunksim finished: none may linger in trunkrecd.
grep -q 'up_at_shutdown=0$' "$tmp/trunkrecd.out" || fail "calls left up in trunkrecd: $(grep up_at_shutdown "$tmp/trunkrecd.out")"
grep -q 'dropped=0$' "$tmp/trunkrecd.out" || fail "recording frames dropped: $(grep dropped= "$tmp/trunkrecd.out")"

# Every call of the report against its recording (checkcalls.sh says what).
calls=0
if ! TRUNKREC=$trunkrec TONEPROBE=$toneprobe "$(dirname "$0")/checkcalls.sh" "$tmp" > "$tmp/check.out"; then
	failures=$((failures + 1))
fi
cat "$tmp/check.out"
calls=$(sed -n 's/^checkcalls: \([0-9]*\) calls checked.*/\1/p' "$tmp/check.out")
calls=${calls:-0}
recs=$(wc -l < "$tmp/recordings.tsv")
json_figure() { sed -n "s/.*\"$1\":\([0-9]*\).*/\1/p" "$tmp/stats.json"; }
placed=$(awk -F'\t' '$1 != "id" && $1 !~ /^#/ && $8 == "ok"' "$tmp/report.tsv" | wc -l)
relayed=$(( $(json_figure calls_in) + $(json_figure calls_out) ))
[ "$relayed" -eq "$placed" ] || fail "stats: $relayed calls relayed, trunksim placed $placed"
[ "$(json_figure recordings_complete)" -eq "$recs" ] || fail "stats: $(json_figure recordings_complete) complete, $recs files"
[ "$(json_figure calls_active)" -eq 0 ] || fail "stats: calls_active $(json_figure calls_active) after the run"
[ "$recs" -eq "$calls" ] || fail "$recs recordings for $calls calls"
[ "$calls" -gt 0 ] || fail "no calls in the report"
echo "e2e: $calls calls checked, $recs recordings, $failures failures"
if [ "$failures" -ne 0 ]; then
	echo "--- trunkrecd stderr (tail)"; tail -30 "$tmp/trunkrecd.err"
	echo "--- trunksim stderr (tail)"; tail -30 "$tmp/trunksim.err"
	exit 1
fi
