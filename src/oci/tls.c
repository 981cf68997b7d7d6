#include "oci/tls.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/error.h"

#define CA_FILE_MAX (1u << 20)

static bool has_suffix(const char *name, const char *suffix)
{
    size_t n = strlen(name), s = strlen(suffix);
    return n > s && !strcmp(name + n - s, suffix);
}

static int count_certs(const char *pem, size_t len)
{
    BIO *bio = BIO_new_mem_buf(pem, (int)len);
    int n = 0;
    for (X509 *c; bio && (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL; X509_free(c))
        n++;
    BIO_free(bio);
    ERR_clear_error();   /* the end of the data reads as an error */
    return n;
}

static int append_file(sm_tls *t, const char *path)
{
    FILE *f = fopen(path, "re");
    if (!f)
        return sm_fail(errno, "cannot read the CA certificate '%s': %s", path, strerror(errno));
    char *buf = realloc(t->ca_pem, t->ca_len + CA_FILE_MAX + 2);
    if (!buf) {
        fclose(f);
        return sm_fail(ENOMEM, "out of memory");
    }
    t->ca_pem = buf;
    size_t n = fread(buf + t->ca_len, 1, CA_FILE_MAX + 1, f);
    int bad = ferror(f);
    fclose(f);
    if (bad || n > CA_FILE_MAX)
        return sm_fail(bad ? EIO : EFBIG, "cannot read the CA certificate '%s'%s", path,
                       bad ? "" : ": larger than 1 MiB");
    if (count_certs(buf + t->ca_len, n) == 0)
        return sm_fail(EINVAL, "'%s' holds no PEM certificate", path);
    t->ca_len += n;
    buf[t->ca_len++] = '\n';   /* a file without a final newline */
    buf[t->ca_len] = '\0';
    return 0;
}

/* NAME.cert needs NAME.key and the reverse, as docker requires. */
static int client_pair(sm_tls *t, const char *name, const char *ext, const char *other)
{
    char base[NAME_MAX + 1], mine[PATH_MAX], pair[PATH_MAX];
    snprintf(base, sizeof base, "%.*s", (int)(strlen(name) - strlen(ext)), name);
    snprintf(mine, sizeof mine, "%s/%s", t->dir, name);
    snprintf(pair, sizeof pair, "%s/%s%s", t->dir, base, other);
    if (access(pair, R_OK) != 0)
        return sm_fail(ENOENT, "'%s' has no matching '%s%s' in %s (CA certificates must end "
                       "in .crt)", name, base, other, t->dir);
    if (!t->client_cert[0] && !strcmp(ext, ".cert")) {
        snprintf(t->client_cert, sizeof t->client_cert, "%s", mine);
        snprintf(t->client_key, sizeof t->client_key, "%s", pair);
    }
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int sm_tls_load(const char *domain, sm_tls *out)
{
    memset(out, 0, sizeof *out);
    const char *root = getenv("SUPERMACHINE_CERTS_DIR");
    if (!root || !*root)
        root = SM_CERTS_DIR_DEFAULT;
    if (strchr(domain, '/') || !strcmp(domain, "..") || !strcmp(domain, "."))
        return 0;   /* not a host name: no directory can be meant */
    if ((size_t)snprintf(out->dir, sizeof out->dir, "%s/%s", root, domain) >= sizeof out->dir)
        return sm_fail(ENAMETOOLONG, "the certificates directory path is too long");
    struct dirent **names;
    int n = scandir(out->dir, &names, NULL, by_name);
    if (n < 0)
        return 0;
    out->present = true;
    int err = 0;
    for (int i = 0; i < n; i++) {
        const char *name = names[i]->d_name;
        char path[PATH_MAX];
        snprintf(path, sizeof path, "%s/%s", out->dir, name);
        if (err)
            ;
        else if (has_suffix(name, ".crt"))
            err = append_file(out, path);
        else if (has_suffix(name, ".cert"))
            err = client_pair(out, name, ".cert", ".key");
        else if (has_suffix(name, ".key"))
            err = client_pair(out, name, ".key", ".cert");
        free(names[i]);
    }
    free(names);
    if (err)
        sm_tls_free(out);
    return err;
}

void sm_tls_free(sm_tls *t)
{
    free(t->ca_pem);
    t->ca_pem = NULL;
    t->ca_len = 0;
}

int sm_tls_add_cas(void *ssl_ctx, const sm_tls *t)
{
    X509_STORE *store = SSL_CTX_get_cert_store(ssl_ctx);
    BIO *bio = BIO_new_mem_buf(t->ca_pem, (int)t->ca_len);
    if (!store || !bio) {
        BIO_free(bio);
        return -ENOMEM;
    }
    int added = 0;
    for (X509 *c; (c = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL; X509_free(c))
        added += X509_STORE_add_cert(store, c) == 1;
    BIO_free(bio);
    ERR_clear_error();
    return added ? 0 : -EINVAL;
}
