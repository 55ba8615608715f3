/* Recording and listing touches (see touches.h). */
#include "domain/touches.h"

#include <stdio.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/candidates.h"
#include "domain/row_json.h"
#include "talentd/types.h"
#include "util/time.h"

/* Integrators may stamp a touch slightly ahead of our clock (their clock drifts). */
#define FUTURE_SKEW_MS (5 * 60 * 1000)

int td__touch_channel_valid(const char *channel) {
  static const char *const channels[] = {"application", "pool", "sequence", "referral", "board", "event"};
  for (size_t i = 0; channel && i < sizeof channels / sizeof channels[0]; i++)
    if (strcmp(channel, channels[i]) == 0) return 1;
  return 0;
}

int td__touch_record(td__ctx_t *ctx, const td__touch_t *t, char id_out[TD_ID_MAX]) {
  if (!td__touch_channel_valid(t->channel)) return TD_EINVAL;
  const char *source = t->source && t->source[0] ? t->source : t->channel;
  if (strlen(source) > TD_TOUCH_SOURCE_MAX) return TD_EINVAL;
  char id[TD_ID_MAX];
  td__id_new("tch", id);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO touches(id, candidate_rowid, channel, source, ref_type, ref_id,"
                               " actor_id, actor_kind, at) VALUES (?,?,?,?,?,?,?,?,?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, t->candidate_rowid);
  td__stmt_bind_text(st, 3, t->channel);
  td__stmt_bind_text(st, 4, source);
  td__stmt_bind_text(st, 5, t->ref_type);
  td__stmt_bind_text(st, 6, t->ref_id);
  td__stmt_bind_text(st, 7, td__ctx_actor_id(ctx));
  td__stmt_bind_text(st, 8, ctx->actor_kind ? ctx->actor_kind : "system");
  td__stmt_bind_int(st, 9, t->at_ms ? t->at_ms : ctx->now_ms);
  int rc = td__stmt_run(st);
  if (rc == 0 && id_out) snprintf(id_out, TD_ID_MAX, "%s", id);
  return rc;
}

/* ASCII case-insensitive equality (source labels are typed by people: "LinkedIn"). */
static int same_label(const char *a, const char *b) {
  for (; *a && *b; a++, b++) {
    char x = (*a >= 'A' && *a <= 'Z') ? (char)(*a - 'A' + 'a') : *a;
    char y = (*b >= 'A' && *b <= 'Z') ? (char)(*b - 'A' + 'a') : *b;
    if (x != y) return 0;
  }
  return *a == *b;
}

const char *td__touch_channel_for_source(const char *source) {
  static const char *const boards[] = {"linkedin", "indeed", "glassdoor", "stepstone"};
  if (source == NULL) return "application";
  if (same_label(source, "referral")) return "referral";
  if (strncmp(source, "board:", 6) == 0) return "board";
  for (size_t i = 0; i < sizeof boards / sizeof boards[0]; i++)
    if (same_label(source, boards[i])) return "board";
  return "application";
}

/* Cuts s (at most size - 1 bytes kept) without splitting a UTF-8 sequence. */
static void cut_label(const char *s, char *out, size_t size) {
  size_t n = strlen(s);
  if (n >= size) {
    n = size - 1;
    while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--; /* s[n] would start the cut part */
  }
  memcpy(out, s, n);
  out[n] = '\0';
}

int td__touch_record_application(td__ctx_t *ctx, int64_t application_rowid) {
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT id, candidate_rowid, source, applied_at FROM applications WHERE rowid = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, application_rowid);
  int rc = td__stmt_step(st);
  if (rc != 1) return td__fail_internal(ctx, rc == 0 ? TD_ENOTFOUND : rc);
  char id[TD_ID_MAX], source[TD_TOUCH_SOURCE_MAX + 1];
  snprintf(id, sizeof id, "%s", td__stmt_text(st, 0));
  const char *src = td__stmt_is_null(st, 2) ? NULL : td__stmt_text(st, 2);
  cut_label(src && src[0] ? src : "unknown", source, sizeof source);
  td__touch_t t = {.candidate_rowid = td__stmt_int(st, 1),
                   .channel = td__touch_channel_for_source(source),
                   .source = source,
                   .ref_type = "application",
                   .ref_id = id,
                   .at_ms = td__stmt_int(st, 3)};
  td__stmt_reset(st);
  rc = td__touch_record(ctx, &t, NULL);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

/* The columns touch_json reads, with the touches alias tc and candidates c. */
#define TOUCH_SELECT                                                                               \
  "SELECT tc.rowid, tc.id, c.id, tc.channel, tc.source, tc.ref_type, tc.ref_id, tc.actor_id,"     \
  " tc.actor_kind, tc.at FROM touches tc JOIN candidates c ON c.rowid = tc.candidate_rowid"

static json_t *touch_json(td__stmt_t *st) {
  return json_pack("{s:s,s:s,s:s,s:s,s:o,s:o,s:o,s:s,s:o}", "id", td__stmt_text(st, 1), "candidate_id",
                   td__stmt_text(st, 2), "channel", td__stmt_text(st, 3), "source", td__stmt_text(st, 4),
                   "ref_type", td__row_text(st, 5), "ref_id", td__row_text(st, 6), "actor_id",
                   td__row_text(st, 7), "actor_kind", td__stmt_text(st, 8), "at", td__row_time(st, 9));
}

int td__touch_list(td__ctx_t *ctx, const char *candidate_id, int limit, int64_t after, json_t **items,
                   int64_t *next_rowid) {
  *items = NULL;
  *next_rowid = 0;
  td__candidate_ref_t ref;
  int rc = td__candidate_find(ctx, candidate_id, &ref);
  if (rc) return rc;
  td__stmt_t *st =
      td__db_stmt(ctx->db, TOUCH_SELECT " WHERE tc.candidate_rowid = ? AND tc.rowid > ? ORDER BY tc.rowid LIMIT ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, ref.rowid);
  td__stmt_bind_int(st, 2, after);
  td__stmt_bind_int(st, 3, limit + 1);
  return td__row_page(ctx, st, 0, limit, touch_json, items, next_rowid);
}

/* The touches the candidate has, to keep one candidate's history bounded. */
static int count_touches(td__ctx_t *ctx, int64_t candidate_rowid, int64_t *n) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT count(*) FROM touches WHERE candidate_rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, candidate_rowid);
  int rc = td__stmt_step(st);
  if (rc == 1) *n = td__stmt_int(st, 0);
  td__stmt_reset(st);
  return rc == 1 ? 0 : (rc == 0 ? TD_EIO : rc);
}

