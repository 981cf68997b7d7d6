#!/usr/bin/env python3
"""The CLI where docker users' hands go: help, unknown commands, version,
info, rm -f, rmi of an ID with several names, tag, docker's size units.
No VM is started (suite integration); images come from
tests/run/mkrunimage.py into a private data directory.

cli_test.py CASE
"""
import os, re, subprocess, sys, tempfile

SM = os.environ["SM"]
HERE = os.path.dirname(os.path.abspath(__file__))
MKRUNIMAGE = os.path.join(HERE, "..", "run", "mkrunimage.py")


def check(cond, what, *details):
    if not cond:
        print("FAIL:", what, *details, file=sys.stderr)
        sys.exit(1)


def sm(*args, env=None):
    p = subprocess.run([SM, *args], capture_output=True, text=True, timeout=120,
                       stdin=subprocess.DEVNULL, env=env)
    return p.returncode, p.stdout, p.stderr


def refused(args, words, usage=False):
    """Exit 125 and one line naming the problem (a usage error adds the
    line pointing at --help)."""
    rc, out, err = sm(*args)
    lines = err.strip().splitlines()
    check(rc == 125, f"{args}: exit {rc}, wanted 125", err)
    check(len(lines) == (2 if usage else 1), f"{args}: one line of error", err)
    check(all(w in lines[0] for w in words), f"{args}: the error says {words}", lines[0])


def private_store():
    data = tempfile.mkdtemp(prefix="sm-cli-test-")
    os.environ["SUPERMACHINE_DATA_DIR"] = data
    os.environ["XDG_RUNTIME_DIR"] = os.path.join(data, "run")
    os.mkdir(os.environ["XDG_RUNTIME_DIR"], 0o700)
    layout = os.path.join(data, "layout")
    subprocess.run([sys.executable, MKRUNIMAGE, layout], check=True, stdout=subprocess.DEVNULL)
    check(sm("import", layout)[0] == 0, "import")
    return data


def case_help_and_unknown():
    rc, out, _ = sm("help", "rm")
    check(rc == 0 and out == sm("rm", "--help")[1], "help rm is rm --help", out)
    rc, out, _ = sm("help")
    check(rc == 0 and "Commands:" in out, "help lists the commands", out)
    refused(["frobnicate"], ["unknown command 'frobnicate'", "supermachine --help"])
    refused(["help", "frobnicate"], ["no command 'frobnicate'"])
    rc, out, _ = sm("version")
    check(rc == 0 and re.match(r"supermachine \d+\.\d+\nlibsupermachine \d+\.\d+\n$", out),
          "version", out)


def case_info():
    private_store()
    rc, out, err = sm("info")
    check(rc == 0, "info exits 0", err)
    fields = dict(l.split(":", 1) for l in out.splitlines())
    check(fields["Data"].strip() == os.environ["SUPERMACHINE_DATA_DIR"], "data dir", out)
    check(fields["Runtime"].strip() == os.path.join(os.environ["XDG_RUNTIME_DIR"],
                                                   "supermachine"), "runtime dir", out)
    check(fields["Images"].strip().startswith("5 ("), "five images counted", out)
    kvm = fields["KVM"].strip()
    if os.access("/dev/kvm", os.R_OK | os.W_OK):
        check(re.search(r"/dev/kvm, (hardware|nested|kvm_pvm)", kvm), "the KVM kind", kvm)
    else:
        check(kvm.startswith("unusable: "), "why there is no KVM", kvm)
    if os.geteuid() == 0:
        # A machine without /dev/kvm, made in a private mount namespace.
        p = subprocess.run(["unshare", "-m", "sh", "-c",
                            "mount -t tmpfs tmpfs /dev && mknod -m 666 /dev/null c 1 3 && "
                            f"exec {SM} info"], capture_output=True, text=True)
        check(p.returncode == 0 and "KVM:           unusable: /dev/kvm does not exist"
              in p.stdout, "info without KVM says so and why", p.stdout, p.stderr)


def case_rm_force_missing():
    private_store()
    rc, out, err = sm("rm", "-f", "no-such-vm")
    check(rc == 0 and not err, "rm -f of a missing VM is no error (docker)", rc, err)
    refused(["rm", "no-such-vm"], ["no such VM: no-such-vm"])


