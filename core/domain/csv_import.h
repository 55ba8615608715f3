/* Importing candidates from CSV, shared by `talentd import candidates` and POST
 * /api/v1/imports. Two steps, so the slow and the transactional parts stay apart:
 *
 *   plan   read the file and map its columns to candidate fields, building one
 *          CandidateCreate body per row (or a rejection with its line number); reads the
 *          custom field definitions but writes nothing (an API call does this on a pool
 *          thread).
 *   apply  create each planned row through td__candidate_create with duplicate merging,
 *          each in its own savepoint: a row whose email belongs to a candidate (already
 *          stored, or created by an earlier row of the same file) is merged into it, which
 *          adds missing fields, emails, phones, links and tags; a refused row is rolled
 *          back alone and reported with the reason.
 *
 * Columns are recognised by name (case, spaces and punctuation ignored): first name /
 * given name, last name / surname, name / full name (split at the last space), email /
 * e-mail / emails, phone / mobile, location / city, source, tags, linkedin / url / links /
 * website, resume_text, owner_id, custom_fields (a JSON object, as the export writes it),
 * and the key or label of any candidate custom field. A mapping {"Header": "field"}
 * overrides that; "field" is one of the names above in their API spelling,
 * "custom_fields.KEY", or "" to ignore the column. Lists (emails, phones, links, tags)
 * are separated by ';' (emails also by ','). A cell the export protected against formula
 * injection ('=..., '+..., '-..., '@...) loses its leading quote. */
#ifndef TD_DOMAIN_CSV_IMPORT_H
#define TD_DOMAIN_CSV_IMPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "domain/context.h"
#include "util/id.h"

typedef struct td__import_row {
  size_t line;  /* 1-based line of the file where the row starts */
  json_t *body; /* the CandidateCreate body (owned), or NULL when rejected */
  char *reason; /* why the row was rejected (owned), or NULL */
} td__import_row_t;

typedef struct td__import_plan {
  td__import_row_t *rows;
  size_t count, cap;
  json_t *columns; /* [{"column": header, "field": field-or-null}] (owned) */
} td__import_plan_t;

typedef struct td__import_summary {
  int64_t created, merged, rejected;
  json_t *rows; /* [{"line", "status", "candidate_id" | "reason"}] (owned) */
} td__import_summary_t;

/* Adds one "HEADER:FIELD" (split at the last ':'; FIELD may be empty to ignore the column)
 * to mapping. Returns 0, or TD_EINVAL when there is no header part. */
int td__import_mapping_add(json_t *mapping, const char *item);

/* Reads csv[0..len) (borrowed) with mapping (borrowed JSON object header -> field, or
 * NULL) into *plan. The delimiter is ',' unless the header line has more ';' or tabs.
 * openapi (borrowed, may be NULL) is the API document: each row's body is checked against
 * its CandidateCreate schema. At most max_rows data rows. A file-level refusal (no header
 * row, a mapping naming an unknown column or field, no column for first names, too many
 * rows) is a 422 on ctx. Always call td__import_plan_free. */
int td__import_plan(td__ctx_t *ctx, const char *csv, size_t len, const json_t *mapping, const json_t *openapi,
                    size_t max_rows, td__import_plan_t *plan);
void td__import_plan_free(td__import_plan_t *plan);

/* Applies rows [from, to) of plan inside the caller's transaction, adding their outcomes
 * to *summary (zero it before the first call; td__import_summary_free after). Returns 0,
 * or a storage error that should abort the whole transaction. */
int td__import_apply(td__ctx_t *ctx, const td__import_plan_t *plan, size_t from, size_t to,
                     td__import_summary_t *summary);
void td__import_summary_free(td__import_summary_t *summary);

/* Stores the summary (and plan->columns) as an imports row and emits import.completed.
 * *out is the import's JSON (new reference). */
int td__import_record(td__ctx_t *ctx, const td__import_plan_t *plan, const td__import_summary_t *summary,
                      json_t **out);

/* The stored import with public id id: {id, status, created, merged, rejected, columns,
 * rows, created_by, created_at}. Needs TD_RES_IMPORT read. */
int td__import_get(td__ctx_t *ctx, const char *id, json_t **out);
/* One page of imports (without their rows), oldest first, after rowid `after`. */
int td__import_list(td__ctx_t *ctx, int limit, int64_t after, json_t **items, int64_t *next_rowid);

#endif
