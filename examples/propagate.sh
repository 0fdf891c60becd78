#!/bin/sh
# krb5prop-propagate: dump the KDC database and send it to every replica
# KDC, logging one line per replica to syslog. Install it as
# /usr/local/sbin/krb5prop-propagate and run it from cron
# (*/15 * * * * root /usr/local/sbin/krb5prop-propagate) or from
# systemd/krb5prop-propagate.timer.
#
# It replaces the loop of MIT's install guide, whose `kdclist = "…"`
# (spaces around "=") runs a command named kdclist and then propagates to
# no one, silently; and which stops, or carries on unnoticed, at a replica
# that fails. Here kprop reads the replica list itself, sends the one dump
# to the replicas in parallel, says per replica whether it worked, and
# keeps <dump>.status.json (`kprop --status -f <dump>` shows it).
#
# Exit status: 0 when every replica has the new dump; 1 when the dump or any
# replica failed; 75 when WAIT=no and another run still holds the lock.
set -eu

# Settings. Each can be set in the environment instead (systemd reads
# /etc/default/krb5prop-propagate; cron does not set KRB5_CONFIG or
# KRB5_KDC_PROFILE, so export those here if the realm needs them).
KDB5_UTIL=${KDB5_UTIL:-/usr/local/sbin/kdb5util}   # or MIT's /usr/sbin/kdb5_util
KPROP=${KPROP:-/usr/local/sbin/kprop}
DUMP_FILE=${DUMP_FILE:-/var/lib/krb5kdc/replica_datatrans}
# One replica per line (host, or host:port); "#" comments and blank lines
# are allowed.
REPLICA_LIST=${REPLICA_LIST:-/etc/krb5kdc/replicas}
REALM=${REALM:-}          # empty: the default realm
KEYTAB=${KEYTAB:-}        # empty: the default keytab (host/<this host>'s key)
TIMEOUT=${TIMEOUT:-30m}   # each replica's deadline, load included
JOBS=${JOBS:-}            # replicas at a time; empty: all (at most 16)
WAIT=${WAIT:-yes}         # no: skip this run if the last one still runs

TAG=krb5prop-propagate

# log PRIORITY MESSAGE...: one line to syslog (facility auth, like MIT's
# KDC). Errors also go to standard error, so cron mails them and a quiet
# run mails nothing.
log() {
	priority=$1
	shift
	logger -t "$TAG" -p "auth.$priority" -- "$*"
	if [ "$priority" = err ]; then
		printf '%s: %s\n' "$TAG" "$*" >&2
	fi
}

out=$(mktemp)
err=$(mktemp)
trap 'rm -f "$out" "$err"' EXIT

# kdb5_util dump writes the file under a lock and then touches
# <dump>.dump_ok, which kprop checks: a failed dump is never sent.
if [ -n "$REALM" ]; then
	set -- -r "$REALM"
else
	set --
fi
if ! "$KDB5_UTIL" "$@" dump "$DUMP_FILE" >"$out" 2>"$err"; then
	log err "dump of the KDC database to $DUMP_FILE failed: $(cat "$err" "$out" | paste -s -d ' ' -)"
	exit 1
fi

set -- "$@" -f "$DUMP_FILE" -l "$REPLICA_LIST" -T "$TIMEOUT"
if [ -n "$KEYTAB" ]; then
	set -- "$@" -s "$KEYTAB"
fi
if [ -n "$JOBS" ]; then
	set -- "$@" -j "$JOBS"
fi
if [ "$WAIT" = no ]; then
	set -- "$@" -n
fi
status=0
"$KPROP" "$@" >"$out" 2>"$err" || status=$?

# kprop prints one line per replica on standard output; anything on
# standard error is about the run as a whole (the lock, the list file).
while IFS= read -r line; do
	case $line in
	*": SUCCEEDED") log info "$line" ;;
	*) log err "$line" ;;
	esac
done <"$out"
while IFS= read -r line; do
	case $status in
	0) log notice "$line" ;;
	75) log warning "$line" ;;
	*) log err "$line" ;;
	esac
done <"$err"

case $status in
0) ;;
75) log warning "skipped: the previous propagation is still running" ;;
*) log err "propagation failed (kprop exit status $status); see kprop --status -f $DUMP_FILE" ;;
esac
exit "$status"