def case_rmi_several_names():
    private_store()
    check(sm("tag", "localhost/runtest:plain", "example.org/mine:v1")[0] == 0, "tag")
    check(sm("tag", "example.org/mine:v1", "example.org/other")[0] == 0, "tag of a tag")
    rows = [l.split() for l in sm("images")[1].splitlines()[1:]]
    ids = {r[0]: r[1] for r in rows}
    check(ids.get("example.org/mine:v1") == ids.get("localhost/runtest:plain") ==
          ids.get("example.org/other:latest"), "tags share the image ID", rows)
    image_id = ids["example.org/mine:v1"]
    refused(["rmi", image_id], [image_id, "3 names", "-f"])
    check(len(sm("images", "-q")[1].split()) == 7, "nothing removed", sm("images")[1])
    check(sm("rmi", "example.org/other")[0] == 0, "rmi by name removes one name")
    check(sm("rmi", "-f", image_id)[0] == 0, "rmi -f removes the rest")
    names = sm("images", "-q")[1].split()
    check(not any(n.startswith("example.org/") or n == "localhost/runtest:plain"
                  for n in names), "every name of the image gone", names)
    check(len(names) == 4, "the other images stay", names)
    refused(["tag", "no/such:image", "x:y"], ["no image 'no/such:image'"])
    refused(["tag", "localhost/runtest:ep", "x@sha256:" + "0" * 64], ["names a digest"])


def case_format():
    import json
    private_store()
    rc, out, err = sm("images", "--format", "json")
    rows = [json.loads(l) for l in out.splitlines()]
    check(rc == 0 and len(rows) == 5, "one JSON object a line", out, err)
    plain = [r for r in rows if r["Tag"] == "plain"]
    check(len(plain) == 1 and plain[0]["Repository"] == "localhost/runtest" and
          re.fullmatch(r"[0-9a-f]{12}", plain[0]["ID"]) and
          plain[0]["Platform"] == "linux/amd64", "the fields docker has", plain)
    rc, out, _ = sm("images", "--format", r"{{.Repository}}:{{.Tag}}\t{{ .ID }}")
    check(rc == 0 and f"localhost/runtest:plain\t{plain[0]['ID']}" in out.splitlines(),
          "a template, \\t a tab", out)
    rc, out, _ = sm("images", "--format", "table {{.Tag}}\t{{.CreatedSince}}")
    check(out.splitlines()[0] == "TAG\tCREATED SINCE", "table adds a header", out)
    refused(["images", "--format", "{{.Nope}}"], ["no field 'Nope'", ".Repository"],
            usage=True)
    refused(["ps", "--format", "{{.Nope}}"], ["no field 'Nope'", ".Names"], usage=True)
    rc, out, _ = sm("ps", "-a", "--format", "json")
    check(rc == 0 and out == "", "no VMs, no lines", out)
    rc, out, _ = sm("inspect", "localhost/runtest:plain")
    check(rc == 0 and json.loads(out)[0]["Name"] == "localhost/runtest:plain",
          "inspect of an image", out)
    refused(["inspect", "no-such-thing"], ["no image 'no-such-thing'"])
    # inspect --format: Go's printing of fields, json, index; one line each.
    rc, out, err = sm("inspect", "-f", r'{{.Config.Cmd}}|{{json .Config.Cmd}}|'
                      r'{{.Config.ExposedPorts}}\t{{index .Config.Labels "x"}}|{{ .Os }}',
                      "localhost/runtest:web", "localhost/runtest:plain")
    check(rc == 0 and out.splitlines() == [
        '[httpd -f -p 80 -h /etc]|["httpd","-f","-p","80","-h","/etc"]|map[80/tcp:map[]]'
        '\t<no value>|linux', '[sh]|["sh"]|map[]\t<no value>|linux'], "inspect --format", out, err)
    rc, out, _ = sm("inspect", "--format", "{{.Id}}", "localhost/runtest:plain")
    check(rc == 0 and out.strip() == "sha256:" + plain[0]["ID"] + out.strip()[19:],
          "the image's ID", out)
    for bad, words in [("{{.Nope}}", ["no field 'Nope'"]), ("{{.Config", ["without '}}'"]),
                       ("{{range .Layers}}", ["{{.Field}}", "{{json .Field}}"])]:
        refused(["inspect", "-f", bad, "localhost/runtest:plain"], ["--format"] + words)
        check(sm("inspect", "-f", bad, "localhost/runtest:plain")[1] == "", "nothing printed")


