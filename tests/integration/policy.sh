#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# One compliance-policy scenario end to end: trunksim --scenario SCENARIO (real
# libpri carrier and PBX) ⇄ trunkrecd with a rule for it ⇄ recordings, checked
# from the exported audio only (docs/synthetic-trunk.md, "Scenarios").
#
#   policy.sh BUILDDIR SCENARIO [trunksim options…]
#
# Checks:
#   - trunksim's verdict per call (signalling outcome, pass-through per phase);
#   - calls with expect_recording=no have no recording; =yes exactly one;
#   - every recording is COMPLETE and exports to WAV;
#   - phasecheck on each: stored phases present, absent phases below the
#     noise floor (Goertzel), per channel;
#   - multimon-ng -a DTMF finds no digit in any export.
# The rule config uses the keys of docs/config.md "[rule NAME]". A trunkrecd
# that rejects them (older than the rules) is run without them, and says so:
# the scenario then shows what today's trunkrecd does.
# KEEP=1 keeps the temporary directory.
set -eu

. "$(dirname "$0")/lib.sh"
it_begin policy "$1"
scenario=$2
shift 2

trunkrec=$build/tools/trunkrec
trunkrecd=$build/tools/trunkrecd
phasecheck=$build/tests/integration/phasecheck
for tool in multimon-ng sox; do
	command -v $tool >/dev/null || { echo "policy: $tool is not installed (tools/setup installs it)"; exit 77; }
done

"$trunkrec" keygen "$tmp/recipient.pub" "$tmp/recipient.sec" >/dev/null
"$trunksim" --make-prompt "$tmp/prompt.wav" >/dev/null
mkdir -p "$tmp/sim" "$tmp/rec"

announcement=verify
[ "$scenario" = announce-play ] && announcement=play
control=$tmp/control.sock

# $1: with rules (1/0), $2: with control_socket (1/0)
write_config() {
	{
		printf '[general]\nrecordings = %s\nrecipient_key = %s\nworkers = 2\n' "$tmp/rec" "$tmp/recipient.pub"
		[ "$2" = 1 ] && printf 'control_socket = %s\n' "$control"
		printf '[pair p1]\nport_a = %s/a1\nport_b = %s/b1\n' "$tmp/sim" "$tmp/sim"
		# The PBX hanging up with a call held means "transfer" only where the operator says so.
		[ "$scenario" = transfer-on-disconnect ] && printf 'hold_disconnect_transfer = yes\n'
		if [ "$1" = 1 ]; then
			# Inbound calls ring 2NNN (trunksim: "2" + 3 digits of the call id).
			cat <<-EOF
			[rule scenario]
			direction = in
			number = 2XXX
			announcement = $announcement
			prompt = $tmp/prompt.wav
			verify_window_s = 10
			transfer = stop
			recorded_numbers = 2XXX
			payment_pause_code = *7
			payment_resume_code = *8
			payment_ivr = 5550150
			dtmf = mask
			[rule default]
			announcement = none
			EOF
		fi
	} > "$tmp/trunkrecd.conf"
}

rules=1
write_config 1 1
if ! "$trunkrecd" --check-config -c "$tmp/trunkrecd.conf" > "$tmp/check.out" 2>&1; then
	fail "trunkrecd --check-config rejects the scenario's configuration: $(cat "$tmp/check.out")"
	exit 1
fi

# The PBX announces calls (for the `verify` rule) unless the scenario is about the announcement.
sim_args="--dir $tmp/sim --pairs 1 --scenario $scenario --prompt $tmp/prompt.wav --report $tmp/report.tsv"
[ "$scenario" = payment-command ] && sim_args="$sim_args --control $control"

# shellcheck disable=SC2086
"$trunksim" $sim_args "$@" > "$tmp/trunksim.out" 2> "$tmp/trunksim.err" &
sim_pid=$!
"$trunkrecd" -c "$tmp/trunkrecd.conf" > "$tmp/trunkrecd.out" 2> "$tmp/trunkrecd.err" &
rec_pid=$!

sim_status=0
wait "$sim_pid" || sim_status=$?
sim_pid=""
sleep 0.5	# the relay's snapshot (per-line figures) is at most 250 ms old
"$trunkrec" stats --json --socket "$control" > "$tmp/stats.json" 2>&1 || fail "stats: $(cat "$tmp/stats.json")"
kill -TERM "$rec_pid" 2>/dev/null || fail "trunkrecd died during the run"
rec_status=0
wait "$rec_pid" || rec_status=$?
rec_pid=""
cat "$tmp/trunksim.out"
[ "$sim_status" -eq 0 ] || fail "trunksim exit $sim_status"
[ "$rec_status" -eq 0 ] || { fail "trunkrecd exit $rec_status"; tail -20 "$tmp/trunkrecd.err"; }
grep -q 'up_at_shutdown=0$' "$tmp/trunkrecd.out" || fail "calls left up in trunkrecd: $(grep up_at_shutdown "$tmp/trunkrecd.out" || true)"

