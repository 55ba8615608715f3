/* Who is making a call: a user through a token or a session, or the system itself. */
#ifndef TD_AUTH_PRINCIPAL_H
#define TD_AUTH_PRINCIPAL_H

#include <stdbool.h>

#include "util/id.h"

typedef enum td__role {
  TD_ROLE_NONE = 0,
  TD_ROLE_ADMIN,
  TD_ROLE_RECRUITER,
  TD_ROLE_HIRING_MANAGER,
  TD_ROLE_INTERVIEWER
} td__role_t;

typedef enum td__auth_via { TD_VIA_NONE = 0, TD_VIA_TOKEN, TD_VIA_SESSION, TD_VIA_SYSTEM } td__auth_via_t;

typedef struct td__principal {
  char user_id[TD_ID_MAX];
  td__role_t role;
  td__auth_via_t via;
  bool can_write;             /* false for a read-only token */
  char session_id[TD_ID_MAX]; /* when via a session */
  bool session_needs_touch;   /* last activity is old enough to be refreshed */
} td__principal_t;

/* "admin" <-> TD_ROLE_ADMIN...; unknown names give TD_ROLE_NONE. */
td__role_t td__role_parse(const char *name);
const char *td__role_name(td__role_t role);

#endif
