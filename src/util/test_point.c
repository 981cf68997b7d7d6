#include "util/test_point.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

void sm_test_point(const char *name)
{
    const char *at = getenv("SUPERMACHINE_TEST_CRASH_AT");
    if (at && !strcmp(at, name))
        raise(SIGKILL);
}
