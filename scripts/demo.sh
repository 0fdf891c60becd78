#!/usr/bin/env bash
# The krb5prop demo: a realm made and administered by our tools in a
# private directory, with MIT's tools reading what ours wrote. Nothing outside
# the temporary directory is read or written; it is removed at the end.
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
# Loopback high ports: the primary's KDC, two replicas' kpropd, replica 1's KDC.
base=$((20000 + RANDOM % 20000))
kdcport=$base rep1port=$((base + 1)) rep2port=$((base + 2)) rep1kdcport=$((base + 3))

step "Building krb5prop into $work/bin"
go build -o "$work/bin/" ./cmd/...
export PATH="$work/bin:$PATH"

step "Writing a private krb5.conf and kdc.conf (KRB5_CONFIG, KRB5_KDC_PROFILE)"
cat >"$work/krb5.conf" <<EOC
[libdefaults]
    default_realm = $realm
    dns_lookup_kdc = false
    dns_canonicalize_hostname = false
    rdns = false
    qualify_shortname = ""
[realms]
    $realm = {
        kdc = 127.0.0.1:$kdcport
    }
EOC
cat >"$work/kdc.conf" <<EOC
[realms]
    $realm = {
        database_name = $work/ours/principal
        key_stash_file = $work/ours/stash
        max_life = 10h 0m 0s
        max_renewable_life = 7d 0h 0m 0s
        supported_enctypes = aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha1-96:normal
        default_principal_flags = +preauth
    }
EOC
mkdir -p "$work/ours" "$work/mit"
export KRB5_CONFIG="$work/krb5.conf" KRB5_KDC_PROFILE="$work/kdc.conf"
cat "$work/kdc.conf"

step "Creating the realm with krb5prop's kdb5util (master password from -P)"
run kdb5util -P demo-master-pw create -s

step "Listing the master keys"
run kdb5util list_mkeys

step "Adding a policy and principals with krb5prop's kadmin (kadmin.local syntax, a batch on stdin)"
printf '%s\n' \
  'addpol -minlength 8 -minclasses 2 -history 3 users' \
  'addprinc -pw Alice-pw-1 -policy users alice' \
  'addprinc -randkey -e aes256-cts-hmac-sha1-96:normal host/server.demo.test' \
  'cpw -pw Alice-pw-2 alice' \
  "addprinc -randkey host/$host" \
  "ktadd -k $work/host.keytab host/$host" | run kadmin

step "Listing the principals and showing one"
run kadmin -q listprincs
run kadmin -q "getprinc alice"

step "Exporting the host key to a keytab"
run kadmin -q "ktadd -k $work/host.keytab host/server.demo.test"
if command -v klist >/dev/null 2>&1; then
  step "MIT's klist reads the keytab krb5prop wrote"
  run klist -k -e "$work/host.keytab"
fi

step "Dumping the database in MIT's format"
run kdb5util dump "$work/realm.dump"
ls -l "$work/realm.dump" "$work/realm.dump.dump_ok"

step "Rewriting the stash file from the database"
run kdb5util stash -f "$work/ours/stash.copy"

if command -v kdb5_util >/dev/null 2>&1 || [ -x /usr/sbin/kdb5_util ]; then
  mit=$(command -v kdb5_util || echo /usr/sbin/kdb5_util)
  step "MIT's kdb5_util opens an MIT database of the same realm with the stash krb5prop wrote"
  sed -e "s#$work/ours/principal#$work/mit/principal#" -e "s#$work/ours/stash#$work/mit/stash#" \
    "$work/kdc.conf" >"$work/mit-kdc.conf"
  KRB5_KDC_PROFILE="$work/mit-kdc.conf" run "$mit" -P demo-master-pw create -s >/dev/null
  KRB5_KDC_PROFILE="$work/mit-kdc.conf" run "$mit" -sf "$work/ours/stash" list_mkeys
  step "MIT's kdb5_util loads krb5prop's dump, and MIT's kadmin.local reads the result"
  KRB5_KDC_PROFILE="$work/mit-kdc.conf" run "$mit" load "$work/realm.dump"
  KRB5_KDC_PROFILE="$work/mit-kdc.conf" run "$(command -v kadmin.local || echo /usr/sbin/kadmin.local)" -q "getprinc alice"
  KRB5_KDC_PROFILE="$work/mit-kdc.conf" run "$mit" dump "$work/mit.dump"
  if cmp -s "$work/realm.dump" "$work/mit.dump"; then echo "MIT's re-dump is byte-identical to krb5prop's dump."; fi
