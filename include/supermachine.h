/*
 * supermachine: run OCI images as hardware-isolated microVMs on Linux KVM.
 *
 * Conventions: every function returns 0 or a negative errno; on failure
 * sm_last_error() gives the calling thread a sentence saying what failed and
 * what to do. Everything public carries the sm_ prefix.
 *
 * Structs that may grow start with `size_t size`, which the caller sets to
 * sizeof the struct as its header declares it: initialise each with its
 * SM_..._INIT macro (sm_exec ex = SM_EXEC_INIT; ex.argv = ...), which also
 * zeroes every field, each field's default. One rule for all of them, as
 * Linux's copy_struct_from_user:
 *  - a struct from an older header (smaller) is taken, and the fields it
 *    lacks read as zero;
 *  - one from a newer header (larger) is taken only if every field this
 *    library does not know is zero, else -E2BIG: an option is never
 *    dropped without a word;
 *  - size 0 is -EINVAL.
 * Results are written the same way: as much as both know, no further.
 * Library-allocated structs (sm_image_info, sm_vm_info, ...) start with
 * the size the library filled; lists of them are arrays of pointers, so
 * that each entry can grow. Everything the library allocates for the
 * caller has its own *_free (sm_free for plain bytes). Small value structs
 * passed in arrays (sm_disk, sm_port, sm_share, sm_tmpfs, sm_file, and an
 * image's layers, labels and history) are frozen: a version that needs
 * more adds a new array.
 *
 * A VM handle ends in one of four ways: sm_vm_stop (stop the VM, free the
 * handle), sm_vm_release (free the handle, leave a detached VM running),
 * sm_pool_release (give a pool's VM back: the pool stops it) and, for a
 * graceful end that keeps the handle, sm_vm_shutdown then one of these.
 *
 * In order below: errors, the machine, images, VMs, exec, files in the
 * guest, network, snapshots, pools, and a kernel booted directly.
 */
#ifndef SUPERMACHINE_H
#define SUPERMACHINE_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define SM_API __attribute__((visibility("default")))
#else
#define SM_API
#endif

#define SM_VERSION_MAJOR 0
#define SM_VERSION_MINOR 2

/* The SM_..._INIT macros: size set, every other field zero. C++ before
 * C++20 has no designated initializers (GCC and Clang warn, -pedantic
 * too), so there it is a value-initialized copy. */
#ifdef __cplusplus
#define SM__INIT(T) ([]() { T sm__v{}; sm__v.size = sizeof(T); return sm__v; }())
#else
#define SM__INIT(T) {.size = sizeof(T)}
#endif

/* The sentence describing the calling thread's last failure. */
SM_API const char *sm_last_error(void);

/* Failures of supermachine's own, returned negated like errno values but
 * beyond errno's range, so that a program can tell "this machine cannot
 * run VMs" from every other failure without parsing sentences. */
#define SM_ENOKVM   1001  /* no usable KVM: /dev/kvm missing, or not a KVM we can use */
#define SM_EKVMPERM 1002  /* /dev/kvm exists, but this user may not open it */

/* A short name for an error number, errno's or one of the above (either
 * sign); never NULL. */
SM_API const char *sm_strerror(int err);

/* Whether VMs can start here, and on which KVM. */
typedef enum sm_kvm_kind {
    SM_KVM_NONE = 0,      /* no usable KVM (see error) */
    SM_KVM_HARDWARE,      /* KVM on the CPU's own virtualization (VMX/SVM) */
    SM_KVM_NESTED,        /* KVM inside a VM, on virtualization its hypervisor passes on */
    SM_KVM_PVM,           /* kvm_pvm: paravirtual KVM that runs guest kernels by emulation */
} sm_kvm_kind;

typedef struct sm_kvm_status {
    size_t size; /* SM_KVM_STATUS_INIT sets it */
    sm_kvm_kind kind;
    int error;            /* 0, or why VMs cannot start (-SM_ENOKVM, -SM_EKVMPERM, ...) */
    int api_version;      /* KVM_GET_API_VERSION, when the device opened */
    char device[64];      /* the device checked: "/dev/kvm" */
    char detail[512];     /* the reason when error != 0, as sm_last_error() words it */
} sm_kvm_status;
#define SM_KVM_STATUS_INIT SM__INIT(sm_kvm_status)

/* Opens the KVM device, checks what supermachine needs and closes it:
 * cheap, so that a program (or `supermachine run`) can refuse at once
 * instead of after a pull. Returns status->error. */
SM_API int sm_kvm_check(sm_kvm_status *status);

/* Where this user's supermachine keeps its data and what a VM boots, as
 * the environment and the installation decide them. A file that cannot be
 * found leaves its field "" and says why in the matching _error field. */
typedef struct sm_paths {
    size_t size; /* SM_PATHS_INIT sets it */
    char data_dir[4096];         /* images, root filesystems, bakes */
    char runtime_dir[4096];      /* records of VMs */
    char kernel[4096];           /* the guest kernel */
    char initramfs[4096];        /* sm-init, the guest's PID 1 */
    char worker[4096];           /* the binary that runs each VM */
    char kernel_error[512];
} sm_paths;
#define SM_PATHS_INIT SM__INIT(sm_paths)
SM_API int sm_get_paths(sm_paths *paths);

/* Bytes on disk (allocated blocks: sparse snapshots count what they hold)
 * under the data and runtime directories. */
typedef struct sm_disk_usage {
    size_t size; /* SM_DISK_USAGE_INIT sets it */
    uint64_t images;             /* stored images */
    uint64_t image_bytes;        /* their blobs (layers, configs, manifests) */
    uint64_t rootfs_bytes;       /* root filesystems built from layers */
    uint64_t snapshots;          /* bakes */
    uint64_t snapshot_bytes;
    uint64_t vms;                /* VM records, running or ended */
    uint64_t vm_bytes;           /* their logs and writable disks */
} sm_disk_usage;
#define SM_DISK_USAGE_INIT SM__INIT(sm_disk_usage)
SM_API int sm_get_disk_usage(sm_disk_usage *usage);

/*
 * Images: pull from a registry, import from a file, list, inspect, remove,
 * and collect the blobs nothing refers to any more.
 *
 * Images live in a content-addressed store in $SUPERMACHINE_DATA_DIR, else
 * $XDG_DATA_HOME/supermachine, else ~/.local/share/supermachine. Every blob is
 * verified against its digest before it is stored. Names are normalised as
 * Docker does: "alpine" is "docker.io/library/alpine:latest".
 */
typedef struct sm_image sm_image;
#define SM_IMAGE_NAME_MAX 480   /* a normalised reference, with its NUL */
#define SM_IMAGE_DIGEST_MAX 72  /* "sha256:" + 64 hex digits, with its NUL */

