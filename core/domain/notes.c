/* Notes and the readable activity history of a candidate. */
#include "domain/notes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/activities.h"
#include "domain/candidates.h"
#include "domain/events.h"
#include "domain/row_json.h"
#include "domain/search.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/time.h"

#define ACTIVITY_COLUMNS                                                                                   \
  "n.rowid, n.id, n.kind, n.visibility, n.author_id, n.author_kind, n.body, n.data, n.at, ap.id, u.name, " \
  "c.id"
#define ACTIVITY_FROM                                                   \
  " FROM activities n JOIN candidates c ON c.rowid = n.candidate_rowid" \
  " LEFT JOIN applications ap ON ap.rowid = n.application_rowid"        \
  " LEFT JOIN users u ON u.id = n.author_id"

static json_t *activity_json(td__stmt_t *st) {
  char at[32];
  td__time_format(td__stmt_int(st, 8), at, sizeof at);
  json_error_t err;
  const char *data_text = td__stmt_text(st, 7);
  json_t *data = data_text ? json_loads(data_text, 0, &err) : NULL;
  return json_pack("{s:s,s:s,s:s?,s:s,s:s,s:{s:s,s:s?,s:s?},s:s?,s:o,s:s}", "id", td__stmt_text(st, 1),
                   "candidate_id", td__stmt_text(st, 11), "application_id", td__stmt_text(st, 9), "kind",
                   td__stmt_text(st, 2), "visibility", td__stmt_text(st, 3), "author", "kind",
                   td__stmt_text(st, 5), "id", td__stmt_text(st, 4), "name", td__stmt_text(st, 10), "body",
                   td__stmt_text(st, 6), "data", data ? data : json_object(), "at", at);
}

/* Resolves the note's application: one of this candidate's that the principal may see. */
static int note_application(td__ctx_t *ctx, int64_t candidate_rowid, const char *application_id,
                            int64_t *rowid) {
  *rowid = 0;
  if (application_id == NULL) return 0;
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT rowid FROM applications WHERE id = ? AND candidate_rowid = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, application_id);
  td__stmt_bind_int(st, 2, candidate_rowid);
  int rc = td__stmt_step(st);
  if (rc == 1) {
    *rowid = td__stmt_int(st, 0);
    td__stmt_reset(st);
    rc = td__policy_check_application(ctx->db, &ctx->principal, application_id);
  } else if (rc == 0) {
    rc = TD_ENOTFOUND;
  }
  if (rc == TD_ENOTFOUND)
    return td__fail_field(ctx, "/application_id", "is not an application of this candidate that you can see");
  return rc ? td__fail_internal(ctx, rc) : 0;
}

static json_t *load_activity(td__ctx_t *ctx, const char *id) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " ACTIVITY_COLUMNS ACTIVITY_FROM " WHERE n.id = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_text(st, 1, id);
  if (td__stmt_step(st) != 1) return NULL;
  json_t *out = activity_json(st);
  td__stmt_reset(st);
  return out;
}

int td__note_create(td__ctx_t *ctx, const char *candidate_id, const json_t *body, json_t **out) {
  td__candidate_ref_t ref;
  *out = NULL;
  int rc = td__candidate_find(ctx, candidate_id, &ref);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_NOTE, TD_ACT_CREATE)) return td__fail_forbidden(ctx);
  const char *text = json_string_value(json_object_get(body, "body"));
  const char *visibility = json_string_value(json_object_get(body, "visibility"));
  const char *application_id = json_string_value(json_object_get(body, "application_id"));
  if (visibility == NULL) visibility = "team";
  const char *p = text ? text : "";
  while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
  if (*p == '\0') return td__fail_field(ctx, "/body", "must not be blank");
  if (strcmp(visibility, "private") && strcmp(visibility, "team") && strcmp(visibility, "admin"))
    return td__fail_field(ctx, "/visibility", "must be private, team or admin");
  int64_t app_rowid;
  if ((rc = note_application(ctx, ref.rowid, application_id, &app_rowid))) return rc;
  char id[TD_ID_MAX];
  td__activity_t a = {.candidate_rowid = ref.rowid,
                      .application_rowid = app_rowid,
                      .kind = "note",
                      .visibility = visibility,
                      .body = text};
  rc = td__activity_add(ctx, &a, id);
  if (rc == 0 && strcmp(visibility, "team") == 0) rc = td__search_index_candidate(ctx->db, ref.rowid);
  if (rc == 0)
    rc = td__event_emit(ctx, "note.created", "note", id,
                        json_pack("{s:s,s:s,s:s?,s:s}", "note_id", id, "candidate_id", ref.id,
                                  "application_id", application_id, "visibility", visibility));
  if (rc) return td__fail_internal(ctx, rc);
  *out = load_activity(ctx, id);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}

int td__activity_list(td__ctx_t *ctx, const char *candidate_id, const char *kind, int limit, int64_t before,
                      json_t **items, int64_t *next) {
  td__candidate_ref_t ref;
  *items = NULL;
  *next = 0;
  int rc = td__candidate_find(ctx, candidate_id, &ref);
  if (rc) return rc;
  td__buf_t sql = {0};
  td__buf_printf(&sql,
                 "SELECT " ACTIVITY_COLUMNS ACTIVITY_FROM
                 " WHERE n.candidate_rowid = :candidate AND (%s) AND (n.application_rowid IS NULL OR EXISTS"
                 " (SELECT 1 FROM applications a WHERE a.rowid = n.application_rowid AND (%s)))",
                 td__policy_activity_visible(&ctx->principal),
                 td__policy_application_visible(&ctx->principal));
  if (kind) td__buf_puts(&sql, " AND n.kind = :kind");
  if (before > 0) td__buf_puts(&sql, " AND n.rowid < :before");
  td__buf_puts(&sql, " ORDER BY n.rowid DESC LIMIT :limit");
  td__stmt_t *st = td__db_prepare(ctx->db, sql.data);
  td__buf_free(&sql);
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__policy_bind(st, &ctx->principal);
  td__stmt_bind_int_named(st, ":candidate", ref.rowid);
  if (kind) td__stmt_bind_text_named(st, ":kind", kind);
  if (before > 0) td__stmt_bind_int_named(st, ":before", before);
  td__stmt_bind_int_named(st, ":limit", limit + 1);
  rc = td__row_page(ctx, st, 0, limit, activity_json, items, next);
  td__stmt_finalize(st);
  return rc;
}
