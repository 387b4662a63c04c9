#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# A full recordings disk (a small tmpfs): the calls go on untouched, new
# recordings are refused with an alarm, and nothing already recorded is lost
# or corrupt. Needs root to mount the tmpfs; skipped (77) otherwise.
#
#   diskfull.sh BUILDDIR
set -eu

. "$(dirname "$0")/lib.sh"
it_begin diskfull "$1"
mounted=0
it_on_exit() { [ "$mounted" = 1 ] && umount "$tmp/rec" 2>/dev/null || true; }

mkdir -p "$tmp/sim" "$tmp/rec" "$tmp/state"
# Room for the first few seconds of a few calls only.
mount -t tmpfs -o size=96k tmpfs "$tmp/rec" 2>/dev/null || { echo "diskfull: cannot mount a tmpfs (not root?)"; exit 77; }
mounted=1
"$build/tools/trunkrec" keygen "$tmp/state/r.pub" "$tmp/state/r.sec" >/dev/null
cat > "$tmp/state/trunkrecd.conf" <<CONF
[general]
recordings = $tmp/rec
recipient_key = $tmp/state/r.pub
control_socket = $tmp/state/control
catalog = $tmp/state/catalog.db
audit_log = $tmp/state/audit.log
[rule default]
announcement = upstream
[pair p1]
port_a = $tmp/sim/a1
port_b = $tmp/sim/b1
CONF

"$trunksim" --dir "$tmp/sim" --pairs 1 --calls 14 --concurrency 8 --rate 4 --hold 3000-4000 \
	--report "$tmp/report.tsv" > "$tmp/trunksim.out" 2> "$tmp/trunksim.err" &
sim_pid=$!
"$build/tools/trunkrecd" -c "$tmp/state/trunkrecd.conf" > "$tmp/trunkrecd.out" 2> "$tmp/trunkrecd.err" &
rec_pid=$!
sim_status=0
wait "$sim_pid" || sim_status=$?
sim_pid=""
kill -TERM "$rec_pid" 2>/dev/null || fail "trunkrecd died during the run"
rec_status=0
wait "$rec_pid" || rec_status=$?
rec_pid=""
cat "$tmp/trunksim.out" "$tmp/trunkrecd.out"

# The live calls come first: every call completed, pass-through byte-exact.
[ "$sim_status" -eq 0 ] || fail "trunksim exit $sim_status: the full disk touched the calls"
[ "$rec_status" -eq 0 ] || fail "trunkrecd exit $rec_status"
grep -q 'ALARM recordings disk .* is full' "$tmp/trunkrecd.err" || fail "no disk-full alarm"
refused=$(sed -n 's/^trunkrecd: disk refused=\([0-9]*\)$/\1/p' "$tmp/trunkrecd.out")
[ "${refused:-0}" -gt 0 ] || fail "no call was refused a recording although the disk was full"
# What was finished before the disk filled is whole.
complete=0
for f in "$tmp"/rec/*.trec; do
	[ -e "$f" ] || continue
	"$build/tools/trunkrec" verify --key "$tmp/state/r.sec" "$f" > "$tmp/verify.out" 2>&1 || true
	if grep -q COMPLETE "$tmp/verify.out"; then
		complete=$((complete + 1))
	else
		fail "$(cat "$tmp/verify.out")"
	fi
done
echo "diskfull: refused=${refused:-0} complete=$complete partial=$(ls "$tmp"/rec/*.partial 2>/dev/null | wc -l)"
[ "$failures" -eq 0 ] || { tail -20 "$tmp/trunkrecd.err"; exit 1; }