/* A name and the manifest digest it stands for. */
typedef struct sm_image_ref {
    size_t size; /* SM_IMAGE_REF_INIT sets it */
    char name[SM_IMAGE_NAME_MAX];      /* "" for an image stored without a name */
    char digest[SM_IMAGE_DIGEST_MAX];
} sm_image_ref;
#define SM_IMAGE_REF_INIT SM__INIT(sm_image_ref)

/* Progress of a pull, reported a few times a second while layers download
 * and once more at the end. Sizes are of compressed layers. */
typedef struct sm_pull_progress {
    size_t size;               /* sizeof as this library knows it */
    const char *name;          /* the normalised reference being pulled */
    uint32_t layers;           /* layers the image has */
    uint32_t layers_done;      /* of them, already stored or now downloaded */
    uint64_t bytes;            /* bytes of the layers that must be downloaded */
    uint64_t bytes_done;
    int finished;              /* 1 on the last report */
} sm_pull_progress;

typedef struct sm_pull_options {
    size_t size; /* SM_PULL_OPTIONS_INIT sets it */
    const char *platform;           /* "os/arch[/variant]"; NULL: linux/amd64 */
    /* Registries ("host" or "host:port") that may be reached over plain
     * HTTP, NULL-terminated. Loopback registries always may. */
    const char *const *insecure_registries;
    /* Credentials; NULL: those in $DOCKER_CONFIG/config.json or
     * ~/.docker/config.json, if any. */
    const char *username;
    const char *password;
    void (*progress)(const sm_pull_progress *p, void *ctx);   /* may be NULL */
    void *progress_ctx;
    /* Mirrors of Docker Hub ("https://mirror.example.com", "http://host:port"
     * or "host[:port]"), NULL-terminated, tried in order for images on
     * docker.io before Docker Hub itself (docker's registry-mirrors). A
     * mirror that fails passes to the next. Digests are verified as always;
     * credentials are looked up under the mirror's host. */
    const char *const *mirrors;
} sm_pull_options;
#define SM_PULL_OPTIONS_INIT SM__INIT(sm_pull_options)

/* Pull `reference` (a name, name:tag, name@sha256:..., name:tag@sha256:...)
 * and store it under its normalised name. Blobs already stored are not
 * downloaded again. `out` (may be NULL) receives the name and digest. */
SM_API int sm_image_pull(const char *reference, const sm_pull_options *opts,
                         sm_image_ref *out);

/* Progress of a push, reported a few times a second while blobs upload and
 * once more at the end. Blobs are configs and layers, sizes as stored. */
typedef struct sm_push_progress {
    size_t size;               /* sizeof as this library knows it */
    const char *name;          /* the normalised reference being pushed */
    uint32_t blobs;            /* blobs the image has */
    uint32_t blobs_done;       /* of them, found in the registry or uploaded */
    uint32_t blobs_uploaded;   /* of those, uploaded (the others were there) */
    uint64_t bytes;            /* bytes of all its blobs */
    uint64_t bytes_done;       /* of them, found there or sent */
    int finished;              /* 1 on the last report */
} sm_push_progress;

typedef struct sm_push_options {
    size_t size; /* SM_PUSH_OPTIONS_INIT sets it */
    /* As in sm_pull_options: registries that may be reached over plain
     * HTTP (loopback ones always may), and credentials (NULL: Docker's
     * config file). */
    const char *const *insecure_registries;
    const char *username;
    const char *password;
    void (*progress)(const sm_push_progress *p, void *ctx);   /* may be NULL */
    void *progress_ctx;
} sm_push_options;
#define SM_PUSH_OPTIONS_INIT SM__INIT(sm_push_options)

/* Upload the stored image named `reference` (name[:tag], normalised; not a
 * digest) to the registry and repository that name gives, under its tag
 * (docker push): blobs the registry lacks (each HEAD first), then the
 * manifest, byte for byte as stored, so its digest stays the same. An
 * image from a multi-platform index is pushed with that index when the
 * store holds every manifest and blob it names, else as its one image
 * manifest. `out` (may be NULL) receives the name and the digest now
 * under the tag. -ENOENT: no such image, or a blob of it is missing. */
SM_API int sm_image_push(const char *reference, const sm_push_options *opts,
                         sm_image_ref *out);

typedef struct sm_import_options {
    size_t size; /* SM_IMPORT_OPTIONS_INIT sets it */
    const char *platform;           /* for multi-platform archives; NULL: linux/amd64 */
    /* Name to give the image when the archive names none, or to give in
     * addition to the names it has. NULL: only the archive's names. */
    const char *name;
    /* Build each image's root filesystem before listing it, as a pull
     * through sm_image_open does: an image whose layers cannot be applied
     * (corrupt, past the size bounds, a full disk) is not listed, and
     * nor are the archive's others. building hears of each build. */
    int build_rootfs;
    void (*building)(const char *name, void *ctx);
    void *building_ctx;
} sm_import_options;
#define SM_IMPORT_OPTIONS_INIT SM__INIT(sm_import_options)

/* Import a `docker save` tarball, an oci-archive tarball (either may be
 * compressed) or an OCI image layout directory. On success *out holds
 * *count pointers to the images; free it with sm_image_ref_list_free. */
SM_API int sm_image_import(const char *path, const sm_import_options *opts,
                           sm_image_ref ***out, size_t *count);
SM_API void sm_image_ref_list_free(sm_image_ref **list, size_t count);

typedef struct sm_image_layer {
    char digest[SM_IMAGE_DIGEST_MAX];
    char media_type[128];
    uint64_t size;
} sm_image_layer;

typedef struct sm_image_label {
    char *key;
    char *value;
} sm_image_label;

/* One step of the image's build, as its config's history records it
 * (docker history). Strings are NULL when the image does not set them. */
typedef struct sm_image_history {
    char *created;              /* RFC 3339 */
    char *created_by;           /* the command of the step */
    char *comment;
    int empty_layer;            /* the step changed no files: it has no layer */
    uint64_t size;              /* its layer's bytes as stored (compressed) */
} sm_image_history;

/* What the store knows about one image. Lists are NULL-terminated; fields
 * the image does not set are NULL. */
typedef struct sm_image_info {
    size_t size;                             /* sizeof as this library knows it */
    char name[SM_IMAGE_NAME_MAX];            /* "" when it has none */
    char digest[SM_IMAGE_DIGEST_MAX];        /* the image manifest */
    char index_digest[SM_IMAGE_DIGEST_MAX];  /* the index it came from, or "" */
    char config_digest[SM_IMAGE_DIGEST_MAX]; /* Docker's "image ID" */
    char media_type[128];                    /* of the manifest */
    char os[32], architecture[32], variant[32];
    char created[64];                        /* RFC 3339, or "" */
    int64_t stored;                          /* unix time it was pulled or imported */
    uint64_t bytes;                          /* of config and layers */
    size_t layer_count;
    sm_image_layer *layers;
    /* The image config: what `run` starts and how. */
    char **entrypoint;
    char **cmd;
    char **env;                              /* "KEY=value" */
    char *working_dir;
    char *user;                              /* "user[:group]", names or ids */
    char **exposed_ports;                    /* "80/tcp" */
    char *stop_signal;
    size_t label_count;
    sm_image_label *labels;
    size_t history_count;                    /* oldest step first */
    sm_image_history *history;
} sm_image_info;

