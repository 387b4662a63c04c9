#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# SIGTERM during 30 live calls: trunkrecd finishes every recording (FINAL
# record, durable, renamed) before it exits; none is left TRUNCATED or .partial.
#
#   sigterm.sh BUILDDIR
set -eu

. "$(dirname "$0")/lib.sh"
it_begin sigterm "$1"

it_config "$tmp/sim" 2
"$trunksim" --dir "$tmp/sim" --pairs 2 --calls 30 --concurrency 30 --rate 30 --hold 30000 \
	--report "$tmp/report.tsv" --timeout 40 > "$tmp/trunksim.out" 2> "$tmp/trunksim.err" &
sim_pid=$!
it_start_trunkrecd
active=$(it_wait_active 30 "$tmp/control")
[ "$active" -ge 30 ] || fail "only $active calls came up"
sleep 2
kill -TERM "$rec_pid"
rec_status=0
wait "$rec_pid" || rec_status=$?
rec_pid=""
[ "$rec_status" -eq 0 ] || fail "trunkrecd exit $rec_status after SIGTERM"
kill "$sim_pid" 2>/dev/null || true
wait "$sim_pid" 2>/dev/null || true
sim_pid=""

n=0
for f in "$tmp"/rec/*.trec; do
	[ -e "$f" ] || continue
	n=$((n + 1))
	"$build/tools/trunkrec" verify --key "$tmp/r.sec" "$f" > "$tmp/verify.out" 2>&1 || true
	grep -q COMPLETE "$tmp/verify.out" || fail "$(cat "$tmp/verify.out")"
done
partial=$(ls "$tmp"/rec/*.partial 2>/dev/null | wc -l)
[ "$partial" -eq 0 ] || fail "$partial .partial file(s) left"
[ "$n" -ge 30 ] || fail "$n recordings for 30 live calls"
echo "sigterm: $n recordings after SIGTERM, all COMPLETE unless said above; $failures failures"
[ "$failures" -eq 0 ]
