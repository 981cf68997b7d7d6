#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "devices/virtio/virtqueue.h"

/* A 16-entry ring in 1 MiB of guest RAM, written as a hostile driver
 * might write it. */
#define QSIZE 16
#define DESC 0x1000
#define AVAIL 0x2000
#define USED 0x3000
#define DATA 0x10000

typedef struct ring {
    sm_gmem mem;
    sm_vq q;
} ring;

static int setup(void **state)
{
    static ring r;
    memset(&r, 0, sizeof r);
    assert_int_equal(sm_gmem_init(&r.mem, 1 << 20), 0);
    r.q = (sm_vq){.size = QSIZE, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED};
    assert_true(sm_vq_valid(&r.q, &r.mem));
    r.q.ready = true;
    *state = &r;
    return 0;
}

static int teardown(void **state)
{
    ring *r = *state;
    sm_gmem_free(&r->mem);
    return 0;
}

static void desc(ring *r, uint16_t i, uint64_t addr, uint32_t len, uint16_t flags, uint16_t next)
{
    uint8_t *p = sm_gmem_ptr(&r->mem, DESC + 16ull * i, 16);
    memcpy(p, &addr, 8);
    memcpy(p + 8, &len, 4);
    memcpy(p + 12, &flags, 2);
    memcpy(p + 14, &next, 2);
}

/* Offer head at the next available slot. */
static void offer(ring *r, uint16_t head)
{
    uint16_t *idx = sm_gmem_ptr(&r->mem, AVAIL + 2, 2);
    uint16_t *slot = sm_gmem_ptr(&r->mem, AVAIL + 4 + 2ull * (*idx % QSIZE), 2);
    *slot = head;
    (*idx)++;
}

static void pops_a_valid_chain(void **state)
{
    ring *r = *state;
    desc(r, 0, DATA, 16, SM_VRING_DESC_F_NEXT, 1);
    desc(r, 1, DATA + 16, 100, SM_VRING_DESC_F_NEXT | SM_VRING_DESC_F_WRITE, 2);
    desc(r, 2, DATA + 200, 1, SM_VRING_DESC_F_WRITE, 0);
    offer(r, 0);
    sm_vq_chain c;
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_CHAIN);
    assert_int_equal(c.head, 0);
    assert_int_equal(c.nread, 1);
    assert_int_equal(c.nwrite, 2);
    assert_int_equal(c.read_len, 16);
    assert_int_equal(c.write_len, 101);
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_EMPTY);
    assert_true(sm_vq_push(&r->q, &r->mem, 0, 101));
    uint32_t *used = sm_gmem_ptr(&r->mem, USED + 4, 8);
    assert_int_equal(used[0], 0);
    assert_int_equal(used[1], 101);
    assert_int_equal(*(uint16_t *)sm_gmem_ptr(&r->mem, USED + 2, 2), 1);
}

static void expect_bad(ring *r, uint16_t head)
{
    offer(r, head);
    sm_vq_chain c;
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_BAD_CHAIN);
    assert_int_equal(c.head, head);
    assert_false(r->q.broken);  /* the next request still works */
}

static void rejects_a_loop(void **state)
{
    ring *r = *state;
    desc(r, 0, DATA, 8, SM_VRING_DESC_F_NEXT, 1);
    desc(r, 1, DATA, 8, SM_VRING_DESC_F_NEXT, 0);
    expect_bad(r, 0);
    desc(r, 2, DATA, 8, SM_VRING_DESC_F_NEXT, 2);  /* a self-loop */
    expect_bad(r, 2);
}

static void rejects_out_of_range(void **state)
{
    ring *r = *state;
    desc(r, 0, (1 << 20) - 4, 8, 0, 0);              /* straddles the end of RAM */
    expect_bad(r, 0);
    desc(r, 1, 0xfffffffffffffff0ull, 32, 0, 0);     /* wraps */
    expect_bad(r, 1);
    desc(r, 2, 0xd0000000, 16, 0, 0);                /* MMIO hole */
    expect_bad(r, 2);
    desc(r, 3, DATA, 8, SM_VRING_DESC_F_NEXT, QSIZE); /* next past the table */
    expect_bad(r, 3);
}

