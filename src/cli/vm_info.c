/* One VM's sm_vm_info, found by name, id or id prefix. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "supermachine.h"

int sm_cli_vm_info(const char *name, sm_vm_info *out)
{
    sm_vm *vm;
    if (sm_vm_open(name, &vm) != 0)
        return sm_cli_fail();
    char id[65];
    snprintf(id, sizeof id, "%s", sm_vm_id(vm));
    sm_vm_release(vm);
    sm_vm_info **list;
    size_t n;
    if (sm_vm_list(&list, &n) != 0)
        return sm_cli_fail();
    int found = 0;
    for (size_t i = 0; i < n && !found; i++)
        if (!strcmp(list[i]->id, id))
            *out = *list[i], found = 1;
    sm_vm_list_free(list, n);
    return found ? 0 : sm_cli_fail();
}
