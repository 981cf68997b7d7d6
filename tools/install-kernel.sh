#!/bin/sh
# meson install script: the guest kernel is built outside meson (cached by
# guest/kernel/build.sh and linked into the build tree), so it is copied
# here, next to the initramfs images, where an installed supermachine looks.
set -eu
src="$MESON_BUILD_ROOT/guest/vmlinux"
datadir=${1:-share}   # get_option('datadir'): relative to the prefix, or absolute
case $datadir in /*) ;; *) datadir="$MESON_INSTALL_PREFIX/$datadir" ;; esac
dest="${DESTDIR:-}$datadir/supermachine"
if [ ! -e "$src" ]; then
    echo "install: no guest kernel at $src; run 'make' first" >&2
    exit 1
fi
mkdir -p "$dest"
cp -L "$src" "$dest/vmlinux.tmp"
chmod 0644 "$dest/vmlinux.tmp"
mv "$dest/vmlinux.tmp" "$dest/vmlinux"
echo "Installing guest kernel to $dest/vmlinux"
