/* supermachine tag: another name for a stored image. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_tag(int argc, char **argv)
{
    static const struct option opts[] = {{"help", no_argument, NULL, 'h'}, {0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c != 'h')
            return sm_cli_usage_error("tag", "unknown option");
        printf("Usage: supermachine tag SOURCE TARGET\n\n"
               "Give the stored image SOURCE (a name, digest or ID) the name TARGET too.\n");
        return 0;
    }
    if (argc - optind != 2)
        return sm_cli_usage_error("tag", "wants SOURCE and TARGET");
    return sm_image_tag(argv[optind], argv[optind + 1]) ? sm_cli_fail() : 0;
}
