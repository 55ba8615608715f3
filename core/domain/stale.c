/* Stale applications (stale.h): the SLA settings and the scan that reports stale stage
 * visits as application.stale events. */
#include "domain/stale.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/events.h"
#include "talentd/types.h"
#include "util/id.h"
#include "util/mem.h"
#include "util/time.h"

#define DAY_MS (24LL * 3600 * 1000)

static const char *const type_names[TD_STALE_TYPES] = {"lead", "applied", "screen", "interview", "offer"};

void td__stale_sla_from_config(const json_t *config, td__stale_sla_t *out) {
  static const td__stale_sla_t defaults = {{0, 7, 5, 7, 3}};
  *out = defaults;
  const json_t *days = json_object_get(json_object_get(config, "applications"), "stale_after_days");
  for (int i = 0; i < TD_STALE_TYPES; i++) {
    const json_t *v = json_object_get(days, type_names[i]);
    if (json_is_null(v))
      out->days[i] = 0;
    else if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= 36500)
      out->days[i] = (int)json_integer_value(v);
  }
}

static void copy_text(char *out, size_t size, const char *text) {
  snprintf(out, size, "%s", text ? text : "");
}

/* Finds up to limit unreported stale visits, oldest first. The SLA is the stage's own when
 * set, else the type's default (0 binds "none": the visit never qualifies). */
int td__stale_find(td__db_t *db, int64_t now_ms, const td__stale_sla_t *sla, int limit,
                   td__stale_visit_t *out, int *n) {
  td__stmt_t *st = td__db_stmt(
      db,
      "SELECT x.a_rowid, x.app_id, x.can_id, x.job_id, x.stage_rowid, x.stage_id, x.stage_type, x.entered, "
      "x.sla"
      " FROM (SELECT a.rowid AS a_rowid, a.id AS app_id, c.id AS can_id, j.id AS job_id, s.rowid AS "
      "stage_rowid,"
      " s.id AS stage_id, s.type AS stage_type, a.stage_entered_at AS entered,"
      " COALESCE(s.sla_days, CASE s.type WHEN 'lead' THEN ?2 WHEN 'applied' THEN ?3 WHEN 'screen' THEN ?4"
      " WHEN 'interview' THEN ?5 WHEN 'offer' THEN ?6 END) AS sla"
      " FROM applications a JOIN stages s ON s.rowid = a.stage_rowid"
      " JOIN candidates c ON c.rowid = a.candidate_rowid JOIN jobs j ON j.rowid = a.job_rowid"
      " WHERE a.status = 'active' AND s.type <> 'hired') x"
      " WHERE x.sla > 0 AND x.entered + x.sla * 86400000 <= ?1"
      " AND NOT EXISTS (SELECT 1 FROM application_stale_visits v WHERE v.application_rowid = x.a_rowid"
      " AND v.stage_entered_at = x.entered AND v.stage_rowid = x.stage_rowid)"
      " ORDER BY x.entered, x.a_rowid LIMIT ?7");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, now_ms);
  for (int i = 0; i < TD_STALE_TYPES; i++) td__stmt_bind_int(st, 2 + i, sla->days[i]);
  td__stmt_bind_int(st, 7, limit);
  int rc = 0;
  *n = 0;
  while (*n < limit && (rc = td__stmt_step(st)) == 1) {
    td__stale_visit_t *v = &out[(*n)++];
    v->application_rowid = td__stmt_int(st, 0);
    copy_text(v->application_id, sizeof v->application_id, td__stmt_text(st, 1));
    copy_text(v->candidate_id, sizeof v->candidate_id, td__stmt_text(st, 2));
    copy_text(v->job_id, sizeof v->job_id, td__stmt_text(st, 3));
    v->stage_rowid = td__stmt_int(st, 4);
    copy_text(v->stage_id, sizeof v->stage_id, td__stmt_text(st, 5));
    copy_text(v->stage_type, sizeof v->stage_type, td__stmt_text(st, 6));
    v->entered_at = td__stmt_int(st, 7);
    v->sla_days = td__stmt_int(st, 8);
  }
  if (*n == limit)
    td__stmt_reset(st);
  else if (rc < 0)
    return rc;
  return 0;
}

/* The event and the visit record for one stale visit. */
static int report_visit(td__ctx_t *ctx, const td__stale_visit_t *v) {
  char entered[32];
  td__time_format(v->entered_at, entered, sizeof entered);
  json_t *data =
      json_pack("{s:s,s:s,s:s,s:{s:s,s:s},s:s,s:I,s:I}", "application_id", v->application_id, "candidate_id",
                v->candidate_id, "job_id", v->job_id, "stage", "id", v->stage_id, "type", v->stage_type,
                "entered_stage_at", entered, "sla_days", (json_int_t)v->sla_days, "days_in_stage",
                (json_int_t)((ctx->now_ms - v->entered_at) / DAY_MS));
  if (data == NULL) return TD_ENOMEM;
  int rc = td__event_emit(ctx, "application.stale", "application", v->application_id, data);
  if (rc) return rc;
  int64_t event_rowid = td__db_last_rowid(ctx->db);
  td__stmt_t *st = td__db_stmt(
      ctx->db,
      "INSERT INTO application_stale_visits(application_rowid, stage_rowid, stage_entered_at,"
      " event_id, reported_at) VALUES (?1, ?2, ?3, (SELECT id FROM events WHERE rowid = ?4), ?5)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, v->application_rowid);
  td__stmt_bind_int(st, 2, v->stage_rowid);
  td__stmt_bind_int(st, 3, v->entered_at);
  td__stmt_bind_int(st, 4, event_rowid);
  td__stmt_bind_int(st, 5, ctx->now_ms);
  return td__stmt_run(st);
}

/* Whether a visit found on a reader still holds on the writer's connection. */
static int still_stale(td__ctx_t *ctx, const td__stale_visit_t *v) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT 1 FROM applications a WHERE a.rowid = ?1 AND a.status = 'active'"
                               " AND a.stage_rowid = ?2 AND a.stage_entered_at = ?3 AND NOT EXISTS"
                               " (SELECT 1 FROM application_stale_visits v WHERE v.application_rowid = ?1"
                               " AND v.stage_rowid = ?2 AND v.stage_entered_at = ?3)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, v->application_rowid);
  td__stmt_bind_int(st, 2, v->stage_rowid);
  td__stmt_bind_int(st, 3, v->entered_at);
  int rc = td__stmt_step(st);
  if (rc == 1) td__stmt_reset(st);
  return rc;
}

int td__stale_report(td__ctx_t *ctx, const td__stale_visit_t *visits, int n, int *reported) {
  int count = 0, rc = 0;
  for (int i = 0; rc == 0 && i < n; i++) {
    rc = still_stale(ctx, &visits[i]);
    if (rc == 1) {
      rc = report_visit(ctx, &visits[i]);
      count += rc == 0;
    }
  }
  if (reported) *reported = rc == 0 ? count : 0;
  return rc;
}

int td__stale_scan(td__ctx_t *ctx, const td__stale_sla_t *sla, int limit, int *reported) {
  if (reported) *reported = 0;
  if (limit <= 0) return 0;
  td__stale_visit_t *visits = td__xcalloc((size_t)limit, sizeof *visits);
  int n = 0;
  int rc = td__stale_find(ctx->db, ctx->now_ms, sla, limit, visits, &n);
  if (rc == 0) rc = td__stale_report(ctx, visits, n, reported);
  free(visits);
  return rc;
}
