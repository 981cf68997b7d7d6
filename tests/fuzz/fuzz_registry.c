/*
 * libFuzzer harness for what a registry (or whoever answers in its name)
 * sends back, one line each as headers come: a WWW-Authenticate challenge,
 * an upload Location resolved against the request's URL, a server name
 * as `login` takes it (or a key of docker's config file); the rest is a
 * body, read as a token server's answer and as an error document. A
 * login's server must be found again under the key it is filed under.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_fs.h"
#include "oci/auth.h"
#include "oci/http.h"
#include "oci/login.h"
#include "oci/push.h"
#include "oci/registry.h"

#define DIGEST "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The next line of the input, NUL-terminated in place of its newline. */
static char *line(char **p)
{
    char *s = *p, *nl = strchr(s, '\n');
    *p = nl ? nl + 1 : s + strlen(s);
    if (nl)
        *nl = '\0';
    return s;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *buf = fuzz_string(data, size);
    if (!buf)
        return 0;
    char *p = buf;
    const char *challenge = line(&p), *location = line(&p), *server = line(&p);

    sm_challenge c;
    if (sm_challenge_parse(challenge, &c) == 0 && (!c.scheme[0] || strlen(c.realm) >= sizeof c.realm))
        abort();

    char *url = NULL;
    if (sm_push_upload_url("https://registry.example:5000/v2/a/b/blobs/uploads/", location,
                           DIGEST, &url) == 0 && (!url || !strstr(url, "digest=" DIGEST)))
        abort();
    free(url);

    sm_login_server ls;
    if (sm_login_server_parse(server, &ls) == 0 && !sm_auth_key_matches(ls.key, ls.registry))
        abort();
    sm_auth_key_matches(server, "docker.io");
    sm_auth_key_matches(server, "localhost:5000");
    sm_registry_is_loopback(server);

    size_t body_len = size - (size_t)(p - buf);
    char *token = NULL;
    if (sm_token_parse(p, body_len, "https://auth.example/token", &token) == 0 && !*token)
        abort();
    free(token);
    sm_http_response resp = {.status = 401, .body = p, .body_len = body_len};
    char text[512];
    sm_http_error_text(&resp, text, sizeof text);
    for (const char *t = text; *t; t++)
        if ((unsigned char)*t < 0x20)
            abort();
    free(buf);
    return 0;
}
