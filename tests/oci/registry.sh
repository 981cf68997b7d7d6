#!/bin/bash
# Integration tests of pull and import against a real registry (Debian's
# docker-registry) on loopback, with images built by mkimage.py and pushed by
# skopeo. Usage: registry.sh CASE (SM names the supermachine binary).
# Exit 0 pass, 1 fail, 77 skip.
set -u
SM=${SM:?SM must name the supermachine binary}
here=$(cd "$(dirname "$0")" && pwd)
for tool in docker-registry skopeo python3 busybox; do
    command -v "$tool" >/dev/null || { echo "$tool is not installed"; exit 77; }
done
work=$(mktemp -d)
registry_pid=
cleanup() {
    [ -n "$registry_pid" ] && kill "$registry_pid" 2>/dev/null && wait "$registry_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
export SUPERMACHINE_DATA_DIR=$work/store DOCKER_CONFIG=$work/docker
store=$SUPERMACHINE_DATA_DIR

fail() {
    echo "FAIL: $*"
    for f in out err; do [ -f "$work/$f" ] && { echo "--- $f"; cat "$work/$f"; }; done
    [ -f "$work/registry.log" ] && { echo "--- registry log"; tail -20 "$work/registry.log"; }
    exit 1
}

sm() { "$SM" "$@" >"$work/out" 2>"$work/err"; rc=$?; }
expect_ok() { [ "$rc" -eq 0 ] || fail "exit status $rc, expected success"; }
# A failure is a non-zero exit and one line on stderr that names the problem.
expect_error() {
    [ "$rc" -ne 0 ] || fail "succeeded, expected an error saying '$1'"
    [ "$(wc -l <"$work/err")" -eq 1 ] || fail "expected a one-line error"
    grep -qF -- "$1" "$work/err" || fail "error does not say '$1'"
}

# --- the registry ----------------------------------------------------------

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# start_registry [htpasswd-file]
start_registry() {
    port=$(free_port)
    reg=127.0.0.1:$port
    {
        echo "version: 0.1"
        echo "log: {level: error, accesslog: {disabled: true}}"
        echo "storage: {filesystem: {rootdirectory: $work/registry}}"
        echo "http: {addr: $reg, secret: test}"
        [ -n "${1:-}" ] && echo "auth: {htpasswd: {realm: test, path: $1}}"
    } >"$work/registry.yml"
    docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://$reg/v2/" && return 0
        sleep 0.05
    done
    fail "the registry did not start"
}

# push NAME:TAG [mkimage options]: build an image and push it with skopeo.
push() {
    local ref=$1 dir=$work/img-${1//[:\/]/-} transport=oci
    shift
    python3 "$here/mkimage.py" "$dir" t "$@" >/dev/null || fail "mkimage $*"
    case " $* " in *" --docker "*) transport=dir ;; esac
    local src="$transport:$dir"
    [ $transport = oci ] && src="$src:t"
    skopeo copy --all --preserve-digests --dest-tls-verify=false ${creds:+--dest-creds "$creds"} \
        "$src" "docker://$reg/$ref" >"$work/skopeo.log" 2>&1 || { cat "$work/skopeo.log"; fail "skopeo push"; }
}

skopeo_raw() {
    skopeo inspect --raw --tls-verify=false ${creds:+--creds "$creds"} "docker://$reg/$1"
}

# --- checks of the store ----------------------------------------------------

# Every blob's content matches its name, and no partial file is left.
check_store() {
    [ -z "$(find "$store/blobs" -name '.partial-*' 2>/dev/null)" ] || fail "partial blobs left behind"
    for f in "$store"/blobs/sha256/*; do
        [ -e "$f" ] || continue
        [ "$(sha256sum <"$f" | cut -c1-64)" = "$(basename "$f")" ] || fail "blob $f is corrupt"
    done
}

has_blob() { [ -f "$store/blobs/sha256/${1#sha256:}" ]; }

# The image named $1 is listed, or (expect_absent) is not.
expect_listed() { "$SM" images -q | grep -qxF "$1" || fail "$1 is not listed"; }
expect_absent() {
    ! "$SM" images -q 2>/dev/null | grep -qxF "$1" || fail "$1 is listed after a failure"
    check_store
}

# verify_pull REF: pull REF and check that the manifest, config and layers
# are stored byte-identical to what the registry holds (skopeo's view).
verify_pull() {
    local ref=$1
    shift
    sm pull "$@" "$reg/$ref"
    expect_ok
    local digest top
    digest=$(awk '{print $2}' "$work/out")
    [ "$(awk '{print $1}' "$work/out")" = "$reg/$ref" ] || fail "pull printed the wrong name"
    # skopeo takes a tag or a digest, not both.
    local plain=$ref
    [[ $ref == *@* ]] && plain="${ref%%[:@]*}@${ref#*@}"
    top="sha256:$(skopeo_raw "$plain" | sha256sum | cut -c1-64)"
    has_blob "$top" || fail "the top-level manifest $top is not stored"
    skopeo_raw "${ref%%[:@]*}@$digest" >"$work/manifest.json" || fail "skopeo cannot read $digest"
    [ "sha256:$(sha256sum <"$work/manifest.json" | cut -c1-64)" = "$digest" ] ||
        fail "the manifest digest differs from the registry's"
    python3 - "$work/manifest.json" >"$work/blobs" <<'PY' || fail "bad manifest"
import json, sys
m = json.load(open(sys.argv[1]))
print(m["config"]["digest"])
for l in m["layers"]:
    print(l["digest"])
PY
    while read -r b; do has_blob "$b" || fail "blob $b is not stored"; done <"$work/blobs"
    check_store
    expect_listed "$reg/$ref"
    pulled_digest=$digest top_digest=$top
}

# inspect_field REF FIELD: a top-level field of `supermachine inspect`.
inspect_field() {
    "$SM" inspect "$1" | python3 -c 'import json,sys; v=json.load(sys.stdin)[0]; print(eval(sys.argv[1]))' "$2"
}

# --- the cases ----------------------------------------------------------------

case "${1:?case}" in
oci_gzip)
    start_registry
    push bb:1
    verify_pull bb:1
    [ "$(inspect_field "$reg/bb:1" 'v["MediaType"]')" = application/vnd.oci.image.manifest.v1+json ] ||
        fail "not stored as an OCI manifest"
    [ "$(inspect_field "$reg/bb:1" 'v["Config"]["Cmd"]')" = "['/bin/sh']" ] || fail "wrong Cmd"
    [ "$(inspect_field "$reg/bb:1" 'len(v["Layers"])')" = 2 ] || fail "wrong layer count"
    # A second pull finds the blobs stored and downloads none of them.
    while read -r b; do
        rm -f "$work/registry/docker/registry/v2/blobs/sha256/${b:7:2}/${b#sha256:}/data"
    done <"$work/blobs"
    verify_pull bb:1
    ;;
oci_zstd)
    start_registry
    push bb:zstd --compress zstd
    verify_pull bb:zstd
    inspect_field "$reg/bb:zstd" 'v["Layers"][0]["MediaType"]' | grep -q 'tar+zstd$' || fail "not zstd"
    ;;
gzip_label_uncompressed)
    start_registry
    push bb:fake --compress fakegzip
    verify_pull bb:fake
    layer=$(inspect_field "$reg/bb:fake" 'v["Layers"][0]["Digest"]')
    tar tf "$store/blobs/sha256/${layer#sha256:}" | grep -qx bin/busybox || fail "layer not stored as is"
    ;;
docker_v2)
    start_registry
    push bb:docker --docker
    verify_pull bb:docker
    [ "$(inspect_field "$reg/bb:docker" 'v["MediaType"]')" = \
      application/vnd.docker.distribution.manifest.v2+json ] || fail "not a Docker v2 manifest"
    ;;
oci_index)
    start_registry
    push multi:1 --platform linux/amd64 --platform linux/arm64/v8 --platform linux/arm/v7
    verify_pull multi:1
    [ "$top_digest" != "$pulled_digest" ] || fail "pulled the index itself"
    [ "$(inspect_field "$reg/multi:1" 'v["IndexDigest"]')" = "$top_digest" ] || fail "index digest"
    [ "$(inspect_field "$reg/multi:1" 'v["Architecture"]')" = amd64 ] || fail "default is not amd64"
    verify_pull multi:1 --platform linux/arm64
    [ "$(inspect_field "$reg/multi:1" 'v["Architecture"]+"/"+v["Variant"]')" = arm64/v8 ] ||
        fail "--platform linux/arm64 did not pick arm64"
    verify_pull multi:1 --platform linux/arm/v7
    [ "$(inspect_field "$reg/multi:1" 'v["Variant"]')" = v7 ] || fail "arm/v7 not picked"
    sm pull --platform linux/riscv64 "$reg/multi:1"
    expect_error "has no image for linux/riscv64; it offers: linux/amd64, linux/arm64/v8, linux/arm/v7"
    ;;
docker_list)
    start_registry
    push dlist:1 --docker --platform linux/amd64 --platform linux/arm64/v8
    verify_pull dlist:1
    [ "$(inspect_field "$reg/dlist:1" 'v["MediaType"]')" = \
      application/vnd.docker.distribution.manifest.v2+json ] || fail "not a Docker v2 manifest"
    verify_pull dlist:1 --platform linux/arm64/v8
    [ "$(inspect_field "$reg/dlist:1" 'v["Architecture"]')" = arm64 ] || fail "arm64 not picked"
    ;;
by_digest)
    start_registry
    push bb:1
    digest="sha256:$(skopeo_raw bb:1 | sha256sum | cut -c1-64)"
    verify_pull "bb@$digest"
    verify_pull "bb:1@$digest"
    sm pull "$reg/bb@sha256:$(printf '%064d' 0)"
    expect_error "not found"
    ;;
basic_auth)
    command -v htpasswd >/dev/null || { echo "htpasswd (apache2-utils) is not installed"; exit 77; }
    htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null || fail "htpasswd"
    start_registry "$work/htpasswd"
    creds=alice:s3cret
    push private:1
    unset creds
    sm pull "$reg/private:1"
    expect_error "requires a login"
    expect_absent "$reg/private:1"
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$reg" "$(printf alice:wrong | base64)" >"$DOCKER_CONFIG/config.json"
    sm pull "$reg/private:1"
    expect_error "rejected the username or password"
    expect_absent "$reg/private:1"
    printf '{"auths":{"http://%s":{"auth":"%s"}}}' "$reg" "$(printf alice:s3cret | base64)" >"$DOCKER_CONFIG/config.json"
    creds=alice:s3cret
    verify_pull private:1
    # Credentials given on the command line win over the file.
    rm -rf "$store"
    echo wrong | "$SM" pull --username alice "$reg/private:1" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "rejected the username or password"
    ;;
tag_404)
    start_registry
    push bb:1
    sm pull "$reg/bb:nope"
    expect_error "tag 'nope' not found"
    sm pull "$reg/nothing:1"
    expect_error "not found"
    expect_absent "$reg/bb:nope"
    ;;
digest_mismatch)
    start_registry
    push bb:1
    layer=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][1]["digest"][7:])' < <(skopeo_raw bb:1))
    data=$work/registry/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
    size=$(stat -c %s "$data")
    head -c "$size" /dev/zero >"$data"     # same size, other bytes
    sm pull "$reg/bb:1"
    expect_error "does not match its digest"
    expect_absent "$reg/bb:1"
    has_blob "sha256:$layer" && fail "the bad layer was stored"
    ;;
truncated_layer)
    start_registry
    push bb:1
    layer=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][0]["digest"][7:])' < <(skopeo_raw bb:1))
    data=$work/registry/docker/registry/v2/blobs/sha256/${layer:0:2}/$layer/data
    truncate -s 1000 "$data"
    sm pull "$reg/bb:1"
    expect_error "is truncated"
    expect_absent "$reg/bb:1"
    has_blob "sha256:$layer" && fail "the truncated layer was stored"
    ;;
unknown_media_type)
    start_registry
    push bb:1
    skopeo_raw bb:1 | sed 's#"application/vnd.oci.image.layer.v1.tar+gzip"#"application/vnd.example.unknown"#' \
        >"$work/bad.json"
    curl -sf -X PUT -H "Content-Type: application/vnd.oci.image.manifest.v1+json" \
        --data-binary @"$work/bad.json" "http://$reg/v2/bb/manifests/bad" >/dev/null ||
        fail "the registry refused the manifest"
    sm pull "$reg/bb:bad"
    expect_error "unknown media type 'application/vnd.example.unknown'"
    expect_absent "$reg/bb:bad"
    ;;
concurrent_pulls)
    start_registry
    push bb:1 --platform linux/amd64 --platform linux/arm64
    pids=()
    for i in 1 2 3 4; do
        "$SM" pull "$reg/bb:1" >"$work/out$i" 2>&1 & pids+=($!)
    done
    for p in "${pids[@]}"; do wait "$p" || { cat "$work"/out?; fail "a concurrent pull failed"; }; done
    verify_pull bb:1
    [ "$(sort -u "$work"/out? | wc -l)" -eq 1 ] || fail "concurrent pulls disagree"
    ;;
import_archives)
    start_registry
    push bb:1
    python3 "$here/mkimage.py" "$work/layout" t >/dev/null
    want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' "$work/layout/index.json")
    skopeo copy oci:"$work/layout":t docker-archive:"$work/docker.tar":example.com/team/bb:v1 >/dev/null 2>&1 ||
        fail "skopeo docker-archive"
    skopeo copy oci:"$work/layout":t oci-archive:"$work/oci.tar":example.com/team/bb:v2 >/dev/null 2>&1 ||
        fail "skopeo oci-archive"
    sm import "$work/layout" --name local/bb:dir
    expect_ok
    grep -qxF "docker.io/local/bb:dir $want" "$work/out" || fail "layout import: $(cat "$work/out")"
    sm import "$work/oci.tar"
    expect_ok
    grep -qxF "example.com/team/bb:v2 $want" "$work/out" || fail "oci-archive import"
    sm import "$work/docker.tar"
    expect_ok
    grep -q "^example.com/team/bb:v1 sha256:" "$work/out" || fail "docker-archive import"
    gzip -k "$work/docker.tar"
    sm import "$work/docker.tar.gz"
    expect_ok
    # docker save keeps uncompressed layers: their digests are the diff_ids.
    [ "$(inspect_field example.com/team/bb:v1 'v["Layers"][0]["MediaType"]')" = \
      application/vnd.oci.image.layer.v1.tar ] || fail "docker-archive layers mislabelled"
    [ "$(inspect_field example.com/team/bb:v1 'v["Config"]["Env"]')" = "['PATH=/bin', 'GREETING=hello']" ] ||
        fail "docker-archive config"
    check_store
    ;;
import_bad)
    python3 "$here/mkimage.py" "$work/layout" t >/dev/null
    layer=$(ls -S "$work/layout/blobs/sha256" | head -1)
    printf 'x' | dd of="$work/layout/blobs/sha256/$layer" bs=1 seek=100 conv=notrunc 2>/dev/null
    sm import "$work/layout" --name local/bad:1
    expect_error "does not match its digest"
    expect_absent docker.io/local/bad:1
    (cd "$work/layout" && tar cf "$work/bad.tar" .)
    sm import "$work/bad.tar" --name local/bad:1
    expect_error "does not match its digest"
    head -c 300000 "$work/bad.tar" >"$work/cut.tar"
    sm import "$work/cut.tar" --name local/bad:1
    expect_error "cut.tar"
    echo '{"schemaVersion":' >"$work/layout/index.json"
    sm import "$work/layout"
    expect_error "index.json of"
    expect_absent docker.io/local/bad:1
    ;;
rmi_gc)
    start_registry
    push bb:1
    push bb:zstd --compress zstd
    verify_pull bb:1
    verify_pull bb:zstd
    zstd_layer=$(inspect_field "$reg/bb:zstd" 'v["Layers"][0]["Digest"]')
    gz_layer=$(inspect_field "$reg/bb:1" 'v["Layers"][0]["Digest"]')
    touch "$store/blobs/sha256/.partial-leftover"
    sm rmi "$reg/bb:zstd"
    expect_ok
    expect_absent "$reg/bb:zstd"
    has_blob "$zstd_layer" && fail "rmi left the zstd layer"
    has_blob "$gz_layer" || fail "rmi deleted a layer still in use"
    sm rmi "$reg/bb:zstd"
    expect_error "no image"
    sm gc
    expect_ok
    grep -qx "Deleted 0 blobs, 0 B" "$work/out" || fail "gc found more to delete: $(cat "$work/out")"
    sm rmi --no-gc "$reg/bb:1"
    expect_ok
    has_blob "$gz_layer" || fail "rmi --no-gc deleted blobs"
    sm gc
    expect_ok
    [ -z "$(ls "$store/blobs/sha256")" ] || fail "gc left blobs: $(ls "$store/blobs/sha256")"
    ;;
*)
    echo "unknown case $1"
    exit 2
    ;;
esac
echo PASS
