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
    mountpoint -q "$work/store" && umount "$work/store"   # disk_full's small disk
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
expect_exit() { [ "$rc" -eq "$1" ] || fail "exit status $rc, expected $1"; }
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

# start_registry [htpasswd-file]; with $tls set to a YAML mapping
# ("{certificate: ..., key: ...}"), the registry serves HTTPS.
start_registry() {
    port=$(free_port)
    reg=127.0.0.1:$port
    {
        echo "version: 0.1"
        echo "log: {level: error, accesslog: {disabled: true}}"
        echo "storage: {filesystem: {rootdirectory: $work/registry}}"
        echo "http: {addr: $reg, secret: test${tls:+, tls: $tls}}"
        [ -n "${1:-}" ] && echo "auth: {htpasswd: {realm: test, path: $1}}"
    } >"$work/registry.yml"
    docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do
        # Over TLS (perhaps wanting client certificates) a listening port
        # is enough; over HTTP, an answer.
        if [ -n "${tls:-}" ]; then
            (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && return 0
        else
            curl -s -o /dev/null "http://$reg/v2/" && return 0
        fi
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
        ${skopeo_certs:+--dest-cert-dir "$skopeo_certs"} "$src" "docker://$reg/$ref" >"$work/skopeo.log" 2>&1 || { cat "$work/skopeo.log"; fail "skopeo push"; }
}

skopeo_raw() {
    skopeo inspect --raw --tls-verify=false ${creds:+--creds "$creds"} \
        ${skopeo_certs:+--cert-dir "$skopeo_certs"} "docker://$reg/$1"
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

# on_terminal CMD...: run CMD with stdout and stderr on a pseudo-terminal
# (util-linux script), its output into $work/tty.
on_terminal() {
    command -v script >/dev/null || { echo "script (util-linux) is not installed"; exit 77; }
    script -qec "$(printf '%q ' "$@")" /dev/null >"$work/tty" 2>&1 </dev/null
}

# make_ca NAME: a self-signed CA in $work/NAME.crt and .key.
make_ca() {
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=supermachine test $1" \
        -keyout "$work/$1.key" -out "$work/$1.crt" 2>/dev/null || fail "openssl: CA $1"
}

# make_cert NAME CA [SAN]: a certificate for NAME signed by CA.
make_cert() {
    openssl req -newkey rsa:2048 -nodes -subj "/CN=$1" -keyout "$work/$1.key" \
        -out "$work/$1.csr" 2>/dev/null || fail "openssl: request $1"
    printf '%s\n' "${3:-basicConstraints=CA:FALSE}" >"$work/$1.ext"
    openssl x509 -req -in "$work/$1.csr" -CA "$work/$2.crt" -CAkey "$work/$2.key" \
        -CAcreateserial -CAserial "$work/$2.srl" -days 2 -extfile "$work/$1.ext" \
        -out "$work/$1.crt" 2>/dev/null || fail "openssl: sign $1"
}

# A registry serving HTTPS on 127.0.0.1 with a certificate from a private
# CA ($work/ca.crt); extra YAML for its tls mapping in $1.
start_tls_registry() {
    command -v openssl >/dev/null || { echo "openssl is not installed"; exit 77; }
    make_ca ca
    make_cert server ca "subjectAltName=IP:127.0.0.1"
    tls="{certificate: $work/server.crt, key: $work/server.key${1:+, $1}}"
    start_registry
    export SUPERMACHINE_CERTS_DIR=$work/certs.d
    certs=$SUPERMACHINE_CERTS_DIR/$reg
    mkdir -p "$certs"
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
platform_mismatch)
    # --platform names what the user must get: a plain manifest for another
    # platform is refused (nothing downloaded past its config, nothing
    # listed), as is an index without it; without --platform, as before.
    start_registry
    push bb:1
    push arm:1 --platform linux/arm/v7
    push multi:2 --platform linux/amd64 --platform linux/arm/v7
    skopeo_raw bb:1 | python3 -c 'import json,sys; [print(l["digest"]) for l in json.load(sys.stdin)["layers"]]' \
        >"$work/layers" || fail "bad manifest"
    sm pull --platform linux/arm64 "$reg/bb:1"
    expect_error "$reg/bb:1 is linux/amd64 only; it has no linux/arm64 variant"
    expect_exit 125
    expect_absent "$reg/bb:1"
    while read -r l; do has_blob "$l" && fail "layer $l was downloaded"; done <"$work/layers"
    sm pull --platform linux/arm/v6 "$reg/arm:1"
    expect_error "$reg/arm:1 is linux/arm/v7 only; it has no linux/arm/v6 variant"
    expect_exit 125
    expect_absent "$reg/arm:1"
    sm pull --platform linux/arm64 "$reg/multi:2"
    expect_error "has no image for linux/arm64; it offers: linux/amd64, linux/arm/v7"
    expect_exit 125
    expect_absent "$reg/multi:2"
    verify_pull arm:1 --platform linux/arm
    verify_pull bb:1 --platform linux/amd64
    verify_pull bb:1
    # Also when the store has the image already (by digest, no request).
    sm pull --platform linux/arm64 "$reg/bb@$pulled_digest"
    expect_error "$reg/bb@$pulled_digest is linux/amd64 only; it has no linux/arm64 variant"
    expect_exit 125
    expect_absent "$reg/bb@$pulled_digest"
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
docker_config_bad)
    # A damaged config.json fails at once, naming the file and the fault;
    # it is not read as "no credentials" (then "requires a login").
    start_registry
    push bb:1
    mkdir -p "$DOCKER_CONFIG"
    config=$DOCKER_CONFIG/config.json
    printf '{"auths": {"%s": {"auth": "YTpi"}' "$reg" >"$config"
    sm pull "$reg/bb:1"
    expect_error "Docker's config file '$config' is not valid JSON at line 1, column "
    expect_error "'}' expected near end of file"
    expect_exit 125
    expect_absent "$reg/bb:1"
    printf '{"auths": ["%s"]}' "$reg" >"$config"
    sm pull "$reg/bb:1"
    expect_error "Docker's config file '$config' is invalid: \"auths\" is an array, not an object"
    expect_exit 125
    printf '{"auths": {"%s": "alice:s3cret"}}' "$reg" >"$config"
    sm pull "$reg/bb:1"
    expect_error "\"auths\" entry \"$reg\" is a string, not an object"
    expect_exit 125
    printf '{"credsStore": ["desktop"]}' >"$config"
    sm pull "$reg/bb:1"
    expect_error "\"credsStore\" is an array, not a string"
    expect_exit 125
    expect_absent "$reg/bb:1"
    # An empty file (docker takes it; skopeo, which verify_pull uses, not),
    # or none: anonymous, as before.
    : >"$config"
    sm pull "$reg/bb:1"
    expect_ok
    expect_listed "$reg/bb:1"
    rm -rf "$store" "$DOCKER_CONFIG"
    verify_pull bb:1
    ;;
silent_registry)
    # It accepts connections and never answers: one line after the timeout,
    # not minutes of silence and retries.
    port=$(free_port)
    python3 -c 'import socket,sys; s=socket.create_server(("127.0.0.1",int(sys.argv[1]))); held=[]
