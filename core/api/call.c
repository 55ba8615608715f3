/* Helpers every handler uses: problems, query parameters, pages, ETags. */
#include "api/call.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"

/* The call-level problem helpers build on the domain's td__fail* ones: the call's problem
 * is lent to a context for the build, then taken back with the status it carries. */
static td__ctx_t problem_ctx(td__call_t *call) {
  return (td__ctx_t){.problem = call->problem, .cause = call->request_id};
}

static int take_problem(td__call_t *call, td__ctx_t *ctx) {
  call->problem = ctx->problem;
  ctx->problem = NULL;
  call->status = (int)json_integer_value(json_object_get(call->problem, "status"));
  return TD_EINVAL;
}

int td__problem(td__call_t *call, int status, const char *title, const char *detail) {
  td__ctx_t ctx = problem_ctx(call);
  td__fail(&ctx, status, title, detail);
  return take_problem(call, &ctx);
}

int td__problem_field(td__call_t *call, const char *pointer, const char *message) {
  td__ctx_t ctx = problem_ctx(call);
  td__fail_field(&ctx, pointer, message);
  return take_problem(call, &ctx);
}

int td__problem_not_found(td__call_t *call, const char *what) {
  td__ctx_t ctx = problem_ctx(call);
  td__fail_not_found(&ctx, what);
  return take_problem(call, &ctx);
}

int td__problem_forbidden(td__call_t *call) {
  td__ctx_t ctx = problem_ctx(call);
  td__fail_forbidden(&ctx);
  call->denied = true;
  return take_problem(call, &ctx);
}

int td__problem_internal(td__call_t *call, int code) {
  td__log(TD_LOG_ERROR, "handler_failed",
          json_pack("{s:s,s:i,s:s}", "route", call->route ? call->route->pattern : "?", "code", code,
                    "request_id", call->request_id));
  if (code == TD_EBUSY) return td__problem(call, 503, "Busy", "the server is busy; retry in a moment");
  return td__problem(call, 500, "Internal error",
                     "something failed on our side; the request changed nothing");
}

int td__problem_from_code(td__call_t *call, int code, const char *what) {
  switch (code) {
    case TD_ENOTFOUND: return td__problem_not_found(call, what);
    case TD_EDENIED: return td__problem_forbidden(call);
    case TD_ECONFLICT: return td__problem(call, 409, "Conflict", "the object's state does not allow this");
    case TD_ESTALE:
      return td__problem(call, 412, "Precondition failed", "the object changed; fetch it again");
    default: return td__problem_internal(call, code);
  }
}

/* Decodes %XX and '+' (as space, query only). Returns NULL for bad escapes or NUL bytes. */
char *td__percent_decode(const char *s, size_t n, bool plus_is_space) {
  char *out = td__xmalloc(n + 1);
  size_t j = 0;
  for (size_t i = 0; i < n; i++) {
    char ch = s[i];
    if (ch == '%') {
      if (i + 2 >= n) goto bad;
      char hex[3] = {s[i + 1], s[i + 2], 0};
      char *end = NULL;
      long v = strtol(hex, &end, 16);
      if (end != hex + 2 || v == 0) goto bad;
      out[j++] = (char)v;
      i += 2;
    } else if (ch == '+' && plus_is_space) {
      out[j++] = ' ';
    } else {
      out[j++] = ch;
    }
  }
  out[j] = '\0';
  return out;
bad:
  free(out);
  return NULL;
}


void td__form_decode(const char *q, size_t size, json_t *into) {
  const char *end = q ? q + size : NULL;
  while (q && q < end) {
    const char *amp = memchr(q, '&', (size_t)(end - q));
    size_t len = amp ? (size_t)(amp - q) : (size_t)(end - q);
    const char *eq = memchr(q, '=', len);
    size_t klen = eq ? (size_t)(eq - q) : len;
    char *k = td__percent_decode(q, klen, true);
    char *v = eq ? td__percent_decode(eq + 1, len - klen - 1, true) : td__xstrdup("");
    if (k && v && *k) {
      json_t *list = json_object_get(into, k);
      if (list == NULL) {
        list = json_array();
        json_object_set_new(into, k, list);
      }
      if (json_array_size(list) < 100) json_array_append_new(list, json_string(v));
    }
    free(k);
    free(v);
    q = amp ? amp + 1 : NULL;
  }
}

/* Parses the query string once; values are kept per name as arrays of strings. */
static json_t *parsed_query(td__call_t *call) {
  if (call->query) return call->query;
  call->query = json_object();
  const char *q = call->req ? call->req->query : NULL;
  if (q) td__form_decode(q, strlen(q), call->query);
  return call->query;
}

json_t *td__call_query_all(td__call_t *call, const char *name) {
  return json_object_get(parsed_query(call), name);
}

const char *td__call_query(td__call_t *call, const char *name) {
  json_t *list = td__call_query_all(call, name);
  return list ? json_string_value(json_array_get(list, 0)) : NULL;
}

/* The rowid in a cursor td__cursor_json issued ("r<rowid>", base64url); nonzero when c is
 * not such a cursor. */
