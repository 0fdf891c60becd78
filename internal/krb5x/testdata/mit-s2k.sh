#!/bin/bash
# Regenerates mit-s2k.kt with MIT's ktutil: user@S2K.TEST, kvno 1 from
# password "user-pw", kvno 2 from "pässwörd-𝄞", one key per enctype.
OUT=${1:-mit-s2k.kt}
export KRB5_CONFIG=/dev/null
{
for kv in 1 2; do
  if [ $kv = 1 ]; then pw='user-pw'; else pw='pässwörd-𝄞'; fi
  for e in des3-cbc-sha1 aes128-cts-hmac-sha1-96 aes256-cts-hmac-sha1-96 aes128-cts-hmac-sha256-128 aes256-cts-hmac-sha384-192 arcfour-hmac; do
    echo "addent -password -p user@S2K.TEST -k $kv -e $e"; sleep 0.3
    echo "$pw"; sleep 0.3
  done
done
echo "wkt $OUT"; sleep 0.3
echo quit
} | ktutil >/dev/null
