#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# What operators see and steer during live calls (issue 5): `trunkrec calls`
# and `spans` agree with the calls trunksim placed, numbers masked to their
# last digits; `mask`/`unmask` CALL act on that call alone and leave their
# marks in its recording; `discard` deletes one call's recording, audited;
# `trunkrec top` renders the live calls in a real terminal (tmux, read back
# with capture-pane) and quits on q; a manager's hold, release, delete and
# purge and an auditor's verify go through the daemon; the disk-low alarm.
#
#   operator.sh BUILDDIR
set -eu

command -v tmux >/dev/null || { echo "operator: tmux is missing; run tools/setup"; exit 1; }
. "$(dirname "$0")/lib.sh"
it_begin operator "$1"
session=trunkrec-top-$$
it_on_exit() { tmux kill-session -t "$session" 2>/dev/null || true; }
trunkrec() { "$build/tools/trunkrec" "$@" --socket "$tmp/control"; }
calls=12

it_config "$tmp/sim" 2 "audit_log = $tmp/audit.log
catalog = $tmp/catalog.db
; a floor above any disk's free space: the low-space alarm must go up at once
disk_low_mb = 16777216"
"$trunksim" --dir "$tmp/sim" --pairs 2 --calls $calls --concurrency $calls --rate 20 \
	--hold 14000 --outbound 50 --report "$tmp/report.tsv" --timeout 40 > "$tmp/trunksim.out" 2> "$tmp/trunksim.err" &
sim_pid=$!
it_start_trunkrecd
for i in $(seq 1 100); do
	up=$(trunkrec calls 2>/dev/null | grep -c ' active ' || true)
	[ "$up" -ge $calls ] && break
	sleep 0.2
done
[ "$up" -ge $calls ] || fail "only $up of $calls calls shown active"

# calls --json: every call once, both timeslots, numbers masked to 3 digits.
trunkrec calls --json > "$tmp/calls.json" || fail "calls --json: $(cat "$tmp/calls.json")"
python3 - "$tmp/calls.json" $calls <<'PY' || failures=$((failures + 1))
import json, re, sys
calls = json.load(open(sys.argv[1]))["calls"]
want = int(sys.argv[2])
bad = []
if len(calls) != want: bad.append(f"{len(calls)} calls listed, {want} placed")
if len({c["id"] for c in calls}) != len(calls): bad.append("a call id twice")
for c in calls:
    for k in ("calling", "called"):
        if not re.fullmatch(r"…\d{2,4}", c[k]): bad.append(f"call {c['id']} {k} not masked: {c[k]}")
    if c["state"] != "active" or c["ts_a"] < 1 or c["ts_b"] < 1: bad.append(f"call {c['id']}: {c}")
    if c["policy"] != "recording": bad.append(f"call {c['id']} policy {c['policy']}")
    if c["dir"] not in ("in", "out"): bad.append(f"call {c['id']} dir {c['dir']}")
for b in bad: print("operator: FAIL:", b)
sys.exit(1 if bad else 0)
PY
# spans --json: both pairs up on both sides, their calls add up.
trunkrec spans --json > "$tmp/spans.json" || fail "spans --json: $(cat "$tmp/spans.json")"
python3 - "$tmp/spans.json" $calls <<'PY' || failures=$((failures + 1))
import json, sys
spans = json.load(open(sys.argv[1]))["spans"]
bad = [f"span {s}" for s in spans if (s["port_a"], s["port_b"], s["dchan_a"], s["dchan_b"]) != ("up",) * 2 + ("up",) * 2]
if [s["pair"] for s in spans] != ["p1", "p2"]: bad.append(f"pairs {[s['pair'] for s in spans]}")
if sum(s["calls"] for s in spans) != int(sys.argv[2]): bad.append(f"{sum(s['calls'] for s in spans)} calls on the spans")
for b in bad: print("operator: FAIL:", b)
sys.exit(1 if bad else 0)
PY

# The figures operators size and watch the box by, during live calls.
trunkrec stats --json > "$tmp/stats.json"
python3 - "$tmp/stats.json" <<'PY' || failures=$((failures + 1))
import json, sys
s = json.load(open(sys.argv[1]))
bad = [k for k in ("relay_cpu_ms", "encoder_cpu_ms", "batch_p99_us", "frames_encoded", "disk_free_bytes")
       if not s.get(k, 0) > 0]
bad += [k for k in ("io_inflight", "fdatasync_p99_us", "late_batches", "span_alarms") if k not in s]
if s.get("retention_backlog") != 0: bad.append(f"retention_backlog {s.get('retention_backlog')}")
if not s.get("fdatasync_p99_us", 0) <= max(s.get("fdatasync_max_us", 0) * 1.25, 1): bad.append("fdatasync p99 above its max")
for b in bad: print("operator: FAIL: stats:", b)
sys.exit(1 if bad else 0)
PY

