#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "oci/config.h"
#include "supermachine.h"

static const char nginx_like[] =
    "{\"architecture\":\"arm64\",\"os\":\"linux\",\"variant\":\"v8\","
    "\"created\":\"2024-05-01T10:00:00Z\","
    "\"config\":{\"Entrypoint\":[\"/docker-entrypoint.sh\"],\"Cmd\":[\"nginx\",\"-g\",\"daemon off;\"],"
    "\"Env\":[\"PATH=/usr/bin\",\"NGINX_VERSION=1.25\"],\"WorkingDir\":\"/srv\",\"User\":\"101:101\","
    "\"ExposedPorts\":{\"80/tcp\":{},\"443/tcp\":{}},\"StopSignal\":\"SIGQUIT\","
    "\"Labels\":{\"maintainer\":\"NGINX\"}},"
    "\"rootfs\":{\"type\":\"layers\",\"diff_ids\":["
    "\"sha256:1111111111111111111111111111111111111111111111111111111111111111\"]}}";

static void reads_what_run_needs(void **state)
{
    (void)state;
    sm_oci_info info = {0};
    assert_int_equal(sm_image_config_parse(nginx_like, strlen(nginx_like), "c", &info), 0);
    assert_string_equal(info.os, "linux");
    assert_string_equal(info.architecture, "arm64");
    assert_string_equal(info.variant, "v8");
    assert_string_equal(info.created, "2024-05-01T10:00:00Z");
    assert_string_equal(info.entrypoint[0], "/docker-entrypoint.sh");
    assert_null(info.entrypoint[1]);
    assert_string_equal(info.cmd[2], "daemon off;");
    assert_string_equal(info.env[1], "NGINX_VERSION=1.25");
    assert_string_equal(info.working_dir, "/srv");
    assert_string_equal(info.user, "101:101");
    assert_string_equal(info.exposed_ports[0], "80/tcp");
    assert_string_equal(info.exposed_ports[1], "443/tcp");
    assert_string_equal(info.stop_signal, "SIGQUIT");
    assert_int_equal(info.label_count, 1);
    assert_string_equal(info.labels[0].key, "maintainer");
    assert_string_equal(info.labels[0].value, "NGINX");
    sm_image_config_clear(&info);
    assert_null(info.cmd);
}

/* docker history's source; a malformed history does not make the image
 * unusable, it is only left out. */
static void reads_history(void **state)
{
    (void)state;
    const char cfg[] = "{\"os\":\"linux\",\"history\":["
                       "{\"created\":\"2024-01-01T00:00:00Z\",\"created_by\":\"ADD x /\"},"
                       "{\"created_by\":\"CMD sh\",\"empty_layer\":true,\"comment\":\"c\"},"
                       "7]}";
    sm_oci_info info = {0};
    assert_int_equal(sm_image_config_parse(cfg, strlen(cfg), "c", &info), 0);
    assert_int_equal(info.history_count, 2);
    assert_string_equal(info.history[0].created, "2024-01-01T00:00:00Z");
    assert_string_equal(info.history[0].created_by, "ADD x /");
    assert_false(info.history[0].empty_layer);
    assert_null(info.history[1].created);
    assert_true(info.history[1].empty_layer);
    assert_string_equal(info.history[1].comment, "c");
    sm_image_config_clear(&info);
    assert_null(info.history);
    const char bad[] = "{\"os\":\"linux\",\"history\":{}}";
    assert_int_equal(sm_image_config_parse(bad, strlen(bad), "c", &info), 0);
    assert_int_equal(info.history_count, 0);
    sm_image_config_clear(&info);
}

static void unset_fields_are_null(void **state)
{
    (void)state;
    const char minimal[] = "{\"os\":\"linux\",\"architecture\":\"amd64\","
                           "\"config\":{\"Cmd\":[],\"Entrypoint\":null,\"User\":\"\"}}";
    sm_oci_info info = {0};
    assert_int_equal(sm_image_config_parse(minimal, strlen(minimal), "c", &info), 0);
    assert_non_null(info.cmd);          /* empty, which is not unset */
    assert_null(info.cmd[0]);
    assert_null(info.entrypoint);
    assert_null(info.env);
    assert_null(info.user);
    assert_null(info.working_dir);
    assert_int_equal(info.label_count, 0);
    sm_image_config_clear(&info);
    const char no_config[] = "{\"os\":\"linux\",\"architecture\":\"amd64\"}";
    assert_int_equal(sm_image_config_parse(no_config, strlen(no_config), "c", &info), 0);
    assert_null(info.cmd);
    sm_image_config_clear(&info);
}

static void rejects_malformed_configs(void **state)
{
    (void)state;
    sm_oci_info info = {0};
    const char *bad[] = {
        "not json",
        "{\"config\":{\"Cmd\":\"sh\"}}",
        "{\"config\":{\"Env\":[1]}}",
        "{\"config\":{\"ExposedPorts\":[\"80\"]}}",
        "{\"config\":{\"Labels\":[]}}",
        "{\"config\":[]}",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_true(sm_image_config_parse(bad[i], strlen(bad[i]), "the config of x", &info) < 0);
        assert_non_null(strstr(sm_last_error(), "the config of x"));
        assert_null(info.cmd);
        assert_null(info.env);
    }
}

static void reads_diff_ids(void **state)
{
    (void)state;
    char (*ids)[SM_DIGEST_STR];
    size_t n;
    assert_int_equal(sm_image_config_diff_ids(nginx_like, strlen(nginx_like), "c", &ids, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(ids[0], "sha256:1111111111111111111111111111111111111111111111111111111111111111");
    free(ids);
    const char bad[] = "{\"rootfs\":{\"diff_ids\":[\"md5:00\"]}}";
    assert_true(sm_image_config_diff_ids(bad, strlen(bad), "c", &ids, &n) < 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(reads_what_run_needs),
        cmocka_unit_test(reads_history),
        cmocka_unit_test(unset_fields_are_null),
        cmocka_unit_test(rejects_malformed_configs),
        cmocka_unit_test(reads_diff_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
