/* Jobs: the requisition record, its hiring team and openings, and the lookups other domain
 * code (applications) uses to resolve a job's stage or open opening. Stage edits and
 * pipeline templates live in pipelines.c. */
#include "domain/jobs.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/custom_fields.h"
#include "domain/events.h"
#include "domain/pipelines.h"
#include "domain/row_json.h"
#include "domain/users.h"
#include "hooks/filter.h"
#include "talentd/types.h"
#include "util/time.h"

int td__job_stage_lookup(td__db_t *db, const char *job_id, const char *stage_id, int64_t *job_rowid,
                         int64_t *stage_rowid, char *type_out, int *position) {
  td__stmt_t *st;
  if (stage_id != NULL) {
    st = td__db_stmt(db,
                     "SELECT j.rowid, s.rowid, s.type, s.position FROM jobs j"
                     " JOIN stages s ON s.job_rowid = j.rowid"
                     " WHERE j.id = ? AND s.id = ? AND s.deleted_at IS NULL");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_text(st, 1, job_id);
    td__stmt_bind_text(st, 2, stage_id);
  } else {
    /* The applied-type stage first, then any stage, each by position. */
    st = td__db_stmt(db,
                     "SELECT j.rowid, s.rowid, s.type, s.position FROM jobs j"
                     " JOIN stages s ON s.job_rowid = j.rowid"
                     " WHERE j.id = ? AND s.deleted_at IS NULL"
                     " ORDER BY (s.type <> 'applied'), s.position, s.rowid LIMIT 1");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_text(st, 1, job_id);
  }
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  if (job_rowid) *job_rowid = td__stmt_int(st, 0);
  if (stage_rowid) *stage_rowid = td__stmt_int(st, 1);
  if (type_out) snprintf(type_out, 16, "%s", td__stmt_text(st, 2));
  if (position) *position = (int)td__stmt_int(st, 3);
  td__stmt_reset(st);
  return 0;
}

int td__job_open_opening(td__db_t *db, int64_t job_rowid, const char *opening_id, char id_out[TD_ID_MAX]) {
  td__stmt_t *st;
  if (opening_id != NULL) {
    st = td__db_stmt(db, "SELECT id FROM openings WHERE job_rowid = ? AND id = ? AND status = 'open'");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_int(st, 1, job_rowid);
    td__stmt_bind_text(st, 2, opening_id);
  } else {
    st = td__db_stmt(db,
                     "SELECT id FROM openings WHERE job_rowid = ? AND status = 'open'"
                     " ORDER BY target_date IS NULL, target_date, rowid LIMIT 1");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_int(st, 1, job_rowid);
  }
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  snprintf(id_out, TD_ID_MAX, "%s", td__stmt_text(st, 0));
  td__stmt_reset(st);
  return 0;
}

/* ---------- JSON of a job ---------- */

/* The four hiring-team lists, keyed by their API names; team roles in the DB are singular. */
static const struct team_list {
  const char *key;  /* API: hiring_team.<key> */
  const char *role; /* job_team.role */
} team_lists[] = {
    {"hiring_managers", "hiring_manager"},
    {"recruiters", "recruiter"},
    {"coordinators", "coordinator"},
    {"interviewers", "interviewer"},
};
#define TEAM_LISTS (sizeof team_lists / sizeof team_lists[0])

static json_t *team_json(td__db_t *db, int64_t job_rowid) {
  json_t *team = json_object();
  for (size_t i = 0; i < TEAM_LISTS; i++) json_object_set_new(team, team_lists[i].key, json_array());
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT user_id, role FROM job_team WHERE job_rowid = ?"
                               " ORDER BY role, position, user_id");
  if (st == NULL) goto fail;
  td__stmt_bind_int(st, 1, job_rowid);
  int rc;
  while ((rc = td__stmt_step(st)) == 1) {
    const char *role = td__stmt_text(st, 1);
    for (size_t i = 0; i < TEAM_LISTS; i++)
      if (strcmp(role, team_lists[i].role) == 0)
        json_array_append_new(json_object_get(team, team_lists[i].key), json_string(td__stmt_text(st, 0)));
  }
  if (rc < 0) goto fail;
  return team;
fail:
  json_decref(team);
  return NULL;
}

