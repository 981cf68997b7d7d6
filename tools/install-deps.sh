#!/bin/sh
# Install the Debian packages the build and the tests need; quiet and quick
# when everything is there. "bench" adds the peers the benchmarks measure.
# qemu-system-x86 is the emulated KVM host of tools/kvm-host, where the VM
# tests run on machines without KVM (and whose own tests run everywhere).
# podman, containerd, runc, crun and the CNI plugins drive the OCI runtime's
# tests (tests/oci-runtime); runc and crun are also the reference that the
# same cases and bench/oci compare it with. python3-dev, -setuptools, -pip
# and -pytest build, install and test the Python binding (bindings/python),
# mypy checks its type hints.
set -eu

pkgs="gcc g++ valgrind make meson ninja-build pkg-config musl-tools busybox-static
      libarchive-dev libcmocka-dev python3 clang libclang-rt-14-dev
      linux-source-6.1 flex bison bc libelf-dev libssl-dev
      libcurl4-openssl-dev libjansson-dev libisal-dev docker-registry skopeo zstd apache2-utils curl
      libext2fs-dev e2fsprogs umoci libslirp-dev libseccomp-dev debootstrap openssl
      mandoc groff-base xfsprogs qemu-system-x86 zsh
      podman containerd runc crun containernetworking-plugins
      python3-dev python3-setuptools python3-pip python3-pytest mypy"
[ "${1:-}" = bench ] && pkgs="$pkgs strace libdeflate-dev"

missing=""
for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" ||
        missing="$missing $p"
done
# Node.js for bindings/node (its addon and tests): Debian's, unless a node
# is there already (NodeSource's carries its own npm and headers, and
# Debian's npm would conflict with it).
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    missing="$missing nodejs npm libnode-dev"
elif [ ! -e "$(dirname "$(dirname "$(command -v node)")")/include/node/node_api.h" ]; then
    missing="$missing libnode-dev"
fi
[ -z "$missing" ] && exit 0

echo "Installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "run as root, or install:$missing" >&2; exit 1; }
    SUDO=sudo
else
    SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq >/dev/null
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
