#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The DAHDI test, inside the VM (tests/vm/README.md): trunksim's carrier on
# span 1 and PBX on span 4, trunkrecd between them on spans 2 (port A) and 3
# (port B) through its DAHDI driver. One trunkrecd for the whole test:
#   1. calls both ways: pass-through bit-exact (trunksim), one COMPLETE
#      recording per call with the right audio in the right channel;
#   2. the carrier's span is destroyed during calls (loss of signal for port
#      A): trunkrecd raises the alarm, releases the calls, and each recording
#      is COMPLETE with an alarm mark in its timeline;
#   3. the span is back: trunkrecd carries calls again without a restart.
# Prints VMTEST lines; the last is "VMTEST RESULT: PASS" or "FAIL".
set -u
B=/usr/bin
T=/tmp/t
mkdir -p $T/rec $T/done
failures=0
fail() {
	echo "VMTEST: FAIL: $*"
	failures=$((failures + 1))
}
now() { cut -d' ' -f1 /proc/uptime; }

$B/trunkrec keygen $T/recipient.pub $T/recipient.sec > /dev/null || fail "keygen"
cat > $T/trunkrecd.conf <<CONF
[general]
recordings = $T/rec
recipient_key = $T/recipient.pub
workers = 1
control_socket = $T/control
disk_low_mb = 16
[rule default]
announcement = upstream
[pair p1]
driver = dahdi
port_a = span:2
port_b = span:3
CONF
$B/trunkrecd -c $T/trunkrecd.conf > $T/trunkrecd.out 2> $T/trunkrecd.err &
rec_pid=$!

# trunksim on spans 1 and 4; its report into $T. Returns trunksim's status.
sim() {
	name=$1
	shift
	echo "VMTEST: $name: trunksim $* (at $(now) s)"
	$B/trunksim --dahdi 1,4 --report $T/report.tsv "$@" > $T/$name.out 2> $T/$name.err
	st=$?
	sed 's/^/VMTEST:   /' $T/$name.out
	return $st
}

# trunkrecd's figures so far: what the line did (DAHDI's counters) and the relay.
figures() {
	$B/trunkrec stats --json --socket $T/control > $T/stats.json 2>&1
	line="VMTEST:   trunkrecd so far:"
	for f in span_alarms line_hdlc_errors line_read_overruns line_write_underruns blocks blocks_write_dropped late_batches worst_batch_us; do
		line="$line $f=$(sed -n "s/.*\"$f\":\([0-9]*\).*/\1/p" $T/stats.json)"
	done
	echo "$line"
}

# The recordings of one run against its report; then set them aside.
check() {
	name=$1
	want=$2
	figures
	TRUNKREC=$B/trunkrec TONEPROBE=$B/toneprobe sh /test/checkcalls.sh $T "$want" > $T/$name.check
	st=$?
	sed 's/^/VMTEST:   /' $T/$name.check
	[ $st -eq 0 ] || fail "$name: recordings"
}

set_aside() {
	mkdir -p $T/done/$1
	mv $T/rec/*.trec $T/done/$1/ 2> /dev/null
	cp $T/report.tsv $T/done/$1/
}

# 1. Calls both ways. The first SABME after an open can be lost (docs/dahdi.md): libpri
# retransmits after T200, so trunksim waits for both D-channels before it places calls.
if sim calls --calls 12 --concurrency 12 --hold 2000-4000 --rate 10 --outbound 50 --hangup random --seed 7 --timeout 60; then
	:
else
	fail "calls: trunksim exit $? (pass-through or signalling; see above)"
	tail -5 $T/calls.err | sed 's/^/VMTEST:   /'
fi
check calls ok
set_aside calls

# 2. Loss of signal on port A's line, with 4 calls up: tick 300 is 6 s into the run. The line
# stays away longer than the carrier's libpri needs to notice (3 x T200): its calls end then,
# and trunksim brings the span back as it exits.
sim alarm --calls 4 --concurrency 4 --hold 15000 --rate 10 --outbound 50 --seed 9 --timeout 40 \
	--line-down 1:a:300:400
echo "VMTEST: alarm: trunksim exit $? (its calls are cut by the alarm: not 0)"
grep -q "ALARM p1: port A (span:2): line down: span 2 alarm RED" $T/trunkrecd.err ||
	fail "alarm: no ALARM line for span 2 in trunkrecd's log"
grep "ALARM\|alarm cleared" $T/trunkrecd.err | sed 's/^/VMTEST:   trunkrecd: /'
check alarm '*'
n=0
for f in $T/rec/*.trec; do
	[ -e "$f" ] || break
	n=$((n + 1))
	$B/trunkrec meta "$f" --key $T/recipient.sec > $T/meta.out 2>&1
	grep -q "alarm: port A line down: span 2 alarm RED" $T/meta.out || fail "alarm: $f has no alarm mark in its timeline"
done
[ $n -eq 4 ] || fail "alarm: $n recordings, expected 4"
grep "alarm: port A" $T/meta.out | head -1 | sed 's/^/VMTEST:   timeline: /'
set_aside alarm

# 3. The span is back (trunksim made it again at exit): no restart.
if sim recovered --calls 4 --concurrency 4 --hold 2000 --rate 10 --outbound 50 --seed 11 --timeout 40; then
	:
else
	fail "recovered: trunksim exit $?"
	tail -5 $T/recovered.err | sed 's/^/VMTEST:   /'
fi
check recovered ok
grep -q "p1: port A (span:2): alarm cleared" $T/trunkrecd.err || fail "recovered: the alarm never cleared"

$B/trunkrec stats --json --socket $T/control > $T/stats.json || fail "trunkrec stats"
alarms=$(sed -n 's/.*"span_alarms":\([0-9]*\).*/\1/p' $T/stats.json)
echo "VMTEST: stats: span_alarms=$alarms hdlc_errors=$(sed -n 's/.*"line_hdlc_errors":\([0-9]*\).*/\1/p' $T/stats.json)" \
	"read_overruns=$(sed -n 's/.*"line_read_overruns":\([0-9]*\).*/\1/p' $T/stats.json)"
[ "${alarms:-0}" -ge 1 ] || fail "stats: span_alarms is ${alarms:-none}"
kill -TERM $rec_pid
wait $rec_pid || fail "trunkrecd exit $?"
sed 's/^/VMTEST:   /' $T/trunkrecd.out
grep -q 'up_at_shutdown=0$' $T/trunkrecd.out || fail "calls left up in trunkrecd"
if [ $failures -ne 0 ]; then
	echo "VMTEST: --- trunkrecd stderr (tail)"
	tail -40 $T/trunkrecd.err | sed 's/^/VMTEST:   /'
	for n in calls alarm recovered; do
		echo "VMTEST: --- trunksim $n stderr (tail)"
		tail -15 $T/$n.err 2> /dev/null | sed 's/^/VMTEST:   /'
	done
fi
echo "VMTEST: $failures failure(s) at $(now) s"
[ $failures -eq 0 ] && echo "VMTEST RESULT: PASS" || echo "VMTEST RESULT: FAIL"