static json_t *openings_json(td__db_t *db, int64_t job_rowid) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT id, target_date, status, close_reason, filled_by_application,"
                               " created_at, closed_at FROM openings WHERE job_rowid = ? ORDER BY rowid");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, job_rowid);
  json_t *list = json_array();
  int rc;
  while ((rc = td__stmt_step(st)) == 1) {
    json_t *o = json_object();
    json_object_set_new(o, "id", json_string(td__stmt_text(st, 0)));
    json_object_set_new(o, "target_date", td__row_text(st, 1));
    json_object_set_new(o, "status", json_string(td__stmt_text(st, 2)));
    json_object_set_new(o, "close_reason", td__row_text(st, 3));
    json_object_set_new(o, "filled_by_application_id", td__row_text(st, 4));
    json_object_set_new(o, "created_at", td__row_time(st, 5));
    json_object_set_new(o, "closed_at", td__row_time(st, 6));
    json_array_append_new(list, o);
  }
  if (rc < 0) {
    json_decref(list);
    return NULL;
  }
  return list;
}

json_t *td__job_json(td__ctx_t *ctx, int64_t rowid, int64_t *version) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT id, title, department, location, employment_type, status,"
                               " confidential, custom_fields, created_at, updated_at, version"
                               " FROM jobs WHERE rowid = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, rowid);
  if (td__stmt_step(st) != 1) return NULL;
  json_error_t jerr;
  json_t *custom = json_loads(td__stmt_text(st, 7), 0, &jerr);
  json_t *job = json_object();
  json_object_set_new(job, "id", json_string(td__stmt_text(st, 0)));
  json_object_set_new(job, "title", json_string(td__stmt_text(st, 1)));
  json_object_set_new(job, "department", td__row_text(st, 2));
  json_object_set_new(job, "location", td__row_text(st, 3));
  json_object_set_new(job, "employment_type", td__row_text(st, 4));
  json_object_set_new(job, "status", json_string(td__stmt_text(st, 5)));
  json_object_set_new(job, "confidential", json_boolean(td__stmt_int(st, 6)));
  json_object_set_new(job, "created_at", td__row_time(st, 8));
  json_object_set_new(job, "updated_at", td__row_time(st, 9));
  if (version) *version = td__stmt_int(st, 10);
  td__stmt_reset(st);
  if (custom == NULL) custom = json_object();
  if (!td__policy_sees_sensitive(&ctx->principal)) td__custom_fields_redact(ctx->db, "job", custom);
  json_object_set_new(job, "custom_fields", custom);
  json_t *team = team_json(ctx->db, rowid);
  json_t *openings = openings_json(ctx->db, rowid);
  json_t *stages = td__stages_json(ctx->db, rowid, 0);
  if (team == NULL || openings == NULL || stages == NULL) {
    json_decref(team);
    json_decref(openings);
    json_decref(stages);
    json_decref(job);
    return NULL;
  }
  json_object_set_new(job, "hiring_team", team);
  json_object_set_new(job, "openings", openings);
  json_object_set_new(job, "stages", stages);
  return job;
}

/* ---------- lookups with visibility ---------- */

int td__job_resolve(td__ctx_t *ctx, const char *job_id, int64_t *rowid, int64_t *version) {
  int rc = td__policy_check_job(ctx->db, &ctx->principal, job_id);
  if (rc == TD_ENOTFOUND) {
    td__fail_not_found(ctx, "job");
    return TD_ENOTFOUND;
  }
  td__stmt_t *st = rc ? NULL : td__db_stmt(ctx->db, "SELECT rowid, version FROM jobs WHERE id = ?");
  if (st == NULL) {
    td__fail_internal(ctx, rc ? rc : TD_EIO);
    return rc ? rc : TD_EIO;
  }
  td__stmt_bind_text(st, 1, job_id);
  rc = td__stmt_step(st);
  if (rc != 1) {
    rc = rc < 0 ? rc : TD_EINTERNAL;
    td__fail_internal(ctx, rc);
    return rc;
  }
  if (rowid) *rowid = td__stmt_int(st, 0);
  if (version) *version = td__stmt_int(st, 1);
  td__stmt_reset(st);
  return 0;
}