static int parse_cursor(const char *c, int64_t *after) {
  unsigned char raw[32];
  size_t raw_len = 0;
  char text[33];
  if (sodium_base642bin(raw, sizeof raw - 1, c, strlen(c), NULL, &raw_len, NULL,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      raw_len < 2 || raw[0] != 'r')
    return TD_EINVAL;
  memcpy(text, raw + 1, raw_len - 1);
  text[raw_len - 1] = '\0';
  char *end = NULL;
  long long v = strtoll(text, &end, 10);
  if (end == text || *end || v < 0) return TD_EINVAL;
  *after = v;
  return 0;
}

int td__call_page(td__call_t *call, int *limit, int64_t *after) {
  *limit = TD_PAGE_DEFAULT;
  *after = 0;
  const char *l = td__call_query(call, "limit");
  if (l) {
    char *end = NULL;
    long v = strtol(l, &end, 10);
    if (end == l || *end || v < 1 || v > TD_PAGE_MAX)
      return td__problem_query(call, "limit", "must be an integer from 1 to 100");
    *limit = (int)v;
  }
  const char *c = td__call_query(call, "cursor");
  if (c && *c && parse_cursor(c, after) != 0) {
    td__problem(call, 400, "Invalid query parameter", "cursor is not one this server issued");
    return td__problem_field(call, "/query/cursor", "is not a cursor this server issued");
  }
  return 0;
}

json_t *td__cursor_json(int64_t rowid) {
  char raw[32], out[64];
  int n = snprintf(raw, sizeof raw, "r%lld", (long long)rowid);
  sodium_bin2base64(out, sizeof out, (const unsigned char *)raw, (size_t)n,
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return json_string(out);
}

void td__call_set_result(td__call_t *call, int status, json_t *result) {
  json_decref(call->result);
  call->result = result;
  call->status = status;
}

void td__call_set_page(td__call_t *call, json_t *items, json_t *next_cursor) {
  td__call_set_result(
      call, 200,
      json_pack("{s:o,s:o}", "data", items, "next_cursor", next_cursor ? next_cursor : json_null()));
}

void td__call_set_etag(td__call_t *call, int64_t version) {
  char etag[40];
  snprintf(etag, sizeof etag, "\"v%lld\"", (long long)version);
  td__http_header_add(&call->headers, "ETag", etag);
}

int td__call_check_if_match(td__call_t *call, int64_t version) {
  const char *want = call->req ? td__http_header(call->req, "if-match") : NULL;
  if (want == NULL || strcmp(want, "*") == 0) return 0;
  char etag[40];
  snprintf(etag, sizeof etag, "\"v%lld\"", (long long)version);
  /* A list of ETags is allowed; a weak prefix never matches for If-Match (RFC 9110 13.1.1). */
  const char *p = strstr(want, etag);
  if (p && (p == want || p[-1] == ' ' || p[-1] == ',')) return 0;
  return td__problem(call, 412, "Precondition failed",
                     "the object changed since you read it (If-Match does not match its ETag); "
                     "fetch it again and retry");
}

void td__call_audit(td__call_t *call, const char *object_type, const char *object_id) {
  snprintf(call->audit_type, sizeof call->audit_type, "%s", object_type);
  snprintf(call->audit_id, sizeof call->audit_id, "%s", object_id ? object_id : "");
}

const char *td__body_str(td__call_t *call, const char *key) {
  return call->body ? json_string_value(json_object_get(call->body, key)) : NULL;
}

void td__call_ctx(td__call_t *call, td__ctx_t *ctx) {
  *ctx = (td__ctx_t){.db = call->db,
                     .principal = call->principal,
                     .actor_kind = "user",
                     .now_ms = call->now_ms,
                     .cause = call->request_id,
                     .problem = NULL};
}

int td__call_from_ctx(td__call_t *call, td__ctx_t *ctx, int rc) {
  if (ctx->problem) {
    json_decref(call->problem);
    take_problem(call, ctx);
    if (call->status == 403) call->denied = true;
    return TD_EINVAL;
  }
  if (rc != 0) return td__problem_internal(call, rc);
  return 0;
}

int td__call_lookup_if_match(td__call_t *call, td__ctx_t *ctx, int rc, int64_t version) {
  if (rc) return td__call_from_ctx(call, ctx, rc);
  if (td__call_check_if_match(call, version)) {
    td__ctx_dispose(ctx);
    return TD_ESTALE;
  }
  return 0;
}

int td__problem_query(td__call_t *call, const char *name, const char *message) {
  td__ctx_t ctx = problem_ctx(call);
  td__fail_query(&ctx, name, message);
  return take_problem(call, &ctx);
}

int td__call_list(td__call_t *call, td__list_fn fn, void *arg) {
  int limit;
  int64_t after;
  if (td__call_page(call, &limit, &after)) return TD_EINVAL;
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *items = NULL;
  int64_t next = 0;
  int rc = fn(&ctx, arg, limit, after, &items, &next);
  if (td__call_from_ctx(call, &ctx, rc) != 0) {
    json_decref(items);
    return TD_EINVAL;
  }
  td__call_set_page(call, items, next ? td__cursor_json(next) : NULL);
  return 0;
}

void td__call_set_location(td__call_t *call, const char *collection, const char *id) {
  char location[192];
  snprintf(location, sizeof location, "%s/%s", collection, id);
  td__http_header_add(&call->headers, "Location", location);
}

int td__call_get(td__call_t *call, td__get_fn fn) {
  td__ctx_t ctx;
  td__call_ctx(call, &ctx);
  json_t *out = NULL;
  int64_t version = 0;
  int rc = td__call_from_ctx(call, &ctx, fn(&ctx, call->params[0], &out, &version));
  if (rc) return rc;
  td__call_set_etag(call, version);
  td__call_set_result(call, 200, out);
  return 0;
}
