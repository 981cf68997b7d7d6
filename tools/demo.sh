#!/bin/sh
# make demo: build the demo image from Debian's busybox-static (no network
# needed), import it, and run it with `supermachine run`: it prints what
# shows that it ran under its own kernel, in a microVM, not the host's.
set -eu
build=${1:-build}
layout="$build/demo-image"
python3 "$(dirname "$0")/mkdemoimage.py" "$layout"
"$build/supermachine" import "$layout" >/dev/null
echo "running supermachine/demo in a microVM (the first run boots it and bakes a snapshot; later runs resume that)..."
exec "$build/supermachine" run --rm -e HOST_KERNEL="$(uname -sr)" supermachine/demo
