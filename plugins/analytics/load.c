/* Loading pipelines and transition logs for the analytics tables (see load.h). */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "load.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The filters every query shares, bound as ?1..?6. */
#define FILTERS                                                                                       \
  "(?1 IS NULL OR j.id = ?1) AND (?2 IS NULL OR j.department = ?2) AND (?3 IS NULL OR a.source = ?3)" \
  " AND (?4 IS NULL OR a.credited_to = ?4) AND (?5 IS NULL OR a.applied_at >= ?5)"                    \
  " AND (?6 IS NULL OR a.applied_at < ?6)"

typedef struct loader {
  const td_host_api_t *api;
  an_data_t *d;
  int64_t *stage_rowids; /* job mode: the pipeline's stage rowids, by index */
  int by_type;
  int64_t cur_app_rowid;
  int64_t *app_rowids;
  int64_t *type_of_rowid_keys; /* per-type mode: stage rowid -> type */
  int *type_of_rowid_vals;
  size_t type_count, type_cap;
} loader_t;

static char *keep(an_data_t *d, const char *s) {
  if (s == NULL) return NULL;
  if (d->string_count == d->string_cap) {
    d->string_cap = d->string_cap ? d->string_cap * 2 : 64;
    d->strings = realloc(d->strings, d->string_cap * sizeof *d->strings);
  }
  return d->strings[d->string_count++] = strdup(s);
}

static json_t *params(const an_query_t *q) {
  json_t *p = json_pack("[s?,s?,s?,s?]", q->job_id, q->department, q->source, q->recruiter_id);
  json_array_append_new(p, q->has_from ? json_integer(q->from_ms) : json_null());
  json_array_append_new(p, q->has_to ? json_integer(q->to_ms) : json_null());
  return p;
}

static int add_stage(loader_t *l, int64_t rowid, const char *id, const char *name, const char *type) {
  an_data_t *d = l->d;
  size_t i = d->stage_count++;
  d->stages = realloc(d->stages, d->stage_count * sizeof *d->stages);
  d->stage_ids = realloc(d->stage_ids, d->stage_count * sizeof *d->stage_ids);
  d->stage_names = realloc(d->stage_names, d->stage_count * sizeof *d->stage_names);
  l->stage_rowids = realloc(l->stage_rowids, d->stage_count * sizeof *l->stage_rowids);
  an_stage_type_t t;
  if (an_stage_type_parse(type, &t) != 0) return TD_EINVAL;
  d->stages[i] = (an_stage_t){rowid, t, (int)i};
  snprintf(d->stage_ids[i], sizeof d->stage_ids[i], "%s", id ? id : "");
  snprintf(d->stage_names[i], sizeof d->stage_names[i], "%s", name ? name : type);
  l->stage_rowids[i] = rowid;
  return 0;
}

static int on_stage(const json_t *row, void *data) {
  return add_stage(
      data, json_integer_value(json_object_get(row, "rowid")), json_string_value(json_object_get(row, "id")),
      json_string_value(json_object_get(row, "name")), json_string_value(json_object_get(row, "type")));
}

/* Per-type mode: every stage rowid of the jobs in scope, mapped to its type's index. */
static int on_type_of(const json_t *row, void *data) {
  loader_t *l = data;
  an_stage_type_t t;
  if (an_stage_type_parse(json_string_value(json_object_get(row, "type")), &t) != 0) return TD_EINVAL;
  if (l->type_count == l->type_cap) {
    l->type_cap = l->type_cap ? l->type_cap * 2 : 256;
    l->type_of_rowid_keys = realloc(l->type_of_rowid_keys, l->type_cap * sizeof *l->type_of_rowid_keys);
    l->type_of_rowid_vals = realloc(l->type_of_rowid_vals, l->type_cap * sizeof *l->type_of_rowid_vals);
  }
  l->type_of_rowid_keys[l->type_count] = json_integer_value(json_object_get(row, "rowid"));
  l->type_of_rowid_vals[l->type_count++] = (int)t;
  return 0;
}

/* The pipeline's stage id for a stage rowid of the log (-1 for none). */
static int64_t map_stage(const loader_t *l, const json_t *v) {
  if (!json_is_integer(v)) return -1;
  int64_t rowid = json_integer_value(v);
  if (!l->by_type) return rowid;
  for (size_t i = 0; i < l->type_count; i++)
    if (l->type_of_rowid_keys[i] == rowid) return l->type_of_rowid_vals[i];
  return -2; /* not a stage of the jobs in scope: the log is refused by an_compute */
}

static an_status_t status_of(const char *s) {
  if (s && strcmp(s, "rejected") == 0) return AN_STATUS_REJECTED;
  if (s && strcmp(s, "withdrawn") == 0) return AN_STATUS_WITHDRAWN;
  if (s && strcmp(s, "hired") == 0) return AN_STATUS_HIRED;
  return AN_ACTIVE;
}

