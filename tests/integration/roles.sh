#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
# The role matrix of the control socket: every role × every command, allowed
# or refused as docs/control.md says, every refusal in the audit log. Clients
# run under other uids (setpriv), so this needs root; skipped (77) otherwise.
#
#   roles.sh BUILDDIR
set -eu

[ "$(id -u)" -eq 0 ] && command -v setpriv >/dev/null || { echo "roles: needs root and setpriv"; exit 77; }
. "$(dirname "$0")/lib.sh"
it_begin roles "$1"
chmod 755 "$tmp"

"$build/tools/trunkrec" keygen "$tmp/r.pub" "$tmp/r.sec" >/dev/null
mkdir -p "$tmp/rec"
cat > "$tmp/trunkrecd.conf" <<CONF
[general]
recordings = $tmp/rec
recipient_key = $tmp/r.pub
control_socket = $tmp/control
control_socket_mode = 0666
audit_log = $tmp/audit.log
catalog = $tmp/catalog.db
[roles]
operator = 60001
supervisor = 60002
manager = @60003
auditor = 60004
[pair p1]
port_a = $tmp/none-a
port_b = $tmp/none-b
CONF
"$build/tools/trunkrecd" -c "$tmp/trunkrecd.conf" > "$tmp/trunkrecd.out" 2> "$tmp/trunkrecd.err" &
rec_pid=$!
for i in 1 2 3 4 5 6 7 8 9 10; do [ -S "$tmp/control" ] && break; sleep 0.2; done

# uid gid role, then per command (in the order of $commands): allowed (a) or refused (r)
commands="ping stats calls spans pause resume mask unmask discard hold release delete purge audit"
matrix="0 0 root a a a a a a a a a a a a a a
60001 60001 operator a a a a r r r r r r r r r r
60002 60002 supervisor a a a a a a a a a r r r r r
60005 60003 manager a a a a a a a a a a a a a r
60004 60004 auditor a r r r r r r r r r r r r a
60009 60009 nobody a r r r r r r r r r r r r r"
while read -r uid gid role wants; do
	set -- $wants
	for cmd in $commands; do
		want=$1
		shift
		case $cmd in
		ping) args="" ;;
		stats|calls|spans) args="$cmd --socket $tmp/control" ;;
		hold|release|delete) args="$cmd no-such-recording --reason roles-test --socket $tmp/control" ;;
		purge) args="purge --dry-run --socket $tmp/control" ;;
		discard) args="discard 1 --reason roles-test --socket $tmp/control" ;;
		audit) args="audit verify --socket $tmp/control" ;;
		*) args="$cmd number=5550100 --socket $tmp/control" ;;
		esac
		if [ $cmd = ping ]; then
			out=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups sh -c \
				"printf 'ping\n' | timeout 5 python3 -c 'import socket,sys; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); s.sendall(sys.stdin.buffer.read()); print(s.recv(100).decode().strip())' $tmp/control" 2>&1 || true)
		else
			# shellcheck disable=SC2086
			out=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups "$build/tools/trunkrec" $args 2>&1 || true)
		fi
		case "$out" in
		*"refused: "*) got=r ;;
		*) got=a ;;
		esac
		[ "$got" = "$want" ] || fail "$role ($uid/$gid) $cmd: expected $want, got: $(echo "$out" | head -2)"
		if [ "$got" = r ]; then
			case "$out" in *"needs the"*role*) ;; *) fail "$role $cmd: the refusal does not name the role: $out" ;; esac
		fi
	done
done <<MATRIX
$matrix
MATRIX
# Garbage on the socket (random bytes, NULs, overlong lines, half commands, many
# clients at once) gets error answers or a closed connection, never a crash.
python3 - "$tmp/control" <<'PY' || fail "the control socket did not survive garbage"
import os, random, socket, sys
random.seed(5)
words = [b"pause", b"resume", b"mask", b"discard", b"hold", b"purge", b"stats", b"calls", b"json", b"audit",
         b"call=", b"number=", b"on", b"off", b"verify", b" ", b"\t", b"\r", b"\x00", b"=", b"99999999999"]
clients = []
for i in range(40):
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(0.5)
    clients.append(s)
for round in range(300):
    s = random.choice(clients)
    if random.random() < 0.3:
        line = os.urandom(random.randint(1, 600))
    else:
        line = b"".join(random.choice(words) for _ in range(random.randint(1, 12)))
    try:
        s.sendall(line + b"\n")
    except OSError:
        pass
for s in clients:
    s.close()
s = socket.socket(socket.AF_UNIX)
s.connect(sys.argv[1])
s.settimeout(5)
s.sendall(b"ping\n")
answer = s.recv(100)
sys.exit(0 if answer == b"ok pong\n" else 1)
PY
kill -0 "$rec_pid" 2>/dev/null || fail "trunkrecd died on garbage: $(tail -3 "$tmp/trunkrecd.err")"

# Every refusal is audited (written before the answer), with the uid.
want_refusals=$(echo "$matrix" | awk '{ for (i = 4; i <= NF; i++) n += ($i == "r") } END { print n }')
got_refusals=$(grep -c 'action=refused.*needs' "$tmp/audit.log" || true)
[ "$got_refusals" -eq "$want_refusals" ] || fail "audit log has $got_refusals refusals, expected $want_refusals"
grep -q 'uid=60001 action=refused object=pause' "$tmp/audit.log" || fail "the operator's refused pause is not audited with its uid"
grep -q 'uid=60001 action=refused object=mask' "$tmp/audit.log" || fail "the operator's refused mask is not audited with its uid"
grep -q 'uid=60002 action=refused object=delete' "$tmp/audit.log" || fail "the supervisor's refused delete is not audited with its uid"
grep -q 'uid=60004 action=audit_verify' "$tmp/audit.log" || fail "the auditor's audit verify is not in the log with its uid"
"$build/tools/trunkrec" audit verify --log "$tmp/audit.log" > /dev/null || fail "the audit chain does not verify"
echo "roles: $want_refusals refusals expected, $got_refusals audited, $failures failures"
[ "$failures" -eq 0 ]
