#!/bin/sh
# Regenerates the MIT outputs in this directory from edge.dump with Debian
# 12's MIT krb5 1.20.1 (apt-get install krb5-kdc krb5-admin-server).
# Usage: sh make.sh
#
# edge.dump holds principals with out-of-range and malformed fields (every
# flag bit, timestamps past 2038, unknown enctypes and salt types, broken
# KRB5_TL_KADM_DATA, KRB5_TL_MKVNO and string attributes, names needing CSV
# quotes), in database order, with their keys deliberately not sorted by
# kvno. Its K/M is encrypted in the master key derived from the password
# "pw" for realm T.TEST, so a realm created with that password loads it.
#
# Everything MIT writes goes to a temporary directory; KRB5_CONFIG and
# KRB5_KDC_PROFILE point the tools there.
set -eu
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cat > "$T/krb5.conf" <<EOF
[libdefaults]
    default_realm = T.TEST
    dns_lookup_kdc = false
    dns_lookup_realm = false
EOF
cat > "$T/kdc.conf" <<EOF
[realms]
    T.TEST = {
        database_name = $T/principal
        key_stash_file = $T/stash
        acl_file = $T/kadm5.acl
        master_key_type = aes256-cts-hmac-sha1-96
    }
[logging]
    default = FILE:$T/krb5.log
EOF
export KRB5_CONFIG="$T/krb5.conf" KRB5_KDC_PROFILE="$T/kdc.conf"
kdb5_util -P pw create -s >/dev/null
kdb5_util load "$HERE/edge.dump"
for t in keydata keyinfo princ_flags princ_lockout princ_meta princ_stringattrs princ_tktpolicy; do
    kdb5_util tabdump -o "$HERE/$t.out" "$t"
    kdb5_util tabdump -n -o "$HERE/$t.n.out" "$t"
    kdb5_util tabdump -c -o "$HERE/$t.c.out" "$t"
    kdb5_util tabdump -e -o "$HERE/$t.e.out" "$t"
    kdb5_util tabdump -H -c -e -n -o "$HERE/$t.Hcen.out" "$t"
done