def case_history():
    """docker history: newest step first, the image's ID on it and <missing>
    below, sizes only on steps that made a layer, --format and -q."""
    import json
    private_store()
    rc, out, err = sm("history", "localhost/runtest:web")
    lines = out.splitlines()
    check(rc == 0 and len(lines) == 4, "a header and three steps", out, err)
    check(lines[0].split()[:3] == ["IMAGE", "CREATED", "CREATED"], "docker's header", out)
    ids = [l.split()[0] for l in lines[1:]]
    check(re.fullmatch(r"[0-9a-f]{12}", ids[0]) and ids[1:] == ["<missing>"] * 2,
          "the ID on the newest step, <missing> below", out)
    check("EXPOSEDPORTS" in lines[1] and "ADD file:busybox-static" in lines[3], "newest first", out)
    rc, out, _ = sm("history", "--format", "{{.Size}}|{{.CreatedBy}}", "--human=false",
                    "localhost/runtest:web")
    rows = [l.split("|", 1) for l in out.splitlines()]
    check(rc == 0 and [r[0] for r in rows[:2]] == ["0", "0"] and int(rows[2][0]) > 100000,
          "only the layer's step has a size, in bytes", out)
    check(rows[0][1] == '/bin/sh -c #(nop)  EXPOSEDPORTS {"80/tcp": {}}',
          "a template gets the whole command", out)
    rc, out, _ = sm("history", "-q", "localhost/runtest:web")
    check(rc == 0 and out.split()[1:] == ["<missing>"] * 2, "-q prints the IDs", out)
    refused(["history", "no/such:image"], ["no image 'no/such:image'"])
    refused(["history", "--format", "{{.Nope}}", "localhost/runtest:web"], ["no field 'Nope'"],
            usage=True)


def case_private_store():
    """The data directory and its locks are the user's alone: another local
    user cannot read the images or take the store's lock (and so block gc).
    A store made 0755/0644 by an older version is closed on first use."""
    import stat as st_, pwd
    data = tempfile.mkdtemp(prefix="sm-cli-test-")
    root = os.path.join(data, "store")
    os.environ["SUPERMACHINE_DATA_DIR"] = root
    check(sm("images")[0] == 0, "images on a new store")
    mode = lambda p: st_.S_IMODE(os.stat(p).st_mode)
    check(mode(root) == 0o700, "a new data directory is 0700", oct(mode(root)))
    check(mode(os.path.join(root, "lock")) == 0o600, "the store lock is 0600")
    os.chmod(root, 0o755)
    os.chmod(os.path.join(root, "lock"), 0o644)
    check(sm("images")[0] == 0, "images on an old store")
    check(mode(root) == 0o700 and mode(os.path.join(root, "lock")) == 0o600,
          "an old store is made private", oct(mode(root)))
    if os.geteuid() != 0:
        return  # the other user needs root to become
    os.chmod(data, 0o755)
    other = subprocess.run(
        ["setpriv", "--reuid=61235", "--regid=61235", "--clear-groups", "python3", "-c",
         "import fcntl,sys\ntry:\n f=open(sys.argv[1])\n fcntl.flock(f,fcntl.LOCK_EX|fcntl.LOCK_NB)"
         "\n print('locked')\nexcept OSError as e: print(e.errno)",
         os.path.join(root, "lock")], capture_output=True, text=True)
    check(other.stdout.strip() == "13", "another user cannot take the lock", other.stdout,
          other.stderr)


