/* supermachine login: check credentials against a registry and keep them
 * where docker (and our pulls) find them. */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/config.h"
#include "supermachine.h"

#define FIELD_MAX 4096

static void usage(FILE *f)
{
    fprintf(f,
            "Usage: supermachine login [OPTIONS] [SERVER]\n\n"
            "Log in to a registry (default: Docker Hub): the username and password are\n"
            "checked with the registry, then kept in Docker's config file\n"
            "($DOCKER_CONFIG/config.json, else ~/.docker/config.json) or the\n"
            "credential helper it names, where pull, run and docker find them.\n"
            "On a terminal, what is not given is asked for.\n\n"
            "Options:\n"
            "  -u, --username USER   the username\n"
            "  -p, --password PASS   the password (insecure: others may see it; use\n"
            "                        --password-stdin)\n"
            "      --password-stdin  read the password from standard input\n"
            "  -h, --help            show this help\n");
}

/* The terminal's settings while the password is typed unseen, so that
 * Ctrl-C does not leave it without echo. */
static struct termios saved_tty;

static void restore_tty(int sig)
{
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line from the terminal, after a prompt on stderr; echo off for a
 * password. */
static int ask(const char *prompt, int echo, char *out, size_t len)
{
    struct termios quiet;
    fputs(prompt, stderr);
    fflush(stderr);
    int hide = !echo && tcgetattr(STDIN_FILENO, &saved_tty) == 0;
    if (hide) {
        quiet = saved_tty;
        quiet.c_lflag &= ~(tcflag_t)ECHO;
        signal(SIGINT, restore_tty);
        signal(SIGTERM, restore_tty);
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
    }
    char *got = fgets(out, (int)len, stdin);
    if (hide) {
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tty);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        fputc('\n', stderr);
    }
    if (!got)
        return -1;
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* All of stdin, less one trailing newline (as docker's --password-stdin). */
static int read_stdin(char *out, size_t len)
{
    size_t n = fread(out, 1, len - 1, stdin);
    if (!feof(stdin))
        return sm_cli_usage_error("login", "the password on standard input is too long, or "
                                  "cannot be read");
    out[n] = '\0';
    if (n && out[n - 1] == '\n')
        out[--n] = '\0';
    if (n && out[n - 1] == '\r')
        out[--n] = '\0';
    return 0;
}

typedef struct login_args {
    const char *server, *user, *password;
    int password_stdin;
} login_args;

/* 0 to go on, 1 after --help, else an exit status. */
static int parse(int argc, char **argv, login_args *a)
{
    static const struct option opts[] = {
        {"username", required_argument, NULL, 'u'},
        {"password", required_argument, NULL, 'p'},
        {"password-stdin", no_argument, NULL, 'S'},
        {"help", no_argument, NULL, 'h'},
        {0},
    };
    int o;
    optind = 1;
    while ((o = getopt_long(argc, argv, "u:p:h", opts, NULL)) != -1) {
        switch (o) {
        case 'u': a->user = optarg; break;
        case 'p': a->password = optarg; break;
        case 'S': a->password_stdin = 1; break;
        case 'h': usage(stdout); return 1;
        default: return sm_cli_usage_error("login", "unknown option");
        }
    }
    if (argc - optind > 1)
        return sm_cli_usage_error("login", "takes at most one SERVER");
    a->server = optind < argc ? argv[optind] : NULL;
    if (a->password && a->password_stdin)
        return sm_cli_usage_error("login", "--password and --password-stdin are mutually "
                                  "exclusive");
    if (a->password_stdin && !a->user)
        return sm_cli_usage_error("login", "--password-stdin needs --username");
    return 0;
}

/* One line, as docker's "Cannot perform an interactive login from a non
 * TTY device": not a mistake in the command line, so no usage hint. */
__attribute__((format(printf, 1, 2))) static int refuse(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("supermachine: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return SM_CLI_EXIT_FAILURE;
}

/* The username and password not given as options: from stdin, or asked. */
static int complete(login_args *a, char *user, char *password)
{
    if (a->password_stdin) {
        if (read_stdin(password, FIELD_MAX))
            return SM_CLI_EXIT_FAILURE;
        a->password = password;
        return 0;
    }
    if ((!a->user || !a->password) && !isatty(STDIN_FILENO))
        return refuse("cannot ask for the %s: standard input is not a terminal (use "
                      "--username and --password-stdin)", a->user ? "password" : "username");
    if (!a->user && (ask("Username: ", 1, user, FIELD_MAX) || !*user))
        return refuse("login needs a username");
    a->user = a->user ? a->user : user;
    if (!a->password && (ask("Password: ", 0, password, FIELD_MAX) || !*password))
        return refuse("login needs a password");
    a->password = a->password ? a->password : password;
    return 0;
}

int sm_cmd_login(int argc, char **argv)
{
    login_args a = {0};
    char user[FIELD_MAX], password[FIELD_MAX];
    int rc = parse(argc, argv, &a);
    if (rc)
        return rc == 1 ? 0 : rc;
    if (a.password)
        fputs("WARNING! Using --password via the CLI is insecure. Use --password-stdin.\n",
              stderr);
    if ((rc = complete(&a, user, password)))
        return rc;
    const sm_cli_config *cfg = sm_cli_config_get();
    if (!cfg)
        return SM_CLI_EXIT_FAILURE;
    sm_login_options lo = {.size = sizeof lo, .insecure_registries = cfg->insecure};
    rc = sm_registry_login(a.server, a.user, a.password, &lo);
    explicit_bzero(password, sizeof password);
    if (rc < 0)
        return sm_cli_fail();
    puts("Login Succeeded");
    return 0;
}
