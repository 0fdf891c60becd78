#!/bin/bash
# Regenerates the MIT-made files in this directory that are not copies of
# the shared fixtures, with Debian 12's kdb5_util 1.20.1 in a private
# scratch realm (KRB5_CONFIG and KRB5_KDC_PROFILE point into it):
#   redump.{b7,r13,r18}  the old-format dumps loaded by MIT and dumped again
#                        in the default format (what each format loses)
#   dump.iprop, dump.ipropx
#                        dump -i0 / -i1 of dump.r111 loaded with iprop on
#   tricky.dump          a realm made with kadmin.local holding names that
#                        need quoting, a key-less principal, flag bit 31,
#                        kvno 65535, string attributes and policies
#   bad.dump, hdr*.dump  the bad inputs of load-experiments.sh, with MIT's
#                        messages and exit status in *.stderr
# usage: bash make.sh   (run from this directory)
set -eu
W=$(mktemp -d)
trap 'rm -rf "$W"' EXIT
cat > "$W/krb5.conf" <<EOC
[libdefaults]
    default_realm = FIXTURE.TEST
EOC
cat > "$W/kdc.conf" <<EOC
[realms]
    FIXTURE.TEST = {
        database_name = $W/principal
        key_stash_file = $W/stash
    }
EOC
# iprop dumps need iprop on; MIT's load with iprop on would also start a
# ulog, so only the dumps use this profile.
sed -e "s|^\(\s*key_stash_file.*\)|\1\n        iprop_enable = true\n        iprop_logfile = $W/principal.ulog|" "$W/kdc.conf" > "$W/kdc-iprop.conf"
# dump -i needs the master key (without it MIT never maps the ulog and
# asserts); dump.r111's realm stash is kdb's test data.
cp ../../../testdata/mit-basic-stash "$W/stash"
export KRB5_CONFIG=$W/krb5.conf KRB5_KDC_PROFILE=$W/kdc.conf
for f in b7 r13 r18; do
  cp "dump.$f" "$W/in.$f"
  kdb5_util -d "$W/db_$f" load "$W/in.$f"
  kdb5_util -d "$W/db_$f" dump "$W/out.$f" 2>/dev/null || true
  cp "$W/out.$f" "redump.$f"
done
kdb5_util load dump.r111
KRB5_KDC_PROFILE=$W/kdc-iprop.conf kdb5_util dump -i1 "$W/ipropx"
KRB5_KDC_PROFILE=$W/kdc-iprop.conf kdb5_util dump -i0 "$W/iprop"
cp "$W/ipropx" dump.ipropx
cp "$W/iprop" dump.iprop
# load-experiments.sh section 4 and 5
awk 'NR==4{sub(/\t1\t2\t18\t62\t/,"\t1\t2\t18\tXX\t")}1' dump.r111 > bad.dump
(printf 'kdb5_util load_dump version 7 \n'; tail -n +2 dump.r111) > hdr-space.dump
(printf 'kdb5_util load_dump version 7\r\n'; tail -n +2 dump.r111) > hdr-crlf.dump
(printf 'kdb5_util load_dump version 8\n'; tail -n +2 dump.r111) > hdr-v8.dump
for f in bad.dump hdr-space.dump hdr-crlf.dump hdr-v8.dump dump.ipropx; do
  set +e
  kdb5_util -d "$W/scratch" load "$f" 2> "$f.stderr"
  echo "exit $?" >> "$f.stderr"
  set -e
done

# tricky.dump, in a realm of its own
T=$W/tricky
mkdir -p "$T"
sed -e "s|$W/|$T/|g" "$W/kdc.conf" > "$T/kdc.conf"
export KRB5_KDC_PROFILE=$T/kdc.conf
kdb5_util -P tricky-master-pw create -s > /dev/null
K() { kadmin.local -q "$1" > /dev/null 2>&1; }
K 'addpol -minlength 8 -minclasses 3 -history 5 -maxfailure 3 -failurecountinterval 1h -lockoutduration 10m lockpol'
K 'addpol -allowedkeysalts aes256-cts-hmac-sha1-96:special,aes128-cts-hmac-sha1-96:norealm ks'
K 'addprinc -randkey "sl\/ash/at\@sign"'
K 'addprinc -randkey "back\\\\slash"'
K 'addprinc -randkey "tab\tnl\nbs\bnul\0end/x\@y"'
K 'addprinc -randkey "john doe"'
K 'addprinc -nokey nokeys'
K 'addprinc -randkey -policy lockpol -e aes256-cts:special,aes128-cts:norealm,aes256-cts:onlyrealm salty'
K 'addprinc -randkey bigints'
K 'modprinc -kvno 65535 +0x80000000 -allow_tix bigints'
K 'setstr bigints require_auth "otp spake"'
kdb5_util dump "$T/tricky.dump"
cp "$T/tricky.dump" tricky.dump
