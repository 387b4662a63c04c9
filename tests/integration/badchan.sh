#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# SETUPs for timeslots that are no B-channel of the line (the D-channel, past
# the line) are refused with cause 82, reach nobody, and leave trunkrecd
# working: the call after them goes through (badchan.c does the calls).
#
#   badchan.sh BUILDDIR
set -eu
. "$(dirname "$0")/lib.sh"
it_begin badchan "$1"

it_config "$tmp/card" 1
it_start_trunkrecd
"$build/tests/integration/badchan" "$tmp/card" || fail "the calls did not go as they must (above)"
kill -0 "$rec_pid" 2>/dev/null || fail "trunkrecd died: $(tail -3 "$tmp/trunkrecd.err")"
for ts in 16 45 99; do
	grep -q "SETUP on port A for timeslot $ts, which is no B-channel of this line; refused" \
		"$tmp/trunkrecd.err" || fail "no log line for the SETUP on timeslot $ts"
done
echo "badchan: $failures failures"
[ "$failures" -eq 0 ]
