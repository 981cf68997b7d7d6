#!/bin/sh
# The embedding flow a user follows: build an example from examples/ with
# plain cc and `pkg-config --cflags --libs supermachine` (the build tree's
# uninstalled .pc), then run it against an image imported into a private
# store.
#
# embed.sh CASE     (env: SRC source tree, BUILD build tree, SM supermachine)
#   hello           hello.c runs a command with the image's user, directory
#                   and Env, in its own kernel; output and exit status pass
#                   through
#   hello_no_image  an image that cannot be opened: sm_last_error's sentence
#                   and status 125, no VM
#   sandbox         sandbox.c: script copied in, run as uid 65534 with no
#                   network, killed at its time limit; status 124 and the
#                   peak memory reported
set -eu

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

tmp=$(mktemp -d /tmp/sm-embed-test-XXXXXX)
trap 'rm -rf "$tmp"' EXIT

# The way examples/README.md says, with warnings as errors and strict C11
# (the public header must not need GNU extensions).
build() {
    PKG_CONFIG_PATH="$BUILD/meson-uninstalled"
    export PKG_CONFIG_PATH
    flags=$(pkg-config --cflags --libs supermachine) ||
        fail "pkg-config does not know supermachine (looked in $PKG_CONFIG_PATH)"
    # shellcheck disable=SC2086
    cc -std=c11 -pedantic -Wall -Wextra -Werror -o "$tmp/$1" "$SRC/examples/$1.c" $flags ||
        fail "cc cannot build examples/$1.c with: $flags"
}

# The library finds the worker binary and guest files next to itself in a
# build tree; set the worker anyway so that a stale installed copy never
# stands in for the one under test.
export LD_LIBRARY_PATH="$BUILD" SUPERMACHINE_WORKER="$BUILD/supermachine-worker"
export SUPERMACHINE_DATA_DIR="$tmp/data" XDG_RUNTIME_DIR="$tmp/run"
mkdir -p "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"

import_images() {
    python3 "$SRC/tests/run/mkrunimage.py" "$tmp/layout"
    "$SM" import "$tmp/layout" >/dev/null
}

# Runs "$@", leaving its stdout, stderr and status in $tmp/out, $tmp/err, $rc.
capture() {
    rc=0
    "$@" >"$tmp/out" 2>"$tmp/err" || rc=$?
}

show() {
    printf '\n--- stdout:\n%s\n--- stderr:\n%s\n' "$(cat "$tmp/out")" "$(cat "$tmp/err")"
}

case_hello() {
    build hello
    import_images
    # The "ep" image: User app, WorkingDir /srv/app, Env IMAGE_VAR=from-image.
    capture "$tmp/hello" localhost/runtest:ep sh -c \
        'id -un; pwd; echo "$IMAGE_VAR"; cat /proc/version; echo oops >&2; exit 3'
    [ "$rc" = 3 ] || fail "exit status $rc, wanted the command's 3$(show)"
    [ "$(sed -n 1,3p "$tmp/out")" = "$(printf 'app\n/srv/app\nfrom-image')" ] ||
        fail "not run as the image's user, directory and Env$(show)"
    guest_kernel=$(sed -n 4p "$tmp/out")
    case "$guest_kernel" in
    "Linux version "*) ;;
    *) fail "no /proc/version from the guest$(show)" ;;
    esac
    [ "$guest_kernel" != "$(cat /proc/version)" ] ||
        fail "the command saw the host's kernel, not the VM's$(show)"
    [ "$(cat "$tmp/err")" = oops ] || fail "stderr not passed through$(show)"
    [ "$(wc -l <"$tmp/out")" = 4 ] || fail "extra output$(show)"
}

case_hello_no_image() {
    build hello
    # Nothing listens on port 1: the pull fails at once.
    capture "$tmp/hello" 127.0.0.1:1/nothing:here true
    [ "$rc" = 125 ] || fail "exit status $rc, wanted 125$(show)"
    grep -q '^hello: 127.0.0.1:1/nothing:here: .\{20,\}' "$tmp/err" ||
        fail "no sentence from sm_last_error()$(show)"
    [ ! -s "$tmp/out" ] || fail "output from a VM that never ran$(show)"
}

case_sandbox() {
    build sandbox
    import_images
    # Forks are slow under an emulated guest kernel (seconds each on a busy
    # host): one (id) before the output is complete, the rest builtins, and
    # a limit far above what that takes.
    cat >"$tmp/script.sh" <<'EOF'
id
echo /sys/class/net/*
echo "cwd=$PWD"
echo started >&2
exec sleep 600
EOF
    capture "$tmp/sandbox" localhost/runtest:plain "$tmp/script.sh" 30
    [ "$rc" = 124 ] || fail "exit status $rc, wanted 124 (timed out)$(show)"
    # nobody and nogroup are 65534 in the image's /etc/passwd and /etc/group;
    # with no network, loopback is the only interface.
    [ "$(cat "$tmp/out")" = "$(printf 'uid=65534(nobody) gid=65534(nogroup)\n/sys/class/net/lo\ncwd=/tmp')" ] ||
        fail "not run as nobody in /tmp without a network$(show)"
    [ "$(sed -n 1p "$tmp/err")" = started ] || fail "stderr not passed through$(show)"
    grep -Eq '^sandbox: timed out after 30, peak memory [1-9][0-9]* KiB$' "$tmp/err" ||
        fail "no timeout and memory report$(show)"
    # A missing script fails before any VM starts.
    capture "$tmp/sandbox" localhost/runtest:plain "$tmp/no-such-script"
    [ "$rc" = 125 ] || fail "missing script: status $rc, wanted 125$(show)"
}

"case_$1"
echo "ok: $1"
