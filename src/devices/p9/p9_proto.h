/*
 * 9P2000.L on the wire: message types and the constants of its fields, as
 * the Linux client (net/9p, fs/9p) speaks them. Little-endian integers;
 * a string is a u16 length and that many bytes, no NUL; a qid is 13 bytes
 * (u8 type, u32 version, u64 path). Every message starts with
 * size[4] type[1] tag[2], size counting itself.
 */
#ifndef SM_DEVICES_P9_P9_PROTO_H
#define SM_DEVICES_P9_P9_PROTO_H

#include <stdint.h>

#include "devices/p9/p9_guest.h"

#define SM_P9_HEADER 7              /* size[4] type[1] tag[2] */
#define SM_P9_QID_SIZE 13
#define SM_P9_NOFID 0xffffffffu
#define SM_P9_NOTAG 0xffffu
#define SM_P9_MAX_WALK 16           /* elements in one Twalk (P9_MAXWELEM) */
#define SM_P9_MIN_MSIZE 4096u
#define SM_P9_IOHDR 24              /* Twrite header: room kept below msize */

enum sm_p9_type {
    SM_P9_TLERROR = 6, SM_P9_RLERROR = 7,
    SM_P9_TSTATFS = 8, SM_P9_RSTATFS = 9,
    SM_P9_TLOPEN = 12, SM_P9_RLOPEN = 13,
    SM_P9_TLCREATE = 14, SM_P9_RLCREATE = 15,
    SM_P9_TSYMLINK = 16, SM_P9_RSYMLINK = 17,
    SM_P9_TMKNOD = 18, SM_P9_RMKNOD = 19,
    SM_P9_TRENAME = 20, SM_P9_RRENAME = 21,
    SM_P9_TREADLINK = 22, SM_P9_RREADLINK = 23,
    SM_P9_TGETATTR = 24, SM_P9_RGETATTR = 25,
    SM_P9_TSETATTR = 26, SM_P9_RSETATTR = 27,
    SM_P9_TXATTRWALK = 30, SM_P9_RXATTRWALK = 31,
    SM_P9_TXATTRCREATE = 32, SM_P9_RXATTRCREATE = 33,
    SM_P9_TREADDIR = 40, SM_P9_RREADDIR = 41,
    SM_P9_TFSYNC = 50, SM_P9_RFSYNC = 51,
    SM_P9_TLOCK = 52, SM_P9_RLOCK = 53,
    SM_P9_TGETLOCK = 54, SM_P9_RGETLOCK = 55,
    SM_P9_TLINK = 70, SM_P9_RLINK = 71,
    SM_P9_TMKDIR = 72, SM_P9_RMKDIR = 73,
    SM_P9_TRENAMEAT = 74, SM_P9_RRENAMEAT = 75,
    SM_P9_TUNLINKAT = 76, SM_P9_RUNLINKAT = 77,
    SM_P9_TVERSION = 100, SM_P9_RVERSION = 101,
    SM_P9_TAUTH = 102, SM_P9_RAUTH = 103,
    SM_P9_TATTACH = 104, SM_P9_RATTACH = 105,
    SM_P9_TFLUSH = 108, SM_P9_RFLUSH = 109,
    SM_P9_TWALK = 110, SM_P9_RWALK = 111,
    SM_P9_TREAD = 116, SM_P9_RREAD = 117,
    SM_P9_TWRITE = 118, SM_P9_RWRITE = 119,
    SM_P9_TCLUNK = 120, SM_P9_RCLUNK = 121,
    SM_P9_TREMOVE = 122, SM_P9_RREMOVE = 123,
};

/* qid.type */
#define SM_P9_QTDIR 0x80
#define SM_P9_QTSYMLINK 0x02
#define SM_P9_QTFILE 0x00

/* Tgetattr request_mask / Rgetattr valid */
#define SM_P9_GETATTR_BASIC 0x000007ffull

/* Tsetattr valid */
#define SM_P9_SETATTR_MODE 0x001u
#define SM_P9_SETATTR_UID 0x002u
#define SM_P9_SETATTR_GID 0x004u
#define SM_P9_SETATTR_SIZE 0x008u
#define SM_P9_SETATTR_ATIME 0x010u
#define SM_P9_SETATTR_MTIME 0x020u
#define SM_P9_SETATTR_CTIME 0x040u
#define SM_P9_SETATTR_ATIME_SET 0x080u
#define SM_P9_SETATTR_MTIME_SET 0x100u

/* Tlopen/Tlcreate flags (the Linux client's P9_DOTL_*) */
#define SM_P9_DOTL_ACCMODE 03u
#define SM_P9_DOTL_WRONLY 01u
#define SM_P9_DOTL_RDWR 02u
#define SM_P9_DOTL_CREATE 0100u
#define SM_P9_DOTL_EXCL 0200u
#define SM_P9_DOTL_TRUNC 01000u
#define SM_P9_DOTL_APPEND 02000u
#define SM_P9_DOTL_DSYNC 010000u
#define SM_P9_DOTL_DIRECTORY 0200000u
#define SM_P9_DOTL_SYNC 04000000u

/* Tunlinkat flags */
#define SM_P9_AT_REMOVEDIR 0x200u

/* Tlock / Tgetlock */
#define SM_P9_LOCK_TYPE_UNLCK 2
#define SM_P9_LOCK_SUCCESS 0

#endif