def one_layer_layout(out, layer_tar, name):
    """An OCI layout of one image whose one layer is the tar at layer_tar
    (gzipped here)."""
    import gzip, hashlib, json
    raw = open(layer_tar, "rb").read()
    gz = gzip.compress(raw, mtime=0)
    os.makedirs(os.path.join(out, "blobs", "sha256"))
    def put(data):
        d = hashlib.sha256(data).hexdigest()
        open(os.path.join(out, "blobs", "sha256", d), "wb").write(data)
        return "sha256:" + d, len(data)
    ldig, lsize = put(gz)
    cfg = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["sh"]},
                      "rootfs": {"type": "layers", "diff_ids": [
                          "sha256:" + hashlib.sha256(raw).hexdigest()]}}).encode()
    cdig, csize = put(cfg)
    man = json.dumps({"schemaVersion": 2,
                      "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "digest": cdig, "size": csize},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
                                  "digest": ldig, "size": lsize}]}).encode()
    mdig, msize = put(man)
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": mdig,
        "size": msize, "annotations": {"org.opencontainers.image.ref.name": "1",
                                       "io.containerd.image.name": name}}]},
        open(os.path.join(out, "index.json"), "w"))
    open(os.path.join(out, "oci-layout"), "w").write('{"imageLayoutVersion": "1.0.0"}')


def case_layer_bounds():
    """A layer declaring a 1 TiB (sparse) file fails at its header, in one
    line, without filling the disk; the bounds are set by environment
    variables; and a bomb of zeros under them costs no disk."""
    data = tempfile.mkdtemp(prefix="sm-cli-test-")
    os.environ["SUPERMACHINE_DATA_DIR"] = os.path.join(data, "store")
    src = os.path.join(data, "src")
    os.mkdir(src)
    with open(os.path.join(src, "huge"), "wb") as f:
        f.truncate(1 << 40)
    subprocess.run(["tar", "--sparse", "-cf", os.path.join(data, "sparse.tar"), "-C", src,
                    "huge"], check=True)
    os.unlink(os.path.join(src, "huge"))
    check(os.path.getsize(os.path.join(data, "sparse.tar")) < 1 << 20, "a small tar")
    one_layer_layout(os.path.join(data, "sparse"), os.path.join(data, "sparse.tar"),
                     "example.org/sparse:1")
    refused(["import", os.path.join(data, "sparse")],
            ["a file of 1.0 TiB: more than the 64.0 GiB one file may have",
             "SUPERMACHINE_MAX_FILE_SIZE"])
    check(not any(f.endswith(".ext4") for f in
                  os.listdir(os.path.join(data, "store", "rootfs"))), "no image built")
    check("example.org/sparse:1" not in sm("images", "-q")[1], "the image is not listed")
    # 32 MiB of zeros: within the default bounds it builds, and the image
    # holds no data blocks for them; under a lower bound, it fails.
    with open(os.path.join(src, "zeros"), "wb") as f:
        f.write(bytes(32 << 20))
    subprocess.run(["tar", "-cf", os.path.join(data, "zeros.tar"), "-C", src, "zeros"],
                   check=True)
    one_layer_layout(os.path.join(data, "zeros"), os.path.join(data, "zeros.tar"),
                     "example.org/zeros:1")
    os.environ["SUPERMACHINE_MAX_IMAGE_SIZE"] = "16m"
    refused(["import", os.path.join(data, "zeros")],
            ["add up to more than 16.0 MiB", "SUPERMACHINE_MAX_IMAGE_SIZE"])
    check(sm("images", "-q")[1] == "", "nothing listed", sm("images")[1])
    os.environ["SUPERMACHINE_MAX_IMAGE_SIZE"] = "lots"
    refused(["import", os.path.join(data, "zeros")],
            ["SUPERMACHINE_MAX_IMAGE_SIZE=lots is not a size"])
    del os.environ["SUPERMACHINE_MAX_IMAGE_SIZE"]
    rc, out, err = sm("import", os.path.join(data, "zeros"))
    check(rc == 0, "32 MiB of zeros import", err)
    rootfs = os.path.join(data, "store", "rootfs")
    image = [f for f in os.listdir(rootfs) if f.endswith(".ext4")][0]
    used = os.stat(os.path.join(rootfs, image)).st_blocks * 512
    check(used < 8 << 20, "the zeros take no disk in the image", used)


