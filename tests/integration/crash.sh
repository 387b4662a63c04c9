#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Crash test (issue 4): trunksim keeps >= 50 calls up through trunkrecd while
# trunkrecd is killed with SIGKILL at random moments and restarted.
#
#   crash.sh BUILDDIR [--kills N] [--concurrency C] [--seed S]
#
# Afterwards:
#   - no .partial is left; every recording verifies COMPLETE, or TRUNCATED and
#     'recovered' in the catalog; none CORRUPT;
#   - each recording live at a kill lost at most flush interval + 20 ms: the
#     audio between its file's birth and the kill, minus what recovery kept;
#   - the catalog matches the files (one row per file, none missing, status
#     complete/recovered as the file says), recoveries are in the audit log;
#   - the audit chain verifies; the blind index finds a caller's recordings.
# Keys are made at test time; numbers are trunksim's fictional ones.
set -eu

. "$(dirname "$0")/lib.sh"
rec_kill_signal=KILL
it_begin crash "$1"
shift
kills=20
conc=56
seed=$$
while [ $# -gt 0 ]; do
	case "$1" in
	--kills) kills=$2; shift 2 ;;
	--concurrency) conc=$2; shift 2 ;;
	--seed) seed=$2; shift 2 ;;
	*) echo "crash: unknown option $1"; exit 2 ;;
	esac
done
RANDOM=$seed
flush_ms=1000
bound_ms=$((flush_ms + 20))
want=50


trunkrec=$build/tools/trunkrec
trunkrecd=$build/tools/trunkrecd

"$trunkrec" keygen "$tmp/recipient.pub" "$tmp/recipient.sec" >/dev/null
"$trunkrec" keygen-index "$tmp/index.key" >/dev/null
mkdir -p "$tmp/sim" "$tmp/rec"
{
	printf '[general]\nrecordings = %s\nrecipient_key = %s\nworkers = 2\ncontrol_socket = %s\n' "$tmp/rec" "$tmp/recipient.pub" "$tmp/control"
	printf 'flush_interval_ms = %d\nblind_index_key = %s\n' "$flush_ms" "$tmp/index.key"
	# Every line announced upstream: every answered call records from answer.
	printf '[rule default]\nannouncement = upstream\n'
	printf '[pair p1]\nport_a = %s/a1\nport_b = %s/b1\n' "$tmp/sim" "$tmp/sim"
	printf '[pair p2]\nport_a = %s/a2\nport_b = %s/b2\n' "$tmp/sim" "$tmp/sim"
} > "$tmp/trunkrecd.conf"
paths="--config $tmp/trunkrecd.conf"

start_sim() {
	"$trunksim" --dir "$tmp/sim" --pairs 2 --calls 9999 --concurrency "$conc" --hold 4000-12000 --rate 40 \
		--outbound 50 --hangup random --seed "$((seed + k))" --timeout 86400 \
		>> "$tmp/trunksim.out" 2>> "$tmp/trunksim.err" &
	sim_pid=$!
}
# Not ls: recovery renames files while it runs, and ls fails on one that went.
partials() {
	find "$tmp/rec" -maxdepth 1 -name '*.trec.partial' | wc -l
}
start_rec() {
	"$trunkrecd" -c "$tmp/trunkrecd.conf" >> "$tmp/trunkrecd.out" 2>> "$tmp/trunkrecd.err" &
	rec_pid=$!
}

