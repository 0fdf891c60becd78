#!/bin/sh
# krb5prop-files-plugin.sh: the template secondary-replica plugin.
#
# Copy this file to write a plugin of your own. It keeps a directory of
# files in step with the Kerberos database kpropd loads, one file per
# principal and one per policy, each holding the object's JSON record:
#
#   $FILES_DIR/principals/<encoded name>.json
#   $FILES_DIR/policies/<encoded name>.json
#
# The protocol it follows is replica/PROTOCOL.md; in short:
#
#   kpropd runs PLUGIN OPERATION, with no shell, in the plugin's own
#   working directory (state_dir/plugin, mode 0700), with an environment of
#   PATH, the replica's env = relations and KRB5PROP_REPLICA,
#   KRB5PROP_REPLICA_UUID, KRB5PROP_REALM and KRB5PROP_OPERATION.
#
#   The exit status is the outcome:
#     0   success         kpropd records the delivery as applied
#     75  cant_process    kpropd retries later, with every change since the
#                         last success (so the retry may repeat changes)
#     76  request_reinit  kpropd runs init-reinit, then sends a full delivery
#   Anything else counts as 75. What the plugin writes to stderr (its
#   first 4 KiB) goes to kpropd's log and `kdb5util replica info`: say
#   there why an operation failed.
#
# Configure it in kdc.conf (jq must be in kpropd's PATH):
#
#   [secondary_replicas]
#       files = {
#           plugin = /usr/local/lib/krb5prop/krb5prop-files-plugin.sh
#           env = FILES_DIR=/var/lib/krb5prop-files
#       }
#
# Names are percent-encoded (jq's @uri, and '.' too), so a file name never
# holds '/' and is never "." or "..". A name longer than about 250 bytes
# once encoded exceeds the file system's limit, and the delivery fails.
#
# Keys: with include_keys = true the records carry decrypted keys. This
# example removes them before writing anything; a plugin that must store
# keys has to protect them itself.

# No "set -e": every command that can fail is checked, so each failure
# gets a message and the exit status the protocol wants.
set -u

SUCCESS=0
CANT_PROCESS=75
REQUEST_REINIT=76

op=${1:-}
me="krb5prop-files-plugin $op"

# cant_process reports why and exits 75: kpropd will try again.
cant_process() {
	echo "$me: $*" >&2
	exit $CANT_PROCESS
}

# The sequence file, in the working directory, holds the seq of the last
# delivery applied. It is this plugin's memory of what it has done.
SEQ_FILE=./seq

# write_file PATH TEXT writes TEXT and a newline to PATH by way of a
# temporary file renamed over it, so that a reader, or this plugin after a
# crash, sees the old content or the new, never half of it. (Encoded names
# hold no '.', so "NAME.json.tmp" is never another object's file.)
write_file() {
	printf '%s\n' "$2" >"$1.tmp" || return 1
	mv -f "$1.tmp" "$1"
}

# The configuration comes from env = relations. Check it before anything
# else, so a missing relation is reported plainly.
check_config() {
	[ -n "${FILES_DIR:-}" ] || cant_process "FILES_DIR is not set; add env = FILES_DIR=/some/dir to the replica's kdc.conf stanza"
	mkdir -p "$FILES_DIR" || cant_process "cannot create $FILES_DIR"
	[ -w "$FILES_DIR" ] || cant_process "$FILES_DIR is not writable"
}

# auth-init: log in to the foreign registry, before the first apply of each
# kpropd process. A file tree needs no login; checking that it is usable is
# the equivalent. Fail with 75 if the registry is unreachable.
auth_init() {
	check_config
}

