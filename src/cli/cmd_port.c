/* supermachine port: a VM's published ports, as docker port prints them. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "supermachine.h"

/* "127.0.0.1:8080->80/tcp, ..." as "80/tcp -> 127.0.0.1:8080" lines,
 * those of `want` ("80" or "80/tcp") only when given. */
static int print_ports(const char *ports, const char *want)
{
    char copy[sizeof ((sm_vm_info *)0)->ports], *save, *tok;
    snprintf(copy, sizeof copy, "%s", ports);
    int printed = 0;
    for (tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        char *arrow = strstr(tok, "->");
        if (!arrow)
            continue;
        *arrow = '\0';
        const char *guest = arrow + 2;
        size_t n = want ? strlen(want) : 0;
        if (want && strcmp(guest, want) && !(strncmp(guest, want, n) == 0 && guest[n] == '/'))
            continue;
        printf("%s -> %s\n", guest, tok);
        printed++;
    }
    return printed;
}

int sm_cmd_port(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("port", "unknown option");
        printf("Usage: supermachine port VM [GUEST_PORT[/PROTO]]\n\n"
               "List the VM's published ports, or where GUEST_PORT is published.\n");
        return 0;
    }
    if (argc - optind < 1 || argc - optind > 2)
        return sm_cli_usage_error("port", "wants VM and at most one port");
    sm_vm_info info;
    int err = sm_cli_vm_info(argv[optind], &info);
    if (err)
        return err;
    const char *want = argc - optind == 2 ? argv[optind + 1] : NULL;
    if (!print_ports(info.ports, want) && want) {
        fprintf(stderr, "supermachine: VM %s publishes no port %s\n", argv[optind], want);
        return SM_CLI_EXIT_FAILURE;
    }
    return 0;
}