/* Look an image up by name (normalised: "alpine" works), by manifest digest,
 * or by a unique prefix of at least 4 hex digits of its manifest or config
 * digest. Free *out with sm_image_info_free(). */
SM_API int sm_image_inspect(const char *reference, sm_image_info **out);
SM_API void sm_image_info_free(sm_image_info *info);

/* Every named image, sorted by name. Free with sm_image_list_free(). */
SM_API int sm_image_list(sm_image_info ***out, size_t *count);
SM_API void sm_image_list_free(sm_image_info **list, size_t count);

/* Remove a name. Given a digest or ID of an image with several names,
 * -EBUSY and nothing removed, unless flags hold SM_IMAGE_REMOVE_FORCE:
 * then every name goes (docker rmi [-f]). sm_image_remove is flags 0.
 * Blobs stay until sm_image_gc(). */
#define SM_IMAGE_REMOVE_FORCE 1u
SM_API int sm_image_remove(const char *reference);
SM_API int sm_image_remove_flags(const char *reference, unsigned flags);
/* Give the stored image `source` (name, digest or ID) the name `target`
 * too, replacing whatever that name stood for (docker tag). */
SM_API int sm_image_tag(const char *source, const char *target);
/* Write the n images (names, digests or IDs; an ID stands for every name
 * it has) to fd as one tar that `docker load`, `sm_image_import` and OCI
 * tools read: an OCI image layout plus docker's manifest.json, the blobs
 * as stored (docker save). */
SM_API int sm_image_save(const char *const *refs, size_t n, int fd);

typedef struct sm_gc_result {
    size_t size; /* SM_GC_RESULT_INIT sets it */
    uint64_t blobs_removed;
    uint64_t bytes_freed;
    uint64_t snapshots_removed; /* sm_snapshot_gc */
} sm_gc_result;
#define SM_GC_RESULT_INIT SM__INIT(sm_gc_result)

/* Delete blobs that no named image refers to, and leftovers of interrupted
 * downloads. Waits for running pulls and imports to finish. */
SM_API int sm_image_gc(sm_gc_result *result);

/*
 * Registry logins (docker login, docker logout), kept where docker keeps
 * them and where pulls look: $DOCKER_CONFIG/config.json, else
 * ~/.docker/config.json, or the credential helper that file names
 * ("credsStore", or "credHelpers" for that registry).
 *
 * `server` is "host[:port]" (a scheme or path is ignored); NULL or "" is
 * Docker Hub, filed under docker's key "https://index.docker.io/v1/".
 */
typedef struct sm_login_options {
    size_t size; /* SM_LOGIN_OPTIONS_INIT sets it */
    /* As in sm_pull_options: registries that may be reached over plain
     * HTTP, NULL-terminated. Loopback registries always may. */
    const char *const *insecure_registries;
} sm_login_options;
#define SM_LOGIN_OPTIONS_INIT SM__INIT(sm_login_options)

/* Check user and password against the registry (GET /v2/ with Basic
 * authentication, or through the token server its challenge names), and
 * only when it takes them store them: through the helper, else in the
 * file as {"auth": base64(user:password)}, replacing that registry's entry
 * and keeping everything else in the file; the file is replaced atomically
 * with mode 0600. -EACCES: the registry refused them. A damaged config
 * file is an error, and is left as it is. */
SM_API int sm_registry_login(const char *server, const char *user, const char *password,
                             const sm_login_options *opts);

/* Forget the login to `server`: its "auths" entries and, if a helper is
 * named for it, what the helper holds. 1 when there was a login, 0 when
 * there was none, or a negative errno. */
SM_API int sm_registry_logout(const char *server);

/*
 * An image ready to run: in the store (pulled first if it is missing) and
 * with its root filesystem built (a read-only ext4 image, cached by the
 * image's layer chain so the next open reuses it).
 */
typedef enum sm_pull_policy {
    SM_PULL_MISSING = 0,        /* pull when the store lacks it */
    SM_PULL_ALWAYS,             /* pull to refresh the tag, then open */
    SM_PULL_NEVER,              /* only what the store has */
} sm_pull_policy;

typedef struct sm_image_open_options {
    size_t size; /* SM_IMAGE_OPEN_OPTIONS_INIT sets it */
    sm_pull_policy pull_policy;
    const sm_pull_options *pull;    /* for the pull, if one happens; may be NULL */
    /* Told once before the root filesystem is built (it is not when the
     * cache has it): a long step for big images. May be NULL. */
    void (*building)(const char *name, void *ctx);
    void *building_ctx;
} sm_image_open_options;
#define SM_IMAGE_OPEN_OPTIONS_INIT SM__INIT(sm_image_open_options)

SM_API int sm_image_open(const char *reference, const sm_image_open_options *opts,
                         sm_image **out);
/* What the image is (name, digest, config); valid until sm_image_close. */
SM_API const sm_image_info *sm_image_get_info(const sm_image *image);
/* The image's read-only root filesystem image (an ext4 file). For an
 * image built over another it holds only its own layers, and the guest
 * stacks it over the images it builds on (its <key>.parent files in the
 * same directory) with overlayfs. */
SM_API const char *sm_image_rootfs(const sm_image *image);
SM_API void sm_image_close(sm_image *image);
/* A snapshot (sm_vm_snapshot's directory, or a bake's) as an image: every
 * sm_vm_start (or pool) given it resumes the snapshot instead of booting,
 * as config's snapshot does. It is checked now, and the image it was
 * taken of must be in the store; sm_image_get_info gives that image's
 * info (NULL for a snapshot of a VM without one), sm_image_rootfs NULL.
 * Free it with sm_image_close once no pool uses it. */
SM_API int sm_image_from_snapshot(const char *dir, sm_image **out);

/*
 * Virtual machines. Each runs in a worker process of its own (a crash or
 * a hostile guest takes down that process, never the caller) with
 * sm-init's agent inside, reached over vsock. Handles are thread-safe:
 * several threads may exec in one VM at once, and sm_vm_shutdown or
 * sm_vm_kill may be called while they do (their calls then fail: the VM
 * is gone). sm_vm_stop and sm_vm_release free the handle, so no other
 * call on it may be in flight or come after them; to end calls in
 * flight, sm_vm_shutdown(vm, SIGKILL, 0) first, then stop once they have
 * returned, as close(2) follows shutdown(2) on a socket.
 */