# apply: read the delivery on stdin and apply it.
#
# Every change carries whole state ("this principal now looks like this"),
# so applying it twice is harmless; a plugin must keep it that way, because
# a retry after a failure, or a redelivery after kpropd stopped, repeats
# changes already applied:
#   - an add or replace writes the object whether or not it exists;
#   - a delete removes the object if it exists and is not an error if not.
apply() {
	check_config

	# The first line is the header.
	IFS= read -r header || cant_process "empty delivery"
	fields=$(printf '%s\n' "$header" |
		jq -r 'select(.type == "header" and .version == 1) | "\(.seq) \(.prev_seq) \(.reinit)"') ||
		cant_process "unreadable delivery header"
	[ -n "$fields" ] || cant_process "the delivery does not start with a version 1 header"
	read -r seq prev_seq reinit <<EOF
$fields
EOF
	case $seq in
	'' | *[!0-9]*) cant_process "the delivery header has no seq" ;;
	esac

	# The sequence check. A delivery must follow the last one applied here
	# (prev_seq), or be that one again (seq: a redelivery). If neither,
	# this side lost track (restored from a backup, files removed by hand):
	# ask for a full delivery with 76. A full delivery (reinit) is always
	# accepted.
	stored=0
	if [ -e "$SEQ_FILE" ]; then
		stored=$(cat "$SEQ_FILE") || cant_process "cannot read $SEQ_FILE"
	fi
	case $stored in
	'' | *[!0-9]*) stored=unknown ;;
	esac
	if [ "$reinit" != true ] && [ "$prev_seq" != "$stored" ] && [ "$seq" != "$stored" ]; then
		echo "$me: delivery $seq follows $prev_seq, but $stored is the last applied here" >&2
		exit $REQUEST_REINIT
	fi

	# Turn the rest of the delivery into a plan, one line per change:
	#   put principals|policies ENCODED-NAME JSON
	#   del principals|policies ENCODED-NAME
	# and the end line as "end COUNT". Nothing is touched until the whole
	# delivery has been read: a delivery without its end line was cut
	# short (kpropd could not read the database), and must not be applied.
	plan=$(mktemp ./.plan.XXXXXX) || cant_process "cannot create a temporary file"
	trap 'rm -f "$plan"' EXIT
	jq -n -r '
		def enc: @uri | gsub("\\."; "%2E");
		foreach inputs as $line (false;
			if . then error("a line follows the end line") else $line.type == "end" end;
			$line)
		| if .type == "end" then "end \(.changes)"
		  elif .type != "change" then error("unexpected line of type \(.type)")
		  elif .op == "principal_add" or .op == "principal_replace" or .op == "principal_add_key_version" then
			(.principal // error("\(.op) without a principal record")) as $p
			| "put principals \($p.name | enc) \($p | del(.keys[]?.key) | tojson)"
		  elif .op == "principal_delete" then "del principals \(.name | enc)"
		  elif .op == "policy_add" or .op == "policy_replace" then
			(.policy // error("\(.op) without a policy record")) as $p
			| "put policies \($p.name | enc) \($p | tojson)"
		  elif .op == "policy_delete" then "del policies \(.name | enc)"
		  else error("unknown change \(.op)")
		  end' >"$plan" || cant_process "malformed or truncated delivery"

	# The end line must be last and count every change.
	last=$(tail -n 1 "$plan")
	lines=$(wc -l <"$plan")
	case $last in
	"end "*) ;;
	*) cant_process "delivery cut short: no end line" ;;
	esac
	[ "$last" = "end $((lines - 1))" ] ||
		cant_process "delivery end line says ${last#end } changes, but $((lines - 1)) came"

	# A full delivery holds every object: start from nothing, so objects
	# that are no longer in the database do not linger. (init-reinit has
	# usually emptied the directory already.)
	if [ "$reinit" = true ]; then
		rm -rf "$FILES_DIR/principals" "$FILES_DIR/policies" || cant_process "cannot empty $FILES_DIR"
	fi
	mkdir -p "$FILES_DIR/principals" "$FILES_DIR/policies" || cant_process "cannot create directories in $FILES_DIR"

	# Apply the plan. On any failure, exit 75: the retry brings these
	# changes again.
	while IFS=' ' read -r action kind name record; do
		case $action in
		put)
			write_file "$FILES_DIR/$kind/$name.json" "$record" ||
				cant_process "cannot write $FILES_DIR/$kind/$name.json"
			;;
		del)
			rm -f "$FILES_DIR/$kind/$name.json" || cant_process "cannot remove $FILES_DIR/$kind/$name.json"
			;;
		end) ;;
		esac
	done <"$plan"

	# Only now, with everything applied, remember this delivery.
	write_file "$SEQ_FILE" "$seq" || cant_process "cannot save the sequence number"
}

# init-reinit: a full delivery follows; empty what this replica holds.
# Forget the sequence number first: if emptying fails half-way, only a full
# delivery will be accepted.
init_reinit() {
	check_config
	rm -f "$SEQ_FILE" || cant_process "cannot remove $SEQ_FILE"
	rm -rf "$FILES_DIR/principals" "$FILES_DIR/policies" || cant_process "cannot empty $FILES_DIR"
	mkdir -p "$FILES_DIR/principals" "$FILES_DIR/policies" || cant_process "cannot create directories in $FILES_DIR"
}

# destroy: the replica is being removed for good. Remove everything it
# made, and its sequence number. FILES_DIR itself was the site's to make.
destroy() {
	check_config
	rm -f "$SEQ_FILE" || cant_process "cannot remove $SEQ_FILE"
	rm -rf "$FILES_DIR/principals" "$FILES_DIR/policies" || cant_process "cannot remove files in $FILES_DIR"
}

case $op in
auth-init) auth_init ;;
apply) apply ;;
init-reinit) init_reinit ;;
stop) ;; # kpropd is shutting down; nothing here outlives an operation
destroy) destroy ;;
"")
	echo "usage: $0 auth-init|apply|init-reinit|stop|destroy" >&2
	exit 64
	;;
*) ;; # a callout a later krb5prop adds: succeed, as PROTOCOL.md asks
esac
exit $SUCCESS