int td__job_get(td__ctx_t *ctx, const char *job_id, json_t **out, int64_t *version) {
  int64_t rowid;
  int rc = td__job_resolve(ctx, job_id, &rowid, NULL);
  if (rc) return rc;
  *out = td__job_json(ctx, rowid, version);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}

/* ---------- input checks (after the schema: what only the database can tell) ---------- */

/* Field errors for hiring-team entries that are not active users. */
static void check_team(td__ctx_t *ctx, const json_t *team) {
  char pointer[96];
  for (size_t k = 0; team && k < TEAM_LISTS; k++) {
    const json_t *list = json_object_get(team, team_lists[k].key);
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      const char *uid = json_string_value(v);
      if (uid && td__user_exists(ctx->db, uid)) continue;
      snprintf(pointer, sizeof pointer, "/hiring_team/%s/%zu", team_lists[k].key, i);
      td__fail_field(ctx, pointer, "is not the id of an active user; list users with GET /api/v1/users");
    }
  }
}

static int date_ok(const json_t *v) {
  int64_t ms;
  return v == NULL || json_is_null(v) ||
         (json_is_string(v) && td__date_parse(json_string_value(v), &ms) == 0);
}

/* Openings on create: a count, or a list of {target_date?}. */
static void check_new_openings(td__ctx_t *ctx, const json_t *openings) {
  char pointer[64];
  size_t i;
  json_t *item;
  json_array_foreach(openings, i, item) {
    if (date_ok(json_object_get(item, "target_date"))) continue;
    snprintf(pointer, sizeof pointer, "/openings/%zu/target_date", i);
    td__fail_field(ctx, pointer, "must be a date (YYYY-MM-DD)");
  }
}

