#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# Every call of a trunksim report against trunkrecd's recordings:
#
#   TRUNKREC=… TONEPROBE=… checkcalls.sh DIR [RESULT]
#
# DIR holds report.tsv (trunksim --report), rec/*.trec and recipient.sec.
# For every call whose result matches RESULT, a shell pattern (default ok; '*'
# for calls a test cuts short; a call that does not match fails):
#   - exactly one recording, COMPLETE (trunkrec verify);
#   - it exports to Ogg Opus (that opusinfo accepts, where installed) and to WAV;
#   - its duration matches the connected time within 40 ms (RESULT ok only:
#     a call cut short ends when the line went, not when trunksim hung up);
#   - left carries this call's carrier-side tone, right its PBX-side tone.
# Shared by e2e.sh and the DAHDI VM test (busybox sh runs it there).
# Prints one line per failure and 'checkcalls: N calls checked, R recordings, F failures'.
set -eu
tmp=$1
want=${2:-ok}
failures=0
fail() {
	echo "checkcalls: FAIL: $*"
	failures=$((failures + 1))
}

# One line per recording: calling number → file.
: > "$tmp/recordings.tsv"
for f in "$tmp"/rec/*.trec; do
	[ -e "$f" ] || break
	calling=$("$TRUNKREC" meta "$f" --key "$tmp/recipient.sec" | sed -n 's/^calling=//p')
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
	# shellcheck disable=SC2254
	case "$result" in $want) ;; *) fail "call $id: trunksim says $result, expected $want"; continue ;; esac
	n=$(awk -F'\t' -v c="$calling" '$1 == c' "$tmp/recordings.tsv" | wc -l)
	[ "$n" -eq 1 ] || { fail "call $id ($dir): $n recordings, expected 1"; continue; }
	file=$(awk -F'\t' -v c="$calling" '$1 == c { print $2 }' "$tmp/recordings.tsv")
	if ! "$TRUNKREC" verify --key "$tmp/recipient.sec" "$file" > "$tmp/verify.out"; then
		fail "call $id: $(cat "$tmp/verify.out")"
		continue
	fi
	grep -q COMPLETE "$tmp/verify.out" || { fail "call $id: not COMPLETE: $(cat "$tmp/verify.out")"; continue; }
	"$TRUNKREC" export "$file" --key "$tmp/recipient.sec" -o "$tmp/call.opus" 2>/dev/null ||
		{ fail "call $id: export to Ogg Opus failed"; continue; }
	if command -v opusinfo > /dev/null 2>&1; then
		opusinfo "$tmp/call.opus" > /dev/null 2>&1 || fail "call $id: opusinfo rejects the export"
	fi
	"$TRUNKREC" export "$file" --key "$tmp/recipient.sec" -o "$tmp/call.wav" 2>/dev/null ||
		{ fail "call $id: export to WAV failed"; continue; }
	"$TONEPROBE" "$tmp/call.wav" --grid 312.5:25:120 > "$tmp/probe.out"
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
	[ "$want" = ok ] || continue
	awk -v s="$samples" -v c="$connect" -v h="$hangup" \
		'BEGIN { d = s - (h - c) * 160; if (d < 0) d = -d; exit !(d <= 320) }' ||
		fail "call $id: recording has $samples samples, connected $(( (hangup - connect) * 160 )) (more than 40 ms apart)"
done < "$tmp/report.tsv"

recs=$(wc -l < "$tmp/recordings.tsv")
echo "checkcalls: $calls calls checked, $recs recordings, $failures failures"
[ "$failures" -eq 0 ]