while True: held.append(s.accept()[0])' "$port" &
    registry_pid=$!
    for _ in $(seq 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
        sleep 0.05
    done
    start=$(date +%s%N)
    SUPERMACHINE_REGISTRY_TIMEOUT=2 sm pull "127.0.0.1:$port/bb:1"
    elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
    expect_error "registry 127.0.0.1:$port did not answer within 2 s"
    expect_exit 125
    [ "$elapsed_ms" -ge 1900 ] && [ "$elapsed_ms" -lt 6000 ] ||
        fail "gave up after ${elapsed_ms} ms, expected about 2 s"
    expect_absent "127.0.0.1:$port/bb:1"
    # One that starts an answer and stalls is retried, then named.
    kill "$registry_pid"; wait "$registry_pid" 2>/dev/null
    port=$(free_port)
    python3 -c 'import socket,sys; s=socket.create_server(("127.0.0.1",int(sys.argv[1]))); held=[]
while True:
    c=s.accept()[0]; c.recv(65536); held.append(c)
    c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")' "$port" &
    registry_pid=$!
    for _ in $(seq 100); do
        curl -s -m 0.2 -o /dev/null "http://127.0.0.1:$port/" ; [ $? -eq 28 ] && break
        sleep 0.05
    done
    SUPERMACHINE_REGISTRY_TIMEOUT=1 sm pull "127.0.0.1:$port/bb:1"
    expect_error "registry 127.0.0.1:$port stopped sending for 1 s (http://127.0.0.1:$port/v2/)"
    expect_exit 125
    SUPERMACHINE_REGISTRY_TIMEOUT=0 sm pull "127.0.0.1:$port/bb:1"
    expect_error "SUPERMACHINE_REGISTRY_TIMEOUT must be a whole number of seconds from 1 to 86400, not '0'"
    expect_exit 125
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
killed_pull)
    # SIGKILL at each point of a pull (SUPERMACHINE_TEST_CRASH_AT, see
    # src/util/test_point.h): while a layer downloads, while layers decode
    # (as they download), while the ext4 image is written, right before it
    # is renamed into place. After each, the store still works, the image
    # is not listed, a new pull gives the same bytes as an undisturbed one,
    # and gc leaves nothing of the killed pull behind.
    start_registry
    push bb:1 --random-layer-mib 8
    SUPERMACHINE_DATA_DIR=$work/ref sm pull -q "$reg/bb:1"
    expect_ok
    want=$(ls "$work"/ref/rootfs/*.ext4)
    for point in download decode ext4 commit; do
        SUPERMACHINE_TEST_CRASH_AT=$point sm pull -q "$reg/bb:1"
        [ "$rc" -eq 137 ] || fail "pull was not killed at '$point' (exit status $rc)"
        sm images
        expect_ok
        grep -qF "$reg/bb" "$work/out" && fail "a pull killed at '$point' is listed"
        sm pull -q "$reg/bb:1"
        expect_ok
        cmp -s "$want" "$store/rootfs/$(basename "$want")" ||
            fail "the root filesystem pulled after a kill at '$point' differs"
        if command -v e2fsck >/dev/null; then
            e2fsck -fn "$want" >"$work/fsck" 2>&1 || { cat "$work/fsck"; fail "e2fsck"; }
        fi
        sm gc
        expect_ok
        left=$(find "$store" -name '.partial-*' -o -name '*.tmp*' -o -name '.sm-*'
            find "$store/rootfs" -name '*.lock')
        [ -z "$left" ] || fail "gc left what the pull killed at '$point' left: $left"
        check_store
        sm rmi "$reg/bb:1"
        expect_ok
    done
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
    # Each pull built a root filesystem, listed with its layers.
    [ "$(ls "$store"/rootfs/*.ext4 | wc -l)" -eq 2 ] || fail "pull did not build 2 root filesystems"
    zstd_rootfs=$(grep -lx "$zstd_layer" "$store"/rootfs/*.layers) || fail "no rootfs lists $zstd_layer"
    zstd_rootfs=${zstd_rootfs%.layers}.ext4
    sm rmi "$reg/bb:zstd"
    expect_ok
    expect_absent "$reg/bb:zstd"
    has_blob "$zstd_layer" && fail "rmi left the zstd layer"
    [ -e "$zstd_rootfs" ] && fail "rmi left the zstd image's root filesystem"
    [ "$(ls "$store"/rootfs/*.ext4 | wc -l)" -eq 1 ] || fail "rmi deleted a root filesystem in use"
    has_blob "$gz_layer" || fail "rmi deleted a layer still in use"
    sm rmi "$reg/bb:zstd"
    expect_error "no image"
    sm gc
    expect_ok
    grep -qx "Deleted 0 blobs, 0 B" "$work/out" || fail "gc found more to delete: $(cat "$work/out")"
    # What killed or failed builds leave: a lock, a list's temp file, a
    # list whose image was never made (its layers still in use).
    touch "$store/rootfs/dead.lock" "$store/rootfs/dead.layers.tmp"
    echo "$gz_layer" >"$store/rootfs/unbuilt.layers"
    sm gc
    expect_ok
    [ "$(ls "$store/rootfs" | grep -c -e '^dead' -e '^unbuilt')" = 0 ] ||
        fail "gc left what failed builds left: $(ls "$store/rootfs")"
    sm rmi --no-gc "$reg/bb:1"
    expect_ok
    has_blob "$gz_layer" || fail "rmi --no-gc deleted blobs"
    sm gc
    expect_ok
    [ -z "$(ls "$store/blobs/sha256")" ] || fail "gc left blobs: $(ls "$store/blobs/sha256")"
    [ -z "$(ls "$store/rootfs")" ] || fail "gc left root filesystems or locks: $(ls "$store/rootfs")"
    ;;
login_logout)
    # docker login and logout: a wrong password changes nothing; a right
    # one is kept in config.json (0600) beside what the file held, and
    # pulls use it; logout forgets it.
    command -v htpasswd >/dev/null || { echo "htpasswd (apache2-utils) is not installed"; exit 77; }
    htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null || fail "htpasswd"
    start_registry "$work/htpasswd"
    creds=alice:s3cret
    push private:1
    unset creds
    config=$DOCKER_CONFIG/config.json
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths":{"other.example":{"auth":"%s"}},"psFormat":"table {{.ID}}"}' \
        "$(printf bob:x | base64)" >"$config"
    cp "$config" "$work/config.before"
    echo wrong | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "login to $reg failed: unauthorized (wrong username or password)"
    expect_exit 125
    cmp -s "$config" "$work/config.before" || fail "a failed login changed config.json"
    # Without a terminal nothing can be asked for.
    sm login "$reg" </dev/null
    expect_error "standard input is not a terminal"
    echo s3cret | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_ok
    [ "$(cat "$work/out")" = "Login Succeeded" ] || fail "login printed: $(cat "$work/out")"
    [ "$(stat -c %a "$config")" = 600 ] || fail "config.json has mode $(stat -c %a "$config")"
    python3 - "$config" "$reg" <<'PY' || fail "config.json is not as expected: $(cat "$config")"
import base64, json, sys
c = json.load(open(sys.argv[1]))
assert base64.b64decode(c["auths"][sys.argv[2]]["auth"]) == b"alice:s3cret", c
assert base64.b64decode(c["auths"]["other.example"]["auth"]) == b"bob:x", c
assert c["psFormat"] == "table {{.ID}}", c
PY
    creds=alice:s3cret
    verify_pull private:1
    sm logout "$reg"
    expect_ok
    [ "$(cat "$work/out")" = "Removing login credentials for $reg" ] || fail "logout printed: $(cat "$work/out")"
    python3 - "$config" "$reg" <<'PY' || fail "logout did not remove only its entry: $(cat "$config")"
import json, sys
c = json.load(open(sys.argv[1]))
assert sys.argv[2] not in c["auths"] and "other.example" in c["auths"] and "psFormat" in c, c
PY
    rm -rf "$store"
    sm pull "$reg/private:1"
    expect_error "requires a login: run 'supermachine login $reg'"
    sm logout "$reg"
    expect_ok
    [ "$(cat "$work/out")" = "Not logged in to $reg" ] || fail "logout printed: $(cat "$work/out")"
    # -p works, with docker's warning; the directory and file are made
    # (0700, 0600) when there are none; an old entry under another form
    # of the name gives way, so a pull cannot find it first.
    rm -rf "$DOCKER_CONFIG"
    sm login -u alice -p s3cret "http://$reg/"
    expect_ok
    grep -qF "WARNING! Using --password via the CLI is insecure" "$work/err" || fail "no warning for -p"
    [ "$(stat -c %a "$DOCKER_CONFIG")" = 700 ] || fail "the directory has mode $(stat -c %a "$DOCKER_CONFIG")"
    [ "$(stat -c %a "$config")" = 600 ] || fail "config.json has mode $(stat -c %a "$config")"
    printf '{"auths":{"http://%s":{"auth":"%s"}}}' "$reg" "$(printf alice:wrong | base64)" >"$config"
    echo s3cret | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_ok
    [ "$(python3 -c 'import json,sys; print(list(json.load(open(sys.argv[1]))["auths"]))' "$config")" = "['$reg']" ] ||
        fail "the old entry stayed: $(cat "$config")"
    rm -rf "$store"
    verify_pull private:1
    ;;
login_bad_config)
    # A damaged config.json: login says so (as pull does) and leaves it be.
    command -v htpasswd >/dev/null || { echo "htpasswd (apache2-utils) is not installed"; exit 77; }
    htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null || fail "htpasswd"
    start_registry "$work/htpasswd"
    config=$DOCKER_CONFIG/config.json
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths": {"%s": {"auth": "YTpi"}' "$reg" >"$config"
    cp "$config" "$work/config.before"
    echo s3cret | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "Docker's config file '$config' is not valid JSON at line 1, column "
    expect_exit 125
    cmp -s "$config" "$work/config.before" || fail "login changed the damaged file"
    sm logout "$reg"
    expect_error "Docker's config file '$config' is not valid JSON at line 1, column "
    cmp -s "$config" "$work/config.before" || fail "logout changed the damaged file"
    printf '{"auths": ["%s"], "keep": 1}' "$reg" >"$config"
    cp "$config" "$work/config.before"
    echo s3cret | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "Docker's config file '$config' is invalid: \"auths\" is an array, not an object"
    cmp -s "$config" "$work/config.before" || fail "login changed the invalid file"
    [ -z "$(ls -A "$DOCKER_CONFIG" | grep -v '^config.json$')" ] || fail "login left files: $(ls -A "$DOCKER_CONFIG")"
    ;;
login_cred_helper)
    # With a credential helper named, login stores through it (the file
    # keeps an empty entry, as docker's) and logout erases through it.
    command -v htpasswd >/dev/null || { echo "htpasswd (apache2-utils) is not installed"; exit 77; }
    htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null || fail "htpasswd"
    start_registry "$work/htpasswd"
    creds=alice:s3cret
    push private:1
    mkdir -p "$work/bin" "$DOCKER_CONFIG"
    # A helper keeping one login in $work/kept: store, get, erase.
    cat >"$work/bin/docker-credential-fake" <<SH
#!/bin/sh
case "\$1" in
store) cat >"$work/kept" ;;
get) [ -s "$work/kept" ] && cat "$work/kept" || { echo "credentials not found in native keychain"; exit 1; } ;;
erase) [ -s "$work/kept" ] || { echo "credentials not found in native keychain"; exit 1; }; rm "$work/kept" ;;
esac
SH
    chmod +x "$work/bin/docker-credential-fake"
    export PATH="$work/bin:$PATH"
    config=$DOCKER_CONFIG/config.json
    printf '{"credsStore":"fake"}' >"$config"
    echo wrong | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "unauthorized (wrong username or password)"
    [ ! -e "$work/kept" ] || fail "the helper was given credentials the registry refused"
    echo s3cret | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_ok
    python3 - "$work/kept" "$reg" <<'PY' || fail "the helper kept: $(cat "$work/kept")"
import json, sys
k = json.load(open(sys.argv[1]))
assert k == {"ServerURL": sys.argv[2], "Username": "alice", "Secret": "s3cret"}, k
PY
    python3 - "$config" "$reg" <<'PY' || fail "config.json: $(cat "$config")"
import json, sys
c = json.load(open(sys.argv[1]))
assert c == {"credsStore": "fake", "auths": {sys.argv[2]: {}}}, c
PY
    verify_pull private:1
    sm logout "$reg"
    expect_ok
    [ ! -e "$work/kept" ] || fail "logout did not erase through the helper"
    [ "$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["auths"])' "$config")" = "{}" ] ||
        fail "logout left the entry: $(cat "$config")"
    sm logout "$reg"
    expect_ok
    [ "$(cat "$work/out")" = "Not logged in to $reg" ] || fail "logout printed: $(cat "$work/out")"
    # A helper that is not installed: login fails and changes nothing.
    printf '{"credHelpers":{"%s":"missing"}}' "$reg" >"$config"
    cp "$config" "$work/config.before"
    echo s3cret | "$SM" login -u alice --password-stdin "$reg" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "docker-credential-missing"
    cmp -s "$config" "$work/config.before" || fail "a failed store changed config.json"
    ;;
cred_helper)
    command -v htpasswd >/dev/null || { echo "htpasswd (apache2-utils) is not installed"; exit 77; }
    htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null || fail "htpasswd"
    start_registry "$work/htpasswd"
    creds=alice:s3cret
    push private:1
    # Fake helpers on PATH: "fake" answers with $work/answer and keeps what
    # it was asked; "broken" fails as a locked keychain does.
    mkdir -p "$work/bin" "$DOCKER_CONFIG"
    printf '#!/bin/sh\necho "$*" >"%s/asked"\ncat >>"%s/asked"\ncat "%s/answer"\n' \
        "$work" "$work" "$work" >"$work/bin/docker-credential-fake"
    printf '#!/bin/sh\necho "error getting credentials: keychain is locked"\nexit 1\n' \
        >"$work/bin/docker-credential-broken"
    chmod +x "$work/bin"/*
    export PATH="$work/bin:$PATH"
    printf '{"ServerURL":"%s","Username":"alice","Secret":"s3cret"}' "$reg" >"$work/answer"
    printf '{"auths":{"%s":{}},"credsStore":"fake"}' "$reg" >"$DOCKER_CONFIG/config.json"
    verify_pull private:1
    [ "$(cat "$work/asked")" = "get
$reg" ] || fail "the helper was not asked 'get' with the registry on stdin: $(cat "$work/asked")"
    rm -rf "$store"
    printf '{"Username":"alice","Secret":"wrong"}' >"$work/answer"
    sm pull "$reg/private:1"
    expect_error "rejected the username or password"
    # credHelpers names the helper of one registry, over credsStore.
    printf '{"credsStore":"fake","credHelpers":{"%s":"missing"}}' "$reg" >"$DOCKER_CONFIG/config.json"
    sm pull "$reg/private:1"
    expect_error "docker-credential-missing"
    expect_error "is not installed"
    printf '{"credsStore":"broken"}' >"$DOCKER_CONFIG/config.json"
    sm pull "$reg/private:1"
    expect_error "docker-credential-broken"
    expect_error "keychain is locked"
    printf '{"credsStore":"fake","credHelpers":{"%s":"broken"}}' "other.example" >"$DOCKER_CONFIG/config.json"
    printf '{"Username":"alice","Secret":"s3cret"}' >"$work/answer"
    verify_pull private:1
    ;;
tls_private_ca)
    start_tls_registry
    push bb:1
    # A CA that did not sign the registry's certificate.
    make_ca other
    cp "$work/other.crt" "$certs/ca.crt"
    sm pull "$reg/bb:1"
    expect_error "the TLS certificate of 127.0.0.1 does not verify"
    expect_error "put that CA's certificate in $certs/ca.crt"
    expect_absent "$reg/bb:1"
    # docker's layout: any *.crt in the registry's directory is trusted.
    mv "$certs/ca.crt" "$certs/other.crt"
    cp "$work/ca.crt" "$certs/ca.crt"
    verify_pull bb:1
    echo "not a certificate" >"$certs/bad.crt"
    sm pull "$reg/bb:1"
    expect_error "bad.crt' holds no PEM certificate"
    ;;
tls_client_cert)
    start_tls_registry "clientcas: [$work/ca.crt]"
    make_cert client ca
    skopeo_certs=$work/skopeo-certs
    mkdir -p "$skopeo_certs"
    cp "$work/client.crt" "$skopeo_certs/client.cert"
    cp "$work/client.key" "$skopeo_certs/client.key"
    push bb:1
    cp "$work/ca.crt" "$certs/ca.crt"
    cp "$work/client.crt" "$certs/client.cert"
    sm pull "$reg/bb:1"
    expect_error "'client.cert' has no matching 'client.key'"
    cp "$work/client.key" "$certs/client.key"
    verify_pull bb:1
    ;;
disk_full)
    # The store on a small tmpfs, in a mount namespace of this test's own:
    # the layer does not fit, or the root filesystem's image.
    [ "$(id -u)" -eq 0 ] || { echo "not root: cannot mount a small filesystem for the store"; exit 77; }
    if [ -z "${SM_TEST_PRIVATE_MOUNTS:-}" ]; then
        unshare -m true 2>/dev/null || { echo "unshare -m is not allowed here"; exit 77; }
        SM_TEST_PRIVATE_MOUNTS=1 unshare -m --propagation private "$0" "$1"
        exit $?
    fi
    start_registry
    push big:1 --random-layer-mib 4
    blobs_kib=$(du -sk --apparent-size "$work/img-big-1/blobs/sha256" | cut -f1)
    image_kib=$(( $(stat -Lc %s "$(command -v busybox)") / 1024 + 4096 ))
    small_store() {
        umount "$store" 2>/dev/null
        mkdir -p "$store"
        mount -t tmpfs -o "size=$1k" tmpfs "$store" || fail "cannot mount a tmpfs"
    }
    after_disk_full() {
        expect_error "No space left on device"
        expect_absent "$reg/big:1"
        [ -z "$(ls "$store/rootfs" 2>/dev/null | grep -v '\.lock$\|\.layers$')" ] ||
            fail "a failed build left files: $(ls "$store/rootfs")"
    }
    small_store 2048
    sm pull "$reg/big:1"
    expect_error "of $reg/big:1 to the image store: No space left on device"
    after_disk_full
    # Room for the blobs alone: the root filesystem is built while the
    # layers download, its files written into the image as they come, so
    # the image or the last blob meets the full disk, whichever writes
    # first; either sentence says where.
    small_store $((blobs_kib + 1024))
    sm pull "$reg/big:1"
    if ! grep -qF "to the image store: No space left on device" "$work/err"; then
        expect_error "building the root filesystem: layer "
        expect_error ": cannot write '$store/rootfs/"
        expect_error ".ext4': No space left on device"
    fi
    after_disk_full
    # Room made, the same store takes the image; room for the image once
    # is enough, its files are not kept anywhere else meanwhile.
    mount -o "remount,size=$((blobs_kib + image_kib + 4096))k" "$store" || fail "remount"
    verify_pull big:1
    [ "$(ls "$store"/rootfs/*.ext4 | wc -l)" -eq 1 ] || fail "no root filesystem after the pull"
    ;;
mirror)
    # registry_mirrors in the config stand for Docker Hub: its images come
    # from the first mirror that has them, under their docker.io names; a
    # mirror that is down passes to the next; other registries are asked
    # themselves.
    start_registry
    push library/mirrored:1
    push other:1
    dead=$(free_port)
    printf '{"registry_mirrors": ["http://127.0.0.1:%s", "http://%s/"]}' "$dead" "$reg" \
        >"$work/config.json"
    export SUPERMACHINE_CONFIG=$work/config.json
    sm pull mirrored:1
    expect_ok
    [ "$(awk '{print $1}' "$work/out")" = docker.io/library/mirrored:1 ] ||
        fail "not stored under its docker.io name"
    expect_listed docker.io/library/mirrored:1
    sm pull "$reg/other:1"
    expect_ok
    # What no mirror has is asked of Docker Hub, which is not reachable here
    # (or lacks it): an error, and nothing listed.
    sm pull library/absent-everywhere:1
    [ "$rc" -ne 0 ] || fail "an image no mirror has was pulled"
    expect_absent docker.io/library/absent-everywhere:1
    # A mirror that is not a URL is refused at once.
    printf '{"registry_mirrors": ["ftp://x"]}' >"$work/config.json"
    sm pull "$reg/other:1"
    expect_error "registry mirror 'ftp://x' is not a URL"
    printf '{"registry_mirrors": "x"}' >"$work/config.json"
    sm pull "$reg/other:1"
    expect_error '"registry_mirrors" wants a list'
    unset SUPERMACHINE_CONFIG
    check_store
    ;;
push_round_trip)
    # An image pulled here, tagged for another repository and pushed, is
    # the same image there: its manifest and layers, digests unchanged.
    start_registry
    push bb:1
    verify_pull bb:1
    "$SM" tag "$reg/bb:1" "$reg/copy/bb:2" || fail "tag"
    sm push "$reg/copy/bb:2"
    expect_ok
    [ "$(cat "$work/out")" = "$reg/copy/bb:2 $pulled_digest" ] || fail "push printed: $(cat "$work/out")"
    [ ! -s "$work/err" ] || fail "push wrote to stderr while not on a terminal"
    skopeo inspect --tls-verify=false "docker://$reg/copy/bb:2" >"$work/skopeo.json" || fail "skopeo inspect"
    python3 - "$work/skopeo.json" "$pulled_digest" "$work/blobs" <<'PY' || fail "the pushed image differs"
import json, sys
s = json.load(open(sys.argv[1]))
assert s["Digest"] == sys.argv[2], (s["Digest"], sys.argv[2])
assert s["Layers"] == open(sys.argv[3]).read().split()[1:], s["Layers"]
PY
    # A fresh store pulls it back as the same image.
    rm -rf "$store"
    verify_pull copy/bb:2
    # Again, on a terminal: progress, and nothing uploaded (all there).
    on_terminal "$SM" push "$reg/copy/bb:2"
    grep -qF "$reg/copy/bb:2: 3/3 blobs (0 uploaded)" "$work/tty" ||
        fail "a second push uploaded blobs, or showed no progress: $(cat -v "$work/tty")"
    grep -qF "$reg/copy/bb:2 $pulled_digest" "$work/tty" || fail "the second push failed"
    ;;
push_loaded)
    # docker save keeps uncompressed layers, stored here as they were and
    # named so by the manifest load writes: that manifest is what goes up.
    start_registry
    python3 "$here/mkimage.py" "$work/layout" t >/dev/null
    skopeo copy oci:"$work/layout":t docker-archive:"$work/docker.tar":example.com/team/bb:v1 >/dev/null 2>&1 ||
        fail "skopeo docker-archive"
    sm load -i "$work/docker.tar"
    expect_ok
    digest=$(inspect_field example.com/team/bb:v1 'v["Digest"]')
    "$SM" tag example.com/team/bb:v1 "$reg/loaded:1" || fail "tag"
    sm push "$reg/loaded:1"
    expect_ok
    [ "$(cat "$work/out")" = "$reg/loaded:1 $digest" ] || fail "push printed: $(cat "$work/out")"
    rm -rf "$store"
    verify_pull loaded:1
    [ "$pulled_digest" = "$digest" ] || fail "pulled $pulled_digest, pushed $digest"
    [ "$(inspect_field "$reg/loaded:1" 'v["Layers"][0]["MediaType"]')" = \
      application/vnd.oci.image.layer.v1.tar ] || fail "the layers are not as loaded"
    ;;
push_index)
    # Of a multi-platform index a pull keeps one image: that image goes up
    # alone. Once every platform's image is stored, the index goes up too,
    # and the tag names the same index as at the origin.
    start_registry
    push multi:1 --platform linux/amd64 --platform linux/arm64/v8
    verify_pull multi:1
    "$SM" tag "$reg/multi:1" "$reg/one:1" || fail "tag"
    sm push "$reg/one:1"
    expect_ok
    [ "$(cat "$work/out")" = "$reg/one:1 $pulled_digest" ] || fail "push printed: $(cat "$work/out")"
    [ "sha256:$(skopeo_raw one:1 | sha256sum | cut -c1-64)" = "$pulled_digest" ] ||
        fail "the registry does not hold the one image under the tag"
    verify_pull multi:1 --platform linux/arm64
    verify_pull multi:1
    "$SM" tag "$reg/multi:1" "$reg/all:1" || fail "tag"
    sm push "$reg/all:1"
    expect_ok
    [ "$(cat "$work/out")" = "$reg/all:1 $top_digest" ] || fail "push printed: $(cat "$work/out")"
    [ "sha256:$(skopeo_raw all:1 | sha256sum | cut -c1-64)" = "$top_digest" ] ||
        fail "the registry does not hold the index under the tag"
    rm -rf "$store"
    verify_pull all:1 --platform linux/arm64
    ;;
push_auth)
    command -v htpasswd >/dev/null || { echo "htpasswd (apache2-utils) is not installed"; exit 77; }
    htpasswd -Bbc "$work/htpasswd" alice s3cret 2>/dev/null || fail "htpasswd"
    start_registry "$work/htpasswd"
    creds=alice:s3cret
    push private:1
    mkdir -p "$DOCKER_CONFIG"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$reg" "$(printf alice:s3cret | base64)" >"$DOCKER_CONFIG/config.json"
    verify_pull private:1
    "$SM" tag "$reg/private:1" "$reg/pushed:1" || fail "tag"
    rm "$DOCKER_CONFIG/config.json"
    sm push "$reg/pushed:1"
    expect_error "$reg requires a login"
    expect_exit 125
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$reg" "$(printf alice:wrong | base64)" >"$DOCKER_CONFIG/config.json"
    sm push "$reg/pushed:1"
    expect_error "rejected the username or password for $reg (user 'alice')"
    expect_exit 125
    echo wrong | "$SM" push --username alice "$reg/pushed:1" >"$work/out" 2>"$work/err"; rc=$?
    expect_error "rejected the username or password"
    printf '{"auths":{"%s":{"auth":"%s"}}}' "$reg" "$(printf alice:s3cret | base64)" >"$DOCKER_CONFIG/config.json"
    sm push "$reg/pushed:1"
    expect_ok
    [ "sha256:$(skopeo_raw pushed:1 | sha256sum | cut -c1-64)" = "$pulled_digest" ] ||
        fail "the pushed manifest differs"
    rm "$DOCKER_CONFIG/config.json"
    echo s3cret | "$SM" push --username alice "$reg/pushed:1" >"$work/out" 2>"$work/err"; rc=$?
    expect_ok
    ;;
push_missing)
    start_registry
    sm push "$reg/none:1"
    expect_error "no image '$reg/none:1' in the store to push"
    expect_exit 125
    sm push "$reg/none@sha256:$(printf '%064d' 0)"
    expect_error "names a digest; push takes NAME[:TAG]"
    expect_exit 125
    # A stored image whose layer is gone from the store says which.
    push bb:1
    verify_pull bb:1
    layer=$(sed -n 2p "$work/blobs")
    rm -f "$store/blobs/sha256/${layer#sha256:}"
    "$SM" tag "$reg/bb:1" "$reg/broken:1" || fail "tag"
    sm push "$reg/broken:1"
    expect_error "layer 1 ($layer) of $reg/broken:1 is not in the image store"
    expect_exit 125
    # A registry that refuses says so, in its words: here one whose
    # storage is read-only.
    python3 "$here/mkimage.py" "$work/ro" t >/dev/null
    kill "$registry_pid"; wait "$registry_pid" 2>/dev/null
    sed -i 's/^storage: .*/storage: {filesystem: {rootdirectory: '"${work//\//\\/}"'\/registry}, maintenance: {readonly: {enabled: true}}}/' "$work/registry.yml"
    docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
    registry_pid=$!
    for _ in $(seq 100); do curl -s -o /dev/null "http://$reg/v2/" && break; sleep 0.05; done
    "$SM" tag "$reg/bb:1" "$reg/ro:1" || fail "tag"
    sm push "$reg/ro:1"
    expect_error "registry $reg refused the config of $reg/ro:1: HTTP 405, Method not allowed"
    expect_exit 125
    ;;
debian_minbase)
    EXT4_MANIFEST=${EXT4_MANIFEST:?EXT4_MANIFEST must name the ext4_manifest helper}
    command -v umoci >/dev/null || { echo "umoci is not installed"; exit 77; }
    layout=$("$here/../fixtures/debian-image.sh" minbase) || exit $?
    start_registry
    skopeo copy --dest-tls-verify=false "oci:$layout" "docker://$reg/debian:minbase" \
        >"$work/skopeo.log" 2>&1 || { cat "$work/skopeo.log"; fail "skopeo push"; }
    verify_pull debian:minbase
    # Not on a terminal, a pull says nothing on stderr.
    [ ! -s "$work/err" ] || fail "pull wrote to stderr while not on a terminal"
    skopeo inspect --tls-verify=false "docker://$reg/debian:minbase" >"$work/skopeo.json" ||
        fail "skopeo inspect"
    python3 - "$work/skopeo.json" <("$SM" inspect "$reg/debian:minbase") "$pulled_digest" <<'PY' ||