/* The status of an opening of the job, or TD_ENOTFOUND. */
static int opening_status(td__db_t *db, int64_t job_rowid, const char *id, char status[16]) {
  td__stmt_t *st = td__db_stmt(db, "SELECT status FROM openings WHERE job_rowid = ? AND id = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, job_rowid);
  td__stmt_bind_text(st, 2, id);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  snprintf(status, 16, "%s", td__stmt_text(st, 0));
  td__stmt_reset(st);
  return 0;
}

/* A field error on /openings/<i>/<name>; returns TD_EINVAL. */
static int opening_field(td__ctx_t *ctx, size_t i, const char *name, const char *message) {
  char pointer[64];
  snprintf(pointer, sizeof pointer, "/openings/%zu/%s", i, name);
  return td__fail_field(ctx, pointer, message);
}

/* Checks one opening change of a PATCH: new ones (no id) start open; closing needs a
 * reason; a filled opening changes status only through hiring. */
static int check_opening_change(td__ctx_t *ctx, int64_t job_rowid, size_t i, const json_t *item) {
  char cur[16];
  const char *id = json_string_value(json_object_get(item, "id"));
  const char *status = json_string_value(json_object_get(item, "status"));
  const char *reason = json_string_value(json_object_get(item, "close_reason"));
  if (!date_ok(json_object_get(item, "target_date")))
    opening_field(ctx, i, "target_date", "must be a date (YYYY-MM-DD)");
  if (id == NULL) {
    if (status && strcmp(status, "open") != 0)
      return opening_field(ctx, i, "status", "a new opening starts open; add it, then close it by its id");
    if (reason) return opening_field(ctx, i, "close_reason", "only a closed opening has a close reason");
    return 0;
  }
  int rc = opening_status(ctx->db, job_rowid, id, cur);
  if (rc == TD_ENOTFOUND) return opening_field(ctx, i, "id", "is not an opening of this job");
  if (rc) return td__fail_internal(ctx, rc);
  bool closing = status && strcmp(status, "closed") == 0;
  bool closed_after = closing || (status == NULL && strcmp(cur, "closed") == 0);
  if (status && strcmp(cur, "filled") == 0)
    return opening_field(ctx, i, "status",
                         "the opening was filled by a hire; its status changes only through hiring");
  if (closing && (reason == NULL || reason[0] == '\0'))
    return opening_field(ctx, i, "close_reason", "is required when closing an opening: say why it closes");
  if (reason && !closed_after)
    return opening_field(ctx, i, "close_reason", "only a closed opening has a close reason");
  return 0;
}

/* ---------- writes of parts ---------- */

/* Replaces each hiring-team list given in team (lists not given stay as they are). */
static int write_team(td__ctx_t *ctx, int64_t job_rowid, const json_t *team) {
  for (size_t k = 0; team && k < TEAM_LISTS; k++) {
    const json_t *list = json_object_get(team, team_lists[k].key);
    if (list == NULL) continue;
    td__stmt_t *del = td__db_stmt(ctx->db, "DELETE FROM job_team WHERE job_rowid = ? AND role = ?");
    if (del == NULL) return TD_EIO;
    td__stmt_bind_int(del, 1, job_rowid);
    td__stmt_bind_text(del, 2, team_lists[k].role);
    int rc = td__stmt_run(del);
    if (rc) return rc;
    size_t i;
    json_t *v;
    json_array_foreach(list, i, v) {
      td__stmt_t *ins = td__db_stmt(ctx->db,
                                    "INSERT OR IGNORE INTO job_team(job_rowid, user_id, role, position)"
                                    " VALUES (?, ?, ?, ?)");
      if (ins == NULL) return TD_EIO;
      td__stmt_bind_int(ins, 1, job_rowid);
      td__stmt_bind_text(ins, 2, json_string_value(v));
      td__stmt_bind_text(ins, 3, team_lists[k].role);
      td__stmt_bind_int(ins, 4, (int64_t)i);
      if ((rc = td__stmt_run(ins)) != 0) return rc;
    }
  }
  return 0;
}

/* Whether user_id is on the job's team in any role. */
static bool on_team(td__db_t *db, int64_t job_rowid, const char *user_id) {
  td__stmt_t *st = td__db_stmt(db, "SELECT 1 FROM job_team WHERE job_rowid = ? AND user_id = ?");
  if (st == NULL) return false;
  td__stmt_bind_int(st, 1, job_rowid);
  td__stmt_bind_text(st, 2, user_id);
  int rc = td__stmt_step(st);
  if (rc == 1) td__stmt_reset(st);
  return rc == 1;
}

static int add_opening(td__ctx_t *ctx, int64_t job_rowid, const char *target_date) {
  char id[TD_ID_MAX];
  td__id_new("opn", id);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO openings(id, job_rowid, target_date, status, created_at)"
                               " VALUES (?, ?, ?, 'open', ?)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, job_rowid);
  td__stmt_bind_text(st, 3, target_date);
  td__stmt_bind_int(st, 4, ctx->now_ms);
  return td__stmt_run(st);
}

/* Openings of a new job: absent means one undated opening; a count n means n undated ones;
 * a list gives one opening per item. */
static int create_openings(td__ctx_t *ctx, int64_t job_rowid, const json_t *openings) {
  int rc = 0;
  if (openings == NULL) return add_opening(ctx, job_rowid, NULL);
  if (json_is_integer(openings)) {
    for (json_int_t n = 0; rc == 0 && n < json_integer_value(openings); n++)
      rc = add_opening(ctx, job_rowid, NULL);
    return rc;
  }
  size_t i;
  json_t *item;
  json_array_foreach(openings, i, item) {
    if (rc == 0) rc = add_opening(ctx, job_rowid, json_string_value(json_object_get(item, "target_date")));
  }
  return rc;
}

/* Applies one checked opening change of a PATCH. */
static int apply_opening_change(td__ctx_t *ctx, int64_t job_rowid, const json_t *item) {
  const char *id = json_string_value(json_object_get(item, "id"));
  const json_t *date = json_object_get(item, "target_date");
  if (id == NULL) return add_opening(ctx, job_rowid, json_string_value(date));
  const char *status = json_string_value(json_object_get(item, "status"));
  const json_t *reason = json_object_get(item, "close_reason");
  td__stmt_t *st = td__db_stmt(
      ctx->db,
      "UPDATE openings SET"
      " target_date = CASE WHEN ?1 THEN ?2 ELSE target_date END,"
      " status = coalesce(?3, status),"
      " close_reason = CASE WHEN ?3 = 'open' THEN NULL WHEN ?4 THEN ?5 ELSE close_reason END,"
      " closed_at = CASE WHEN ?3 = 'open' THEN NULL WHEN ?3 = 'closed' THEN coalesce(closed_at, ?6)"
      " ELSE closed_at END"
      " WHERE job_rowid = ?7 AND id = ?8");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, date != NULL);
  td__stmt_bind_text(st, 2, json_string_value(date));
  td__stmt_bind_text(st, 3, status);
  td__stmt_bind_int(st, 4, reason != NULL);
  td__stmt_bind_text(st, 5, json_string_value(reason));
  td__stmt_bind_int(st, 6, ctx->now_ms);
  td__stmt_bind_int(st, 7, job_rowid);
  td__stmt_bind_text(st, 8, id);
  return td__stmt_run(st);
}

