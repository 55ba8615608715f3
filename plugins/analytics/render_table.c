/* Flattening a report's JSON into the table CSV and XLSX write: which rows and ordered columns
 * each report kind gives (README.md, "Output formats", documents them). Tolerant by design: a member that is
 * missing or of an unexpected type becomes an empty cell, never an error, so the renderers keep
 * working while the reports evolve. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE /* strdup */
#endif
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

#define MAX_EXTRA_TYPES 32 /* by-type keys beyond the six known ones that become columns */

/* A column: name and where its value lives in a row object. A path ending in ".*" expands to
 * one column per stage type, named name + type ("active_" + "screen"). A path starting with
 * '^' is looked up in the report itself instead of the row (plan's quarter). */
typedef struct col_spec {
  const char *name;
  const char *path;
} col_spec_t;

static const col_spec_t conversion_cols[] = {{"stage_id", "stage_id"},
                                             {"name", "name"},
                                             {"type", "type"},
                                             {"position", "position"},
                                             {"reached", "reached"},
                                             {"conversion", "conversion"},
                                             {NULL, NULL}};
static const col_spec_t time_cols[] = {{"stage_id", "stage_id"},
                                       {"name", "name"},
                                       {"type", "type"},
                                       {"count", "count"},
                                       {"median_seconds", "median_seconds"},
                                       {"p75_seconds", "p75_seconds"},
                                       {"p90_seconds", "p90_seconds"},
                                       {"open", "open"},
                                       {NULL, NULL}};
static const col_spec_t dropoff_cols[] = {{"stage_id", "stage_id"},
                                          {"name", "name"},
                                          {"type", "type"},
                                          {"position", "position"},
                                          {"rejected", "rejected"},
                                          {"withdrawn", "withdrawn"},
                                          {"reason", "#reason"},
                                          {"reason_rejected", "#rejected"},
                                          {"reason_withdrawn", "#withdrawn"},
                                          {"reason_total", "#total"},
                                          {NULL, NULL}};
static const col_spec_t sources_cols[] = {{"source", "source"},
                                          {"applications", "applications"},
                                          {"reached_", "reached.*"},
                                          {"hires", "hires"},
                                          {"conversion_to_hire", "conversion_to_hire"},
                                          {"credit_first_touch", "credit.first_touch"},
                                          {"credit_last_touch", "credit.last_touch"},
                                          {"credit_linear", "credit.linear"},
                                          {NULL, NULL}};
static const col_spec_t plan_cols[] = {{"quarter", "^quarter"},
                                       {"job_id", "job_id"},
                                       {"title", "title"},
                                       {"department", "department"},
                                       {"openings_left", "openings_left"},
                                       {"target_dates", "target_dates"},
                                       {"active_", "active_by_stage_type.*"},
                                       {"expected_hires", "expected_hires"},
                                       {"coverage", "coverage"},
                                       {"required_weekly_applicants", "required_weekly_applicants"},
                                       {NULL, NULL}};
static const col_spec_t forecast_cols[] = {{"job_id", "job_id"},
                                           {"openings_left", "openings_left"},
                                           {"target_date", "target_date"},
                                           {"p_filled_by_target", "p_filled_by_target"},
                                           {"fill_date_p10", "fill_date.p10"},
                                           {"fill_date_p50", "fill_date.p50"},
                                           {"fill_date_p90", "fill_date.p90"},
                                           {"required_weekly_applicants", "required_weekly_applicants"},
                                           {"simulations", "simulations"},
                                           {"seed", "seed"},
                                           {NULL, NULL}};
static const col_spec_t velocity_cols[] = {{"week_start", "week_start"},
                                           {"type", "#type"},
                                           {"entries", "#entries"},
                                           {"intervals", "#intervals"},
                                           {"median_seconds", "#median_seconds"},
                                           {NULL, NULL}};

/* Follows a dot-separated path of object members; NULL when any step is missing. */
static const json_t *lookup(const json_t *obj, const char *path) {
  char key[64];
  while (obj && *path) {
    const char *dot = strchr(path, '.');
    size_t n = dot ? (size_t)(dot - path) : strlen(path);
    if (n >= sizeof key || !json_is_object(obj)) return NULL;
    memcpy(key, path, n);
    key[n] = '\0';
    obj = json_object_get(obj, key);
    path += n + (dot ? 1 : 0);
  }
  return obj;
}

static int add_column(an_table_t *t, const char *name, int owned) {
  const char **c = realloc(t->columns, (t->column_count + 1) * sizeof *c);
  if (!c) return AN_ENOMEM;
  t->columns = c;
  unsigned char *o = realloc(t->column_owned, t->column_count + 1);
  if (!o) return AN_ENOMEM;
  t->column_owned = o;
  char *copy = NULL;
  if (owned && !(copy = strdup(name))) return AN_ENOMEM;
  t->columns[t->column_count] = owned ? copy : name;
  t->column_owned[t->column_count++] = (unsigned char)owned;
  return 0;
}

