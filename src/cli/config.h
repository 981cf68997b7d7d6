/* The user's defaults: $SUPERMACHINE_CONFIG, else
 * $XDG_CONFIG_HOME/supermachine/config.json, else
 * ~/.config/supermachine/config.json. A missing file is no error; a
 * malformed one, or a key it does not know, is (a typo must not be
 * silently ignored). Keys, all optional:
 *   "memory": "512m" or MiB     run and bake -m
 *   "cpus": 2 or 1.5            run and bake --cpus (a fraction: a quota)
 *   "network": "user" | "none"  run and bake --network
 *   "pull": "missing" | "always" | "never"   run --pull
 *   "insecure_registries": ["host:port", ...]  plain HTTP allowed (pull, run)
 *   "registry_mirrors": ["https://mirror", ...]  tried before Docker Hub
 * Command-line options override them. */
#ifndef SM_CLI_CONFIG_H
#define SM_CLI_CONFIG_H

#include <stdint.h>

#include "supermachine.h"

#define SM_CLI_INSECURE_MAX 16

typedef struct sm_cli_config {
    char path[4096];
    int found;                    /* the file exists and was read */
    uint32_t memory_mib, cpus;    /* 0: not set */
    uint32_t cpu_quota_milli;     /* "cpus": 1.5 gives 2 vCPUs and 1500 */
    int has_network, has_pull;
    sm_network network;
    sm_pull_policy pull;
    const char *insecure[SM_CLI_INSECURE_MAX + 1];   /* NULL-terminated */
    const char *mirrors[SM_CLI_INSECURE_MAX + 1];    /* NULL-terminated */
} sm_cli_config;

/* The config, read on first use; NULL after printing why it is unusable. */
const sm_cli_config *sm_cli_config_get(void);

#endif
