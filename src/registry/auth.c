/* auth.c - docker config.json, credential helpers, X-Registry-Auth. */
#include "registry/auth.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/b64.h"
#include "util/buf.h"
#include "util/xalloc.h"

void secret_free(char *s)
{
    if (!s)
        return;
    volatile char *v = s;
    while (*v)
        *v++ = '\0';
    free(s);
}

void reg_creds_free(struct reg_creds *c)
{
    if (!c)
        return;
    secret_free(c->username);
    secret_free(c->password);
    secret_free(c->identitytoken);
    free(c->serveraddress);
    memset(c, 0, sizeof(*c));
}

int reg_creds_present(const struct reg_creds *c)
{
    return (c->identitytoken && *c->identitytoken) || (c->username && *c->username);
}

char *auth_hostname(const char *key)
{
    const char *p = key;
    if (strncmp(p, "http://", 7) == 0)
        p += 7;
    else if (strncmp(p, "https://", 8) == 0)
        p += 8;
    const char *slash = strchr(p, '/');
    return slash ? xstrndup(p, (size_t)(slash - p)) : xstrdup(p);
}

static int helper_name_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 64)
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return 0;
    }
    return s[0] != '.';
}

/* auths entry: "auth" (base64 user:pass), or username/password, and identitytoken. */
static int creds_from_auths_entry(json_t *entry, const char *key, struct reg_creds *out,
                                  struct tu_err *err)
{
    const char *auth = json_string_value(json_object_get(entry, "auth"));
    const char *tok = json_string_value(json_object_get(entry, "identitytoken"));
    if (auth && *auth) {
        size_t n = 0;
        char *dec = b64_decode(auth, strlen(auth), &n);
        char *colon = dec ? memchr(dec, ':', n) : NULL;
        if (!dec || !colon || colon == dec) {
            secret_free(dec);
            return tu_err_set(err, TU_ERR_USAGE,
                              "docker config: the 'auth' entry for '%s' is not base64 of user:password", key);
        }
        out->username = xstrndup(dec, (size_t)(colon - dec));
        out->password = xstrndup(colon + 1, n - (size_t)(colon - dec) - 1);
        secret_free(dec);
    } else {
        const char *u = json_string_value(json_object_get(entry, "username"));
        const char *p = json_string_value(json_object_get(entry, "password"));
        if (u && *u) {
            out->username = xstrdup(u);
            out->password = xstrdup(p ? p : "");
        }
    }
    if (tok && *tok)
        out->identitytoken = xstrdup(tok);
    out->serveraddress = xstrdup(key);
    snprintf(out->source, sizeof(out->source), "auths");
    return 0;
}

int auth_plan_from_config(const char *json_text, size_t len, const char *auth_key,
                          struct auth_plan *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    json_error_t je;
    json_t *root = json_loadb(json_text, len, 0, &je);
    if (!root)
        return tu_err_set(err, TU_ERR_USAGE, "docker config is not valid JSON (line %d: %s)", je.line,
                          je.text);
    int rc = -1;
    if (!json_is_object(root)) {
        tu_err_set(err, TU_ERR_USAGE, "docker config is not a JSON object");
        goto out;
    }
    char *host = auth_hostname(auth_key);

    json_t *helpers = json_object_get(root, "credHelpers");
    const char *helper = NULL;
    if (json_is_object(helpers)) {
        helper = json_string_value(json_object_get(helpers, auth_key));
        if (!helper)
            helper = json_string_value(json_object_get(helpers, host));
    }
    if (!helper)
        helper = json_string_value(json_object_get(root, "credsStore"));
    if (helper && *helper) {
        if (!helper_name_valid(helper)) {
            tu_err_set(err, TU_ERR_USAGE, "docker config names an invalid credential helper '%.64s'", helper);
            free(host);
            goto out;
        }
        snprintf(out->helper, sizeof(out->helper), "%s", helper);
        free(host);
        rc = 0;
        goto out;
    }

    json_t *auths = json_object_get(root, "auths");
    json_t *entry = NULL;
    const char *matched = auth_key;
    if (json_is_object(auths)) {
        entry = json_object_get(auths, auth_key);
        if (!entry) {
            const char *k;
            json_t *v;
            json_object_foreach(auths, k, v) {
                char *h = auth_hostname(k);
                int same = strcmp(h, host) == 0;
                free(h);
                if (same) {
                    entry = v;
                    matched = k;
                    break;
                }
            }
        }
    }
    free(host);
    if (json_is_object(entry)) {
        if (creds_from_auths_entry(entry, matched, &out->creds, err) < 0) {
            reg_creds_free(&out->creds);
            goto out;
        }
    }
    rc = 0;
out:
    json_decref(root);
    return rc;
}

