/* Role names as the API and the CLI spell them. */
#include <string.h>

#include "auth/principal.h"

static const char *const names[] = {"none", "admin", "recruiter", "hiring_manager", "interviewer"};

td__role_t td__role_parse(const char *name) {
  if (name == NULL) return TD_ROLE_NONE;
  for (int i = 1; i <= TD_ROLE_INTERVIEWER; i++)
    if (strcmp(names[i], name) == 0) return (td__role_t)i;
  return TD_ROLE_NONE;
}

const char *td__role_name(td__role_t role) {
  return role >= TD_ROLE_NONE && role <= TD_ROLE_INTERVIEWER ? names[role] : "none";
}