# The disk-low alarm: a log line and the stats figures.
grep -q "ALARM recordings disk $tmp/rec low: .* MB free, below disk_low_mb = 16777216" "$tmp/trunkrecd.err" ||
	fail "no disk-low ALARM line: $(grep -i disk "$tmp/trunkrecd.err" | head -2)"
trunkrec stats --json | grep -q '"disk_low":1,"disk_low_alarms":1' || fail "stats: $(trunkrec stats --json | grep -o '"disk[a-z_]*":[0-9]*' | tr '\n' ' ')"

# JSON mode: after "json on" every answer, reports included, is one line of JSON.
python3 - "$tmp/control" $calls <<'PY' || failures=$((failures + 1))
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
f = s.makefile("rw")
def ask(line):
    f.write(line + "\n"); f.flush()
    return json.loads(f.readline())
bad = []
if ask("json on") != {"ok": True, "message": "json on"}: bad.append("json on")
if ask("calls")["calls"].__len__() != int(sys.argv[2]): bad.append("calls in JSON mode")
if "calls_active" not in ask("stats"): bad.append("stats in JSON mode")
a = ask("pause call=999999")
if a.get("ok") is not False or "no call up" not in a.get("error", ""): bad.append(f"pause of no call: {a}")
a = ask("stats prometheus")
if a.get("ok") is not False: bad.append(f"prometheus in JSON mode: {a}")
if ask("json off") != {"ok": True, "message": "json off"}: bad.append("json off")
f.write("ping\n"); f.flush()
if f.readline().strip() != "ok pong": bad.append("text mode after json off")
for b in bad: print("operator: FAIL: JSON mode:", b)
sys.exit(1 if bad else 0)
PY

# mask / unmask one call by the id `calls` shows; an unknown call is an error.
id=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls"][0]["id"])' "$tmp/calls.json")
out=$(trunkrec mask "$id" 2>&1) || fail "mask $id: $out"
[ "$out" = "masked 1 call(s)" ] || fail "mask $id answered: $out"
sleep 0.6
masked=$(trunkrec calls | awk '$NF == "masked" { print $1 }')
[ "$masked" = "$id" ] || fail "calls shows masked: '$masked', expected call $id alone"
sleep 1
out=$(trunkrec unmask "$id" 2>&1) || fail "unmask $id: $out"
trunkrec mask 999999 > "$tmp/mask-unknown.out" 2>&1 && fail "mask of an unknown call succeeded"
grep -q "no call up with call=999999" "$tmp/mask-unknown.out" || fail "mask unknown: $(cat "$tmp/mask-unknown.out")"

# A supervisor discards another live call's recording: audited at once,
# nothing more stored, the file deleted once closed (checked at the end).
gone=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["calls"][1]["id"])' "$tmp/calls.json")
trunkrec discard "$gone" > "$tmp/discard-noreason.out" 2>&1 && fail "discard without a reason succeeded"
out=$(trunkrec discard "$gone" --reason "caller objected" 2>&1) || fail "discard $gone: $out"
[ "$out" = "discarded 1 call(s)" ] || fail "discard $gone answered: $out"
grep -q "action=delete object=call=$gone details=request=discard,reason=caller%20objected" "$tmp/audit.log" ||
	fail "the discard request is not audited: $(grep 'action=delete' "$tmp/audit.log")"
sleep 0.6
state=$(trunkrec calls | awk -v id="$gone" '$1 == id { print $NF }')
[ "$state" = "discarded" ] || fail "calls shows call $gone as '$state', expected discarded"

# top in a real terminal: the header, both spans, every live call, no whole number.
tmux new-session -d -s "$session" -x 150 -y 40 "$build/tools/trunkrec top --socket $tmp/control"
sleep 2
tmux capture-pane -p -t "$session" > "$tmp/top.txt" || fail "tmux capture-pane failed"
grep -q '^trunkrec top ' "$tmp/top.txt" || fail "top header missing: $(head -3 "$tmp/top.txt")"
grep -q "calls active $calls " "$tmp/top.txt" || fail "top does not say $calls calls active"
[ "$(grep -cE '^p[12] +up +up +up +up ' "$tmp/top.txt")" -eq 2 ] || fail "top does not show both spans up"
rows=$(grep -cE '^ *[0-9]+ p[12] +(in|out) +active +[0-9]+ +[0-9]+ +…[0-9]{2,4} +…[0-9]{2,4} +[0-9]+:[0-9]{2}  (recording|discarded)$' "$tmp/top.txt" || true)
[ "$rows" -eq $calls ] || fail "top shows $rows live call rows, expected $calls: $(cat "$tmp/top.txt")"
if grep -vE '^trunkrec top|disk free' "$tmp/top.txt" | grep -qE '[0-9]{5}'; then
	fail "top shows a run of 5+ digits (a number?): $(grep -E '[0-9]{5}' "$tmp/top.txt" | head -2)"
