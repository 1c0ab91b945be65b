#!/usr/bin/env bash
# setup-system.sh - prepare a Debian host to build and run ebpf-collector.
#
# Idempotent: prints one line per action taken and nothing when the system is
# already set up (second run is silent and takes well under a second).
#
#   1. Debian packages (apt-get only when something is missing)
#   2. tracefs, debugfs and bpffs mounts
#   3. /lib/modules/$(uname -r)/{build,source} for BCC when the running kernel
#      has no headers of its own (e.g. a custom kernel on a Debian userland):
#      link them to the newest installed Debian linux-headers package, then
#      check that BCC really compiles a program.
#
# Must run as root.
set -euo pipefail

PROG=${0##*/}
say() { printf '%s: %s\n' "$PROG" "$*"; }
die() { printf '%s: error: %s\n' "$PROG" "$*" >&2; exit 1; }

[[ ${EUID:-$(id -u)} -eq 0 ]] || die "must be run as root (try: sudo bash $0)"

export DEBIAN_FRONTEND=noninteractive
DEB_ARCH=$(dpkg --print-architecture)
# BCC must use the distribution's python, not a virtualenv's.
SYS_PYTHON=/usr/bin/python3

# --------------------------------------------------------------------------
# 1. packages
# --------------------------------------------------------------------------
PACKAGES=(clang llvm libbpf1 libbpf-dev bpftool python3-bpfcc
	"linux-headers-$DEB_ARCH" gfortran prometheus make iproute2 jq openssl)

missing=()
# One dpkg query for all packages; unknown packages print nothing.
declare -A installed=()
while read -r pkg status; do
	[[ $status == installed ]] && installed[${pkg%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${PACKAGES[@]}" 2>/dev/null || true)
for p in "${PACKAGES[@]}"; do
	[[ -n ${installed[$p]:-} ]] || missing+=("$p")
done

changed=0
if ((${#missing[@]})); then
	say "installing packages: ${missing[*]}"
	apt-get update -qq || die "apt-get update failed"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null \
		|| die "apt-get install failed for: ${missing[*]}"
	changed=1
fi

# --------------------------------------------------------------------------
# 2. pseudo file systems
# --------------------------------------------------------------------------
is_mounted() { # fstype dir
	awk -v t="$1" -v d="$2" '$2 == d && $3 == t { f = 1 } END { exit !f }' /proc/self/mounts
}
ensure_mount() { # fstype dir
	is_mounted "$1" "$2" && return 0
	[[ -d $2 ]] || die "$2 does not exist (kernel without $1 support?)"
	mount -t "$1" "$1" "$2" 2>/dev/null \
		|| die "cannot mount $1 at $2 (read-only /sys or missing CAP_SYS_ADMIN?)"
	say "mounted $1 at $2"
}
ensure_mount tracefs /sys/kernel/tracing
ensure_mount debugfs /sys/kernel/debug
ensure_mount bpf /sys/fs/bpf

# --------------------------------------------------------------------------
# 3. kernel headers for BCC
# --------------------------------------------------------------------------
KREL=$(uname -r)
MODDIR=/lib/modules/$KREL

# Debian splits headers into linux-headers-<ver>-<flavour> (generated files,
# Makefile; what `build` points to) and linux-headers-<ver>-common (the
# source tree headers; what `source` points to).  BCC needs both links: with
# only `build` it fails to compile even an empty program.
newest_dir() { # glob...
	local d
	for d in "$@"; do [[ -d $d ]] && printf '%s\n' "$d"; done | sort -V | tail -n 1
}
if [[ ! -e $MODDIR/build || ! -e $MODDIR/source ]]; then
	hdr_build=$(newest_dir /usr/src/linux-headers-*-"$DEB_ARCH")
	[[ -n $hdr_build ]] || die "no /usr/src/linux-headers-*-$DEB_ARCH directory (is linux-headers-$DEB_ARCH installed?)"
	hdr_source=${hdr_build%-"$DEB_ARCH"}-common
	[[ -d $hdr_source ]] || die "$hdr_source missing (expected next to $hdr_build)"

	mkdir -p "$MODDIR"
	if [[ ! -e $MODDIR/build ]]; then
		ln -sfn "$hdr_build" "$MODDIR/build"
		say "linked $MODDIR/build -> $hdr_build"
		changed=1
	fi
	if [[ ! -e $MODDIR/source ]]; then
		ln -sfn "$hdr_source" "$MODDIR/source"
		say "linked $MODDIR/source -> $hdr_source"
		changed=1
	fi
fi

# Check BCC once per (kernel, header links, bcc version); remember success.
STAMP_DIR=/var/cache/ebpf-collector
STAMP=$STAMP_DIR/bcc-check
bcc_ver=$(dpkg-query -W -f='${Version}' python3-bpfcc 2>/dev/null || true)
stamp_key="$KREL $(readlink -f "$MODDIR/build") $(readlink -f "$MODDIR/source") $bcc_ver"
if ((changed)) || [[ ! -f $STAMP || $(<"$STAMP") != "$stamp_key" ]]; then
	if ! err=$("$SYS_PYTHON" -c 'from bcc import BPF; BPF(text="int x(void *ctx){return 0;}")' 2>&1); then
		printf '%s\n' "$err" | tail -n 20 >&2
		die "BCC cannot compile a trivial program with the headers in $MODDIR"
	fi
	mkdir -p "$STAMP_DIR"
	printf '%s\n' "$stamp_key" >"$STAMP"
	say "checked BCC compiles against $(readlink -f "$MODDIR/build")"
fi
