#!/usr/bin/env bash
# Build the supermachine guest kernel (an uncompressed, PVH-bootable vmlinux)
# from Debian's linux-source-6.1 plus our config fragment and patches, and
# cache it under ${XDG_CACHE_HOME:-$HOME/.cache}/supermachine/kernel/<hash>/.
#
#   build.sh                 build if not cached (progress on a terminal only)
#   build.sh --print-path    same, then print the cached vmlinux path on stdout
#   build.sh --print-hash    print the cache key and exit (no build)
#   build.sh --check-deps    exit non-zero, with a message, if tools are missing
#
# <hash> = sha256 over this script, supermachine.config, every patches/*.patch
# (sorted by name) and the linux-source version + tarball name, so changing any
# of them builds a new kernel next to the old ones. A cache entry is complete
# or absent: it is assembled in a temporary directory and renamed into place.
# Reads nothing outside this directory, the source tarball and the toolchain.
set -euo pipefail
umask 022
export LC_ALL=C

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF=$HERE/$(basename "${BASH_SOURCE[0]}")
FRAGMENT=$HERE/supermachine.config
PATCH_DIR=$HERE/patches
SRC_PKG=linux-source-6.1
TARBALL=/usr/src/linux-source-6.1.tar.xz
CACHE_ROOT=${XDG_CACHE_HOME:-$HOME/.cache}/supermachine/kernel
# Fixed build identity, so that two builds of the same inputs give the same
# vmlinux (uname -v and the banner otherwise carry date, user and host).
export KBUILD_BUILD_TIMESTAMP='Thu Jan  1 00:00:00 UTC 1970'
export KBUILD_BUILD_USER=supermachine
export KBUILD_BUILD_HOST=supermachine
export KBUILD_BUILD_VERSION=1
# Kbuild/kconfig read these from the environment; a caller's values (or a
# parent make's MAKEFLAGS) must not change what we build.
unset ARCH SUBARCH CROSS_COMPILE LLVM LLVM_IAS CC KCFLAGS KCPPFLAGS KAFLAGS \
	KRUSTFLAGS KBUILD_OUTPUT KBUILD_EXTMOD KBUILD_KCONFIG KBUILD_DEFCONFIG \
	KCONFIG_CONFIG KCONFIG_ALLCONFIG LOCALVERSION INSTALL_PATH O C W V \
	MAKEFLAGS MAKELEVEL MFLAGS GNUMAKEFLAGS

die() { printf 'guest/kernel/build.sh: error: %s\n' "$*" >&2; exit 1; }
if [ -t 2 ]; then
	step() { printf '[kernel] %s\n' "$*" >&2; }
else
	step() { :; }
fi

usage() { sed -n '2,15s/^# \{0,1\}//p' "$SELF"; }