/* The job's custom fields with patch merged in (a null value removes the key), as text the
 * caller frees. */
static int merge_custom_fields(td__db_t *db, int64_t job_rowid, const json_t *patch, char **out) {
  td__stmt_t *st = td__db_stmt(db, "SELECT custom_fields FROM jobs WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, job_rowid);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  json_error_t jerr;
  json_t *values = json_loads(td__stmt_text(st, 0), 0, &jerr);
  td__stmt_reset(st);
  if (!json_is_object(values)) {
    json_decref(values);
    values = json_object();
  }
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)patch, key, v) {
    if (json_is_null(v))
      json_object_del(values, key);
    else
      json_object_set(values, key, v);
  }
  *out = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(values);
  return *out ? 0 : TD_ENOMEM;
}

/* ---------- events ---------- */

/* A short summary of the job for event payloads (custom fields and the team stay out of
 * the outbox: subscribers fetch the job when they need more), and its current version. */
static json_t *job_summary(td__db_t *db, int64_t rowid, int64_t *version) {
  td__stmt_t *st = td__db_stmt(db,
                               "SELECT id, title, department, status, confidential, version"
                               " FROM jobs WHERE rowid = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, rowid);
  if (td__stmt_step(st) != 1) return NULL;
  json_t *s = json_object();
  json_object_set_new(s, "id", json_string(td__stmt_text(st, 0)));
  json_object_set_new(s, "title", json_string(td__stmt_text(st, 1)));
  json_object_set_new(s, "department", td__row_text(st, 2));
  json_object_set_new(s, "status", json_string(td__stmt_text(st, 3)));
  json_object_set_new(s, "confidential", json_boolean(td__stmt_int(st, 4)));
  if (version) *version = td__stmt_int(st, 5);
  td__stmt_reset(st);
  return s;
}

/* job.created or job.updated (with the names of what changed). changed is taken. */
static int emit_job_event(td__ctx_t *ctx, const char *type, int64_t rowid, json_t *changed) {
  json_t *summary = job_summary(ctx->db, rowid, NULL);
  if (summary == NULL) {
    json_decref(changed);
    return TD_EIO;
  }
  char id[TD_ID_MAX];
  snprintf(id, sizeof id, "%s", json_string_value(json_object_get(summary, "id")));
  json_t *data = json_pack("{s:o}", "job", summary);
  if (changed) json_object_set_new(data, "changed", changed);
  return td__event_emit(ctx, type, "job", id, data);
}

/* job.opened / job.closed when the status moved to open / closed. */
static int emit_status_events(td__ctx_t *ctx, const char *job_id, const char *from, const char *to) {
  if (to == NULL || (from && strcmp(from, to) == 0)) return 0;
  const char *type = strcmp(to, "open") == 0 ? "job.opened" : strcmp(to, "closed") == 0 ? "job.closed" : NULL;
  if (type == NULL) return 0;
  json_t *data = json_pack("{s:s,s:s?,s:s}", "job_id", job_id, "from_status", from, "to_status", to);
  return td__event_emit(ctx, type, "job", job_id, data);
}

/* job.before_publish (hooks/filter.h) when a job is created open or its status becomes
 * open: inside the action's savepoint, after its rows changed (filters see the job as it
 * would be) and before its events, so a veto rolls the whole action back. Veto only. */
static int before_publish(td__ctx_t *ctx, int64_t rowid, const char *from, const char *to) {
  size_t n;
  if (to == NULL || strcmp(to, "open") != 0 || (from && strcmp(from, "open") == 0)) return 0;
  td__hooks_entries("job.before_publish", &n);
  if (n == 0) return 0;
  json_t *job = td__job_json(ctx, rowid, NULL);
  if (job == NULL) return TD_EIO;
  json_t *proposed = json_pack("{s:o,s:s?}", "job", job, "from_status", from);
  int rc = td__filter_run(ctx, "job.before_publish", proposed);
  json_decref(proposed);
  return rc;
}

int td__jobs_savepoint_end(td__ctx_t *ctx, const char *savepoint, int rc) {
  if (rc == 0 && td__db_release(ctx->db, savepoint) == 0) return 0;
  td__db_rollback_to(ctx->db, savepoint);
  if (ctx->problem == NULL) td__fail_internal(ctx, rc ? rc : TD_EIO);
  return rc ? rc : TD_EIO;
}

/* ---------- create ---------- */

/* The custom fields of a new job as text (null values dropped); the caller frees it. */
static char *initial_custom_fields(const json_t *custom) {
  json_t *values = json_object();
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)custom, key, v) {
    if (!json_is_null(v)) json_object_set(values, key, v);
  }
  char *text = json_dumps(values, JSON_COMPACT | JSON_SORT_KEYS);
  json_decref(values);
  return text;
}

