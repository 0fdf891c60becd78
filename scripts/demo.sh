#!/usr/bin/env bash
# The krb5prop demo: a primary and two replicas on loopback, every daemon
# krb5prop's, each with its own private configuration, high ports and a
# directory under one temporary directory (removed at the end). Nothing
# outside it is read or written, and no root-only port is used.
#
# It creates the realm and principals on the primary, dumps it, propagates
# the dump to both replicas at once, shows the propagation status, runs a
# secondary-replica plugin on replica 1, and has each replica's KDC answer
# a kinit (MIT's kinit when installed, else a gokrb5 client); then changes
# a password on the primary and propagates again.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n== %s\n' "$*"; }
run() { printf '$ %s\n' "$*"; "$@"; }

work=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
realm=DEMO.KRB5PROP.TEST
host=$(hostname | tr '[:upper:]' '[:lower:]')
# Loopback high ports: the primary's KDC, each replica's kpropd and KDC.
base=$((20000 + RANDOM % 20000))
kdcport=$base
kpropdport=(0 $((base + 1)) $((base + 2)))
replicakdcport=(0 $((base + 3)) $((base + 4)))

# wait_for FILE TEXT: until a daemon has written TEXT to FILE.
wait_for() {
	for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
	echo "gave up waiting for '$2' in $1:" && cat "$1" && return 1
}

step "Building krb5prop into $work/bin"
go build -o "$work/bin/" ./cmd/... ./scripts/gokinit
export PATH="$work/bin:$PATH"
kinit_cmd=$(command -v kinit || true)
[ -z "$kinit_cmd" ] && [ -x /usr/bin/kinit ] && kinit_cmd=/usr/bin/kinit

# krb5conf DIR PORT: a krb5.conf whose realm has one KDC, on PORT.
krb5conf() {
	cat >"$1/krb5.conf" <<EOC
[libdefaults]
    default_realm = $realm
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    qualify_shortname = ""
[realms]
    $realm = {
        kdc = 127.0.0.1:$2
    }
EOC
}

# kdcconf DIR PORT [EXTRA]: a kdc.conf with the database in DIR and the
# KDC on PORT.
kdcconf() {
	cat >"$1/kdc.conf" <<EOC
[kdcdefaults]
    kdc_listen = 127.0.0.1:$2
    kdc_tcp_listen = 127.0.0.1:$2
[realms]
    $realm = {
        database_name = $1/principal
        key_stash_file = $1/stash
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        default_principal_flags = +preauth
    }
[logging]
    kdc = FILE:$1/kdc.log
${3:-}
EOC
}

step "The primary: a private krb5.conf and kdc.conf (KRB5_CONFIG, KRB5_KDC_PROFILE)"
primary=$work/primary
mkdir -p "$primary"
krb5conf "$primary" "$kdcport"
kdcconf "$primary" "$kdcport"
export KRB5_CONFIG=$primary/krb5.conf KRB5_KDC_PROFILE=$primary/kdc.conf KRB5RCACHEDIR=$work
cat "$primary/kdc.conf"

step "Creating the realm with kdb5util (master password from -P) and adding principals with kadmin"
run kdb5util -P demo-master-pw create -s
kadmin <<EOC
addpol -minlength 8 users
addprinc -pw Alice-pw-1 -policy users alice
addprinc -pw Bob-pw-1 -policy users bob
addprinc -randkey host/$host
ktadd -k $work/host.keytab host/$host
EOC
run kadmin -q "getprinc alice"

step "The primary's KDC (krb5kdc -n, port $kdcport): kprop gets its tickets there"
krb5kdc -n >"$primary/kdc.out" 2>&1 &
pids+=($!)
wait_for "$primary/kdc.out" starting

for r in 1 2; do
	dir=$work/replica$r
	mkdir -p "$dir"
	extra=
	if [ "$r" = 1 ]; then
		# Replica 1 keeps a registry of files in step with the realm:
		# the template plugin, one JSON file per principal and policy.
		extra="[secondary_replicas]
    files = {
        plugin = $PWD/examples/plugins/files/krb5prop-files-plugin.sh
        realm = $realm
        env = FILES_DIR=$dir/registry
    }"
	fi
	kdcconf "$dir" "${replicakdcport[$r]}" "$extra"
	krb5conf "$dir" "${replicakdcport[$r]}"
	# A replica gets the primary's stash by hand, as with MIT.
	cp "$primary/stash" "$dir/stash"
	echo "host/$host@$realm" >"$dir/kpropd.acl"
