/* stack.h - finding the Tracardi stacks on a Docker host. */
#ifndef TRACUP_TRACARDI_STACK_H
#define TRACUP_TRACARDI_STACK_H

#include <jansson.h>
#include <stddef.h>

#include "docker/client.h"
#include "tracardi/images.h"

struct stack_port {
    char ip[48];
    int private_port;
    int public_port;
    char proto[8];
};

struct stack_container {
    char *id;
    char *name;           /* without the leading '/' */
    enum stack_role role;
    const char *image_key;/* "api", "update-worker", … or NULL (borrowed, static) */
    char *image;          /* as the container was created from */
    char *tag;            /* may be NULL */
    char *digest;         /* the repository digest of the image it runs, may be NULL */
    char *image_id;
    char *state;          /* "running", "exited", … */
    char *health;         /* "healthy", "unhealthy", "starting", or NULL without a healthcheck */
    long restarts;
    char *service;        /* compose service or tracup.role label, may be NULL */
    struct stack_port *ports;
    size_t nports;
    json_t *inspect;      /* the full inspect document (owned) */
};

struct stack {
    char *name;           /* compose project, tracup.stack label, or "standalone" */
    char *kind;           /* "compose", "tracup", "standalone" */
    struct stack_container *c;
    size_t n;
};

struct stack_list {
    struct stack *s;
    size_t n;
};

/* Lists every container, groups them, inspects the members of groups that hold
 * a Tracardi image under prefix. */
int stack_discover(struct docker *d, const char *prefix, struct stack_list *out, struct tu_err *err);
void stack_list_free(struct stack_list *l);

/* A container of a role, a running one first, or NULL (borrowed). */
const struct stack_container *stack_find_role(const struct stack *s, enum stack_role role);
/* The value of NAME in a container's environment (borrowed from inspect), or NULL. */
const char *stack_env(const struct stack_container *c, const char *name);
/* A base URL that reaches the container's port from this host: its published
 * port when it has one, else its address on its first network (the caller frees). */
char *stack_container_url(const struct stack_container *c, int port);

#endif