static int insert_job(td__ctx_t *ctx, const json_t *body, char id[TD_ID_MAX], int64_t *rowid) {
  td__id_new("job", id);
  const char *status = json_string_value(json_object_get(body, "status"));
  char *custom = initial_custom_fields(json_object_get(body, "custom_fields"));
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO jobs(id, title, department, location, employment_type,"
                               " status, confidential, custom_fields, created_at, updated_at)"
                               " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
  int rc = TD_EIO;
  if (st && custom) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_text(st, 2, json_string_value(json_object_get(body, "title")));
    td__stmt_bind_text(st, 3, json_string_value(json_object_get(body, "department")));
    td__stmt_bind_text(st, 4, json_string_value(json_object_get(body, "location")));
    td__stmt_bind_text(st, 5, json_string_value(json_object_get(body, "employment_type")));
    td__stmt_bind_text(st, 6, status ? status : "draft");
    td__stmt_bind_int(st, 7, json_is_true(json_object_get(body, "confidential")));
    td__stmt_bind_text(st, 8, custom);
    td__stmt_bind_int(st, 9, ctx->now_ms);
    td__stmt_bind_int(st, 10, ctx->now_ms);
    rc = td__stmt_run(st);
  }
  free(custom);
  *rowid = rc == 0 ? td__db_last_rowid(ctx->db) : 0;
  return rc;
}

/* A recruiter who creates a confidential job joins its recruiters: otherwise the job they
 * just made would vanish from their view (confidential jobs hide from recruiters off the team). */
static int keep_creator_on_team(td__ctx_t *ctx, int64_t rowid, const json_t *body) {
  if (!json_is_true(json_object_get(body, "confidential")) || ctx->principal.role != TD_ROLE_RECRUITER ||
      on_team(ctx->db, rowid, ctx->principal.user_id))
    return 0;
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO job_team(job_rowid, user_id, role, position)"
                               " VALUES (?, ?, 'recruiter', 1000)");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  td__stmt_bind_text(st, 2, ctx->principal.user_id);
  return td__stmt_run(st);
}

int td__job_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_JOB, TD_ACT_CREATE)) return td__fail_forbidden(ctx);
  const json_t *openings = json_object_get(body, "openings");
  check_team(ctx, json_object_get(body, "hiring_team"));
  if (json_is_array(openings)) check_new_openings(ctx, openings);
  td__custom_fields_validate(ctx, "job", json_object_get(body, "custom_fields"), "/custom_fields", true);
  if (ctx->problem) return TD_EINVAL;

  if (td__db_savepoint(ctx->db, "job_create")) return td__fail_internal(ctx, TD_EIO);
  char id[TD_ID_MAX];
  int64_t rowid = 0;
  int rc = insert_job(ctx, body, id, &rowid);
  if (rc == 0) {
    rc = td__stages_copy_template(ctx, rowid,
                                  json_string_value(json_object_get(body, "pipeline_template_id")));
    if (rc == TD_ENOTFOUND)
      td__fail_field(ctx, "/pipeline_template_id",
                     "is not the id of a pipeline template; list them with GET /api/v1/pipeline-templates");
  }
  if (rc == 0) rc = write_team(ctx, rowid, json_object_get(body, "hiring_team"));
  if (rc == 0) rc = keep_creator_on_team(ctx, rowid, body);
  if (rc == 0) rc = create_openings(ctx, rowid, openings);
  if (rc == 0) rc = before_publish(ctx, rowid, NULL, json_string_value(json_object_get(body, "status")));
  if (rc == 0) rc = emit_job_event(ctx, "job.created", rowid, NULL);
  if (rc == 0) rc = emit_status_events(ctx, id, NULL, json_string_value(json_object_get(body, "status")));
  if (rc == 0 && (*out = td__job_json(ctx, rowid, version)) == NULL) rc = TD_EIO;
  return td__jobs_savepoint_end(ctx, "job_create", rc);
}