/* The stage-type keys of a by-type member over all rows: the six known ones, then others in
 * the order first seen (at most MAX_EXTRA_TYPES). */
typedef struct type_set {
  const char *names[6 + MAX_EXTRA_TYPES];
  size_t count;
} type_set_t;

static void types_add(type_set_t *s, const char *name) {
  for (size_t i = 0; i < s->count; i++)
    if (strcmp(s->names[i], name) == 0) return;
  if (s->count < sizeof s->names / sizeof s->names[0]) s->names[s->count++] = name;
}

static void types_collect(type_set_t *s, const json_t *rows, const char *member) {
  s->count = 0;
  for (size_t i = 0; i < 6; i++) types_add(s, an_stage_types[i]);
  size_t i;
  const json_t *row;
  json_array_foreach(rows, i, row) {
    const char *key;
    const json_t *v;
    json_object_foreach((json_t *)lookup(row, member), key, v) types_add(s, key);
  }
}

/* Adds the columns of specs; a ".*" spec expands over types (collected from rows). */
static int add_columns(an_table_t *t, const col_spec_t *specs, const json_t *rows, type_set_t *types) {
  for (const col_spec_t *c = specs; c->name; c++) {
    size_t plen = strlen(c->path);
    if (plen < 2 || strcmp(c->path + plen - 2, ".*") != 0) {
      if (add_column(t, c->name, 0) != 0) return AN_ENOMEM;
      continue;
    }
    char member[64];
    snprintf(member, sizeof member, "%.*s", (int)(plen - 2), c->path);
    types_collect(types, rows, member);
    for (size_t i = 0; i < types->count; i++) {
      char name[128];
      snprintf(name, sizeof name, "%s%s", c->name, types->names[i]);
      if (add_column(t, name, 1) != 0) return AN_ENOMEM;
    }
  }
  return 0;
}

/* Appends an empty row; returns its index through *row. */
static int new_row(an_table_t *t, size_t *row) {
  if (t->row_count >= AN_RENDER_MAX_ROWS) return AN_ELIMIT;
  if (t->row_count == t->row_cap) {
    size_t cap = t->row_cap ? t->row_cap * 2 : 16;
    if (cap > AN_RENDER_MAX_ROWS) cap = AN_RENDER_MAX_ROWS;
    an_cell_t *c = realloc(t->cells, cap * t->column_count * sizeof *c);
    if (!c && cap * t->column_count > 0) return AN_ENOMEM;
    t->cells = c;
    t->row_cap = cap;
  }
  memset(&t->cells[t->row_count * t->column_count], 0, t->column_count * sizeof *t->cells);
  *row = t->row_count++;
  return 0;
}

/* Joins an array's scalar elements with "; " (target_dates). */
static char *join_array(const json_t *a) {
  an_buf_t b = {0};
  an_buf_puts(&b, "");
  size_t i;
  const json_t *v;
  json_array_foreach(a, i, v) {
    if (b.len) an_buf_puts(&b, "; ");
    if (json_is_string(v))
      an_buf_puts(&b, json_string_value(v));
    else if (json_is_number(v))
      an_buf_number(&b, json_number_value(v));
  }
  if (b.failed) an_buf_free(&b);
  return b.data;
}

/* Sets a cell from a JSON value: strings stay text, numbers numbers, booleans "true"/"false",
 * arrays are joined; null, objects and NULL leave the cell empty. */
static int set_cell(an_table_t *t, size_t row, size_t col, const json_t *v) {
  an_cell_t *c = &t->cells[row * t->column_count + col];
  const char *text = NULL;
  char *joined = NULL;
  if (json_is_number(v) && isfinite(json_number_value(v))) {
    c->kind = AN_CELL_NUMBER;
    c->number = json_number_value(v);
    return 0;
  }
  if (json_is_string(v))
    text = json_string_value(v);
  else if (json_is_boolean(v))
    text = json_is_true(v) ? "true" : "false";
  else if (json_is_array(v) && !(joined = join_array(v)))
    return AN_ENOMEM;
  if (!text && !joined) return 0;
  c->text = joined ? joined : strdup(text);
  if (!c->text) return AN_ENOMEM;
  c->kind = AN_CELL_TEXT;
  return 0;
}

/* Fills one row's columns from row (and report for '^' paths). Columns whose path starts
 * with '#' are filled by the caller from sub (the reason or the type). */
static int fill_row(an_table_t *t, size_t r, const col_spec_t *specs, const json_t *report, const json_t *row,
                    const type_set_t *types, const json_t *sub) {
  size_t col = 0;
  for (const col_spec_t *c = specs; c->name; c++) {
    size_t plen = strlen(c->path);
    int rc = 0;
    if (plen >= 2 && strcmp(c->path + plen - 2, ".*") == 0) {
      char member[64];
      snprintf(member, sizeof member, "%.*s", (int)(plen - 2), c->path);
      const json_t *by_type = lookup(row, member);
      for (size_t i = 0; i < types->count && rc == 0; i++)
        rc =
            set_cell(t, r, col++, json_is_object(by_type) ? json_object_get(by_type, types->names[i]) : NULL);
    } else if (c->path[0] == '^') {
      rc = set_cell(t, r, col++, lookup(report, c->path + 1));
    } else if (c->path[0] == '#') {
      rc = set_cell(t, r, col++, sub ? lookup(sub, c->path + 1) : NULL);
    } else {
      rc = set_cell(t, r, col++, lookup(row, c->path));
    }
    if (rc != 0) return rc;
  }
  return 0;
}