# One line per recording: calling number → file.
: > "$tmp/recordings.tsv"
for f in "$tmp"/rec/*.trec; do
	[ -e "$f" ] || break
	"$trunkrec" meta "$f" --key "$tmp/recipient.sec" > "$tmp/meta.out" 2>/dev/null || true
	calling=$(sed -n 's/^calling=//p' "$tmp/meta.out")
	printf '%s\t%s\n' "$calling" "$f" >> "$tmp/recordings.tsv"
done

calls=0 checked=0
# report.tsv columns (docs/synthetic-trunk.md): id dir pair a_ts b_ts calling called result connect_tick
# hangup_tick hangup_by freq_carrier freq_pbx a2b_×5 b2a_×5 scenario expect_recording record_from_tick parent events
while IFS='	' read -r id dir pair a_ts b_ts calling called result connect hangup by fc fp \
	c1 c2 c3 c4 c5 d1 d2 d3 d4 d5 scen expect from parent events; do
	[ "$id" = id ] && continue
	calls=$((calls + 1))
	[ "$result" = ok ] || fail "call $id: trunksim says $result (events: $events)"
	n=$(awk -F'\t' -v c="$calling" '$1 == c' "$tmp/recordings.tsv" | wc -l)
	case "$expect" in
	no) [ "$n" -eq 0 ] || fail "call $id: $n recording(s), expected none (expect_recording=no)"
	    [ "$n" -eq 0 ] && continue ;;
	yes) [ "$n" -eq 1 ] || { fail "call $id: $n recordings, expected 1"; continue; } ;;
	*) [ "$n" -le 1 ] || fail "call $id: $n recordings, expected at most 1"
	   [ "$n" -eq 0 ] && continue ;;
	esac
	file=$(awk -F'\t' -v c="$calling" '$1 == c { print $2; exit }' "$tmp/recordings.tsv")
	"$trunkrec" verify --key "$tmp/recipient.sec" "$file" > "$tmp/verify.out" 2>&1 || true
	grep -q COMPLETE "$tmp/verify.out" || fail "call $id: recording not COMPLETE: $(cat "$tmp/verify.out")"
	"$trunkrec" export "$file" --key "$tmp/recipient.sec" -o "$tmp/call$id.wav" 2>/dev/null ||
		{ fail "call $id: export to WAV failed"; continue; }
	checked=$((checked + 1))
	# Where the recording starts: trunksim's record_from_tick (the block after answer, or after
	# the announcement); phasecheck refines it by up to 10 ticks from the stored phases. The
	# timeline's T= is not used: it counts wall-clock ms, which --fast runs do not keep to.
	start=$from
	[ "$start" -gt 0 ] || start=$((connect + 1))
	"$phasecheck" "$tmp/call$id.wav" "$tmp/report.tsv.phases" --call "$id" --start-tick "$start" --max-shift-ticks 10 \
		> "$tmp/phase$id.out" 2>&1 || fail "call $id: phasecheck: $(grep -E 'FAIL|phasecheck: [^c]' "$tmp/phase$id.out" | tr '\n' ' ')"
	cat "$tmp/phase$id.out"
	# An independent DTMF decoder must find nothing, on either channel.
	for ch in 1 2; do
		sox "$tmp/call$id.wav" -t raw -r 22050 -e signed -b 16 -c 1 "$tmp/call$id.raw" remix $ch 2>/dev/null ||
			{ fail "call $id: sox cannot convert the export"; break; }
		digits=$(multimon-ng -q -a DTMF -t raw "$tmp/call$id.raw" 2>/dev/null | grep -c '^DTMF' || true)
		[ "$digits" -eq 0 ] || fail "call $id: multimon-ng found $digits DTMF digit(s) on channel $ch"
	done
done < "$tmp/report.tsv"

recs=$(wc -l < "$tmp/recordings.tsv")
[ "$calls" -gt 0 ] || fail "no calls in the report"

# The unannounced-line incident: caught on its first call, with the alarm, nothing stored.
case "$scenario" in
announce-absent|announce-truncated)
	unannounced=$(sed -n 's/.*policy unannounced=\([0-9]*\).*/\1/p' "$tmp/trunkrecd.out")
	scenario_calls=$(awk -F'\t' '$1 != "id" && $25 == "no"' "$tmp/report.tsv" | wc -l)
	[ "${unannounced:-0}" -ge "$scenario_calls" ] ||
		fail "trunkrecd counted ${unannounced:-0} unannounced calls, trunksim placed $scenario_calls"
	grep -q 'ALARM .*rule scenario' "$tmp/trunkrecd.err" || fail "no unannounced-line alarm for rule scenario"
	# ... and per line in stats: this rule's calls unannounced, its alarm up.
	python3 -c 'import json, sys
line = [l for l in json.load(open(sys.argv[1]))["lines"] if l["rule"] == "scenario"]
sys.exit(0 if line and line[0]["unannounced"] >= int(sys.argv[2]) and line[0]["alarm"] == 1 else 1)' \
		"$tmp/stats.json" "$scenario_calls" || fail "stats lines: $(grep -o '"lines":.*' "$tmp/stats.json")"
	;;
esac
# Logs never hold a whole phone number (nor, so, any digits keyed).
awk -F'\t' '$1 != "id" { print $6; print $7 }' "$tmp/report.tsv" | sort -u | while read -r number; do
	[ ${#number} -gt 4 ] || continue
	if grep -q -- "$number" "$tmp/trunkrecd.err" "$tmp/trunkrecd.out"; then
		echo "policy: FAIL: trunkrecd logged the whole number $number"
		exit 1
	fi
done || failures=$((failures + 1))
[ "$rules" = 1 ] || echo "policy: (ran without rules)"
echo "policy: $scenario: $calls calls, $recs recordings, $checked checked, $failures failures"
if [ "$failures" -ne 0 ]; then
	echo "--- trunkrecd stderr (tail)"; tail -20 "$tmp/trunkrecd.err"
	echo "--- trunksim stderr (tail)"; tail -20 "$tmp/trunksim.err"
	exit 1
fi
