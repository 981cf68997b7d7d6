/* supermachine logout: forget a registry login made by login or docker. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

/* What docker calls Docker Hub in these messages. */
#define DOCKER_HUB "https://index.docker.io/v1/"

int sm_cmd_logout(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("logout", "unknown option");
        printf("Usage: supermachine logout [SERVER]\n\n"
               "Forget the login to SERVER (default: Docker Hub): its entry in Docker's\n"
               "config file and what the credential helper that file names holds.\n");
        return 0;
    }
    if (argc - optind > 1)
        return sm_cli_usage_error("logout", "takes at most one SERVER");
    const char *server = optind < argc ? argv[optind] : NULL;
    int rc = sm_registry_logout(server);
    if (rc < 0)
        return sm_cli_fail();
    if (rc == 0)
        printf("Not logged in to %s\n", server ? server : DOCKER_HUB);
    else
        printf("Removing login credentials for %s\n", server ? server : DOCKER_HUB);
    return 0;
}