def case_system_df_prune():
    private_store()
    rc, out, _ = sm("system", "df")
    rows = {l.split()[0]: l.split()[1:] for l in out.splitlines()[1:]}
    check(rc == 0 and rows["Images"][0] == "5" and rows["VMs"][0] == "0", "system df", out)
    refused(["system", "prune"], ["confirm with -f"], usage=True)
    refused(["system", "frob"], ["wants df or prune"], usage=True)
    rc, out, _ = sm("prune", "-f")
    check(rc == 0 and out.startswith("Removed 0 VMs, 0 images"), "prune keeps images", out)
    check(len(sm("images", "-q")[1].split()) == 5, "images stay without -a")
    rc, out, _ = sm("system", "prune", "-a", "-f")
    check(rc == 0 and out.startswith("Removed 0 VMs, 5 images"), "prune -a", out)
    check(sm("images", "-q")[1] == "", "no image left", sm("images")[1])
    blobs = os.listdir(os.path.join(os.environ["SUPERMACHINE_DATA_DIR"], "blobs", "sha256"))
    check(blobs == [], "their blobs are gone too", blobs)


def case_load():
    """docker load: -i FILE or standard input; import stays, with its output."""
    data = tempfile.mkdtemp(prefix="sm-cli-test-")
    os.environ["SUPERMACHINE_DATA_DIR"] = os.path.join(data, "store")  # made on first use
    layout = os.path.join(data, "layout")
    subprocess.run([sys.executable, MKRUNIMAGE, layout], check=True, stdout=subprocess.DEVNULL)
    archive = os.path.join(data, "images.tar")
    subprocess.run(["tar", "-C", layout, "-cf", archive, "."], check=True)
    with open(archive, "rb") as f:
        p = subprocess.run([SM, "load"], stdin=f, capture_output=True, text=True)
    check(p.returncode == 0 and "Loaded image: localhost/runtest:plain\n" in p.stdout,
          "load from standard input", p.stdout, p.stderr)
    check(len(sm("images", "-q")[1].split()) == 5, "five images loaded")
    left = [n for n in os.listdir(os.environ["SUPERMACHINE_DATA_DIR"]) if n.startswith(".load")]
    check(not left, "the copy of standard input is gone", left)
    rc, out, _ = sm("load", "-i", archive)
    check(rc == 0 and out.count("Loaded image: ") == 5, "load -i", out)
    rc, out, _ = sm("import", archive)
    check(rc == 0 and re.search(r"^localhost/runtest:ep sha256:[0-9a-f]{64}$", out, re.M),
          "import prints name and digest", out)
    p = subprocess.run([SM, "load"], stdin=subprocess.DEVNULL, capture_output=True, text=True)
    check(p.returncode == 125 and p.stderr.strip() == "supermachine: standard input is empty: "
          "pipe an archive in, or give -i FILE", "empty standard input", p.stderr)
    p = subprocess.run([SM, "load"], input=b"garbage\n", capture_output=True)
    check(p.returncode == 125 and b"as a tar archive" in p.stderr, "garbage", p.stderr)
    refused(["load", "-i", os.path.join(data, "missing.tar")], ["missing.tar"])


def case_config():
    """The config file: found where XDG says, every fault named in one line."""
    data = private_store()
    home = os.path.join(data, "home")
    conf_dir = os.path.join(home, ".config", "supermachine")
    os.makedirs(conf_dir)
    conf = os.path.join(conf_dir, "config.json")
    os.environ["HOME"] = home
    os.environ.pop("XDG_CONFIG_HOME", None)
    rc, out, _ = sm("info")
    check(f"Config:        {conf} (none)" in out, "info names the config, absent", out)
    cases = [
        ('{"memory": "512m",}', ["config.json: line 1, column 19", "expected"]),
        ('{"memroy": 512}', ['unknown key "memroy"', "memory, cpus, network, pull"]),
        ('{"memory": "lots"}', ['"memory" wants a size']),
        ('{"cpus": 100}', ['"cpus" wants a number of CPUs']),
        ('{"network": "bridge"}', ['"network" wants "user" or "none"']),
        ('{"pull": "sometimes"}', ['"pull" wants "missing", "always" or "never"']),
        ('{"insecure_registries": "a:5000"}', ['"insecure_registries" wants a list']),
        ('[1, 2]', ["wants a JSON object"]),
    ]
    for text, words in cases:
        with open(conf, "w") as f:
            f.write(text)
        for cmd in (["run", "x"], ["bake", "x"], ["pull", "x"], ["info"]):
            refused(cmd, [conf] + words)
    with open(conf, "w") as f:
        f.write('{"memory": "1g", "cpus": 1.5, "network": "none", "pull": "never", '
                '"insecure_registries": ["127.0.0.1:1"]}')
    rc, out, err = sm("info")
    check(rc == 0 and f"Config:        {conf}\n" in out, "a good config", out, err)
    os.environ["SUPERMACHINE_CONFIG"] = os.path.join(data, "elsewhere.json")
    rc, out, _ = sm("info")
    check(f"Config:        {data}/elsewhere.json (none)" in out, "SUPERMACHINE_CONFIG", out)