typedef struct sm_vm sm_vm;
/* sm_exec is defined with the exec calls below; detached VMs take one as
 * their main process. */
struct sm_exec;

/* A raw disk image attached over virtio-blk (/dev/vda, /dev/vdb, ... in
 * the order given). */
typedef struct sm_disk {
    const char *path;
    int read_only;
} sm_disk;

/* The VM's network. */
typedef enum sm_network {
    SM_NETWORK_DEFAULT = 0,     /* user-mode NAT for a VM with an image, else none */
    SM_NETWORK_USER,            /* user-mode NAT (libslirp): 10.0.2.15, gateway and
                                   host 10.0.2.2, DNS 10.0.2.3; no root needed */
    SM_NETWORK_NONE,            /* no network interface but loopback */
    SM_NETWORK_NETNS,           /* the interface of netns_path's namespace, taken over
                                   (as Kata Containers does); needs CAP_NET_ADMIN there */
} sm_network;

/* A guest port published on the host, as `-p [IP:]HOST:GUEST[/udp]`. */
typedef struct sm_port {
    const char *host_ip;        /* NULL: 127.0.0.1 */
    uint16_t host_port;
    uint16_t guest_port;
    int udp;                    /* 0: TCP */
} sm_port;

/* A host file or directory shared with the guest, as `-v HOST:GUEST[:ro]`. */
typedef struct sm_share {
    const char *host_path;
    const char *guest_path;     /* absolute, inside the image's root */
    int read_only;
} sm_share;

/* A tmpfs in the guest, as `--tmpfs PATH[:OPTIONS]`. */
typedef struct sm_tmpfs {
    const char *path;           /* absolute */
    const char *options;        /* "size=64m,mode=1777,exec"; NULL: noexec,nosuid,nodev */
} sm_tmpfs;

typedef struct sm_vm_config {
    size_t size; /* SM_VM_CONFIG_INIT sets it */
    const char *kernel;         /* NULL: built-in */
    const char *initrd;         /* NULL: built-in */
    const char *cmdline;        /* extra kernel command line; may be NULL */
    uint32_t memory_mib;        /* 0: 128 */
    uint32_t cpus;              /* 0: 1 */
    const sm_disk *disks;       /* ndisks entries (at most 8): vda, vdb, ... */
    unsigned ndisks;
    uint32_t start_timeout_ms;  /* until the agent answers; 0: 120 s */
    /* hostname needs an image or root_dir; upper_disk needs an image. */
    const char *hostname;       /* NULL: the first 12 hex digits of the VM's id */
    sm_network network;
    const sm_port *ports;       /* nports published ports */
    unsigned nports;
    const sm_share *shares;     /* nshares shared files and directories */
    unsigned nshares;
    /* A sparse ext4 file (created if missing) that holds the root's
     * writable layer, so it survives the VM; NULL: a tmpfs in guest RAM. */
    const char *upper_disk;
    /* A unique name by which sm_vm_open (and `supermachine ps`, `stop`,
     * `logs`, `rm`) find the VM; NULL: its id only. */
    const char *name;
    /* The VM outlives its handle and this process: it runs until its main
     * process (sm_vm_start_main) ends or it is stopped, and its record
     * (log, exit status) stays until sm_vm_remove. */
    int detached;
    int auto_remove;            /* detached: forget the record when it ends */
    /* Resume the snapshot in this directory (sm_vm_snapshot's, or a bake's)
     * instead of booting; image may then be NULL (the snapshot names its
     * own). The snapshot fixes memory, vCPUs, network and disks; hostname,
     * ports, name and detached are this VM's own. */
    const char *snapshot;
    /* Boot even when a baked snapshot of the image fits, and bake none.
     * (Without it, a VM from an image resumes the image's baked snapshot
     * when one fits its config, and the first VM of a config bakes it.) */
    int no_snapshot;
    /* Detached VMs from an image: start the image's own process (its
     * Entrypoint and Cmd, Env, User and WorkingDir, as sm_vm_start_main with
     * from_image and nothing overridden) as the main process. The first
     * such VM of a config bakes it running once the image's exposed TCP
     * ports accept (within 60 s); later ones resume it already serving. */
    int run_image_process;
    /* Told of long steps as they begin: "booting" (no snapshot fits: a
     * cold boot, which bakes one), "baking" (writing it). May be NULL. */
    void (*progress)(const char *step, void *ctx);
    void *progress_ctx;
    /* CPU time the vCPUs may use together, in thousandths of a CPU, as
     * docker's --cpus 1.5 (1500) with cpus 2; 0: no limit. Held by the
     * VMM itself each 100 ms, so it needs no cgroup. Not part of a bake. */
    uint32_t cpu_quota_milli;
    /* docker's --read-only: the image's root cannot be written (/dev,
     * /proc, /sys, /dev/shm, shares and tmpfs mounts still can); needs an
     * image, or root_dir (it then means root_read_only). Set up after the
     * start, so a bake serves it too. */
    int read_only;
    const sm_tmpfs *tmpfs;      /* ntmpfs tmpfs mounts (at most 16) */
    unsigned ntmpfs;
    /* A host directory as the VM's root filesystem instead of an image's
     * (image NULL), as an OCI runtime's root.path or podman's --rootfs:
     * shared over 9p and written in place (not at all with root_read_only).
     * The guest's /etc files are the directory's own: nothing is written
     * there. No bake: such a VM boots. */
    const char *root_dir;
    int root_read_only;
    /* ---- network namespace ---- */
    /* With network SM_NETWORK_NETNS: the network namespace the VM's NIC
     * lives in (a file such as /var/run/netns/NAME or /proc/PID/ns/net, as
     * CNI makes them). The guest's eth0 takes over the address, default
     * route, MTU and MAC of the namespace's interface; a tap beside that
     * interface carries its frames. Needs CAP_NET_ADMIN in that namespace.
     * No published ports (the namespace's owner routes to the guest's
     * address), no snapshot or bake (the address is the namespace's): such
     * a VM always boots. */
    const char *netns_path;
} sm_vm_config;
#define SM_VM_CONFIG_INIT SM__INIT(sm_vm_config)

/* Boot a VM and wait until its agent listens. With an image (from
 * sm_image_open), its root is the image's read-only disk joined by
 * overlayfs with a writable layer, set up as a container runtime does;
 * without one (NULL), the root is config's root_dir, or else the built-in
 * initramfs. */
SM_API int sm_vm_start(const sm_image *image, const sm_vm_config *config, sm_vm **out);

/* Stop the VM, wait for its worker and free the handle. A VM that is not
 * detached is forgotten with it; a detached one keeps its record. */
SM_API int sm_vm_stop(sm_vm *vm);

/* The VM's id: 64 hex digits (the first 12 name it in `ps`). */
SM_API const char *sm_vm_id(const sm_vm *vm);

