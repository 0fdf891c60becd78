#!/usr/bin/env bash
# Installs what krb5prop needs on a Debian 12 machine: the Go modules, and the
# MIT krb5 1.20 packages the interop tests run against. Idempotent; prints
# nothing when everything is present.
#
# As root, missing packages are installed with apt-get, without starting any
# daemon and without questions. Otherwise the apt-get command is printed, and
# the script fails only if KRB5PROP_REQUIRE_MIT=1 (the interop tests skip
# without MIT, or fail with that variable set).
set -euo pipefail

# Debian packages the project needs (GNU time: peak RSS for make bench;
# openbsd-inetd: cmd/kpropd's tests run our kpropd under it from the shipped
# inetd/inetd.conf line; systemd: systemd-socket-activate and
# systemd-analyze for its socket-activation and unit-file tests; slapd and
# ldap-utils: the example LDAP secondary-replica plugin is tested against a
# real OpenLDAP server on a high port; jq: the secondary-replica tests' shell
# plugins; libwrap0 and libtirpc3: what the privately unpacked xinetd, below,
# links with).
PACKAGES="krb5-kdc krb5-admin-server krb5-kpropd krb5-user time openbsd-inetd systemd slapd ldap-utils jq libwrap0 libtirpc3"

# Of those, the ones that ship a daemon, as package:service where the
# service is named otherwise. None of them may run because this script
# installed it; the tests start inetd themselves, in the foreground, on a
# high port.
SERVICES="krb5-kdc krb5-admin-server krb5-kpropd openbsd-inetd:inetd slapd"

# The realm name Debian's krb5-config writes into /etc/krb5.conf on a fresh
# install. krb5prop's tests never read /etc; this only keeps the install from
# asking. An existing /etc/krb5.conf keeps its own realm (krb5-config reads it
# first).
DEBCONF_REALM="EXAMPLE.COM"

POLICY_RC_D=/usr/sbin/policy-rc.d

cd "$(dirname "$0")/.."

warn() { echo "deps.sh: $*" >&2; }

# mit_failed reports a problem with the MIT packages and decides, from
# KRB5PROP_REQUIRE_MIT, whether it stops the caller.
mit_failed() {
	warn "$*"
	case "${KRB5PROP_REQUIRE_MIT:-}" in
	"" | 0 | false | FALSE | False)
		warn "continuing: interop tests against MIT krb5 will be skipped"
		return 0
		;;
	esac
	warn "KRB5PROP_REQUIRE_MIT is set: MIT krb5 is required"
	exit 1
}

# --- Go modules ---------------------------------------------------------------
if ! command -v go >/dev/null 2>&1; then
	warn "no go command in PATH; install Go $(sed -n 's/^go //p' go.mod) from https://go.dev/dl/ (e.g. into /usr/local/go) and add its bin directory to PATH"
	exit 1
fi
go mod download

# --- Debian packages ----------------------------------------------------------
if ! command -v dpkg-query >/dev/null 2>&1; then
	mit_failed "not a Debian system (no dpkg-query): install MIT krb5 1.20 (kdb5_util, kadmin.local, kprop, kpropd, krb5kdc, kinit, klist, kvno) yourself"
	exit 0
fi

installed() {
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null)" = installed ]
}

# xinetd conflicts with openbsd-inetd (both provide inet-superserver), so the
# test of inetd/xinetd.d/kpropd runs xinetd unpacked from its package into
# .deps/xinetd: apt-get download needs no root, and nothing is installed on
# the system. Run at exit, after the package lists are fresh.
XINETD_DIR=.deps/xinetd
unpack_xinetd() {
	if command -v xinetd >/dev/null 2>&1 || [ -x "$XINETD_DIR/usr/sbin/xinetd" ]; then
		return 0
	fi
	local tmp
	tmp=$(mktemp -d)
	if (cd "$tmp" && apt-get download xinetd >/dev/null 2>&1) &&
		mkdir -p "$XINETD_DIR" && dpkg-deb -x "$tmp"/xinetd_*.deb "$XINETD_DIR"; then
		echo "deps.sh: unpacked xinetd into $XINETD_DIR" >&2
	else
		warn "could not unpack xinetd into $XINETD_DIR (apt-get download xinetd); its test fails under KRB5PROP_REQUIRE_MIT"
	fi
	rm -rf "$tmp"
}

missing=()
for pkg in $PACKAGES; do
	installed "$pkg" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then
	unpack_xinetd
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	unpack_xinetd
	mit_failed "missing Debian packages: ${missing[*]}; install them with:
    sudo apt-get install -y ${missing[*]}"
	exit 0
fi

# Keep the install from starting krb5kdc, kadmind or kpropd (and binding
# ports 88, 464, 749, 754): Debian's maintainer scripts start services through
# invoke-rc.d and deb-systemd-invoke, and both obey policy-rc.d exit code 101.
# A policy-rc.d the machine already has is left alone.
created_policy=
cleanup() {
	if [ -n "$created_policy" ]; then
		rm -f "$POLICY_RC_D"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
if [ ! -e "$POLICY_RC_D" ]; then
	printf '#!/bin/sh\n# Temporary, from krb5prop scripts/deps.sh: start no services.\nexit 101\n' >"$POLICY_RC_D"
	chmod 0755 "$POLICY_RC_D"
	created_policy=1
fi

# Answer krb5-config's questions in advance. Only on a first install: once
# krb5-config is installed its answers are the administrator's.
if ! installed krb5-config; then
	debconf-set-selections <<EOF
krb5-config krb5-config/default_realm string $DEBCONF_REALM
krb5-config krb5-config/add_servers_realm string $DEBCONF_REALM
krb5-config krb5-config/add_servers boolean false
krb5-config krb5-config/kerberos_servers string
krb5-config krb5-config/admin_server string
EOF
fi

# slapd would otherwise ask for a domain and an admin password and build a
# directory in /var/lib/ldap; the tests run their own slapd from a private
# configuration, so the package's is not wanted.
if ! installed slapd; then
	debconf-set-selections <<EOF
slapd slapd/no_configuration boolean true
EOF
fi

echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get -q update >/dev/null; then
	mit_failed "apt-get update failed"
	exit 0
fi
if ! apt-get -q install -y --no-install-recommends \
	-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
	"${missing[@]}" >/dev/null; then
	mit_failed "apt-get install ${missing[*]} failed"
	exit 0
fi

# The packages also enable their services for the next boot; a machine that
# got them from this script wants the programs, not a KDC, kadmind or kpropd
# (port 754) running at boot. Services of packages that were already
# installed are not touched.
for entry in $SERVICES; do
	pkg=${entry%%:*}
	svc=${entry#*:}
	case " ${missing[*]} " in
	*" $pkg "*)
		deb-systemd-helper disable "$svc.service" >/dev/null 2>&1 || true
		# The init script is named after the package.
		update-rc.d "$pkg" disable >/dev/null 2>&1 || true
		;;
	esac
done

unpack_xinetd