# Each cycle: trunksim and trunkrecd start, calls come up, trunkrecd is SIGKILLed at a
# random moment once >= $want recordings are live, then trunksim is stopped too: its far
# ends would otherwise hold the dead calls until their Q.931 timers clear them, and the
# next cycle could not reach the load again.
: > "$tmp/live.tsv"	# id birth_s kill_s, per recording live at a kill
: > "$tmp/kills.tsv"
for k in $(seq 1 "$kills"); do
	start_sim
	start_rec
	# The last kill's .partial files go first: recovery runs before any call (~0.2 s a file: it syncs)
	waited=0
	while [ "$(partials)" -gt 0 ] && [ $waited -lt 600 ]; do
		sleep 0.1
		waited=$((waited + 1))
	done
	# ...then wait (at most 60 s) until at least $want recordings are live, and a random 0-2 s more.
	waited=0
	while [ "$(partials)" -lt "$want" ] && [ $waited -lt 300 ]; do
		sleep 0.2
		waited=$((waited + 1))
	done
	ms=$((RANDOM % 2000))
	sleep "$(printf '%d.%03d' $((ms / 1000)) $((ms % 1000)))"
	t_kill=$(date +%s.%N)
	kill -9 "$rec_pid"
	wait "$rec_pid" 2>/dev/null || true
	rec_pid=""
	n=0
	for f in "$tmp"/rec/*.trec.partial; do
		[ -e "$f" ] || break
		b=$(stat -c %.9W "$f")
		id=$(basename "$f" .trec.partial)
		printf '%s\t%s\t%s\n' "$id" "$b" "$t_kill" >> "$tmp/live.tsv"
		n=$((n + 1))
	done
	printf '%d\t%s\t%d\n' "$k" "$t_kill" "$n" >> "$tmp/kills.tsv"
	echo "crash: kill $k, $((waited * 200 + ms)) ms after start: $n recording(s) live"
	kill "$sim_pid" 2>/dev/null || true
	wait "$sim_pid" 2>/dev/null || true
	sim_pid=""
done
# A last start: it recovers what the last kill left; then a clean stop.
k=$((kills + 1))
start_sim
start_rec
sleep 4
kill "$sim_pid" 2>/dev/null || true
wait "$sim_pid" 2>/dev/null || true
sim_pid=""
sleep 1
kill -TERM "$rec_pid"
wait "$rec_pid" || fail "trunkrecd did not stop cleanly"
rec_pid=""

# ---- checks -------------------------------------------------------------------
ls "$tmp"/rec/*.partial >/dev/null 2>&1 && fail ".partial files left: $(ls "$tmp"/rec/*.partial | wc -l)"
"$trunkrec" catalog $paths --all > "$tmp/catalog.tsv"
complete=0 truncated=0 corrupt=0 files=0
for f in "$tmp"/rec/*.trec; do
	[ -e "$f" ] || break
	files=$((files + 1))
	id=$(basename "$f" .trec)
	out=$("$trunkrec" verify --key "$tmp/recipient.sec" "$f" 2>&1) || true
	status=$(awk -F'\t' -v id="$id" '$1 == id { print $2 }' "$tmp/catalog.tsv")
	case "$out" in
	*COMPLETE*)
		complete=$((complete + 1))
		[ "$status" = complete ] || [ "$status" = recovered ] || fail "$id: COMPLETE file, catalog says '${status}'" ;;
	*TRUNCATED*)
		truncated=$((truncated + 1))
		[ "$status" = recovered ] || fail "$id: TRUNCATED file, catalog says '${status}' (not recovered)" ;;
	*)
		corrupt=$((corrupt + 1))
		fail "$id: $out" ;;
	esac
done
# The catalog names no file that is not there, and every file once.
rows=0
while IFS='	' read -r id status started dur dir trunk outcome file until hold; do
	[ "$id" = id ] && continue
	case "$status" in
	complete|recovered)
		rows=$((rows + 1))
		[ -e "$tmp/rec/$file" ] || fail "catalog row $id ($status) names $file, which is missing" ;;
	esac
done < "$tmp/catalog.tsv"
[ "$rows" -eq "$files" ] || fail "$files recording files but $rows catalog rows for them"
dups=$(awk -F'\t' 'NR > 1 && $8 != "-" { print $8 }' "$tmp/catalog.tsv" | sort | uniq -d | wc -l)
[ "$dups" -eq 0 ] || fail "$dups file(s) in more than one catalog row"

# Loss of each recording live at a kill: (kill - birth) - audio kept.
worst=0 measured=0 over=0 lsum=0
while IFS='	' read -r id birth tkill; do
	f="$tmp/rec/$id.trec"
	[ -e "$f" ] || { fail "$id was live at a kill and is gone"; continue; }
	grep -q "action=recovery object=$id " "$tmp/audit.log" || fail "$id: no recovery entry in the audit log"
	if "$trunkrec" export "$f" --key "$tmp/recipient.sec" -o "$tmp/x.wav" 2>/dev/null; then
		bytes=$(stat -c %s "$tmp/x.wav")
		kept_ms=$(( (bytes - 44) / 4 / 8 ))
	else
		kept_ms=0	# killed before its first flush: no audio record yet
	fi
	loss=$(awk -v k="$tkill" -v b="$birth" -v m="$kept_ms" 'BEGIN { printf "%d", (k - b) * 1000 - m }')
	measured=$((measured + 1))
	lsum=$((lsum + loss))
	[ "$loss" -gt "$worst" ] && worst=$loss
	if [ "$loss" -gt "$bound_ms" ]; then
		over=$((over + 1))
		fail "$id: lost $loss ms (kept $kept_ms ms), more than $bound_ms"
	fi
done < "$tmp/live.tsv"

if "$trunkrec" audit verify --log "$tmp/audit.log" > "$tmp/audit.out"; then :; else fail "audit: $(cat "$tmp/audit.out")"; fi
recoveries=$(grep -c 'action=recovery ' "$tmp/audit.log" || true)
configs=$(grep -c 'action=config_load ' "$tmp/audit.log" || true)
[ "$configs" -eq $((kills + 1)) ] || fail "$configs config_load entries for $((kills + 1)) starts"

# The blind index finds a caller's recordings: take the number out of one COMPLETE file.
for f in "$tmp"/rec/*.trec; do
	"$trunkrec" verify --key "$tmp/recipient.sec" "$f" >/dev/null 2>&1 || continue
	number=$("$trunkrec" meta "$f" --key "$tmp/recipient.sec" | sed -n 's/^calling=//p')
	id=$(basename "$f" .trec)
	"$trunkrec" find $paths --number "$number" > "$tmp/find.tsv"
	grep -q "^$id	" "$tmp/find.tsv" || fail "find --number: $id is not among its caller's recordings"
	break
done

max_live=$(awk -F'\t' '{ if ($3 > m) m = $3 } END { print m + 0 }' "$tmp/kills.tsv")
avg_loss=$(( measured ? lsum / measured : 0 ))
cat "$tmp/audit.out"
echo "crash: $kills kills, up to $max_live recordings live at a kill; $files files: $complete COMPLETE, $truncated TRUNCATED (recovered), $corrupt CORRUPT"
echo "crash: $measured recordings live at a kill: loss worst $worst ms, mean $avg_loss ms, bound $bound_ms ms, over $over"
echo "crash: catalog $rows rows for files; audit $recoveries recovery entries, $configs config loads"
echo "crash: $failures failures"
[ "$max_live" -ge "$want" ] || fail "at most $max_live recordings live at a kill: fewer than $want"
if [ "$failures" -ne 0 ]; then
	echo "--- trunkrecd stderr (tail)"; tail -20 "$tmp/trunkrecd.err"
	exit 1
fi