check_deps() {
	local missing=() t
	for t in gcc make flex bison bc tar xz patch sha256sum dpkg-query readelf awk; do
		command -v "$t" >/dev/null 2>&1 || missing+=("$t")
	done
	# libelf-dev (objtool) and libssl-dev (kernel host tools): check headers.
	local inc
	inc=$(echo | gcc -E -Wp,-v - 2>&1 >/dev/null | sed -n 's/^ \(\/.*\)/\1/p' || true)
	_hdr() { local d; for d in $inc /usr/include; do [ -e "$d/$1" ] && return 0; done; return 1; }
	_hdr libelf.h || missing+=("libelf-dev (libelf.h)")
	_hdr openssl/opensslv.h || missing+=("libssl-dev (openssl/opensslv.h)")
	[ -r "$TARBALL" ] || missing+=("$SRC_PKG ($TARBALL)")
	dpkg-query -W -f='${Version}' "$SRC_PKG" >/dev/null 2>&1 ||
		missing+=("$SRC_PKG (package not registered with dpkg)")
	if [ ${#missing[@]} -gt 0 ]; then
		printf 'guest/kernel/build.sh: missing build dependencies:\n' >&2
		printf '  %s\n' "${missing[@]}" >&2
		printf 'on Debian 12: apt-get install gcc make flex bison bc libelf-dev libssl-dev xz-utils patch linux-source-6.1\n' >&2
		return 1
	fi
}

patches() { find "$PATCH_DIR" -maxdepth 1 -name '*.patch' -type f -printf '%f\n' 2>/dev/null | sort; }

cache_key() {
	local version p
	version=$(dpkg-query -W -f='${Version}' "$SRC_PKG" 2>/dev/null) ||
		die "$SRC_PKG is not installed (apt-get install $SRC_PKG)"
	{
		printf 'build.sh %s\n' "$(sha256sum <"$SELF" | cut -d' ' -f1)"
		printf 'fragment %s\n' "$(sha256sum <"$FRAGMENT" | cut -d' ' -f1)"
		for p in $(patches); do
			printf 'patch %s %s\n' "$p" "$(sha256sum <"$PATCH_DIR/$p" | cut -d' ' -f1)"
		done
		printf 'source %s %s\n' "$version" "$(basename "$TARBALL")"
	} | sha256sum | cut -d' ' -f1
}

# Check that every setting of the fragment is in the final .config.
# "CONFIG_X=n" (or "# CONFIG_X is not set") is met by "# CONFIG_X is not set"
# or by X being absent (dependencies unmet); anything else must match exactly.
verify_config() {
	local frag=$1 final=$2 line sym val bad=0
	while IFS= read -r line || [ -n "$line" ]; do
		case $line in
		CONFIG_*=*) sym=${line%%=*}; val=${line#*=} ;;
		"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *}; val=n ;;
		*) continue ;;
		esac
		if [ "$val" = n ]; then
			if grep -q "^$sym=" "$final"; then
				printf '  %s: wanted n, got %s\n' "$sym" "$(grep "^$sym=" "$final")" >&2
				bad=1
			fi
		elif ! grep -qxF "$sym=$val" "$final"; then
			printf '  %s: wanted %s, got %s\n' "$sym" "$val" \
				"$(grep -m1 "^$sym=\|^# $sym is not set" "$final" || echo '(absent)')" >&2
			bad=1
		fi
	done <"$frag"
	return $bad
}

BUILD_DIR=
INSTALL_TMP=
LOG=
cleanup() {
	[ -z "$INSTALL_TMP" ] || rm -rf "$INSTALL_TMP"
	[ -n "$BUILD_DIR" ] && [ -e "$BUILD_DIR" ] || return 0
	# Deleting a 1.4 GB tree can take minutes on a busy disk: rename it
	# out of the way (instant) and delete it in the background, so callers
	# of --print-path get their answer now. remove_stale() finishes the job
	# if that is interrupted. (HUP ignored: when we run under a terminal
	# that closes as we exit, the hangup could hit rm before setsid.)
	local trash=$CACHE_ROOT/.trash-$$
	if mv -T "$BUILD_DIR" "$trash" 2>/dev/null; then
		(trap '' HUP; setsid rm -rf "$trash" </dev/null >/dev/null 2>&1 &)
	else
		rm -rf "$BUILD_DIR"
	fi
}

# Leftovers of builds killed with -9 and of interrupted background deletes
# (their pid is gone).
remove_stale() {
	local d pid
	for d in "$CACHE_ROOT"/.build-*-* "$CACHE_ROOT"/.install-*-* "$CACHE_ROOT"/.trash-*; do
		[ -d "$d" ] || continue
		pid=${d##*-}
		case $pid in *[!0-9]*|'') continue ;; esac
		# alive (a zombie not yet reaped counts as dead)
		if kill -0 "$pid" 2>/dev/null &&
			! grep -qs '^State:[[:space:]]*Z' "/proc/$pid/status"; then
			continue
		fi
		(trap '' HUP; setsid rm -rf "$d" </dev/null >/dev/null 2>&1 &)
	done
}

# run LABEL CMD...: run a build step with its output in $LOG; on failure show
# the end of the log and stop.
run() {
	local label=$1; shift
	step "$label"
	printf '\n=== %s: %s\n' "$label" "$*" >>"$LOG"
	if ! "$@" >>"$LOG" 2>&1; then
		printf 'guest/kernel/build.sh: %s failed; last lines of %s:\n' "$label" "$LOG" >&2
		tail -n 40 "$LOG" >&2
		exit 1
	fi
}

build() {
	local hash=$1 out=$CACHE_ROOT/$1 src p jobs
	check_deps || exit 1
	mkdir -p "$CACHE_ROOT"
	remove_stale
	BUILD_DIR=$CACHE_ROOT/.build-$hash-$$
	INSTALL_TMP=$CACHE_ROOT/.install-$hash-$$
	LOG=$CACHE_ROOT/build-$hash.log
	: >"$LOG"
	rm -rf "$BUILD_DIR"
	mkdir -p "$BUILD_DIR/src"
	src=$BUILD_DIR/src
	step "building guest kernel $hash (log: $LOG)"

	run "extract $(basename "$TARBALL")" \
		tar -xJf "$TARBALL" -C "$src" --strip-components=1
	for p in $(patches); do
		run "patch $p" patch -d "$src" -p1 --forward --batch --fuzz=0 \
			--no-backup-if-mismatch -i "$PATCH_DIR/$p"
	done
	run "make tinyconfig" make -C "$src" ARCH=x86_64 tinyconfig
	run "merge supermachine.config" \
		env -C "$src" ARCH=x86_64 scripts/kconfig/merge_config.sh -m .config "$FRAGMENT"
	run "make olddefconfig" make -C "$src" ARCH=x86_64 olddefconfig
	step "verify .config"
	local mismatches
	if ! mismatches=$(verify_config "$FRAGMENT" "$src/.config" 2>&1); then
		printf '%s\n' "guest/kernel/build.sh: settings of supermachine.config not in the final .config" \
			"(unmet dependency, selected by another option, or renamed symbol):" \
			"$mismatches" | tee -a "$LOG" >&2
		exit 1
	fi
	jobs=$(nproc 2>/dev/null || echo 2)
	# libcall: gcc must not inline memcpy/memset as "rep movsb/stosb", which
	# is very slow when the guest's kernel mode is emulated (kvm_pvm).
	run "make vmlinux (-j$jobs, several minutes)" make -C "$src" ARCH=x86_64 \
		-j"$jobs" KCFLAGS=-mstringop-strategy=libcall vmlinux
	# The VMM boots vmlinux through its PVH entry point: insist on the note
	# (Xen ELF note type 0x12, XEN_ELFNOTE_PHYS32_ENTRY).
	readelf -Wn "$src/vmlinux" >"$BUILD_DIR/notes"
	grep -Eq 'Xen[[:space:]].*(0x00000012|PHYS32_ENTRY)' "$BUILD_DIR/notes" ||
		die "vmlinux has no PVH entry note (XEN_ELFNOTE_PHYS32_ENTRY)"

	step "install into $out"
	rm -rf "$INSTALL_TMP"
	mkdir -p "$INSTALL_TMP"
	cp "$src/vmlinux" "$INSTALL_TMP/vmlinux"
	cp "$src/.config" "$INSTALL_TMP/config"
	sync "$INSTALL_TMP/vmlinux" "$INSTALL_TMP/config" 2>/dev/null || sync
	# Atomic: the entry appears complete or not at all. (We hold the lock
	# and found no vmlinux, so an existing $out is debris.)
	[ ! -e "$out" ] || rm -rf "$out"
	if ! mv -T "$INSTALL_TMP" "$out" 2>/dev/null; then
		[ -f "$out/vmlinux" ] || die "cannot install into $out"
	fi
	rm -f "$LOG"
}

main() {
	local mode=build hash out
	case ${1:-} in
	'') ;;
	--print-path) mode=path ;;
	--print-hash) mode=hash ;;
	--check-deps) check_deps; exit $? ;;
	-h|--help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
	[ $# -le 1 ] || { usage >&2; exit 2; }
	[ -r "$FRAGMENT" ] || die "missing $FRAGMENT"

	hash=$(cache_key)
	if [ $mode = hash ]; then
		echo "$hash"
		exit 0
	fi
	out=$CACHE_ROOT/$hash
	if [ ! -f "$out/vmlinux" ]; then
		trap cleanup EXIT
		trap 'exit 130' INT
		trap 'exit 143' TERM
		mkdir -p "$CACHE_ROOT"
		# One build per key at a time: wait for a concurrent build of the
		# same inputs, then use its result.
		if command -v flock >/dev/null 2>&1; then
			exec 9>"$CACHE_ROOT/.lock-$hash"
			flock 9
		fi
		# (not "cond || build": bash would run build without set -e)
		if [ ! -f "$out/vmlinux" ]; then
			build "$hash"
		fi
	fi
	if [ $mode = path ]; then
		echo "$out/vmlinux"
	else
		step "vmlinux: $out/vmlinux"
	fi
}

main "$@"
