#!/bin/sh
# Regenerates the files in this directory with Debian 12's MIT krb5 1.20.1
# (apt-get install krb5-kdc krb5-admin-server): one throwaway realm per
# master key enctype, each holding user@REALM with password "user-pw".
# The stash is the master key; the dump holds every key of user and K/M
# encrypted in it (key usage 0), so the files pin MIT's krb5_c_encrypt and
# string-to-key for each enctype. Usage: sh make.sh [OUTDIR]
set -eu
OUT=$(cd "${1:-$(dirname "$0")}" && pwd)
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
ALL="des3-cbc-sha1:normal aes128-cts-hmac-sha1-96:normal aes256-cts-hmac-sha1-96:normal aes128-cts-hmac-sha256-128:normal aes256-cts-hmac-sha384-192:normal arcfour-hmac:normal"
for E in des3-cbc-sha1 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha384-192 arcfour-hmac; do
  R=MKEY.TEST
  D="$W/$E"
  mkdir -p "$D"
  cat > "$D/krb5.conf" <<EOC
[libdefaults]
    default_realm = $R
    allow_weak_crypto = true
EOC
  cat > "$D/kdc.conf" <<EOC
[realms]
    $R = {
        database_name = $D/principal
        key_stash_file = $D/stash
        master_key_type = $E
        supported_enctypes = $ALL
    }
EOC
  export KRB5_CONFIG="$D/krb5.conf" KRB5_KDC_PROFILE="$D/kdc.conf"
  kdb5_util -r $R -P "mkey-pw" create -s >/dev/null
  kadmin.local -r $R -q "addprinc -pw user-pw user" >/dev/null 2>&1
  kdb5_util -r $R dump "$D/dump"
  cp "$D/stash" "$OUT/$E.stash"
  grep -E '^princ.(38).[0-9]+.[0-9]+.[0-9]+.0.(K/M|user)@' "$D/dump" > "$OUT/$E.dump"
done
