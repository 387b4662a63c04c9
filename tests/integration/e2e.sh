#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# End to end: trunksim (carrier + PBX, real libpri) ⇄ trunkrecd ⇄ recordings.
#
#   e2e.sh BUILDDIR [trunksim options…]
#
# Checks, per call placed by trunksim:
#   - pass-through bit-exact both ways (trunksim's own check: exit status);
#   - exactly one recording, COMPLETE (trunkrec verify);
#   - it exports to Ogg Opus that opusinfo accepts, and to WAV;
#   - its duration matches the connected time within 40 ms;
#   - left carries this call's carrier-side tone, right its PBX-side tone.
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

# One line per recording: calling number → file.
: > "$tmp/recordings.tsv"
for f in "$tmp"/rec/*.trec; do
	[ -e "$f" ] || break
	calling=$("$trunkrec" meta "$f" --key "$tmp/recipient.sec" | sed -n 's/^calling=//p')
	printf '%s\t%s\n' "$calling" "$f" >> "$tmp/recordings.tsv"
done
ls "$tmp"/rec/*.partial >/dev/null 2>&1 && fail "unfinished .partial files left: $(ls "$tmp"/rec/*.partial)"

calls=0
# report.tsv columns (docs/synthetic-trunk.md): id dir pair a_ts b_ts calling called result
# connect_tick hangup_tick hangup_by freq_carrier freq_pbx …
while IFS='	' read -r id dir pair a_ts b_ts calling called result connect hangup by fc fp rest; do
	[ "$id" = id ] && continue
	case "$id" in \#*) continue ;; esac
	calls=$((calls + 1))
	[ "$result" = ok ] || { fail "call $id: trunksim says $result"; continue; }
	n=$(awk -F'\t' -v c="$calling" '$1 == c' "$tmp/recordings.tsv" | wc -l)
	[ "$n" -eq 1 ] || { fail "call $id ($dir): $n recordings, expected 1"; continue; }
	file=$(awk -F'\t' -v c="$calling" '$1 == c { print $2 }' "$tmp/recordings.tsv")
	if ! "$trunkrec" verify --key "$tmp/recipient.sec" "$file" > "$tmp/verify.out"; then
		fail "call $id: $(cat "$tmp/verify.out")"
		continue
	fi
	grep -q COMPLETE "$tmp/verify.out" || { fail "call $id: not COMPLETE: $(cat "$tmp/verify.out")"; continue; }
	"$trunkrec" export "$file" --key "$tmp/recipient.sec" -o "$tmp/call.opus" 2>/dev/null ||
		{ fail "call $id: export to Ogg Opus failed"; continue; }
	opusinfo "$tmp/call.opus" > /dev/null 2>&1 || fail "call $id: opusinfo rejects the export"
	"$trunkrec" export "$file" --key "$tmp/recipient.sec" -o "$tmp/call.wav" 2>/dev/null ||
		{ fail "call $id: export to WAV failed"; continue; }
	"$toneprobe" "$tmp/call.wav" --grid 312.5:25:120 > "$tmp/probe.out"
	left=$(awk '/^ch=0/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["best"], v["margin_db"], v["samples"] }' "$tmp/probe.out")
	right=$(awk '/^ch=1/ { for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } print v["best"], v["margin_db"] }' "$tmp/probe.out")
	set -- $left
	lbest=$1 lmargin=$2 samples=$3
	set -- $right
	rbest=$1 rmargin=$2
	awk -v a="$lbest" -v b="$fc" 'BEGIN { exit !(a + 0 == b + 0) }' ||
		fail "call $id: left channel is ${lbest} Hz, expected the carrier's ${fc} Hz"
	awk -v a="$rbest" -v b="$fp" 'BEGIN { exit !(a + 0 == b + 0) }' ||
		fail "call $id: right channel is ${rbest} Hz, expected the PBX's ${fp} Hz"
	awk -v m="$lmargin" -v n="$rmargin" 'BEGIN { exit !(m >= 10 && n >= 10) }' ||
		fail "call $id: tones not clear (margins $lmargin dB, $rmargin dB)"
	# Connected time: ticks of 20 ms = 160 samples at 8 kHz; 40 ms = 320 samples.
	awk -v s="$samples" -v c="$connect" -v h="$hangup" \
		'BEGIN { d = s - (h - c) * 160; if (d < 0) d = -d; exit !(d <= 320) }' ||
		fail "call $id: recording has $samples samples, connected $(( (hangup - connect) * 160 )) (more than 40 ms apart)"
done < "$tmp/report.tsv"

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
