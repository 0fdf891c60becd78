#!/bin/sh
# Regenerates the *.dump files: each is MIT krb5's own parse of the *.conf
# next to it, written by profile_flush_to_buffer from the system libkrb5
# (Debian 12, krb5 1.20.1). Needs gcc; run from this directory.
set -e
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cat > "$tmp/dump.c" <<'C'
#include <stdio.h>
typedef long errcode_t;
typedef struct _profile_t *profile_t;
errcode_t profile_init_path(const char *, profile_t *);
errcode_t profile_flush_to_buffer(profile_t, char **);
int main(int argc, char **argv) {
    profile_t p;
    char *buf;
    errcode_t r = profile_init_path(argv[1], &p);
    if (r == 0)
        r = profile_flush_to_buffer(p, &buf);
    if (r) {
        printf("error %ld\n", r);
        return 1;
    }
    fputs(buf, stdout);
    return 0;
}
C
gcc -o "$tmp/dump" "$tmp/dump.c" -l:libkrb5.so.3
for f in *.conf; do "$tmp/dump" "$f" > "${f%.conf}.dump"; done
