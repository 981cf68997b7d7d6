/* Merging identical pages into runs, so that one FIDEDUPERANGE call shares
 * a whole run rather than a page at a time. */
#include "snapshot/dedup.h"

int sm_dedup_runs_flush(sm_dedup_runs *r)
{
    if (!r->len)
        return 0;
    uint64_t off = r->start, len = r->len;
    r->len = 0;
    return r->emit(off, len, r->ctx);
}

int sm_dedup_runs_page(sm_dedup_runs *r, uint64_t off, int identical)
{
    int contiguous = r->len && r->start + r->len == off;
    if (!identical || !contiguous || r->len >= r->max_run) {
        int rc = sm_dedup_runs_flush(r);
        if (rc < 0 || !identical)
            return rc;
    }
    if (!r->len)
        r->start = off;
    r->len += SM_DEDUP_PAGE;
    return 0;
}