done

step "Two replicas, each checked with kpropd --check before anything is sent"
for r in 1 2; do
	dir=$work/replica$r
	KRB5_KDC_PROFILE=$dir/kdc.conf run kpropd --check -P "${kpropdport[$r]}" -f "$dir/from_master" -a "$dir/kpropd.acl" -s "$work/host.keytab"
done

step "Starting each replica's kpropd (-D) and KDC (--wait-for-database=0: it serves once the first propagation arrives)"
for r in 1 2; do
	dir=$work/replica$r
	printf '$ kpropd -D -P %s -f %s -a %s -s %s\n' "${kpropdport[$r]}" "$dir/from_master" "$dir/kpropd.acl" "$work/host.keytab"
	KRB5_KDC_PROFILE=$dir/kdc.conf kpropd -D -P "${kpropdport[$r]}" -f "$dir/from_master" -a "$dir/kpropd.acl" \
		-s "$work/host.keytab" >"$dir/kpropd.out" 2>&1 &
	pids+=($!)
	printf '$ krb5kdc -n --wait-for-database=0\n'
	KRB5_KDC_PROFILE=$dir/kdc.conf krb5kdc -n --wait-for-database=0 >"$dir/kdc.out" 2>&1 &
	pids+=($!)
done
for r in 1 2; do
	wait_for "$work/replica$r/kpropd.out" ready
	wait_for "$work/replica$r/kdc.out" "waiting for the database"
done
cat "$work/replica1/kdc.out"

step "Dumping the primary and propagating to both replicas at once (kprop fan-out)"
run kdb5util dump "$work/realm.dump"
replicas=("$host:${kpropdport[1]}" "$host:${kpropdport[2]}")
run kprop -f "$work/realm.dump" -s "$work/host.keytab" "${replicas[@]}"

step "The propagation status, beside the dump"
run kprop --status -f "$work/realm.dump"

step "Each replica now holds exactly the primary's database"
for r in 1 2; do
	if KRB5_KDC_PROFILE=$work/replica$r/kdc.conf kdb5util dump | cmp -s - "$work/realm.dump"; then
		echo "replica $r: its dump is byte-identical to the primary's"
	else
		echo "replica $r: DIFFERS from the primary" && exit 1
	fi
done

# kinit_at R PRINCIPAL PASSWORD: a TGT from replica R's KDC.
kinit_at() {
	printf '$ kinit %s    # against replica %s'"'"'s KDC\n' "$2" "$1"
	if [ -n "$kinit_cmd" ]; then
		echo "$3" | KRB5_CONFIG=$work/replica$1/krb5.conf KRB5CCNAME=FILE:$work/ccache "$kinit_cmd" "$2" >/dev/null
		KRB5CCNAME=FILE:$work/ccache klist | sed -n '/Default principal/p;/krbtgt/p'
	else
		echo "$3" | KRB5_CONFIG=$work/replica$1/krb5.conf gokinit "$2"
	fi
}

step "Both replicas' KDCs answer (MIT's kinit when installed, else gokrb5's client)"
for r in 1 2; do
	wait_for "$work/replica$r/kdc.out" starting
	kinit_at "$r" alice Alice-pw-1
done

step "Replica 1's secondary replica: the plugin got the whole realm"
KRB5_KDC_PROFILE=$work/replica1/kdc.conf run kdb5util replica info files
ls "$work/replica1/registry/principals"

step "A password change on the primary, propagated again: the plugin gets just that change"
run kadmin -q "cpw -pw Alice-pw-2 alice"
run kdb5util dump "$work/realm.dump"
run kprop -f "$work/realm.dump" -s "$work/host.keytab" "${replicas[@]}"
for _ in $(seq 100); do
	KRB5_KDC_PROFILE=$work/replica1/kdc.conf kdb5util replica info files | grep -q "Update sequence: 2 " && break
	sleep 0.1
done
KRB5_KDC_PROFILE=$work/replica1/kdc.conf kdb5util replica info files | grep -E "^(State|Update sequence|Changes in last attempt)"
jq -c "{name, kvno, last_pwd_change}" "$work/replica1/registry/principals/alice%40DEMO%2EKRB5PROP%2ETEST.json"
kinit_at 2 alice Alice-pw-2

step "Destroying the realm"
run kdb5util destroy -f
echo
echo "Demo finished; $work is removed."