int auth_parse_helper_output(const char *text, size_t len, const char *server, struct reg_creds *out,
                             struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    json_t *j = json_loadb(text, len, 0, NULL);
    if (!json_is_object(j)) {
        json_decref(j);
        return tu_err_set(err, TU_ERR_PROTOCOL, "the credential helper's answer is not a JSON object");
    }
    const char *user = json_string_value(json_object_get(j, "Username"));
    const char *secret = json_string_value(json_object_get(j, "Secret"));
    if (!user || !secret) {
        json_decref(j);
        return tu_err_set(err, TU_ERR_PROTOCOL, "the credential helper's answer lacks Username or Secret");
    }
    if (strcmp(user, "<token>") == 0) {
        out->identitytoken = xstrdup(secret);
    } else {
        out->username = xstrdup(user);
        out->password = xstrdup(secret);
    }
    out->serveraddress = xstrdup(server);
    json_decref(j);
    return 0;
}

static long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long)(ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
}

int auth_run_helper(const char *helper, const char *server, struct reg_creds *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    if (!helper_name_valid(helper))
        return tu_err_set(err, TU_ERR_USAGE, "invalid credential helper name '%.64s'", helper);
    char prog[80];
    snprintf(prog, sizeof(prog), "docker-credential-%s", helper);

    int in[2] = {-1, -1}, outp[2] = {-1, -1}, errp[2] = {-1, -1}, execp[2] = {-1, -1};
    if (pipe(in) || pipe(outp) || pipe(errp) || pipe(execp)) {
        tu_err_set(err, TU_ERR_IO, "cannot create pipes for '%s': %s", prog, strerror(errno));
        for (int i = 0; i < 2; i++) {
            if (in[i] >= 0) close(in[i]);
            if (outp[i] >= 0) close(outp[i]);
            if (errp[i] >= 0) close(errp[i]);
            if (execp[i] >= 0) close(execp[i]);
        }
        return -1;
    }
    fcntl(execp[1], F_SETFD, FD_CLOEXEC);
    pid_t pid = fork();
    if (pid < 0) {
        tu_err_set(err, TU_ERR_IO, "cannot start '%s': %s", prog, strerror(errno));
        close(in[0]); close(in[1]); close(outp[0]); close(outp[1]);
        close(errp[0]); close(errp[1]); close(execp[0]); close(execp[1]);
        return -1;
    }
    if (pid == 0) {
        dup2(in[0], 0);
        dup2(outp[1], 1);
        dup2(errp[1], 2);
        close(in[0]); close(in[1]); close(outp[0]); close(outp[1]);
        close(errp[0]); close(errp[1]); close(execp[0]);
        /* The server goes on stdin, never argv: argv is visible to every user. A
         * helper is not the operator's own code: it gets no secret of tracup's. */
        unsetenv("TRACUP_ADMIN_PASSWORD");
        char get[] = "get";
        char *const argv[] = {prog, get, NULL};
        execvp(prog, argv);
        int e = errno;
        if (write(execp[1], &e, sizeof(e)) < 0) {
            /* nothing more can be said from here */
        }
        _exit(127);
    }
    close(in[0]);
    close(outp[1]);
    close(errp[1]);
    close(execp[1]);

    int exec_errno = 0;
    ssize_t got = read(execp[0], &exec_errno, sizeof(exec_errno));
    close(execp[0]);

    int rc = -1;
    struct buf o, e;
    buf_init(&o, AUTH_HELPER_OUTPUT_MAX);
    buf_init(&e, 4096);
    if (got == (ssize_t)sizeof(exec_errno)) {
        close(in[1]);
        close(outp[0]);
        close(errp[0]);
        waitpid(pid, NULL, 0);
        if (exec_errno == ENOENT) {
            tu_err_set(err, TU_ERR_IO, "credential helper '%s' is named in the docker config but not found in PATH",
                       prog);
            tu_err_hint(err, "install it, or remove it from the docker config");
        } else {
            tu_err_set(err, TU_ERR_IO, "cannot run credential helper '%s': %s", prog, strerror(exec_errno));
        }
        goto done;
    }

    {
        size_t slen = strlen(server);
        ssize_t w = write(in[1], server, slen);
        (void)w;  /* a helper that exits early is judged by its exit status below */
        close(in[1]);
    }

    long deadline = mono_ms() + AUTH_HELPER_TIMEOUT_S * 1000L;
    int open_out = 1, open_err = 1, too_big = 0, timed_out = 0;
    while (open_out || open_err) {
        long left = deadline - mono_ms();
        if (left <= 0) {
            timed_out = 1;
            break;
        }
        struct pollfd fds[2] = {{outp[0], POLLIN, 0}, {errp[0], POLLIN, 0}};
        if (!open_out)
            fds[0].fd = -1;
        if (!open_err)
            fds[1].fd = -1;
        int pr = poll(fds, 2, (int)(left > 1000 ? 1000 : left));
        if (pr < 0 && errno != EINTR)
            break;
        char chunk[4096];
        for (int i = 0; i < 2; i++) {
            if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t n = read(fds[i].fd, chunk, sizeof(chunk));
            if (n <= 0) {
                if (i == 0)
                    open_out = 0;
                else
                    open_err = 0;
                continue;
            }
            if (i == 0) {
                if (buf_append(&o, chunk, (size_t)n) < 0)
                    too_big = 1;
            } else {
                size_t room = e.max - e.len;
                buf_append(&e, chunk, (size_t)n < room ? (size_t)n : room);
            }
        }
        if (too_big)
            break;
    }
    close(outp[0]);
    close(errp[0]);
    if (timed_out || too_big)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out) {
        tu_err_set(err, TU_ERR_TIMEOUT, "credential helper '%s' did not answer within %d s", prog,
                   AUTH_HELPER_TIMEOUT_S);
        goto done;
    }
    if (too_big) {
        tu_err_set(err, TU_ERR_TOO_BIG, "credential helper '%s' wrote more than %d bytes", prog,
                   AUTH_HELPER_OUTPUT_MAX);
        goto done;
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        /* The helpers' protocol: this text means "no credentials stored", i.e. anonymous. */
        if ((o.data && strstr(o.data, "credentials not found")) ||
            (e.data && strstr(e.data, "credentials not found"))) {
            rc = 0;
            goto done;
        }
        if (WIFEXITED(status))
            tu_err_set(err, TU_ERR_IO, "credential helper '%s' failed with exit status %d", prog,
                       WEXITSTATUS(status));
        else
            tu_err_set(err, TU_ERR_IO, "credential helper '%s' was killed by signal %d", prog,
                       WTERMSIG(status));
        goto done;
    }
    if (auth_parse_helper_output(o.data ? o.data : "", o.len, server, out, err) < 0) {
        tu_err_prefix(err, "%s: ", prog);
        goto done;
    }
    snprintf(out->source, sizeof(out->source), "helper %s", prog);
    rc = 0;