def complete(*words):
    """What bash completion offers after the words (the last is the one
    being typed)."""
    script = os.path.join(HERE, "..", "..", "completions", "supermachine.bash")
    line = " ".join([SM, *words])
    p = subprocess.run(["bash", "-c", f'source "{script}"; COMP_WORDS=({SM} "$@"); '
                        'COMP_CWORD=$#; COMP_LINE="$*"; _supermachine; '
                        'printf "%s\\n" "${COMPREPLY[@]}"', "bash", *words],
                       capture_output=True, text=True)
    check(p.returncode == 0, f"completion of {line}", p.stderr)
    return set(p.stdout.split())


def case_completion():
    data = private_store()
    check({"run", "rm", "rmi", "rename"} <= complete("r"), "commands", complete("r"))
    check(complete("logs", "--t") == {"--tail", "--timestamps"}, "options from --help",
          complete("logs", "--t"))
    check("localhost/runtest:plain" in complete("run", "local"), "image names",
          complete("run", "local"))
    check(complete("help", "pr") == {"prune"}, "help completes commands",
          complete("help", "pr"))
    check("--rootfs" in complete("run", "--ro"), "run --rootfs", complete("run", "--ro"))
    os.mkdir(os.path.join(data, "rootdir-x"))
    open(os.path.join(data, "rootdir-file"), "w").close()
    check(complete("run", "--rootfs", os.path.join(data, "rootdir-")) ==
          {os.path.join(data, "rootdir-x")}, "run --rootfs completes directories only",
          complete("run", "--rootfs", os.path.join(data, "rootdir-")))
    # zsh: the completion system's builtins stubbed to print what they get.
    script = os.path.join(HERE, "..", "..", "completions", "_supermachine")
    stubs = ('compadd() { print -l -- ${(P)${@[-1]}} }; _describe() { print -l -- ${(P)2} }; '
             '_files() { }; ')

    def zsh(words, current, prefix=""):
        p = subprocess.run(["zsh", "-c", stubs + f'words=("$@"); CURRENT={current}; '
                            f'PREFIX="{prefix}"; source "{script}"', "zsh", SM, *words],
                           capture_output=True, text=True)
        check(p.returncode == 0, "zsh completion runs", p.stderr)
        return p.stdout.split("\n")
    check(any(l.startswith("run:run an image") for l in zsh([""], 2)), "zsh: commands",
          zsh([""], 2))
    check({"--tail", "--timestamps"} <= set(zsh(["logs", "--t"], 3, "--t")), "zsh: options")
    check("localhost/runtest:plain" in zsh(["run", ""], 3), "zsh: image names")


def case_rootfs_usage():
    """run --rootfs DIR COMMAND: what contradicts it is refused before
    anything starts (KVM or not)."""
    root = tempfile.mkdtemp(prefix="sm-cli-rootfs-")
    rc, out, _ = sm("run", "--help")
    check(rc == 0 and "--rootfs DIR" in out, "run --help shows --rootfs", out)
    refused(["run", "--rootfs", root], ["which command?", "--rootfs DIR COMMAND"], usage=True)
    refused(["run", "--rootfs", root, "--snapshot", root, "true"],
            ["--rootfs and --snapshot contradict"], usage=True)
    refused(["run", "--rootfs", root, "--disk", os.path.join(root, "d.img"), "true"],
            ["--disk", "written in place"], usage=True)
    refused(["create", "--rootfs", root, "true"], ["--rootfs", "run -d --rootfs"], usage=True)