/* The VM's runtime directory (console.log, worker.log, vsock sockets). */
SM_API const char *sm_vm_dir(const sm_vm *vm);

/*
 * Detached VMs. start_main starts the VM's main process (docker's run
 * semantics with exec->from_image), supervised by the VM's worker: its
 * stdout and stderr go to the VM's log, and its end ends the VM. */
SM_API int sm_vm_start_main(sm_vm *vm, const struct sm_exec *exec);
/* A handle on a running or ended detached VM, by name, id or unique id
 * prefix; -ENOENT if there is none. */
SM_API int sm_vm_open(const char *name_or_id, sm_vm **out);
/* Free the handle and leave the VM as it is. */
SM_API void sm_vm_release(sm_vm *vm);
/* docker create and start. A detached VM started from an image (without
 * config->snapshot) keeps a record of what started it: the config it was
 * given (not its callbacks), its main process as given to
 * sm_vm_start_main (or the image's own with run_image_process), and the
 * image's manifest digest. sm_vm_create writes that record without
 * starting anything: the VM is listed (sm_vm_info.never_started), its
 * name taken, its id (64 hex digits) in id. main NULL: the image's own
 * process; config->detached is implied. sm_vm_start_again starts a
 * created or ended VM from its record, with the same id, name, config and
 * main process; its output goes on in the same log. The root's writable
 * layer is fresh on each start unless config->upper_disk keeps it; a bake
 * that fits is resumed as sm_vm_start does. A running VM is left as it is
 * (a handle on it in *out); a VM without a record is -EOPNOTSUPP, an
 * image no longer stored -ENOENT. Release the handle with sm_vm_release. */
SM_API int sm_vm_create(const sm_image *image, const sm_vm_config *config,
                        const struct sm_exec *main, char id[65]);
SM_API int sm_vm_start_again(const char *name_or_id, sm_vm **out);
/* docker restart: sm_vm_shutdown (signo 0, timeout_ms), then
 * sm_vm_start_again; a VM without a record is refused before it is
 * stopped, and an auto_remove VM is kept across its restart. */
SM_API int sm_vm_restart(const char *name_or_id, uint32_t timeout_ms, sm_vm **out);
/* Stop gracefully: signo (0: the image's StopSignal, else SIGTERM) to the
 * main process, up to timeout_ms for it to end, then the VM is stopped.
 * The handle stays valid. */
SM_API int sm_vm_shutdown(sm_vm *vm, int signo, uint32_t timeout_ms);
/* Send signo to the main process (docker kill); the VM ends only if that
 * process does. -ESRCH when the VM or its main process is not running. */
SM_API int sm_vm_kill(sm_vm *vm, int signo);
/* docker pause / unpause: the guest's vCPUs stop (its clocks jump on
 * when it goes on); exec into a paused VM fails with -EBUSY. Pausing a
 * paused VM is -EALREADY, unpausing a running one -EINVAL. */
SM_API int sm_vm_pause(sm_vm *vm);
SM_API int sm_vm_unpause(sm_vm *vm);
/* 1 while the VM is paused, else 0. */
SM_API int sm_vm_paused(const sm_vm *vm);
/* What a running VM costs its host now (docker stats): its worker process
 * holds the guest's RAM and runs its vCPUs and devices. */
typedef struct sm_vm_stats {
    size_t size; /* SM_VM_STATS_INIT sets it */
    uint64_t cpu_ns;            /* CPU time used so far, all threads */
    uint64_t rss_bytes;         /* host memory held (guest RAM it touched, shared pages too) */
    uint64_t read_bytes;        /* disk bytes read and written so far */
    uint64_t write_bytes;
} sm_vm_stats;
#define SM_VM_STATS_INIT SM__INIT(sm_vm_stats)
SM_API int sm_vm_get_stats(sm_vm *vm, sm_vm_stats *stats);
/* The image's processes in the guest (docker top): every process but the
 * kernel's threads and supermachine's PID 1, by pid: *out is an array of
 * *count pointers; free it with sm_vm_processes_free. */
typedef struct sm_vm_process {
    size_t size;                /* sizeof as this library knows it */
    int pid, ppid;
    uint32_t uid;
    char state;                 /* R, S, D, Z, ... as /proc says */
    uint64_t cpu_ns;            /* CPU time used so far */
    uint64_t rss_bytes;         /* resident memory in the guest */
    char command[256];          /* its command line; [name] for a kernel thread */
} sm_vm_process;
SM_API int sm_vm_processes(sm_vm *vm, sm_vm_process ***out, size_t *count);
SM_API void sm_vm_processes_free(sm_vm_process **list, size_t count);
/* A signal as images and docker write it ("SIGHUP", "HUP", "1"); 0 if
 * not one supermachine knows. */
SM_API int sm_signal_parse(const char *s);
/* Wait up to timeout_ms (negative: for ever) for the VM to end (a created
 * VM: to be started and end); then its main process's exit status
 * (128+N: signal N; -1 unknown). -ETIMEDOUT. */
SM_API int sm_vm_wait(sm_vm *vm, int timeout_ms, int *exit_status);
/* Give a VM another name (docker rename); -EEXIST if another VM has it. */
SM_API int sm_vm_rename(const char *name_or_id, const char *new_name);

typedef struct sm_vm_info {
    size_t size;                /* sizeof as this library knows it: later
                                   versions add fields after those below */
    char id[65];
    char name[128];
    char image[SM_IMAGE_NAME_MAX];
    char command[512];          /* the main process, as a shell would quote it */
    char ports[512];            /* "127.0.0.1:8080->80/tcp, ..." */
    int64_t created;            /* unix time */
    int running;
    int detached;
    int exit_status;            /* ended: the main process's (128+N: signal N), or -1 */
    int never_started;          /* made by sm_vm_create, not started yet (docker's
                                   "Created") */
} sm_vm_info;

/* Every VM of this user, newest first; records of VMs whose owner died
 * without stopping them are cleaned up on the way. *out is an array of
 * *count pointers; free it with sm_vm_list_free. */
SM_API int sm_vm_list(sm_vm_info ***out, size_t *count);
SM_API void sm_vm_list_free(sm_vm_info **list, size_t count);
/* Forget an ended VM (its log, exit status and name); a running one only
 * with force, which stops it first. */
SM_API int sm_vm_remove(const char *name_or_id, int force);
/* Copy a detached VM's process output to the two fds, each stream to its
 * own; with follow, until the VM ends. */
SM_API int sm_vm_logs(const char *name_or_id, int follow, int stdout_fd, int stderr_fd);