/* ---------- update ---------- */

/* Binds ?flag to whether body has key and ?value to its text (NULL for a JSON null). */
static void bind_optional(td__stmt_t *st, int flag, int value, const json_t *body, const char *key) {
  const json_t *v = json_object_get(body, key);
  td__stmt_bind_int(st, flag, v != NULL);
  td__stmt_bind_text(st, value, json_string_value(v));
}

static int update_row(td__ctx_t *ctx, int64_t rowid, const json_t *body) {
  char *custom = NULL;
  const json_t *patch = json_object_get(body, "custom_fields");
  if (patch) {
    int rc = merge_custom_fields(ctx->db, rowid, patch, &custom);
    if (rc) return rc;
  }
  td__stmt_t *st =
      td__db_stmt(ctx->db,
                  "UPDATE jobs SET title = coalesce(?1, title),"
                  " department = CASE WHEN ?2 THEN ?3 ELSE department END,"
                  " location = CASE WHEN ?4 THEN ?5 ELSE location END,"
                  " employment_type = CASE WHEN ?6 THEN ?7 ELSE employment_type END,"
                  " status = coalesce(?8, status), confidential = coalesce(?9, confidential),"
                  " custom_fields = coalesce(?10, custom_fields), updated_at = ?11, version = version + 1"
                  " WHERE rowid = ?12");
  int rc = TD_EIO;
  if (st) {
    const json_t *confidential = json_object_get(body, "confidential");
    td__stmt_bind_text(st, 1, json_string_value(json_object_get(body, "title")));
    bind_optional(st, 2, 3, body, "department");
    bind_optional(st, 4, 5, body, "location");
    bind_optional(st, 6, 7, body, "employment_type");
    td__stmt_bind_text(st, 8, json_string_value(json_object_get(body, "status")));
    if (json_is_boolean(confidential))
      td__stmt_bind_int(st, 9, json_is_true(confidential));
    else
      td__stmt_bind_null(st, 9);
    td__stmt_bind_text(st, 10, custom);
    td__stmt_bind_int(st, 11, ctx->now_ms);
    td__stmt_bind_int(st, 12, rowid);
    rc = td__stmt_run(st);
  }
  free(custom);
  return rc;
}

int td__job_status(td__db_t *db, int64_t rowid, char status[16]) {
  td__stmt_t *st = td__db_stmt(db, "SELECT status FROM jobs WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  snprintf(status, 16, "%s", td__stmt_text(st, 0));
  td__stmt_reset(st);
  return 0;
}

/* The names of the top-level fields a PATCH body sets, for job.updated. */
static json_t *changed_fields(const json_t *body) {
  json_t *list = json_array();
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)body, key, v) json_array_append_new(list, json_string(key));
  return list;
}

