#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# In the VM (tests/vm/run.sh BUILD bench): eight E1 spans, 240 B-channels as on an
# 8-port card, read by bench/dahdi_reads in each way; its lines are the figures of
# docs/dahdi.md ("Reading hundreds of channels"). The spans are linked in pairs, so
# every channel carries 8000 B/s. BENCH_SECS (default 3) per method, two repetitions;
# BENCH_METHODS overrides dahdi_reads' list.
set -u
conf=/tmp/bench.conf
: > $conf
for k in 1 2 3 4; do
	echo "dynamic=loc,$k:0,31,0" >> $conf
	echo "dynamic=loc,$k:1,31,0" >> $conf
done
s=0
while [ $s -lt 8 ]; do
	b=$((s * 31))
	echo "bchan=$((b + 1))-$((b + 15)),$((b + 17))-$((b + 31))" >> $conf
	echo "dchan=$((b + 16))" >> $conf
	s=$((s + 1))
done
echo "alaw=1-248" >> $conf
dahdi_cfg -c $conf > /tmp/bench_cfg.log 2>&1 || { cat /tmp/bench_cfg.log; echo "VMTEST RESULT: FAIL"; exit 1; }
echo "VMTEST: $(grep -c . /proc/dahdi/8 2> /dev/null) lines in /proc/dahdi/8; $(nproc) CPUs"
ok=1
for rep in 1 2; do
	# dahdi_reads stops itself (exit 3, naming the method) if a method hangs.
	if [ -n "${BENCH_METHODS:-}" ]; then
		/usr/bin/dahdi_reads -m "$BENCH_METHODS" "${BENCH_SECS:-3}" 1 2 3 4 5 6 7 8 > /tmp/reads.log 2>&1
	else
		/usr/bin/dahdi_reads "${BENCH_SECS:-3}" 1 2 3 4 5 6 7 8 > /tmp/reads.log 2>&1
	fi
	rc=$?
	sed "s/^/VMTEST: rep $rep /" /tmp/reads.log
	[ $rc = 0 ] || { echo "VMTEST: rep $rep: dahdi_reads exit $rc"; ok=0; }
done
[ $ok = 1 ] && echo "VMTEST RESULT: PASS" || echo "VMTEST RESULT: FAIL"