static int on_transition(const json_t *row, void *data) {
  loader_t *l = data;
  an_data_t *d = l->d;
  int64_t app = json_integer_value(json_object_get(row, "app_rowid"));
  if (d->app_count == 0 || app != l->cur_app_rowid) {
    if (d->app_count == d->app_cap) {
      d->app_cap = d->app_cap ? d->app_cap * 2 : 256;
      d->apps = realloc(d->apps, d->app_cap * sizeof *d->apps);
      d->first = realloc(d->first, d->app_cap * sizeof *d->first);
    }
    d->first[d->app_count] = d->transition_count;
    d->apps[d->app_count++] =
        (an_application_t){NULL, 0, status_of(json_string_value(json_object_get(row, "status"))),
                           keep(d, json_string_value(json_object_get(row, "source"))),
                           json_integer_value(json_object_get(row, "applied_at"))};
    l->cur_app_rowid = app;
  }
  an_transition_kind_t kind;
  if (an_transition_kind_parse(json_string_value(json_object_get(row, "kind")), &kind) != 0) return TD_EINVAL;
  if (d->transition_count == d->transition_cap) {
    d->transition_cap = d->transition_cap ? d->transition_cap * 2 : 1024;
    d->transitions = realloc(d->transitions, d->transition_cap * sizeof *d->transitions);
  }
  d->transitions[d->transition_count++] = (an_transition_t){
      kind, map_stage(l, json_object_get(row, "from_stage")), map_stage(l, json_object_get(row, "to_stage")),
      json_integer_value(json_object_get(row, "at")),
      keep(d, json_string_value(json_object_get(row, "reason")))};
  d->apps[d->app_count - 1].count++;
  return 0;
}

int an_load(const td_host_api_t *api, td_tx_t *tx, const an_query_t *q, an_data_t *out) {
  memset(out, 0, sizeof *out);
  loader_t l = {.api = api, .d = out, .by_type = q->job_id == NULL};
  json_t *p = params(q);
  int rc;
  if (!l.by_type) {
    json_t *jp = json_pack("[s]", q->job_id);
    rc = api->query_each(tx,
                         "SELECT s.rowid AS rowid, s.id AS id, s.name AS name, s.type AS type FROM stages s"
                         " JOIN jobs j ON j.rowid = s.job_rowid WHERE j.id = ?1"
                         " ORDER BY s.position, s.rowid", /* deleted stages too: the log names them */
                         jp, on_stage, &l);
    json_decref(jp);
    if (rc == 0 && out->stage_count == 0) out->job_missing = 1;
  } else {
    static const char *const types[] = {"lead", "applied", "screen", "interview", "offer", "hired"};
    rc = 0;
    for (int i = 0; rc == 0 && i < 6; i++) rc = add_stage(&l, i, NULL, types[i], types[i]);
    json_t *tp = json_pack("[n,s?]", q->department);
    if (rc == 0)
      rc = api->query_each(
          tx,
          "SELECT s.rowid AS rowid, s.type AS type FROM stages s JOIN jobs j ON j.rowid = s.job_rowid"
          " WHERE (?1 IS NULL OR j.id = ?1) AND (?2 IS NULL OR j.department = ?2)",
          tp, on_type_of, &l);
    json_decref(tp);
  }
  if (rc == 0 && !out->job_missing)
    rc = api->query_each(tx,
                         "SELECT t.application_rowid AS app_rowid, a.status AS status, a.source AS source,"
                         " a.applied_at AS applied_at, t.kind AS kind, t.from_stage_rowid AS from_stage,"
                         " t.to_stage_rowid AS to_stage, t.at AS at, t.reason AS reason"
                         " FROM stage_transitions t JOIN applications a ON a.rowid = t.application_rowid"
                         " JOIN jobs j ON j.rowid = a.job_rowid WHERE " FILTERS
                         " ORDER BY t.application_rowid, t.rowid",
                         p, on_transition, &l);
  json_decref(p);
  for (size_t i = 0; i < out->app_count; i++) out->apps[i].transitions = out->transitions + out->first[i];
  free(l.stage_rowids);
  free(l.type_of_rowid_keys);
  free(l.type_of_rowid_vals);
  return rc;
}

void an_data_free(an_data_t *d) {
  free(d->stages);
  free(d->stage_ids);
  free(d->stage_names);
  free(d->apps);
  free(d->transitions);
  free(d->first);
  for (size_t i = 0; i < d->string_count; i++) free(d->strings[i]);
  free(d->strings);
  memset(d, 0, sizeof *d);
}