int td__job_update(td__ctx_t *ctx, const char *job_id, const json_t *body, json_t **out, int64_t *version) {
  *out = NULL;
  int64_t rowid;
  int rc = td__job_resolve(ctx, job_id, &rowid, NULL);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_JOB, TD_ACT_UPDATE)) return td__fail_forbidden(ctx);
  const json_t *openings = json_object_get(body, "openings");
  check_team(ctx, json_object_get(body, "hiring_team"));
  size_t i;
  json_t *item;
  json_array_foreach(openings, i, item) check_opening_change(ctx, rowid, i, item);
  const json_t *custom = json_object_get(body, "custom_fields");
  if (custom) td__custom_fields_validate(ctx, "job", custom, "/custom_fields", false);
  if (ctx->problem) return TD_EINVAL;

  char old_status[16];
  if ((rc = td__job_status(ctx->db, rowid, old_status)) != 0) return td__fail_internal(ctx, rc);
  const char *new_status = json_string_value(json_object_get(body, "status"));
  if (td__db_savepoint(ctx->db, "job_update")) return td__fail_internal(ctx, TD_EIO);
  rc = update_row(ctx, rowid, body);
  if (rc == 0) rc = write_team(ctx, rowid, json_object_get(body, "hiring_team"));
  json_array_foreach(openings, i, item) {
    if (rc == 0) rc = apply_opening_change(ctx, rowid, item);
  }
  if (rc == 0) rc = before_publish(ctx, rowid, old_status, new_status);
  if (rc == 0) rc = emit_job_event(ctx, "job.updated", rowid, changed_fields(body));
  if (rc == 0) rc = emit_status_events(ctx, job_id, old_status, new_status);
  if (rc == 0 && (*out = td__job_json(ctx, rowid, version)) == NULL) rc = TD_EIO;
  return td__jobs_savepoint_end(ctx, "job_update", rc);
}

int td__job_touch(td__ctx_t *ctx, int64_t rowid, int64_t *version) {
  td__stmt_t *st =
      td__db_stmt(ctx->db, "UPDATE jobs SET version = version + 1, updated_at = ? WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, ctx->now_ms);
  td__stmt_bind_int(st, 2, rowid);
  int rc = td__stmt_run(st);
  if (rc == 0 && version) {
    json_t *summary = job_summary(ctx->db, rowid, version);
    rc = summary ? 0 : TD_EIO;
    json_decref(summary);
  }
  return rc;
}

int td__job_changed(td__ctx_t *ctx, int64_t rowid, const char *changed, int64_t *version) {
  int rc = td__job_touch(ctx, rowid, version);
  if (rc == 0) rc = emit_job_event(ctx, "job.updated", rowid, json_pack("[s]", changed));
  return rc;
}

/* ---------- list ---------- */

#define LIST_MAX 100

/* The rowids of one page (at most limit + 1, to know whether another page follows). */
static int list_rowids(td__ctx_t *ctx, const char *status, const char *department, int limit, int64_t after,
                       int64_t *ids, int *count) {
  char sql[1024];
  int n =
      snprintf(sql, sizeof sql,
               "SELECT j.rowid FROM jobs j WHERE j.rowid > :after AND (%s)%s%s ORDER BY j.rowid LIMIT :limit",
               td__policy_job_visible(&ctx->principal), status ? " AND j.status = :status" : "",
               department ? " AND j.department = :department" : "");
  if (n < 0 || (size_t)n >= sizeof sql) return TD_EINTERNAL;
  td__stmt_t *st = td__db_prepare(ctx->db, sql);
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int_named(st, ":after", after);
  td__stmt_bind_int_named(st, ":limit", limit + 1);
  if (status) td__stmt_bind_text_named(st, ":status", status);
  if (department) td__stmt_bind_text_named(st, ":department", department);
  td__policy_bind(st, &ctx->principal);
  int rc;
  *count = 0;
  while ((rc = td__stmt_step(st)) == 1 && *count <= limit) ids[(*count)++] = td__stmt_int(st, 0);
  td__stmt_finalize(st);
  return rc < 0 ? rc : 0;
}

int td__job_list(td__ctx_t *ctx, const char *status, const char *department, int limit, int64_t after,
                 json_t **items, int64_t *next_rowid) {
  *items = NULL;
  *next_rowid = 0;
  if (!td__policy_can(&ctx->principal, TD_RES_JOB, TD_ACT_READ)) return td__fail_forbidden(ctx);
  if (limit < 1 || limit > LIST_MAX) limit = LIST_MAX;
  int64_t ids[LIST_MAX + 1];
  int count = 0;
  int rc = list_rowids(ctx, status, department, limit, after, ids, &count);
  if (rc) return td__fail_internal(ctx, rc);
  json_t *list = json_array();
  for (int i = 0; i < count && i < limit; i++) {
    json_t *job = td__job_json(ctx, ids[i], NULL);
    if (job == NULL) {
      json_decref(list);
      return td__fail_internal(ctx, TD_EIO);
    }
    json_array_append_new(list, job);
  }
  if (count > limit) *next_rowid = ids[limit - 1];
  *items = list;
  return 0;
}