import json, sys
s = json.load(open(sys.argv[1]))
m = json.load(open(sys.argv[2]))[0]
assert s["Digest"] == sys.argv[3], (s["Digest"], sys.argv[3])
assert m["Digest"] == s["Digest"], (m["Digest"], s["Digest"])
assert [l["Digest"] for l in m["Layers"]] == s["Layers"], (m["Layers"], s["Layers"])
assert len(s["Layers"]) == 2, s["Layers"]
assert m["Config"]["Cmd"] == ["/bin/bash"], m["Config"]
PY
        fail "the pulled image differs from what skopeo inspect reports"
    # The pull built the root filesystem: the tree of umoci unpack.
    images=("$store"/rootfs/*.ext4)
    [ ${#images[@]} -eq 1 ] && [ -f "${images[0]}" ] || fail "pull did not build one rootfs: ${images[*]}"
    e2fsck -fn "${images[0]}" >"$work/fsck" 2>&1 || { cat "$work/fsck"; fail "e2fsck"; }
    umoci unpack --image "$layout" "$work/bundle" >/dev/null 2>&1 || fail "umoci unpack"
    python3 "$here/../rootfs/manifest.py" "$work/bundle/rootfs" >"$work/want" || fail "manifest.py"
    "$EXT4_MANIFEST" "${images[0]}" >"$work/got" || fail "ext4_manifest"
    diff -u "$work/want" "$work/got" >"$work/diff" ||
        { head -40 "$work/diff"; fail "the rootfs differs from umoci unpack"; }
    grep -q '^\./etc/supermachine-fixture file ' "$work/got" || fail "layer 2 is missing"
    ! grep -q '^\./usr/share/doc ' "$work/got" || fail "the whiteout of /usr/share/doc was not applied"
    [ "$(wc -l <"$work/got")" -gt 3000 ] || fail "a Debian tree has more than $(wc -l <"$work/got") paths"
    # On a terminal: the build is announced, and not when the cache has it.
    on_terminal "$SM" pull "$reg/debian:minbase"
    ! grep -q "building root filesystem" "$work/tty" || fail "announced a build the cache had"
    rm -rf "$store/rootfs"
    on_terminal "$SM" pull "$reg/debian:minbase"
    grep -q "building root filesystem for $reg/debian:minbase" "$work/tty" ||
        fail "no 'building root filesystem' on a terminal: $(cat "$work/tty")"
    [ -f "${images[0]}" ] || fail "the rebuilt rootfs has another name"
    # --no-rootfs only downloads.
    rm -rf "$store"
    sm pull --no-rootfs "$reg/debian:minbase"
    expect_ok
    [ -z "$(ls "$store/rootfs" 2>/dev/null)" ] || fail "--no-rootfs built a rootfs"
    ;;
debian_nginx)
    # The nginx fixture that run tests publish with -p 8080:80: its config
    # and its page, as pulled.
    EXT4_MANIFEST=${EXT4_MANIFEST:?EXT4_MANIFEST must name the ext4_manifest helper}
    command -v debugfs >/dev/null || { echo "debugfs (e2fsprogs) is not installed"; exit 77; }
    fixture=$here/../fixtures/debian-image.sh
    layout=$("$fixture" nginx) || exit $?
    start_registry
    skopeo copy --dest-tls-verify=false "oci:$layout" "docker://$reg/debian:nginx" \
        >"$work/skopeo.log" 2>&1 || { cat "$work/skopeo.log"; fail "skopeo push"; }
    verify_pull debian:nginx
    [ "$(inspect_field "$reg/debian:nginx" 'len(v["Layers"])')" = 3 ] || fail "not 3 layers"
    [ "$(inspect_field "$reg/debian:nginx" 'v["Config"]["Cmd"]')" = "['nginx', '-g', 'daemon off;']" ] ||
        fail "wrong Cmd"
    [ "$(inspect_field "$reg/debian:nginx" 'list(v["Config"]["ExposedPorts"])')" = "['80/tcp']" ] ||
        fail "wrong ExposedPorts: $(inspect_field "$reg/debian:nginx" 'v["Config"]')"
    image=$(ls "$store"/rootfs/*.ext4) || fail "no rootfs"
    debugfs -R "cat /var/www/html/index.html" "$image" 2>/dev/null | grep -qF "$("$fixture" --marker)" ||
        fail "the page does not hold the marker"
    "$EXT4_MANIFEST" "$image" >"$work/got" || fail "ext4_manifest"
    grep -q '^\./usr/sbin/nginx file 0755 0 0 ' "$work/got" || fail "no /usr/sbin/nginx"
    grep -q '^\./etc/nginx/sites-enabled/default symlink ' "$work/got" || fail "no default site"
    ;;
*)
    echo "unknown case $1"
    exit 2
    ;;
esac
echo PASS