/* sm_vm_logs with docker's choices (logs --tail, --since, -t). */
typedef struct sm_logs_options {
    size_t size; /* SM_LOGS_OPTIONS_INIT sets it */
    int follow;
    int has_tail;             /* only the last `tail` lines (0: none) */
    uint64_t tail;
    int64_t since_ns;         /* only output written at or after this unix time, in ns */
    int timestamps;           /* start each line with its RFC 3339 UTC time */
    int stdout_fd, stderr_fd;
    int64_t until_ns;         /* only output written before this unix time, in ns;
                               * follow ends once it has passed. 0: no end */
} sm_logs_options;
#define SM_LOGS_OPTIONS_INIT SM__INIT(sm_logs_options)
SM_API int sm_vm_logs_ex(const char *name_or_id, const sm_logs_options *opts);

/* A file placed in the guest before a command runs (same request). */
typedef struct sm_file {
    const char *path;
    const void *data;
    size_t len;
    uint32_t mode;              /* 0: 0644 */
} sm_file;

/* Receives a chunk of output; a non-zero return (a negative errno) stops
 * the exec and is returned by it. */
typedef int (*sm_output_fn)(void *ctx, const void *data, size_t len);

typedef struct sm_exec {
    size_t size; /* SM_EXEC_INIT sets it */
    const char *const *argv;    /* NULL-terminated; searched in PATH */
    const char *const *env;     /* "NAME=value", NULL-terminated; NULL: PATH and HOME */
    const char *cwd;            /* NULL: / */
    uint32_t uid, gid;          /* 0: root */
    uint32_t timeout_ms;        /* 0: none; else the process group is killed */
    int pty;                    /* run on a pseudo-terminal (stderr joins stdout) */
    uint16_t rows, cols;        /* its window; 0: 24x80 */
    /* stdin: stdin_data, then stdin_fd to its end if has_stdin_fd; with
     * neither, /dev/null (or sm_exec_write_stdin on a started exec). */
    const void *stdin_data;
    size_t stdin_len;
    int has_stdin_fd, stdin_fd;
    int stdin_stream;           /* keep stdin open for sm_exec_write_stdin */
    /* output: callbacks if set, else fds (> 0), else kept in the result
     * (at most max_output bytes each; 0: 64 MiB). */
    sm_output_fn on_stdout, on_stderr;
    void *ctx;
    int stdout_fd, stderr_fd;
    size_t max_output;
    const sm_file *files;       /* staged before the command starts */
    unsigned nfiles;
    /* The user to run as: "name", "uid", "name:group" or "uid:gid", found
     * in the guest's own /etc/passwd and /etc/group as runc does; it sets
     * the uid, gid, supplementary groups and (unless env has one) HOME.
     * NULL: uid and gid above (or the image's User with from_image). */
    const char *user;
    /* Docker's run/exec semantics, for a VM started from an image: what is
     * not given here comes from the image config. argv NULL: entrypoint
     * (when has_entrypoint; else the image's Entrypoint) followed by cmd
     * (else the image's Cmd, unless has_entrypoint); env: PATH, HOSTNAME,
     * the image's Env, then env here, each NAME replacing an earlier one;
     * cwd NULL: WorkingDir; user NULL: User. A VM from a root_dir takes
     * them too, as from an image whose config is empty. */
    int from_image;
    const char *const *entrypoint;
    int has_entrypoint;         /* entrypoint replaces the image's (NULL: none) */
    const char *const *cmd;
    /* A directory of the guest to run in as the root (chroot, as a
     * container of a pod: its filesystems must be mounted there first,
     * see sm_vm_mount); cwd and PATH are looked up inside it, and so is
     * user (files above are still placed at the VM's paths). NULL: the
     * VM's own root. */
    const char *root;
    /* OCI's process.user.umask and additionalGids, noNewPrivileges. */
    int has_umask;
    uint32_t umask;
    const uint32_t *groups;     /* ngroups supplementary groups, if has_groups;
                                   they replace those of user */
    unsigned ngroups;
    int has_groups;
    int no_new_privileges;      /* prctl(PR_SET_NO_NEW_PRIVS) before exec */
} sm_exec;
#define SM_EXEC_INIT SM__INIT(sm_exec)

typedef struct sm_exec_result {
    size_t size; /* SM_EXEC_RESULT_INIT sets it */
    int exit_status;            /* shell style: code, or 128+signal */
    int signal;                 /* the signal that ended it, or 0 */
    int timed_out;              /* killed because timeout_ms passed */
    uint64_t peak_rss_kib;      /* the command's peak resident memory */
    char *stdout_data, *stderr_data;  /* kept output, NUL-terminated */
    size_t stdout_len, stderr_len;
    int output_truncated;       /* more than max_output came */
} sm_exec_result;
#define SM_EXEC_RESULT_INIT SM__INIT(sm_exec_result)

/* Run a command in the VM to its end. */
SM_API int sm_vm_exec(sm_vm *vm, const sm_exec *exec, sm_exec_result *result);
SM_API void sm_exec_result_free(sm_exec_result *result);

/* The same in two steps, to signal or feed a running command. The other
 * calls are thread-safe against a sm_exec_wait in progress. Start reads
 * argv, env, cwd, user, files and the other strings and arrays and is
 * done with them when it returns; the output callbacks and ctx, the fds
 * and stdin_data are used until sm_exec_wait returns. */
typedef struct sm_exec_handle sm_exec_handle;
SM_API int sm_vm_exec_start(sm_vm *vm, const sm_exec *exec, sm_exec_handle **out);
SM_API int sm_exec_signal(sm_exec_handle *h, int signo);
SM_API int sm_exec_resize(sm_exec_handle *h, uint16_t rows, uint16_t cols);
SM_API int sm_exec_write_stdin(sm_exec_handle *h, const void *data, size_t len);
SM_API int sm_exec_close_stdin(sm_exec_handle *h);
/* Wait for the end (pumping stdin and output). Afterwards the calls above
 * return -ESRCH; free the handle with sm_exec_free once no other thread
 * uses it. */
SM_API int sm_exec_wait(sm_exec_handle *h, sm_exec_result *result);
SM_API void sm_exec_free(sm_exec_handle *h);

/* Files in the guest. A missing file is -ENOENT. */
#define SM_FILE_MKDIRS 1        /* create missing parent directories */
SM_API int sm_vm_write_file(sm_vm *vm, const char *path, const void *data, size_t len,
                            uint32_t mode, int flags);
/* *data (NUL-terminated beyond len) is freed with sm_free; at most max
 * bytes (0: 1 GiB). A directory reads as the names of its entries, one a
 * line. */
SM_API int sm_vm_read_file(sm_vm *vm, const char *path, size_t max, void **data, size_t *len);
/* Frees bytes the library handed out (sm_vm_read_file's); NULL is fine. */
SM_API void sm_free(void *p);

typedef struct sm_file_stat {
    size_t size; /* SM_FILE_STAT_INIT sets it */
    uint32_t mode, uid, gid;
    uint64_t bytes;             /* the file's length */
    int64_t mtime;
} sm_file_stat;
#define SM_FILE_STAT_INIT SM__INIT(sm_file_stat)
SM_API int sm_vm_stat(sm_vm *vm, const char *path, sm_file_stat *st);

