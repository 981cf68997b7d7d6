/* The hidden "__worker" command: the per-VM VMM process that the library
 * starts. Not meant to be typed. */
#include "cli/cli.h"
#include "supermachine.h"

int sm_cmd_worker(int argc, char **argv)
{
    return sm__worker_main(argc, argv);
}