done:
    /* The helper's stdout held the secret. */
    if (o.data)
        memset(o.data, 0, o.cap);
    buf_free(&o);
    buf_free(&e);
    return rc;
}

static char *config_path(void)
{
    const char *dir = getenv("DOCKER_CONFIG");
    if (dir && *dir)
        return xasprintf("%s/config.json", dir);
    const char *home = getenv("HOME");
    if (!home || !*home)
        return NULL;
    return xasprintf("%s/.docker/config.json", home);
}

int auth_find(const char *auth_key, struct reg_creds *out, struct tu_err *err)
{
    memset(out, 0, sizeof(*out));
    char *path = config_path();
    if (!path)
        return 0;
    int rc = -1;
    struct buf text;
    buf_init(&text, AUTH_CONFIG_MAX);
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) {
            rc = 0;
            goto out;
        }
        /* The operator's own configuration: a usage error (exit 2), like a bad flag. */
        tu_err_set(err, TU_ERR_USAGE, "cannot read docker config '%s': %s", path, strerror(errno));
        goto out;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
        if (buf_append(&text, chunk, n) < 0) {
            fclose(f);
            tu_err_set(err, TU_ERR_USAGE, "docker config '%s' is larger than %d bytes", path, AUTH_CONFIG_MAX);
            goto out;
        }
    }
    if (ferror(f)) {
        fclose(f);
        tu_err_set(err, TU_ERR_USAGE, "cannot read docker config '%s': %s", path, strerror(errno));
        goto out;
    }
    fclose(f);

    struct auth_plan plan;
    if (auth_plan_from_config(text.data ? text.data : "", text.len, auth_key, &plan, err) < 0) {
        tu_err_prefix(err, "%s: ", path);
        goto out;
    }
    if (plan.helper[0]) {
        rc = auth_run_helper(plan.helper, auth_key, out, err);
    } else {
        *out = plan.creds;
        rc = 0;
    }
out:
    if (text.data)
        memset(text.data, 0, text.cap);
    buf_free(&text);
    free(path);
    return rc;
}

char *auth_header_value(const struct reg_creds *c)
{
    if (!reg_creds_present(c))
        return NULL;
    json_t *j = json_object();
    if (c->identitytoken && *c->identitytoken) {
        json_object_set_new(j, "identitytoken", json_string(c->identitytoken));
    } else {
        json_object_set_new(j, "username", json_string(c->username));
        json_object_set_new(j, "password", json_string(c->password ? c->password : ""));
    }
    if (c->serveraddress)
        json_object_set_new(j, "serveraddress", json_string(c->serveraddress));
    char *text = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (!text) {
        fprintf(stderr, "fatal: out of memory\n");
        abort();
    }
    char *enc = b64_encode(text, strlen(text), B64_URL);
    secret_free(text);
    return enc;
}