/* Copies as docker cp makes them: a directory with all it holds, symlinks
 * as symlinks, modes and (out of the VM) times kept. If dst is an existing
 * directory, src goes inside it under its own name, else it is copied as
 * dst; "src/." copies a directory's content. copy_in: the host's src to
 * the guest's dst; copy_out: the guest's src to the host's dst, never
 * writing outside dst whatever the guest lists or links. The tar forms
 * extract a tar stream read from fd into the guest directory dst (names
 * absolute or with ".." refused), or write src as one to fd. Into the VM,
 * entries are owned by root unless SM_COPY_ARCHIVE keeps the source's
 * uid/gid; out of it, by the caller. Devices, FIFOs and sockets inside a
 * directory are left out. */
#define SM_COPY_FOLLOW_LINK 1   /* src itself, if a symlink, is followed */
#define SM_COPY_ARCHIVE 2       /* into the VM: keep the source's uid/gid */
SM_API int sm_vm_copy_in(sm_vm *vm, const char *src, const char *dst, int flags);
SM_API int sm_vm_copy_out(sm_vm *vm, const char *src, const char *dst, int flags);
SM_API int sm_vm_copy_in_tar(sm_vm *vm, int fd, const char *dst, int flags);
SM_API int sm_vm_copy_out_tar(sm_vm *vm, const char *src, int fd, int flags);

/* A mount in the running guest, made by its agent, as a container
 * runtime makes a container's: type "bind" (source: a guest path; "rbind"
 * with what is mounted beneath), "proc", "sysfs", "devpts", "mqueue",
 * "tmpfs" or "cgroup2" (source ignored), at target (a guest path; missing
 * directories are created, and an empty file when a bind's source is a
 * file). options: comma-separated mount(8) words the kernel takes as
 * flags (ro, nosuid, nodev, noexec, relatime, ...) and propagation words
 * (rprivate, ...) plus the filesystem's own data (size=64m, mode=1777,
 * newinstance, ptmxmode=0666, gid=5); NULL: none. A bind takes no data.
 * Errors are the guest's errno with a sentence naming the target. */
typedef struct sm_mount {
    size_t size; /* SM_MOUNT_INIT sets it */
    const char *type;
    const char *source;
    const char *target;
    const char *options;
    /* A container's root (a guest directory): target is then a path
     * inside it, resolved as a chroot would, so that a symlink of the
     * container's image (/etc -> /) cannot lead the mount out of it, as
     * runc resolves one. NULL: target is the guest's own path. */
    const char *root;
} sm_mount;
#define SM_MOUNT_INIT SM__INIT(sm_mount)
SM_API int sm_vm_mount(sm_vm *vm, const sm_mount *m);

/* A connected stream socket to a TCP port of the guest's loopback (the
 * caller owns and closes it), carried over vsock by the agent, so it works
 * with any network setting. -ECONNREFUSED when nothing listens there. */
SM_API int sm_vm_connect(sm_vm *vm, uint16_t guest_port, int *fd);

/* The same for a vsock port inside the guest. */
SM_API int sm_vm_connect_vsock(sm_vm *vm, uint32_t port, int *fd);

/* Listen on host_ip:host_port (NULL: 127.0.0.1; port 0: any, stored back
 * in *host_port) and forward each connection to guest_port as
 * sm_vm_connect does, from a thread of the calling process, until the VM
 * is stopped or released. Works with SM_NETWORK_NONE too. */
SM_API int sm_vm_expose_tcp(sm_vm *vm, const char *host_ip, uint16_t *host_port,
                            uint16_t guest_port);
/* Stop listening on host_port (every address sm_vm_expose_tcp listens on
 * it) and close the connections forwarded through it; -ENOENT if nothing
 * is exposed there. */
SM_API int sm_vm_unexpose_tcp(sm_vm *vm, uint16_t host_port);

/*
 * Snapshots. A snapshot is a directory (docs/snapshot.md): the guest's RAM,
 * sparse, and every vCPU and device state, written while the guest is
 * paused for a moment; the VM then runs on. Restoring one (sm_vm_config's
 * snapshot) maps its memory copy-on-write, so VMs restored from one
 * snapshot share its pages. VMs with shares cannot be snapshotted.
 */
/* A full snapshot into dir, which must not exist (created atomically: a
 * crash leaves no directory or a complete one). */
SM_API int sm_vm_snapshot(sm_vm *vm, const char *dir);
/* Only the memory changed since the VM was restored from its snapshot,
 * which becomes the new one's parent (and must stay where it is). */
SM_API int sm_vm_snapshot_diff(sm_vm *vm, const char *dir);
/* Whether the VM was resumed from a snapshot (1) or booted (0). */
SM_API int sm_vm_restored(const sm_vm *vm);
/* Delete baked snapshots no VM will resume again (their image is gone,
 * their root filesystem, kernel or sm-init changed, or they are damaged)
 * and what interrupted bakes left. Snapshots elsewhere are not touched.
 * Fills snapshots_removed and bytes_freed. */
SM_API int sm_snapshot_gc(sm_gc_result *result);

typedef struct sm_bake_options {
    size_t size; /* SM_BAKE_OPTIONS_INIT sets it */
    const sm_vm_config *vm;     /* the VM config to bake for (memory, cpus,
                                   network); NULL: defaults */
    int force;                  /* bake again even if a snapshot fits */
    /* Told once before a boot is needed for the bake. May be NULL. */
    void (*booting)(const char *name, void *ctx);
    void *booting_ctx;
} sm_bake_options;
#define SM_BAKE_OPTIONS_INIT SM__INIT(sm_bake_options)

/* Boot the image once and snapshot it as soon as its agent is ready, so
 * that every later sm_vm_start with a fitting config resumes it instead of
 * booting. Snapshots live in the data directory's snapshots/, named by a
 * fingerprint of everything that shapes them (image, kernel, init, memory,
 * vCPUs, network, format version); dir (may be NULL) receives the path.
 * Concurrent bakes of one fingerprint make one snapshot. */
SM_API int sm_image_bake(const sm_image *image, const sm_bake_options *opts, char *dir,
                         size_t dir_len);

/*
 * Dedup of baked snapshots: sibling snapshots (same image digest, memory
 * size and snapshot format) share their identical memory pages on disk,
 * on filesystems that can share extents (XFS with reflink=1, btrfs). The
 * kernel compares and shares each range atomically: the files read the
 * same bytes before, during and after, even if the call is interrupted.
 */
