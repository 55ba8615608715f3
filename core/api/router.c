/* Route matching: literal segments and {param} segments, percent-decoded. The table is
 * small (tens of routes), so a linear scan costs less than a request's header parsing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api/app.h"
#include "talentd/types.h"

/* Matches path against pattern; fills call->params on success. */
static bool match(const char *pattern, const char *path, td__call_t *call) {
  const char *p = pattern, *s = path;
  int nparams = 0;
  while (*p && *s) {
    if (*p != '/' || *s != '/') return false;
    p++;
    s++;
    const char *pend = strchr(p, '/');
    const char *send = strchr(s, '/');
    size_t plen = pend ? (size_t)(pend - p) : strlen(p);
    size_t slen = send ? (size_t)(send - s) : strlen(s);
    if (plen >= 2 && p[0] == '{') {
      if (slen == 0 || nparams >= TD_MAX_PARAMS) return false;
      /* Decoded even when only probing (405 vs 404), so both answers agree on what matches. */
      char *decoded = td__percent_decode(s, slen, false);
      if (decoded == NULL || strlen(decoded) >= sizeof call->params[0] || strchr(decoded, '/')) {
        free(decoded);
        return false;
      }
      if (call) snprintf(call->params[nparams], sizeof call->params[0], "%s", decoded);
      free(decoded);
      nparams++;
    } else if (plen != slen || memcmp(p, s, plen) != 0) {
      return false;
    }
    p += plen;
    s += slen;
  }
  if (*p || *s) return false;
  if (call) call->param_count = nparams;
  return true;
}

int td__route_match(const char *method, const char *path, const td__route_t **route, td__call_t *call,
                    char *allow, size_t allow_size) {
  size_t count = 0;
  const td__route_t *routes = td__routes(&count);
  bool path_known = false;
  if (allow_size) allow[0] = '\0';
  for (size_t i = 0; i < count; i++) {
    const td__route_t *r = &routes[i];
    bool same_method =
        strcmp(r->method, method) == 0 || (strcmp(method, "HEAD") == 0 && strcmp(r->method, "GET") == 0);
    if (same_method) {
      if (match(r->pattern, path, call)) {
        *route = r;
        return 0;
      }
    } else if (match(r->pattern, path, NULL)) {
      path_known = true;
      size_t used = strlen(allow);
      if (strstr(allow, r->method) == NULL && used + strlen(r->method) + 3 < allow_size)
        snprintf(allow + used, allow_size - used, "%s%s", used ? ", " : "", r->method);
    }
  }
  return path_known ? TD_EDENIED : TD_ENOTFOUND;
}