fi
echo "--- trunkrec top, as tmux captured it"
cat "$tmp/top.txt"
echo "---"
tmux send-keys -t "$session" q
for i in 1 2 3 4 5 6 7 8 9 10; do tmux has-session -t "$session" 2>/dev/null || break; sleep 0.2; done
tmux has-session -t "$session" 2>/dev/null && fail "top did not quit on q"

wait "$sim_pid" || fail "trunksim: $(tail -3 "$tmp/trunksim.err")"
sim_pid=""

# A manager's lifecycle commands through the daemon: hold, a refused delete of
# the held recording, release, delete; purge (dry run); an auditor's verify.
for i in $(seq 1 50); do [ "$(ls "$tmp"/rec/*.trec 2>/dev/null | wc -l)" -ge $((calls - 1)) ] && break; sleep 0.2; done
victim=""
for f in "$tmp"/rec/*.trec; do
	"$build/tools/trunkrec" meta --key "$tmp/r.sec" "$f" 2>/dev/null | grep -qE "call=($id|$gone)\b" || { victim=$f; break; }
done
victim_id=$(basename "$victim" .trec)
out=$(trunkrec hold "$victim_id" --reason "case 42" 2>&1) || fail "hold: $out"
[ "$out" = "$victim_id held" ] || fail "hold answered: $out"
trunkrec delete "$victim_id" --reason "too early" > "$tmp/del-held.out" 2>&1 && fail "a held recording was deleted"
grep -q "under legal hold" "$tmp/del-held.out" || fail "delete of a held recording: $(cat "$tmp/del-held.out")"
[ -f "$victim" ] || fail "the held recording's file is gone"
out=$(trunkrec release "$victim_id" --reason "case closed" 2>&1) || fail "release: $out"
out=$(trunkrec delete "$victim_id" --reason "subject request" 2>&1) || fail "delete: $out"
[ "$out" = "$victim_id deleted" ] || fail "delete answered: $out"
[ -f "$victim" ] && fail "the deleted recording's file is still there"
out=$(trunkrec purge --dry-run 2>&1) || fail "purge --dry-run: $out"
[ "$out" = "0 recording(s) would be deleted (dry run)" ] || fail "purge --dry-run answered: $out"
out=$(trunkrec audit verify 2>&1) || fail "audit verify: $out"
case "$out" in "verified "*) ;; *) fail "audit verify answered: $out" ;; esac
for action in hold refused release delete audit_verify; do
	grep -q "action=$action object=[^ ]*" "$tmp/audit.log" || fail "no $action in the audit log"
done
grep -q "action=delete object=$victim_id " "$tmp/audit.log" || fail "the delete of $victim_id is not audited"

kill -TERM "$rec_pid"
wait "$rec_pid" || fail "trunkrecd exit status $?"
rec_pid=""

# The masked call's recording carries the mask in its timeline, the others do not.
n=0 marked=0
for f in "$tmp"/rec/*.trec; do
	n=$((n + 1))
	"$build/tools/trunkrec" meta --key "$tmp/r.sec" "$f" > "$tmp/meta.txt" 2>&1 || fail "meta $f: $(cat "$tmp/meta.txt")"
	grep -q "call=$gone\b" "$tmp/meta.txt" && fail "call $gone was discarded, yet its recording is there: $f"
	if grep -q 'paused reason=mask' "$tmp/meta.txt"; then
		marked=$((marked + 1))
		grep -q "call=$id\b" "$tmp/meta.txt" || fail "a mask mark in a recording of another call: $(grep call= "$tmp/meta.txt")"
		grep -q 'resumed reason=mask' "$tmp/meta.txt" || fail "call $id: mask never ended in the timeline"
	fi
done
[ "$n" -eq $((calls - 2)) ] || fail "$n recordings for $calls calls, one discarded, one deleted"
grep -q 'action=delete object=[^ ]* details=file=[^ ]*,status=complete,.*reason=discarded%20during' "$tmp/audit.log" ||
	fail "the discarded recording's deletion is not audited"
[ "$marked" -eq 1 ] || fail "$marked recordings carry the mask, expected 1"
echo "operator: $calls calls listed with masked numbers, mask/unmask on call $id, call $gone discarded, $victim_id held/released/deleted, top rendered $rows rows; $failures failures"
[ "$failures" -eq 0 ]