static void rejects_zero_length_and_indirect(void **state)
{
    ring *r = *state;
    desc(r, 0, DATA, 0, 0, 0);
    expect_bad(r, 0);
    desc(r, 1, DATA, 16, SM_VRING_DESC_F_INDIRECT, 0);  /* not negotiated */
    expect_bad(r, 1);
}

static void rejects_readable_after_writable(void **state)
{
    ring *r = *state;
    desc(r, 0, DATA, 8, SM_VRING_DESC_F_NEXT | SM_VRING_DESC_F_WRITE, 1);
    desc(r, 1, DATA + 8, 8, 0, 0);
    expect_bad(r, 0);
}

static void rejects_overlong_chains(void **state)
{
    ring *r = *state;
    /* 16 descriptors all chained: fine (the table's size). */
    for (uint16_t i = 0; i < QSIZE - 1; i++)
        desc(r, i, DATA, 8, SM_VRING_DESC_F_NEXT, (uint16_t)(i + 1));
    desc(r, QSIZE - 1, DATA, 8, 0, 0);
    offer(r, 0);
    sm_vq_chain c;
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_CHAIN);
    assert_int_equal(c.nread, QSIZE);
    /* ...but a chain that revisits one is a loop in disguise. */
    desc(r, QSIZE - 1, DATA, 8, SM_VRING_DESC_F_NEXT, 3);
    expect_bad(r, 0);
}

static void bad_indexes_break_the_ring(void **state)
{
    ring *r = *state;
    offer(r, QSIZE + 3);  /* head past the table */
    sm_vq_chain c;
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_BROKEN);
    assert_true(r->q.broken);
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_EMPTY);  /* stays stopped */

    sm_vq_reset(&r->q);
    r->q = (sm_vq){.size = QSIZE, .desc_gpa = DESC, .avail_gpa = AVAIL, .used_gpa = USED,
                   .ready = true};
    uint16_t *idx = sm_gmem_ptr(&r->mem, AVAIL + 2, 2);
    *idx = 1000;  /* claims 1000 new entries in a 16-entry ring */
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_BROKEN);
}

static void validates_placement(void **state)
{
    ring *r = *state;
    sm_vq q = r->q;
    q.size = 12;  /* not a power of two */
    assert_false(sm_vq_valid(&q, &r->mem));
    q = r->q;
    q.size = 512;  /* beyond what we offered */
    assert_false(sm_vq_valid(&q, &r->mem));
    q = r->q;
    q.used_gpa = (1 << 20) - 8;  /* runs off RAM */
    assert_false(sm_vq_valid(&q, &r->mem));
    q = r->q;
    q.desc_gpa = DESC + 8;  /* misaligned */
    assert_false(sm_vq_valid(&q, &r->mem));
}

static void copies_across_buffers(void **state)
{
    ring *r = *state;
    desc(r, 0, DATA, 3, SM_VRING_DESC_F_NEXT | SM_VRING_DESC_F_WRITE, 1);
    desc(r, 1, DATA + 100, 5, SM_VRING_DESC_F_WRITE, 0);
    offer(r, 0);
    sm_vq_chain c;
    assert_int_equal(sm_vq_pop(&r->q, &r->mem, &c), SM_VQ_CHAIN);
    assert_int_equal(sm_vq_chain_write(&c, 1, "abcdefghij", 10), 7);
    assert_memory_equal(sm_gmem_ptr(&r->mem, DATA + 1, 2), "ab", 2);
    assert_memory_equal(sm_gmem_ptr(&r->mem, DATA + 100, 5), "cdefg", 5);
    char back[8] = {0};
    assert_int_equal(sm_vq_chain_read(&c, 0, back, 8), 0);  /* nothing readable */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(pops_a_valid_chain, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_a_loop, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_out_of_range, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_zero_length_and_indirect, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_readable_after_writable, setup, teardown),
        cmocka_unit_test_setup_teardown(rejects_overlong_chains, setup, teardown),
        cmocka_unit_test_setup_teardown(bad_indexes_break_the_ring, setup, teardown),
        cmocka_unit_test_setup_teardown(validates_placement, setup, teardown),
        cmocka_unit_test_setup_teardown(copies_across_buffers, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
