/* config.json (and exec's process.json) as the OCI runtime spec defines
 * them, read and checked: each refusal names the field at fault. Strings
 * point into the parsed document, which the spec owns. */
#ifndef SM_OCI_SPEC_H
#define SM_OCI_SPEC_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct sm_oci_process {
    bool terminal;
    const char **args;          /* NULL-terminated, at least one */
    const char **env;           /* NULL-terminated */
    const char *cwd;            /* absolute */
    uint32_t uid, gid;
    uint32_t gids[64];          /* user.additionalGids */
    size_t ngids;
    int umask;                  /* -1: not given */
    bool no_new_privileges;
    uint16_t rows, cols;        /* consoleSize; 0: not given */
} sm_oci_process;

typedef struct sm_oci_mount {
    const char *destination, *type, *source;
    const char **options;       /* NULL-terminated */
} sm_oci_mount;

typedef struct sm_oci_hook {
    const char *path;
    const char **args, **env;   /* NULL-terminated; may be NULL */
    int timeout_s;              /* 0: none */
} sm_oci_hook;

typedef enum sm_oci_hook_kind {
    SM_OCI_HOOK_PRESTART,
    SM_OCI_HOOK_CREATE_RUNTIME,
    SM_OCI_HOOK_POSTSTART,
    SM_OCI_HOOK_POSTSTOP,
    SM_OCI_HOOK_KINDS
} sm_oci_hook_kind;

typedef struct sm_oci_hooks {
    sm_oci_hook *v;
    size_t n;
} sm_oci_hooks;

typedef struct sm_oci_spec {
    json_t *doc;
    const char *version;
    char root_path[4096];       /* absolute */
    bool root_readonly;
    const char *hostname;       /* NULL: not given */
    sm_oci_process process;
    sm_oci_mount *mounts;
    size_t nmounts;
    uint64_t memory_limit;      /* bytes; 0: none */
    int64_t cpu_quota;          /* µs per period; 0: none */
    uint64_t cpu_period;        /* µs */
    const char *netns_path;     /* a network namespace to join; NULL: none named */
    bool has_netns;             /* linux.namespaces lists "network" */
    sm_oci_hooks hooks[SM_OCI_HOOK_KINDS];
    json_t *annotations;        /* borrowed from doc; may be NULL */
} sm_oci_spec;

/* bundle/config.json. On failure: -1 and why in err (one sentence). */
int sm_oci_spec_load(const char *bundle, sm_oci_spec *spec, char *err, size_t errlen);
void sm_oci_spec_free(sm_oci_spec *spec);

/* A process object (exec --process), kept alive by *doc. */
int sm_oci_process_load(const char *path, json_t **doc, sm_oci_process *p, char *err,
                        size_t errlen);
void sm_oci_process_free(sm_oci_process *p);

/* An annotation's value, or NULL. */
const char *sm_oci_annotation(const sm_oci_spec *spec, const char *key);

#endif