/* Reads the body's fields into t; refuses on ctx (422 naming the field). */
static int read_body(td__ctx_t *ctx, const json_t *body, td__touch_t *t) {
  t->channel = json_string_value(json_object_get(body, "channel"));
  t->source = json_string_value(json_object_get(body, "source"));
  t->ref_type = json_string_value(json_object_get(body, "ref_type"));
  t->ref_id = json_string_value(json_object_get(body, "ref_id"));
  const char *at = json_string_value(json_object_get(body, "at"));
  if (!td__touch_channel_valid(t->channel))
    return td__fail_field(ctx, "/channel", "must be one of application, pool, sequence, referral, board, event");
  if (t->source && (t->source[0] == '\0' || strlen(t->source) > TD_TOUCH_SOURCE_MAX))
    return td__fail_field(ctx, "/source", "must be a label of 1 to 200 bytes");
  if (at && (td__time_parse(at, &t->at_ms) != 0 || t->at_ms <= 0))
    return td__fail_field(ctx, "/at", "must be an RFC 3339 date-time after 1970, such as 2026-05-01T09:30:00Z");
  if (at && t->at_ms > ctx->now_ms + FUTURE_SKEW_MS)
    return td__fail_field(ctx, "/at", "must not be in the future");
  return 0;
}

int td__touch_create(td__ctx_t *ctx, const char *candidate_id, const json_t *body, json_t **out) {
  *out = NULL;
  td__candidate_ref_t ref; /* an unseen candidate is a 404 before the role's 403 */
  int rc = td__candidate_find(ctx, candidate_id, &ref);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_UPDATE)) return td__fail_forbidden(ctx);
  td__touch_t t = {.candidate_rowid = ref.rowid};
  if ((rc = read_body(ctx, body, &t)) != 0) return rc;
  int64_t n = 0;
  if ((rc = count_touches(ctx, ref.rowid, &n)) != 0) return td__fail_internal(ctx, rc);
  if (n >= TD_TOUCH_PER_CANDIDATE_MAX)
    return td__fail(ctx, 409, "Too many touches",
                    "this candidate already has 10000 touches; record fewer, coarser touches");
  char id[TD_ID_MAX];
  if ((rc = td__touch_record(ctx, &t, id)) != 0) return td__fail_internal(ctx, rc);
  td__stmt_t *st = td__db_stmt(ctx->db, TOUCH_SELECT " WHERE tc.id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, id);
  return td__row_object(ctx, st, "touch", touch_json, 0, out, NULL);
}
