/* The audit log: who did what to which object, when, and whether it was allowed. Never free
 * text from the request: ids, routes and codes only, so no personal data lands here. */
#ifndef TD_DOMAIN_AUDIT_H
#define TD_DOMAIN_AUDIT_H

#include <stdint.h>

#include "store/db.h"

typedef struct td__audit_entry {
  const char *actor_id;   /* user id, or NULL for anonymous */
  const char *actor_kind; /* "user", "script", "plugin", "system", "anonymous" */
  const char *action;     /* "POST /api/v1/candidates/{id}/merge" */
  const char *object_type;
  const char *object_id;
  int status; /* the HTTP status the action got */
  const char *request_id;
  const char *remote_ip;
  int64_t at_ms;
} td__audit_entry_t;

int td__audit_write(td__db_t *db, const td__audit_entry_t *entry);

#endif