def case_install():
    """make install puts the binary, library, header, man pages, guest files
    (the kernel too) and both completions under the prefix."""
    dest = tempfile.mkdtemp(prefix="sm-install-")
    build = os.path.dirname(SM)
    p = subprocess.run(["meson", "install", "-C", build, "--no-rebuild", "--quiet",
                        "--destdir", dest], capture_output=True, text=True)
    check(p.returncode == 0, "meson install", p.stdout, p.stderr)
    prefix = subprocess.run(["meson", "introspect", build, "--buildoptions"],
                            capture_output=True, text=True).stdout
    import json
    prefix = next(o["value"] for o in json.loads(prefix) if o["name"] == "prefix")
    root = dest + prefix
    for f in ["bin/supermachine", "include/supermachine.h", "share/man/man1/supermachine.1",
              "share/man/man3/supermachine.3", "share/supermachine/vmlinux",
              "share/supermachine/initramfs-image.cpio",
              "share/bash-completion/completions/supermachine",
              "share/zsh/site-functions/_supermachine"]:
        check(os.path.isfile(os.path.join(root, f)), f"{f} installed", sorted(os.listdir(root)))
    kernel = os.path.join(root, "share/supermachine/vmlinux")
    check(open(kernel, "rb").read(4) == b"\x7fELF", "the kernel itself, not a link")


def case_save():
    """save writes a tar that skopeo reads as an OCI archive and load reads
    back to the same images; a failure leaves no file."""
    import json
    data = private_store()
    out = os.path.join(data, "saved.tar")
    before = sm("images", "--format", "json")[1]
    rc, _, err = sm("save", "-o", out, "localhost/runtest:plain", "localhost/runtest:ep")
    check(rc == 0, "save -o", err)
    names = subprocess.run(["tar", "tf", out], capture_output=True, text=True).stdout.split()
    check({"oci-layout", "index.json", "manifest.json"} <= set(names), "an OCI layout and "
          "docker's manifest.json", names)
    docker = json.loads(subprocess.run(["tar", "xOf", out, "manifest.json"],
                                       capture_output=True, text=True).stdout)
    check(sorted(d["RepoTags"][0] for d in docker) ==
          ["localhost/runtest:ep", "localhost/runtest:plain"], "docker's RepoTags", docker)
    plain = [json.loads(l) for l in before.splitlines() if '"Tag":"plain"' in l][0]
    p = subprocess.run(["skopeo", "inspect", "--raw", f"oci-archive:{out}:plain"],
                       capture_output=True)
    import hashlib
    check(p.returncode == 0 and "sha256:" + hashlib.sha256(p.stdout).hexdigest() ==
          plain["Digest"], "skopeo reads the same manifest", p.stderr)
    with open(os.path.join(data, "stdout.tar"), "wb") as f:
        rc = subprocess.run([SM, "save", "localhost/runtest:plain", "localhost/runtest:ep"],
                            stdout=f).returncode
    check(rc == 0 and open(out, "rb").read() == open(os.path.join(data, "stdout.tar"),
                                                      "rb").read(),
          "to standard output, the same bytes")
    check(sm("rmi", "localhost/runtest:plain", "localhost/runtest:ep")[0] == 0, "rmi")
    check(sm("load", "-i", out)[0] == 0, "load what was saved")
    check(sm("images", "--format", "json")[1] == before, "the same images again",
          before, sm("images", "--format", "json")[1])
    refused(["save", "-o", os.path.join(data, "x.tar"), "no/such:image"], ["no image"])
    check(not [n for n in os.listdir(data) if n.startswith("x.tar")], "no file left")
    refused(["save", "-o", "/nonexistent/dir/x.tar", "localhost/runtest:ep"],
            ["cannot create /nonexistent/dir/x.tar"])


def case_size_units():
    for bad in ["0", "abc", "512x", "-5", "1e30g"]:
        refused(["run", "-m", bad, "img"], ["--memory wants a size such as 512m", bad],
                usage=True)
        refused(["bake", "-m", bad, "img"], ["--memory wants a size", bad], usage=True)
    for bad in ["0", "-1", "65", "x"]:
        refused(["run", "--cpus", bad, "img"], ["--cpus wants a number of CPUs"], usage=True)
    refused(["run", "--platform", "linux/arm64", "img"], ["VMs here run linux/amd64 only"],
            usage=True)


if __name__ == "__main__":
    globals()["case_" + sys.argv[1]]()