typedef struct sm_dedup_result {
    size_t size; /* SM_DEDUP_RESULT_INIT sets it */
    uint64_t snapshots;         /* snapshots found */
    uint64_t groups;            /* groups of siblings among them */
    uint64_t bytes_compared;    /* bytes holding data in both files of a pair */
    uint64_t bytes_shared;      /* bytes this call shared (not shared before) */
} sm_dedup_result;
#define SM_DEDUP_RESULT_INIT SM__INIT(sm_dedup_result)

/* Dedup the snapshots in `dir` (NULL: <data dir>/snapshots; 0 if it does
 * not exist yet). -EOPNOTSUPP, with nothing changed, on a filesystem that
 * cannot share extents (ext4, tmpfs, XFS made without reflink). */
SM_API int sm_snapshot_dedup(const char *dir, sm_dedup_result *result);

/*
 * Pools: VMs started ahead of time so that sm_pool_acquire hands one out at
 * once. A released VM is never reused: it is stopped in the background and
 * a fresh one started in its place, so the next user sees nothing of the
 * previous one's files or processes. The image must outlive the pool.
 */
typedef struct sm_pool sm_pool;
typedef struct sm_pool_config {
    size_t size; /* SM_POOL_CONFIG_INIT sets it */
    unsigned min;                 /* VMs kept started and idle */
    unsigned max;                 /* VMs at most, idle + acquired + starting;
                                     0: min (at least 1) */
    uint32_t idle_timeout_ms;     /* an idle VM above min is stopped after this; 0: never */
    uint32_t acquire_timeout_ms;  /* how long sm_pool_acquire waits for a VM; 0: forever */
    unsigned max_parallel_starts; /* VMs started at once; 0: 4 (at most max) */
    /* How each VM is started (copied); NULL: defaults. Not detached, named,
     * with an upper_disk, published ports or writable disks: a pool's VMs
     * run side by side. */
    const sm_vm_config *vm;
} sm_pool_config;
#define SM_POOL_CONFIG_INIT SM__INIT(sm_pool_config)

typedef struct sm_pool_stats {
    size_t size; /* SM_POOL_STATS_INIT sets it */
    unsigned idle, acquired, starting, stopping, waiting;  /* now */
    uint64_t started;           /* VMs started since sm_pool_new */
    uint64_t acquisitions;      /* sm_pool_acquire calls that got a VM */
    uint64_t discarded;         /* VMs released (and so stopped) */
    uint64_t expired;           /* idle VMs stopped after idle_timeout_ms */
    uint64_t failed_starts;     /* VMs that failed to start */
    uint64_t timeouts;          /* sm_pool_acquire calls that timed out */
} sm_pool_stats;
#define SM_POOL_STATS_INIT SM__INIT(sm_pool_stats)

/* Start the pool's threads, which start `min` VMs in the background. */
SM_API int sm_pool_new(const sm_image *image, const sm_pool_config *config, sm_pool **out);
/* An idle VM at once, else one started or released within
 * acquire_timeout_ms (-ETIMEDOUT after). A VM that fails to start while
 * this waits fails it with that VM's error. */
SM_API int sm_pool_acquire(sm_pool *pool, sm_vm **vm);
/* Give an acquired VM back: it is stopped in the background (the handle is
 * invalid from now on) and replaced. -EINVAL for a VM not acquired here. */
SM_API int sm_pool_release(sm_pool *pool, sm_vm *vm);
/* The counts now and since sm_pool_new. */
SM_API int sm_pool_get_stats(sm_pool *pool, sm_pool_stats *stats);
/* Close the pool without freeing it: acquires waiting now and any made
 * later fail with -ECANCELED, nothing more is started, and idle VMs are
 * stopped. Acquired VMs stay their holders' to use and release (and are
 * stopped when released). Safe while other threads are inside
 * sm_pool_acquire, sm_pool_release or sm_pool_get_stats; closing twice
 * does nothing. */
SM_API void sm_pool_close(sm_pool *pool);
/* Close the pool, stop every VM, acquired ones included (their handles
 * are invalid from now on), and join the pool's threads. Acquires already
 * waiting fail with -ECANCELED before it returns; no other call on the
 * pool may be in flight or come after it: to end those, sm_pool_close
 * first and free once they have returned. */
SM_API void sm_pool_free(sm_pool *pool);

/*
 * Low level: a kernel booted directly, without an image or an agent, for
 * kernels and init systems of one's own.
 */
/*
 * Low-level boot: boot a kernel and initramfs in a fresh microVM, run one
 * command inside with the project's sm-init as PID 1, and wait until it ends.
 * The guest console (kernel messages and the command's output) is copied to
 * console_fd.
 */
typedef struct sm_boot_config {
    size_t size; /* SM_BOOT_CONFIG_INIT sets it */
    const char *kernel;        /* vmlinux (ELF with a PVH entry); NULL: built-in */
    const char *initrd;        /* initramfs holding sm-init; NULL: built-in */
    const char *cmdline;       /* extra kernel command line, appended; may be NULL */
    uint32_t memory_mib;       /* guest RAM; 0: 128 */
    uint32_t cpus;             /* vCPUs; 0: 1 */
    const char *const *argv;   /* command to run (NULL-terminated); NULL: /bin/sh */
    int console_fd;            /* where the console goes; -1: discarded */
    const sm_disk *disks;      /* ndisks entries (at most 8) */
    unsigned ndisks;
    /* A virtio-vsock device whose host side lives in this directory:
     * guest connections to port P reach the Unix socket vsock_P there;
     * host programs connect to vsock.sock and write "CONNECT P\n". */
    const char *vsock_dir;
} sm_boot_config;
#define SM_BOOT_CONFIG_INIT SM__INIT(sm_boot_config)

/* How a booted guest ended. */
typedef enum sm_boot_outcome {
    SM_BOOT_EXITED = 1,   /* the command ended; see exit_status */
    SM_BOOT_PANICKED,     /* the guest kernel panicked; see detail */
    SM_BOOT_RESET,        /* the guest rebooted or powered off unexpectedly */
} sm_boot_outcome;

typedef struct sm_boot_result {
    size_t size; /* SM_BOOT_RESULT_INIT sets it */
    sm_boot_outcome outcome;
    int exit_status;          /* shell-style: code, or 128+signal */
    char detail[1024];        /* for PANICKED/RESET: the last console lines */
    /* CLOCK_MONOTONIC nanoseconds of each phase, 0 if not reached: the
     * call, the first vCPU entry, sm-init's first word, the command's end. */
    uint64_t t_call_ns, t_guest_entry_ns, t_init_ns, t_exit_ns;
} sm_boot_result;
#define SM_BOOT_RESULT_INIT SM__INIT(sm_boot_result)

/* Returns 0 when the guest ran and ended (whatever the outcome), or a
 * negative errno when the VM could not be set up or failed in the VMM. */
SM_API int sm_boot(const sm_boot_config *config, sm_boot_result *result);

#ifdef __cplusplus
}
#endif

#endif
