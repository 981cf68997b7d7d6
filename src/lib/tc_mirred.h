/* Joining two interfaces of one network namespace with tc, as Kata's
 * default networking does: everything arriving on one is redirected out
 * of the other (an ingress qdisc with a matchall filter whose mirred
 * action redirects and steals the frame), in both directions. The
 * namespace's own stack never sees the frames, so its interface can keep
 * the address the guest takes over. Spoken over rtnetlink directly. */
#ifndef SM_LIB_TC_MIRRED_H
#define SM_LIB_TC_MIRRED_H

/* In the calling thread's network namespace; a redirect an earlier call
 * left on a (its VM ended, its tap is gone) is replaced. 0 or a negative
 * errno (with a sentence). */
int sm_tc_redirect_both(int ifindex_a, int ifindex_b);

#endif
