/* The context of a domain action: the connection it runs on (inside the writer's
 * transaction for writes), who acts, when, why, and where a refusal is reported.
 * API handlers, Lua rules and plugins all act through domain functions with a context,
 * so the same rules and permission checks hold whoever acts. */
#ifndef TD_DOMAIN_CONTEXT_H
#define TD_DOMAIN_CONTEXT_H

#include <jansson.h>
#include <stdint.h>

#include "auth/principal.h"
#include "store/db.h"

typedef struct td__ctx {
  td__db_t *db;
  td__principal_t principal;
  const char *actor_kind; /* "user", "script", "plugin", "system" */
  int64_t now_ms;
  const char *cause; /* request id, rule name... (no personal data) */
  json_t *problem;   /* set by td__fail*, owned by the context */
} td__ctx_t;

/* Refuses the action: an RFC 9457 problem with status, title and a detail sentence saying
 * what was wrong and what to do. Returns TD_EINVAL for `return td__fail(...)`. */
int td__fail(td__ctx_t *ctx, int status, const char *title, const char *detail);
/* Adds a field error (JSON pointer into the input) to the problem, making it a 422 if none. */
int td__fail_field(td__ctx_t *ctx, const char *pointer, const char *message);
/* A 400 for a bad query parameter of the request behind ctx: detail "<name> <message>" and
 * an error whose pointer is /query/<name>. */
int td__fail_query(td__ctx_t *ctx, const char *name, const char *message);
int td__fail_not_found(td__ctx_t *ctx, const char *what);
int td__fail_forbidden(td__ctx_t *ctx);
/* A storage or internal failure (logged with code, reported without detail). */
int td__fail_internal(td__ctx_t *ctx, int code);
void td__ctx_dispose(td__ctx_t *ctx);

/* The actor id for records (user id, or NULL for the system). */
const char *td__ctx_actor_id(const td__ctx_t *ctx);

#endif
