/* virtio-vsock packet format (virtio 1.2 section 5.10). */
#ifndef SM_DEVICES_VIRTIO_VSOCK_PROTO_H
#define SM_DEVICES_VIRTIO_VSOCK_PROTO_H

#include <stdint.h>

#define SM_VSOCK_HOST_CID 2
#define SM_VSOCK_TYPE_STREAM 1

enum {
    SM_VSOCK_OP_INVALID = 0,
    SM_VSOCK_OP_REQUEST = 1,
    SM_VSOCK_OP_RESPONSE = 2,
    SM_VSOCK_OP_RST = 3,
    SM_VSOCK_OP_SHUTDOWN = 4,
    SM_VSOCK_OP_RW = 5,
    SM_VSOCK_OP_CREDIT_UPDATE = 6,
    SM_VSOCK_OP_CREDIT_REQUEST = 7,
};

#define SM_VSOCK_SHUTDOWN_RCV 1
#define SM_VSOCK_SHUTDOWN_SEND 2

typedef struct __attribute__((packed)) sm_vsock_hdr {
    uint64_t src_cid;
    uint64_t dst_cid;
    uint32_t src_port;
    uint32_t dst_port;
    uint32_t len;
    uint16_t type;
    uint16_t op;
    uint32_t flags;
    uint32_t buf_alloc;
    uint32_t fwd_cnt;
} sm_vsock_hdr;

_Static_assert(sizeof(sm_vsock_hdr) == 44, "virtio-vsock header is 44 bytes");

#endif
