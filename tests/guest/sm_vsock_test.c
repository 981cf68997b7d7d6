/*
 * Guest side of the vsock integration tests (static, musl):
 *   sm-vsock-test echo PORT          accept one stream on PORT, echo it back
 *   sm-vsock-test send PORT TEXT     connect to the host's PORT, send TEXT,
 *                                    shut down writing, print the reply
 *   sm-vsock-test sink PORT          accept one stream, count bytes to EOF,
 *                                    then write the count back
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* musl ships no kernel headers; this is <linux/vm_sockets.h>'s address. */
struct sockaddr_vm {
    unsigned short svm_family;
    unsigned short svm_reserved1;
    unsigned int svm_port;
    unsigned int svm_cid;
    unsigned char svm_flags;
    unsigned char svm_zero[3];
};
#define VMADDR_CID_ANY (-1U)
#define VMADDR_CID_HOST 2

static int die(const char *what)
{
    fprintf(stderr, "sm-vsock-test: %s: %s\n", what, strerror(errno));
    return 1;
}

static int accept_one(unsigned port)
{
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0)
        return -1;
    printf("listening %u\n", port);
    fflush(stdout);
    int c = accept(s, NULL, NULL);
    close(s);
    return c;
}

/* Close and wait (lingering) until the host has taken every byte: the VM
 * powers off as soon as this program exits, and bytes still queued in the
 * guest kernel would go with it. */
static int finish(int c, int status)
{
    struct linger l = {.l_onoff = 1, .l_linger = 30};
    setsockopt(c, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    close(c);
    return status;
}

static int echo(unsigned port)
{
    int c = accept_one(port);
    if (c < 0)
        return die("accept");
    static char buf[65536];
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(c, buf + off, (size_t)(n - off));
            if (w <= 0)
                return die("write");
            off += w;
        }
    return finish(c, n < 0 ? die("read") : 0);
}

static int sink(unsigned port)
{
    int c = accept_one(port);
    if (c < 0)
        return die("accept");
    static char buf[65536];
    unsigned long long total = 0;
    ssize_t n;
    while ((n = read(c, buf, sizeof buf)) > 0)
        total += (unsigned long long)n;
    dprintf(c, "%llu\n", total);
    return finish(c, 0);
}

static int send_text(unsigned port, const char *text)
{
    struct sockaddr_vm a = {.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_HOST, .svm_port = port};
    int s = socket(AF_VSOCK, SOCK_STREAM, 0);
    if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof a) < 0)
        return die("connect");
    if (write(s, text, strlen(text)) != (ssize_t)strlen(text))
        return die("write");
    shutdown(s, SHUT_WR);
    char buf[4096];
    ssize_t n;
    while ((n = read(s, buf, sizeof buf)) > 0)
        fwrite(buf, 1, (size_t)n, stdout);
    return n < 0 ? die("read") : 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "echo"))
        return echo((unsigned)atoi(argv[2]));
    if (argc >= 3 && !strcmp(argv[1], "sink"))
        return sink((unsigned)atoi(argv[2]));
    if (argc >= 4 && !strcmp(argv[1], "send"))
        return send_text((unsigned)atoi(argv[2]), argv[3]);
    fprintf(stderr, "usage: sm-vsock-test echo|sink PORT | send PORT TEXT\n");
    return 2;
}
