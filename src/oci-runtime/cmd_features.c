/* features: what this runtime honours, in the runtime spec's format, so
 * that an engine can tell before it asks. */
#include <stdio.h>

#include "oci-runtime/runtime.h"

int sm_oci_cmd_features(const sm_oci_globals *g, int argc, char **argv)
{
    (void)g, (void)argc, (void)argv;
    printf("{\n"
           "  \"ociVersionMin\": \"1.0.0\",\n"
           "  \"ociVersionMax\": \"" SM_OCI_SPEC_VERSION "\",\n"
           "  \"hooks\": [\"prestart\", \"createRuntime\", \"poststart\", \"poststop\"],\n"
           "  \"mountOptions\": [\"ro\", \"rw\", \"bind\", \"rbind\", \"nosuid\", \"nodev\", "
           "\"noexec\", \"exec\", \"size\", \"mode\"],\n"
           "  \"linux\": {\n"
           "    \"namespaces\": [\"network\"],\n"
           "    \"capabilities\": [],\n"
           "    \"cgroup\": {\"v1\": false, \"v2\": false, \"systemd\": false, "
           "\"systemdUser\": false},\n"
           "    \"seccomp\": {\"enabled\": false},\n"
           "    \"apparmor\": {\"enabled\": false},\n"
           "    \"selinux\": {\"enabled\": false}\n"
           "  },\n"
           "  \"annotations\": {\n"
           "    \"io.supermachine.isolation\": \"microvm\"\n"
           "  }\n"
           "}\n");
    return 0;
}
