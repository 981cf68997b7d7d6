/* Seeds for the device harnesses: rings, requests, packets, registers
 * and saved device state. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "devices/serial_8250.h"
#include "devices/virtio/virtio_state.h"
#include "devices/virtio/vsock_proto.h"
#include "seeds.h"
#include "persist/state_file.h"
#include "virtio_rig.h"

/* fuzz_virtqueue: queue of 4 at 0x100 (desc), 0x200 (avail), 0x300 (used);
 * one chain of a readable and a writable buffer. */
static void virtqueue(void)
{
    uint8_t in[8 + 0x400] = {4, 0, 0x01, 0x02, 0x30, 0x00};
    uint8_t *ram = in + 8;
    uint64_t a0 = 0x380, a1 = 0x3c0;
    uint32_t len = 16;
    uint16_t f0 = SM_VRING_DESC_F_NEXT, f1 = SM_VRING_DESC_F_WRITE, next = 1, idx = 1;
    memcpy(ram + 0x100, &a0, 8), memcpy(ram + 0x108, &len, 4);
    memcpy(ram + 0x10c, &f0, 2), memcpy(ram + 0x10e, &next, 2);
    memcpy(ram + 0x110, &a1, 8), memcpy(ram + 0x118, &len, 4), memcpy(ram + 0x11c, &f1, 2);
    memcpy(ram + 0x202, &idx, 2);
    seed("virtqueue", "chain", in, sizeof in);
}

static void blk_request(rig_seed *s, uint32_t type, uint64_t sector, uint16_t data_len,
                        bool data_in)
{
    uint8_t hdr[16] = {0}, data[512];
    memcpy(hdr, &type, 4);
    memcpy(hdr + 8, &sector, 8);
    memset(data, 0x5a, sizeof data);
    rig_seed_u8(s, 1); /* notify after it */
    rig_seed_chain(s, data_len ? 3 : 2);
    rig_seed_segment(s, false, hdr, sizeof hdr);
    if (data_len)
        rig_seed_segment(s, data_in, data, data_len);
    rig_seed_segment(s, true, NULL, 1);
}

static void blk(void)
{
    static rig_seed s;
    s.len = 0;
    rig_seed_u8(&s, 0); /* the writable disk */
    blk_request(&s, 1, 2, 512, false);   /* write sector 2 */
    blk_request(&s, 0, 2, 512, true);    /* read it back */
    blk_request(&s, 4, 0, 0, false);     /* flush */
    blk_request(&s, 8, 0, 20, true);     /* id */
    seed("blk", "rw", s.buf, s.len);
    s.buf[0] = 1;                        /* the same on the read-only one */
    seed("blk", "ro", s.buf, s.len);
}

static void packet(rig_seed *s, uint16_t op, uint32_t src_port, uint32_t dst_port,
                   const char *payload)
{
    uint32_t n = payload ? (uint32_t)strlen(payload) : 0;
    sm_vsock_hdr h = {.src_cid = 3, .dst_cid = SM_VSOCK_HOST_CID, .src_port = src_port,
                      .dst_port = dst_port, .len = n, .type = SM_VSOCK_TYPE_STREAM, .op = op,
                      .buf_alloc = 65536, .flags = op == SM_VSOCK_OP_SHUTDOWN ? 3 : 0};
    rig_seed_u8(s, 1); /* tx */
    rig_seed_chain(s, n ? 2 : 1);
    rig_seed_segment(s, false, &h, sizeof h);
    if (n)
        rig_seed_segment(s, false, payload, (uint16_t)n);
}

static void rx_buffers(rig_seed *s, int n)
{
    for (int i = 0; i < n; i++) {
        rig_seed_u8(s, 1 - 1); /* rx */
        rig_seed_chain(s, 1);
        rig_seed_segment(s, true, NULL, 4096);
    }
}

static void vsock(void)
{
    static rig_seed s;
    /* The guest connects to the host's service on port 1024 and talks. */
    s.len = 0;
    rx_buffers(&s, 4);
    packet(&s, SM_VSOCK_OP_REQUEST, 5000, 1024, NULL);
    rig_seed_u8(&s, 6);                       /* the service accepts */
    packet(&s, SM_VSOCK_OP_RW, 5000, 1024, "hello host");
    rig_seed_bytes(&s, "\x04\x00\x05\x00hello", 9);  /* the service answers */
    rig_seed_u8(&s, 6);
    packet(&s, SM_VSOCK_OP_CREDIT_REQUEST, 5000, 1024, NULL);
    rig_seed_bytes(&s, "\x05\x00\x01", 3);    /* it shuts its sending side */
    rig_seed_u8(&s, 6);
    packet(&s, SM_VSOCK_OP_SHUTDOWN, 5000, 1024, NULL);
    packet(&s, SM_VSOCK_OP_RST, 5000, 1024, NULL);
    seed("vsock", "guest_connects", s.buf, s.len);
    /* A host program connects to guest port 52; the guest accepts. */
    s.len = 0;
    rx_buffers(&s, 2);
    rig_seed_bytes(&s, "\x03\x0b" "CONNECT 52\n", 13);
    rig_seed_u8(&s, 6);
    packet(&s, SM_VSOCK_OP_RESPONSE, 52, 0x40000000, NULL);
    rig_seed_u8(&s, 6);
    rig_seed_bytes(&s, "\x04\x00\x04\x00ping", 8);
    rig_seed_u8(&s, 6);
    rx_buffers(&s, 2);
    packet(&s, SM_VSOCK_OP_RW, 52, 0x40000000, "pong");
    rig_seed_u8(&s, 6);
    seed("vsock", "host_connects", s.buf, s.len);
    /* A transport reset with an event buffer posted, and a stray packet. */
    s.len = 0;
    rig_seed_u8(&s, 2);
    rig_seed_chain(&s, 1);
    rig_seed_segment(&s, true, NULL, 8);
    packet(&s, SM_VSOCK_OP_RW, 7, 8, "stray");
    rig_seed_u8(&s, 7);
    rx_buffers(&s, 1);
    rig_seed_u8(&s, 2);
    rig_seed_chain(&s, 1);
    rig_seed_segment(&s, true, NULL, 8);
    seed("vsock", "transport_reset", s.buf, s.len);
}