/* One row per element of rows (non-objects still give a row, of empty cells), or per reason
 * for drop-off (a stage without reasons gives one row with empty reason columns). */
static int rows_plain(an_table_t *t, const col_spec_t *specs, const json_t *report, const json_t *rows,
                      const type_set_t *types, int per_reason) {
  size_t i;
  const json_t *row;
  json_array_foreach(rows, i, row) {
    const json_t *reasons = per_reason ? json_object_get(row, "reasons") : NULL;
    size_t n = json_is_array(reasons) ? json_array_size(reasons) : 0, r;
    for (size_t k = 0; k < (n ? n : 1); k++) {
      int rc = new_row(t, &r);
      if (rc == 0) rc = fill_row(t, r, specs, report, row, types, n ? json_array_get(reasons, k) : NULL);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

/* Velocity, flattened: one row per week and stage type present in any of its by-type members
 * (entries, intervals, median_seconds), known types first. */
static int rows_velocity(an_table_t *t, const json_t *weeks) {
  static const char *const members[] = {"entries", "intervals", "median_seconds"};
  size_t i;
  const json_t *week;
  json_array_foreach(weeks, i, week) {
    type_set_t types = {.count = 0};
    const json_t *by[3];
    for (size_t k = 0; k < 6; k++) types_add(&types, an_stage_types[k]);
    for (size_t m = 0; m < 3; m++) {
      const char *key;
      const json_t *v;
      by[m] = lookup(week, members[m]);
      json_object_foreach((json_t *)by[m], key, v) types_add(&types, key);
    }
    for (size_t k = 0; k < types.count; k++) {
      const json_t *cells[3];
      for (size_t m = 0; m < 3; m++)
        cells[m] = json_is_object(by[m]) ? json_object_get(by[m], types.names[k]) : NULL;
      if (!cells[0] && !cells[1] && !cells[2]) continue;
      size_t r;
      int rc = new_row(t, &r);
      if (rc == 0) rc = set_cell(t, r, 0, lookup(week, "week_start"));
      json_t *name = json_string(types.names[k]);
      if (rc == 0) rc = name ? set_cell(t, r, 1, name) : AN_ENOMEM;
      json_decref(name);
      for (size_t m = 0; m < 3 && rc == 0; m++) rc = set_cell(t, r, 2 + m, cells[m]);
      if (rc != 0) return rc;
    }
  }
  return 0;
}

int an_table_build(an_report_kind_t kind, const json_t *report, an_table_t *t) {
  static const struct {
    const col_spec_t *cols;
    const char *rows; /* member holding the rows; NULL: the report is the one row */
  } kinds[] = {
      [AN_REPORT_CONVERSION] = {conversion_cols, "stages"},
      [AN_REPORT_TIME_IN_STAGE] = {time_cols, "stages"},
      [AN_REPORT_DROP_OFF] = {dropoff_cols, "stages"},
      [AN_REPORT_SOURCES] = {sources_cols, "sources"},
      [AN_REPORT_PLAN] = {plan_cols, "jobs"},
      [AN_REPORT_FORECAST] = {forecast_cols, NULL},
      [AN_REPORT_VELOCITY] = {velocity_cols, "weeks"},
  };
  memset(t, 0, sizeof *t);
  if ((unsigned)kind >= sizeof kinds / sizeof kinds[0]) return AN_EINVAL;
  const json_t *rows = kinds[kind].rows ? json_object_get(report, kinds[kind].rows) : NULL;
  if (!json_is_array(rows)) rows = NULL;
  type_set_t types = {.count = 0};
  int rc = add_columns(t, kinds[kind].cols, rows, &types);
  if (rc != 0) return rc;
  if (kind == AN_REPORT_FORECAST) {
    size_t r;
    if (!json_is_object(report)) return 0;
    rc = new_row(t, &r);
    return rc ? rc : fill_row(t, r, forecast_cols, report, report, &types, NULL);
  }
  if (!rows) return 0;
  if (kind == AN_REPORT_VELOCITY) return rows_velocity(t, rows);
  return rows_plain(t, kinds[kind].cols, report, rows, &types, kind == AN_REPORT_DROP_OFF);
}

void an_table_free(an_table_t *t) {
  for (size_t i = 0; i < t->row_count * t->column_count; i++)
    if (t->cells[i].kind == AN_CELL_TEXT) free(t->cells[i].text);
  for (size_t i = 0; i < t->column_count; i++)
    if (t->column_owned[i]) free((char *)t->columns[i]);
  free(t->cells);
  free(t->columns);
  free(t->column_owned);
  memset(t, 0, sizeof *t);
}