else
  step "MIT krb5 is not installed: skipping the MIT step (scripts/deps.sh installs it as root)"
fi

if [ -n "${mit:-}" ]; then
  step "Starting the primary's KDC (MIT's krb5kdc on the MIT copy; kprop gets its ticket there)"
  cat >>"$work/mit-kdc.conf" <<EOC
[kdcdefaults]
    kdc_listen = 127.0.0.1:$kdcport
    kdc_tcp_listen = 127.0.0.1:$kdcport
EOC
  KRB5_KDC_PROFILE="$work/mit-kdc.conf" /usr/sbin/krb5kdc -n >"$work/kdc.log" 2>&1 &
  pids+=($!)
  sleep 1

  step "Two replicas on loopback, each running krb5prop's kpropd (ports $rep1port, $rep2port)"
  for r in 1 2; do
    mkdir -p "$work/replica$r"
    sed -e "s#$work/ours/principal#$work/replica$r/principal#" -e "s#$work/ours/stash#$work/replica$r/stash#" \
      "$work/kdc.conf" >"$work/replica$r/kdc.conf"
    echo "host/$host@$realm" >"$work/replica$r/kpropd.acl"
    port=$((base + r))
    printf '$ kpropd -D -P %s -f %s -a %s -s %s\n' "$port" "$work/replica$r/from_master" "$work/replica$r/kpropd.acl" "$work/host.keytab"
    KRB5_KDC_PROFILE="$work/replica$r/kdc.conf" KRB5RCACHEDIR="$work/replica$r" kpropd -D -P "$port" \
      -f "$work/replica$r/from_master" -a "$work/replica$r/kpropd.acl" -s "$work/host.keytab" >"$work/replica$r/kpropd.out" 2>&1 &
    pids+=($!)
  done
  for r in 1 2; do
    for _ in $(seq 50); do grep -q ready "$work/replica$r/kpropd.out" && break; sleep 0.1; done
  done

  step "Propagating the dump to both replicas with krb5prop's kprop"
  run kdb5util dump "$work/realm.dump"
  for port in $rep1port $rep2port; do
    run kprop -P "$port" -f "$work/realm.dump" -s "$work/host.keytab" "$host"
  done
  ls -l "$work"/realm.dump.*.last_prop

  step "Each replica now holds exactly the primary's database"
  for r in 1 2; do
    if KRB5_KDC_PROFILE="$work/replica$r/kdc.conf" kdb5util dump | cmp -s - "$work/realm.dump"; then
      echo "replica $r: its dump is byte-identical to the primary's"
    else
      echo "replica $r: DIFFERS from the primary" && exit 1
    fi
  done

  step "Replica 1 serves the realm with krb5prop's krb5kdc (port $rep1kdcport; the stash is copied as for any replica)"
  cp "$work/ours/stash" "$work/replica1/stash"
  cat >>"$work/replica1/kdc.conf" <<EOC
[kdcdefaults]
    kdc_listen = 127.0.0.1:$rep1kdcport
    kdc_tcp_listen = 127.0.0.1:$rep1kdcport
[logging]
    kdc = FILE:$work/replica1/kdc.log
EOC
  printf '$ krb5kdc -n\n'
  KRB5_KDC_PROFILE="$work/replica1/kdc.conf" krb5kdc -n >"$work/replica1/kdc.out" 2>&1 &
  pids+=($!)
  for _ in $(seq 50); do grep -q starting "$work/replica1/kdc.out" && break; sleep 0.1; done
  sed -e "s#127.0.0.1:$kdcport#127.0.0.1:$rep1kdcport#" "$work/krb5.conf" >"$work/replica1/krb5.conf"

  step "A client gets a ticket from the replica's KDC with alice's password (MIT's kinit)"
  kinit=$(command -v kinit || echo /usr/bin/kinit)
  printf '$ kinit alice\n'
  echo Alice-pw-2 | KRB5_CONFIG="$work/replica1/krb5.conf" KRB5CCNAME="FILE:$work/ccache" "$kinit" alice >/dev/null
  KRB5CCNAME="FILE:$work/ccache" run "$(command -v klist || echo /usr/bin/klist)"
  echo "replica 1's KDC log:"
  grep AS_REQ "$work/replica1/kdc.log"
fi

step "Destroying the realm"
run kdb5util destroy -f
echo
echo "Demo finished; $work is removed."