/* fuzz_mmio: Linux's bring-up of queue 0, a notify, then a config read. */
static void mmio(void)
{
    static const uint32_t steps[][2] = {
        {VD_STATUS, 0}, {VD_STATUS, 3}, {VD_DEV_FEATURES_SEL, 1}, {VD_DEV_FEATURES, 0},
        {VD_DRV_FEATURES_SEL, 1}, {VD_DRV_FEATURES, 1}, {VD_DRV_FEATURES_SEL, 0},
        {VD_DRV_FEATURES, 0}, {VD_STATUS, 11}, {VD_QUEUE_SEL, 0}, {VD_QUEUE_NUM, 4},
        {VD_DESC_LO, 0x100}, {VD_DRIVER_LO, 0x200}, {VD_DEVICE_LO, 0x300},
        {VD_QUEUE_READY, 1}, {VD_STATUS, 15}, {VD_QUEUE_NOTIFY, 0},
        {VD_INTERRUPT_ACK, 1},
    };
    size_t n = sizeof steps / sizeof *steps;
    for (int kind = 0; kind < RIG_KINDS; kind++) {
        uint8_t in[2 + 8 * 24 + 0x400] = {(uint8_t)kind, (uint8_t)(n + 1)};
        uint8_t *a = in + 2;
        for (size_t i = 0; i < n; i++, a += 8) {
            a[0] = (uint8_t)steps[i][0], a[1] = (uint8_t)(steps[i][0] >> 8), a[2] = 4 | 2;
            memcpy(a + 3, &steps[i][1], 4);
        }
        a[0] = 0x00, a[1] = 0x01, a[2] = 2;    /* read 4 bytes of config */
        a += 8;
        /* RAM: one writable 64-byte buffer offered on queue 0. */
        uint8_t *ram = a;
        uint64_t addr = 0x380;
        uint32_t len = 64;
        uint16_t flags = SM_VRING_DESC_F_WRITE, idx = 1;
        memcpy(ram + 0x100, &addr, 8), memcpy(ram + 0x108, &len, 4);
        memcpy(ram + 0x10c, &flags, 2), memcpy(ram + 0x202, &idx, 2);
        char name[16];
        snprintf(name, sizeof name, "kind%d", kind);
        seed("mmio", name, in, (size_t)(ram - in) + 0x400);
    }
}

/* fuzz_state_reader: a state file as a snapshot writes it, of the rig's
 * devices after a bring-up, the UARTs and the machine section. */
static void state(void)
{
    static rig r;
    static rig_devices set;
    sm_event_loop *loop;
    rig_init(&r);
    if (sm_event_loop_new(&loop) != 0)
        abort();
    rig_devices_init(&r, &set, loop);
    sm_snap_writer *w;
    if (sm_snap_writer_begin(&w) != 0)
        abort();
    uint8_t machine[16] = {1, 0, 0, 0, 3}, uart[SM_SERIAL_STATE_LEN];
    sm_snap_writer_add_section(w, SM_SNAP_MACHINE, 0, 0, machine, sizeof machine);
    sm_serial u;
    sm_serial_init(&u, &(sm_serial_ops){0}, NULL);
    sm_serial_write(&u, 3, 0x03);
    sm_serial_save(&u, uart);
    sm_snap_writer_add_section(w, SM_SNAP_SERIAL, 0, 0, uart, sizeof uart);
    sm_snap_writer_add_section(w, SM_SNAP_SERIAL, 1, 0, uart, sizeof uart);
    sm_serial_destroy(&u);
    for (unsigned k = 0; k < RIG_KINDS; k++) {
        uint8_t *p;
        size_t n;
        rig_bring_up(&r, rig_device(&set, k));
        if (sm_virtio_state_save(rig_device(&set, k), &p, &n) != 0)
            abort();
        sm_snap_writer_add_section(w, SM_SNAP_DEVICE, (uint16_t)k, 0, p, n);
        free(p);
    }
    uint8_t *blob;
    size_t len;
    if (sm_snap_writer_finish_mem(w, &blob, &len) != 0)
        abort();
    uint8_t *in = malloc(len + 1);
    in[0] = 1; /* length and checksum set by the harness: mutations get past them */
    memcpy(in + 1, blob, len);
    seed("state_reader", "devices", in, len + 1);
    in[0] = 0;
    seed("state_reader", "as_written", in, len + 1);
    free(in);
    free(blob);
}

void seeds_devices(void)
{
    virtqueue();
    blk();
    vsock();
    mmio();
    state();
}
