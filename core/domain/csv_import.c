/* CSV import of candidates: column mapping, row bodies, applying rows through the
 * candidates domain, and the stored summary (see csv_import.h). */
#include "domain/csv_import.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/candidates.h"
#include "domain/custom_fields.h"
#include "domain/events.h"
#include "domain/row_json.h"
#include "talentd/types.h"
#include "util/csv.h"
#include "util/json_schema.h"
#include "util/mem.h"
#include "util/time.h"

/* ---------- columns ---------- */

typedef enum field_kind {
  F_IGNORE,
  F_FIRST,
  F_LAST,
  F_NAME,
  F_EMAILS,
  F_PHONES,
  F_LINKS,
  F_LOCATION,
  F_SOURCE,
  F_TAGS,
  F_RESUME,
  F_OWNER,
  F_CUSTOM_JSON,
  F_CUSTOM
} field_kind_t;

typedef struct column {
  field_kind_t kind;
  char key[64];  /* F_CUSTOM: the custom field key */
  char type[16]; /* F_CUSTOM: its type */
} column_t;

/* Field names as a mapping spells them (the API's names, plus "name"). */
static const struct {
  const char *name;
  field_kind_t kind;
} FIELD_NAMES[] = {
    {"first_name", F_FIRST},   {"last_name", F_LAST}, {"name", F_NAME},
    {"emails", F_EMAILS},      {"phones", F_PHONES},  {"links", F_LINKS},
    {"location", F_LOCATION},  {"source", F_SOURCE},  {"tags", F_TAGS},
    {"resume_text", F_RESUME}, {"owner_id", F_OWNER}, {"custom_fields", F_CUSTOM_JSON},
};

/* Header names people use, reduced to lower-case letters and digits. */
static const struct {
  const char *name;
  field_kind_t kind;
} ALIASES[] = {
    {"firstname", F_FIRST},
    {"first", F_FIRST},
    {"givenname", F_FIRST},
    {"forename", F_FIRST},
    {"lastname", F_LAST},
    {"last", F_LAST},
    {"surname", F_LAST},
    {"familyname", F_LAST},
    {"name", F_NAME},
    {"fullname", F_NAME},
    {"candidatename", F_NAME},
    {"email", F_EMAILS},
    {"emails", F_EMAILS},
    {"emailaddress", F_EMAILS},
    {"emailaddresses", F_EMAILS},
    {"mail", F_EMAILS},
    {"phone", F_PHONES},
    {"phones", F_PHONES},
    {"phonenumber", F_PHONES},
    {"mobile", F_PHONES},
    {"mobilephone", F_PHONES},
    {"telephone", F_PHONES},
    {"tel", F_PHONES},
    {"cell", F_PHONES},
    {"linkedin", F_LINKS},
    {"linkedinurl", F_LINKS},
    {"linkedinprofile", F_LINKS},
    {"url", F_LINKS},
    {"urls", F_LINKS},
    {"link", F_LINKS},
    {"links", F_LINKS},
    {"website", F_LINKS},
    {"github", F_LINKS},
    {"portfolio", F_LINKS},
    {"location", F_LOCATION},
    {"city", F_LOCATION},
    {"source", F_SOURCE},
    {"tags", F_TAGS},
    {"tag", F_TAGS},
    {"labels", F_TAGS},
    {"resumetext", F_RESUME},
    {"resume", F_RESUME},
    {"ownerid", F_OWNER},
    {"customfields", F_CUSTOM_JSON},
};

static const char *kind_name(field_kind_t kind) {
  for (size_t i = 0; i < sizeof FIELD_NAMES / sizeof FIELD_NAMES[0]; i++)
    if (FIELD_NAMES[i].kind == kind) return FIELD_NAMES[i].name;
  return NULL;
}

/* Lower-case ASCII letters and digits of s, into out. */
static void squash(const char *s, char *out, size_t size) {
  size_t n = 0;
  for (; *s && n + 1 < size; s++) {
    char c = *s;
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out[n++] = c;
  }
  out[n] = '\0';
}

static field_kind_t alias_kind(const char *squashed) {
  for (size_t i = 0; i < sizeof ALIASES / sizeof ALIASES[0]; i++)
    if (strcmp(ALIASES[i].name, squashed) == 0) return ALIASES[i].kind;
  return F_IGNORE;
}

/* Recognises a header by name: a known alias ("E-mail 2" counts as "email"), then a
 * candidate custom field's key or label. */
static void recognise(td__db_t *db, const char *header, column_t *col) {
  char s[128];
  squash(header, s, sizeof s);
  col->kind = alias_kind(s);
  if (col->kind != F_IGNORE || s[0] == '\0') return;
  size_t n = strlen(s);
  while (n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9') n--;
  char base[128];
  snprintf(base, sizeof base, "%.*s", (int)n, s);
  if (n > 0 && n < strlen(s) && (col->kind = alias_kind(base)) != F_IGNORE) return;
  col->kind = F_IGNORE;
  const char *h = strncmp(header, "custom_fields.", 14) == 0 ? header + 14 : header;
  td__stmt_t *st = td__db_stmt(db, "SELECT key, label, type FROM custom_fields WHERE entity = 'candidate'");
  if (st == NULL) return;
  char key[128], label[128];
  squash(h, s, sizeof s);
  while (td__stmt_step(st) == 1) {
    squash(td__stmt_text(st, 0), key, sizeof key);
    squash(td__stmt_text(st, 1) ? td__stmt_text(st, 1) : "", label, sizeof label);
    if (col->kind == F_IGNORE && (strcmp(s, key) == 0 || (label[0] && strcmp(s, label) == 0))) {
      col->kind = F_CUSTOM;
      snprintf(col->key, sizeof col->key, "%s", td__stmt_text(st, 0));
      snprintf(col->type, sizeof col->type, "%s", td__stmt_text(st, 2));
    }
  }
}

/* Applies an explicit mapping target to col. Returns a message when it is not valid. */
static const char *map_target(td__db_t *db, const json_t *target, column_t *col) {
  memset(col, 0, sizeof *col);
  if (json_is_null(target)) return NULL;
  const char *t = json_string_value(target);
  if (t == NULL) return "must be a field name (a string) or null";
  if (t[0] == '\0' || strcmp(t, "ignore") == 0) return NULL;
  for (size_t i = 0; i < sizeof FIELD_NAMES / sizeof FIELD_NAMES[0]; i++) {
    if (strcmp(FIELD_NAMES[i].name, t) == 0) {
      col->kind = FIELD_NAMES[i].kind;
      return NULL;
    }
  }
  if (strncmp(t, "custom_fields.", 14) == 0) {
    if (strlen(t + 14) >= sizeof col->key ||
        td__custom_field_type(db, "candidate", t + 14, col->type, NULL) != 0)
      return "names no candidate custom field; define it first with POST /api/v1/custom-fields";
    col->kind = F_CUSTOM;
    snprintf(col->key, sizeof col->key, "%s", t + 14);
    return NULL;
  }
  return "must be first_name, last_name, name, emails, phones, links, location, source, tags, resume_text, "
         "owner_id, custom_fields, custom_fields.KEY, or \"\" to ignore the column";
}

/* Fails the mapping entry for header with message (pointer /mapping/<header>). */
static void fail_mapping(td__ctx_t *ctx, const char *header, const char *message) {
  td__json_pointer_t p = {0};
  char *pointer = NULL;
  if (td__json_pointer_push_key(&p, "mapping", 7) == 0 &&
      td__json_pointer_push_key(&p, header, strlen(header)) == 0)
    pointer = td__xstrdup(td__json_pointer_str(&p));
  td__json_pointer_free(&p);
  td__fail_field(ctx, pointer ? pointer : "/mapping", message);
  free(pointer);
}

/* A copy of s without surrounding ASCII white space. */
static char *trimmed(const char *s) {
  while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n') s++;
  size_t n = strlen(s);
  while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n')) n--;
  return td__xstrndup(s, n);
}

static void describe_column(json_t *columns, const char *header, const column_t *col) {
  json_t *field = json_null();
  if (col->kind == F_CUSTOM) {
    char *name = td__xprintf("custom_fields.%s", col->key);
    field = json_string(name);
    free(name);
  } else if (col->kind != F_IGNORE) {
    field = json_string(kind_name(col->kind));
  }
  json_array_append_new(columns, json_pack("{s:s,s:o}", "column", header, "field", field));
}

/* Maps every header to a column: the explicit mapping first, recognition for the rest. */
static int map_columns(td__ctx_t *ctx, const td__csv_record_t *hdr, const json_t *mapping, column_t *cols,
                       json_t *columns) {
  const char *mk;
  json_t *mv;
  json_object_foreach((json_t *)mapping, mk, mv) {
    bool found = false;
    for (size_t i = 0; i < hdr->count && !found; i++) {
      char *h = trimmed(hdr->fields[i]);
      found = strcmp(h, mk) == 0;
      free(h);
    }
    if (!found) fail_mapping(ctx, mk, "is not a column of the file's header row");
  }
  bool has_first = false;
  for (size_t i = 0; i < hdr->count; i++) {
    char *h = trimmed(hdr->fields[i]);
    json_t *target = json_object_get(mapping, h);
    const char *why = target ? map_target(ctx->db, target, &cols[i]) : NULL;
    if (why) fail_mapping(ctx, h, why);
    if (target == NULL) recognise(ctx->db, h, &cols[i]);
    has_first = has_first || cols[i].kind == F_FIRST || cols[i].kind == F_NAME;
    describe_column(columns, h, &cols[i]);
    free(h);
  }
  if (ctx->problem) return TD_EINVAL;
  if (!has_first)
    return td__fail(ctx, 422, "No first names",
                    "no column of the file holds first names: name one \"first_name\", \"first name\" or "
                    "\"name\", or map one with the mapping option");
  return 0;
}

/* ---------- rows ---------- */

/* Appends the non-empty, trimmed pieces of value split at any of seps to list. */
static void append_split(json_t *list, const char *value, const char *seps) {
  const char *p = value;
  while (*p) {
    size_t n = strcspn(p, seps);
    char *piece = td__xstrndup(p, n);
    char *t = trimmed(piece);
    if (*t && json_array_size(list) < 100) json_array_append_new(list, json_string(t));
    free(t);
    free(piece);
    p += n;
    if (*p) p++;
  }
}

static json_t *list_of(json_t *body, const char *key) {
  json_t *list = json_object_get(body, key);
  if (list == NULL) {
    list = json_array();
    json_object_set_new(body, key, list);
  }
  return list;
}

/* A cell's value as the custom field's type expects it; left as text when it does not
 * parse, so the validator names the problem. */
static json_t *custom_value(const char *type, const char *v) {
  if (strcmp(type, "number") == 0) {
    char *end = NULL;
    double d = strtod(v, &end);
    if (end != v && *end == '\0' && isfinite(d)) {
      if (d == floor(d) && fabs(d) < 9e15) return json_integer((json_int_t)d);
      return json_real(d);
    }
  } else if (strcmp(type, "boolean") == 0) {
    char s[8];
    squash(v, s, sizeof s);
    if (!strcmp(s, "true") || !strcmp(s, "yes") || !strcmp(s, "y") || !strcmp(s, "1") || !strcmp(s, "x"))
      return json_true();
    if (!strcmp(s, "false") || !strcmp(s, "no") || !strcmp(s, "n") || !strcmp(s, "0")) return json_false();
  } else if (strcmp(type, "multi_select") == 0) {
    json_t *list = json_array();
    append_split(list, v, ";");
    return list;
  }
  return json_string(v);
}

static void set_once(json_t *body, const char *key, const char *value) {
  if (json_object_get(body, key) == NULL) json_object_set_new(body, key, json_string(value));
}

/* "Ana María López" -> first "Ana María", last "López". */
static void set_full_name(json_t *body, const char *v) {
  const char *space = strrchr(v, ' ');
  if (space == NULL) {
    set_once(body, "first_name", v);
    return;
  }
  char *raw = td__xstrndup(v, (size_t)(space - v));
  char *first = trimmed(raw);
  set_once(body, "first_name", first);
  set_once(body, "last_name", space + 1);
  free(first);
  free(raw);
}

/* Merges a custom_fields cell (a JSON object, as the export writes it) into body. */
static const char *add_custom_json(json_t *body, const char *v) {
  json_error_t jerr;
  json_t *obj = json_loads(v, JSON_REJECT_DUPLICATES, &jerr);
  if (!json_is_object(obj)) {
    json_decref(obj);
    return "the custom_fields column must hold a JSON object";
  }
  json_t *cf = json_object_get(body, "custom_fields");
  if (cf == NULL)
    json_object_set(body, "custom_fields", obj);
  else
    json_object_update_missing(cf, obj);
  json_decref(obj);
  return NULL;
}

/* Adds one non-empty cell to the row's body. Returns a reason when the cell is unusable. */
static const char *add_cell(json_t *body, const column_t *col, const char *v) {
  switch (col->kind) {
    case F_FIRST: set_once(body, "first_name", v); break;
    case F_LAST: set_once(body, "last_name", v); break;
    case F_NAME: set_full_name(body, v); break;
    case F_EMAILS: append_split(list_of(body, "emails"), v, ";,"); break;
    case F_PHONES: append_split(list_of(body, "phones"), v, ";"); break;
    case F_LINKS: append_split(list_of(body, "links"), v, "; "); break;
    case F_TAGS: append_split(list_of(body, "tags"), v, ";"); break;
    case F_LOCATION: set_once(body, "location", v); break;
    case F_SOURCE: set_once(body, "source", v); break;
    case F_RESUME: set_once(body, "resume_text", v); break;
    case F_OWNER: set_once(body, "owner_id", v); break;
    case F_CUSTOM_JSON: return add_custom_json(body, v);
    case F_CUSTOM: {
      json_t *cf = json_object_get(body, "custom_fields");
      if (cf == NULL) {
        cf = json_object();
        json_object_set_new(body, "custom_fields", cf);
      }
      json_object_set_new(cf, col->key, custom_value(col->type, v));
      break;
    }
    case F_IGNORE: break;
  }
  return NULL;
}

/* The cell's text: trimmed, and without the quote the export puts before a cell that a
 * spreadsheet would run as a formula. */
static char *cell_text(const char *raw) {
  char *t = trimmed(raw);
  if (t[0] == '\'' && t[1] && strchr("=+-@\t\r", t[1])) memmove(t, t + 1, strlen(t));
  return t;
}

/* Builds the body of one record. Returns NULL with *reason NULL for a row with no values
 * at all (skipped: spreadsheets leave such rows at the end). */
static json_t *row_body(const column_t *cols, size_t ncols, const td__csv_record_t *rec, char **reason) {
  *reason = NULL;
  json_t *body = json_object();
  bool any = false;
  for (size_t i = 0; i < rec->count; i++) {
    char *v = cell_text(rec->fields[i]);
    if (*v && i >= ncols && *reason == NULL)
      *reason = td__xprintf("has more fields (%zu) than the header row (%zu)", rec->count, ncols);
    const char *why = *v && i < ncols ? add_cell(body, &cols[i], v) : NULL;
    if (why && *reason == NULL) *reason = td__xstrdup(why);
    any = any || *v;
    free(v);
  }
  if (*reason || !any) {
    json_decref(body);
    return NULL;
  }
  return body;
}

/* The column that fed the field a JSON pointer names ("/emails/1" -> "E-mail"), or NULL. */
static const char *column_of(const json_t *columns, const char *pointer) {
  char field[80];
  size_t n = strcspn(pointer + (pointer[0] == '/'), "/");
  snprintf(field, sizeof field, "%.*s", (int)n, pointer + (pointer[0] == '/'));
  if (strcmp(field, "custom_fields") == 0 && pointer[n + 1] == '/')
    snprintf(field, sizeof field, "custom_fields.%.60s", pointer + n + 2);
  bool name_part = strcmp(field, "first_name") == 0 || strcmp(field, "last_name") == 0;
  size_t i;
  json_t *c;
  json_array_foreach(columns, i, c) {
    const char *f = json_string_value(json_object_get(c, "field"));
    if (f && (strcmp(f, field) == 0 || (name_part && strcmp(f, "name") == 0)))
      return json_string_value(json_object_get(c, "column"));
  }
  return NULL;
}

/* "emails/1 (column \"E-mail\"): must be an email address" */
static char *field_reason(const json_t *columns, const char *pointer, const char *message) {
  const char *column = column_of(columns, pointer);
  const char *field = pointer[0] == '/' ? pointer + 1 : pointer;
  if (column) return td__xprintf("%s (column \"%s\"): %s", field, column, message);
  return td__xprintf("%s: %s", field[0] ? field : "row", message);
}

/* Checks a body against CandidateCreate; the first error becomes the reason. */
static char *schema_reason(const json_t *openapi, const json_t *columns, const json_t *body) {
  const json_t *schema =
      json_object_get(json_object_get(json_object_get(openapi, "components"), "schemas"), "CandidateCreate");
  if (schema == NULL) return NULL;
  td__schema_errors_t errors = {0};
  char *reason = NULL;
  if (td__schema_validate(openapi, schema, body, &errors, 1) == 1 && errors.count)
    reason = field_reason(columns, errors.items[0].pointer, errors.items[0].message);
  td__schema_errors_free(&errors);
  return reason;
}

/* ---------- plan ---------- */

/* The delimiter the header line uses most: ',' unless ';' or tabs are more frequent. */
static char sniff_delimiter(const char *csv, size_t len) {
  size_t commas = 0, semis = 0, tabs = 0;
  bool quoted = false;
  for (size_t i = 0; i < len; i++) {
    char c = csv[i];
    if (c == '"')
      quoted = !quoted;
    else if (quoted)
      continue;
    else if (c == '\n' || c == '\r')
      break;
    else if (c == ',')
      commas++;
    else if (c == ';')
      semis++;
    else if (c == '\t')
      tabs++;
  }
  if (semis > commas && semis >= tabs) return ';';
  if (tabs > commas && tabs > semis) return '\t';
  return ',';
}

static void plan_add(td__import_plan_t *plan, size_t line, json_t *body, char *reason) {
  if (plan->count == plan->cap) {
    plan->cap = plan->cap ? plan->cap * 2 : 64;
    plan->rows = td__xrealloc(plan->rows, plan->cap * sizeof *plan->rows);
  }
  plan->rows[plan->count++] = (td__import_row_t){.line = line, .body = body, .reason = reason};
}

/* Reads the header row and maps its columns. */
static int plan_header(td__ctx_t *ctx, td__csv_reader_t *r, const json_t *mapping, td__import_plan_t *plan,
                       column_t **cols, size_t *ncols) {
  td__csv_record_t rec;
  if (td__csv_next(r, &rec) != 1)
    return td__fail(ctx, 422, "Empty file",
                    "the file has no header row: its first line must name the columns");
  if (rec.error) {
    char detail[256];
    snprintf(detail, sizeof detail, "the header row is malformed: %s", rec.error);
    return td__fail(ctx, 422, "Malformed header row", detail);
  }
  *ncols = rec.count;
  *cols = td__xcalloc(rec.count, sizeof **cols);
  return map_columns(ctx, &rec, mapping, *cols, plan->columns);
}

int td__import_plan(td__ctx_t *ctx, const char *csv, size_t len, const json_t *mapping, const json_t *openapi,
                    size_t max_rows, td__import_plan_t *plan) {
  memset(plan, 0, sizeof *plan);
  plan->columns = json_array();
  if (!td__policy_can(&ctx->principal, TD_RES_IMPORT, TD_ACT_CREATE) ||
      !td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_CREATE))
    return td__fail_forbidden(ctx);
  td__csv_limits_t limits = {.delimiter = sniff_delimiter(csv, len)};
  td__csv_reader_t r;
  td__csv_init(&r, csv, len, &limits);
  column_t *cols = NULL;
  size_t ncols = 0;
  int rc = plan_header(ctx, &r, mapping, plan, &cols, &ncols);
  td__csv_record_t rec;
  while (rc == 0 && td__csv_next(&r, &rec) == 1) {
    char *reason = rec.error ? td__xstrdup(rec.error) : NULL;
    json_t *body = rec.error ? NULL : row_body(cols, ncols, &rec, &reason);
    if (body == NULL && reason == NULL) continue; /* an empty row */
    if (plan->count == max_rows) {
      json_decref(body);
      free(reason);
      char detail[160];
      snprintf(detail, sizeof detail, "the file has more than %zu rows; split it into smaller files",
               max_rows);
      rc = td__fail(ctx, 422, "Too many rows", detail);
      break;
    }
    if (body && openapi && (reason = schema_reason(openapi, plan->columns, body)) != NULL) {
      json_decref(body);
      body = NULL;
    }
    plan_add(plan, rec.line, body, reason);
  }
  free(cols);
  td__csv_free(&r);
  return rc;
}

void td__import_plan_free(td__import_plan_t *plan) {
  for (size_t i = 0; i < plan->count; i++) {
    json_decref(plan->rows[i].body);
    free(plan->rows[i].reason);
  }
  free(plan->rows);
  json_decref(plan->columns);
  memset(plan, 0, sizeof *plan);
}

/* ---------- apply ---------- */

static void add_result(td__import_summary_t *s, size_t line, const char *status, const char *key,
                       const char *value) {
  if (s->rows == NULL) s->rows = json_array();
  json_array_append_new(s->rows,
                        json_pack("{s:I,s:s,s:s}", "line", (json_int_t)line, "status", status, key, value));
}

/* The reason a refusal on ctx gives for a row: its first field error, else its detail. */
static char *refusal_reason(const td__ctx_t *ctx, const json_t *columns) {
  json_t *first = json_array_get(json_object_get(ctx->problem, "errors"), 0);
  const char *pointer = json_string_value(json_object_get(first, "pointer"));
  const char *message = json_string_value(json_object_get(first, "message"));
  if (pointer && message) return field_reason(columns, pointer, message);
  const char *detail = json_string_value(json_object_get(ctx->problem, "detail"));
  return td__xstrdup(detail ? detail : "refused");
}

/* Creates or merges one row in a savepoint of its own. */
static int apply_row(td__ctx_t *ctx, const td__import_plan_t *plan, const td__import_row_t *row,
                     td__import_summary_t *s) {
  if (td__db_savepoint(ctx->db, "import_row") != 0) return TD_EIO;
  json_t *out = NULL;
  bool created = false;
  int rc = td__candidate_create(ctx, row->body, true, &out, &created);
  if (rc == 0 && ctx->problem == NULL) {
    add_result(s, row->line, created ? "created" : "merged", "candidate_id",
               json_string_value(json_object_get(out, "id")));
    if (created)
      s->created++;
    else
      s->merged++;
    json_decref(out);
    return td__db_release(ctx->db, "import_row");
  }
  json_decref(out);
  int status = (int)json_integer_value(json_object_get(ctx->problem, "status"));
  if (td__db_rollback_to(ctx->db, "import_row") != 0) return TD_EIO;
  if (ctx->problem == NULL || status >= 500) return rc ? rc : TD_EIO; /* storage failed: abort it all */
  char *reason = refusal_reason(ctx, plan->columns);
  add_result(s, row->line, "rejected", "reason", reason);
  s->rejected++;
  free(reason);
  td__ctx_dispose(ctx);
  return 0;
}

int td__import_apply(td__ctx_t *ctx, const td__import_plan_t *plan, size_t from, size_t to,
                     td__import_summary_t *summary) {
  if (summary->rows == NULL) summary->rows = json_array();
  for (size_t i = from; i < to && i < plan->count; i++) {
    const td__import_row_t *row = &plan->rows[i];
    if (row->body == NULL) {
      add_result(summary, row->line, "rejected", "reason", row->reason ? row->reason : "unreadable row");
      summary->rejected++;
      continue;
    }
    int rc = apply_row(ctx, plan, row, summary);
    if (rc) return rc;
  }
  return 0;
}

void td__import_summary_free(td__import_summary_t *summary) {
  json_decref(summary->rows);
  memset(summary, 0, sizeof *summary);
}

/* ---------- the stored summary ---------- */

#define IMPORT_COLUMNS "rowid, id, status, created, merged, rejected, report, created_by, created_at"

/* An import row (IMPORT_COLUMNS) as JSON; with_rows adds the per-row outcomes. */
static json_t *import_json(td__stmt_t *st, bool with_rows) {
  char at[32];
  td__time_format(td__stmt_int(st, 8), at, sizeof at);
  json_t *out = json_pack("{s:s,s:s,s:I,s:I,s:I,s:o,s:s}", "id", td__stmt_text(st, 1), "status",
                          td__stmt_text(st, 2), "created", (json_int_t)td__stmt_int(st, 3), "merged",
                          (json_int_t)td__stmt_int(st, 4), "rejected", (json_int_t)td__stmt_int(st, 5),
                          "created_by", td__row_text(st, 7), "created_at", at);
  if (with_rows) {
    json_error_t jerr;
    json_t *report = json_loads(td__stmt_text(st, 6), 0, &jerr);
    json_t *columns = json_object_get(report, "columns");
    json_t *rows = json_object_get(report, "rows");
    json_object_set_new(out, "columns", columns ? json_incref(columns) : json_array());
    json_object_set_new(out, "rows", rows ? json_incref(rows) : json_array());
    json_decref(report);
  }
  return out;
}

static json_t *import_row_json(td__stmt_t *st) { return import_json(st, false); }

static int load_import(td__ctx_t *ctx, const char *id, json_t **out) {
  td__stmt_t *st = td__db_stmt(ctx->db, "SELECT " IMPORT_COLUMNS " FROM imports WHERE id = ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_text(st, 1, id);
  int rc = td__stmt_step(st);
  if (rc < 0) return td__fail_internal(ctx, rc);
  if (rc == 0) {
    td__fail_not_found(ctx, "import");
    return TD_ENOTFOUND;
  }
  *out = import_json(st, true);
  td__stmt_reset(st);
  return 0;
}

int td__import_record(td__ctx_t *ctx, const td__import_plan_t *plan, const td__import_summary_t *summary,
                      json_t **out) {
  *out = NULL;
  char id[TD_ID_MAX];
  td__id_new("imp", id);
  json_t *report =
      json_pack("{s:o,s:o}", "columns", plan->columns ? json_incref(plan->columns) : json_array(), "rows",
                summary->rows ? json_incref(summary->rows) : json_array());
  char *text = json_dumps(report, JSON_COMPACT);
  json_decref(report);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO imports(id, status, created, merged, rejected, report,"
                               " created_by, created_at) VALUES (?, 'completed', ?, ?, ?, ?, ?, ?)");
  int rc = TD_EIO;
  if (st && text) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_int(st, 2, summary->created);
    td__stmt_bind_int(st, 3, summary->merged);
    td__stmt_bind_int(st, 4, summary->rejected);
    td__stmt_bind_text(st, 5, text);
    td__stmt_bind_text(st, 6, td__ctx_actor_id(ctx));
    td__stmt_bind_int(st, 7, ctx->now_ms);
    rc = td__stmt_run(st);
  }
  free(text);
  if (rc == 0)
    rc = td__event_emit(
        ctx, "import.completed", "import", id,
        json_pack("{s:s,s:I,s:I,s:I}", "import_id", id, "created", (json_int_t)summary->created, "merged",
                  (json_int_t)summary->merged, "rejected", (json_int_t)summary->rejected));
  if (rc) return td__fail_internal(ctx, rc);
  return load_import(ctx, id, out);
}

int td__import_get(td__ctx_t *ctx, const char *id, json_t **out) {
  *out = NULL;
  if (!td__policy_can(&ctx->principal, TD_RES_IMPORT, TD_ACT_READ)) return td__fail_forbidden(ctx);
  return load_import(ctx, id, out);
}

int td__import_list(td__ctx_t *ctx, int limit, int64_t after, json_t **items, int64_t *next_rowid) {
  *items = NULL;
  *next_rowid = 0;
  if (!td__policy_can(&ctx->principal, TD_RES_IMPORT, TD_ACT_READ)) return td__fail_forbidden(ctx);
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT " IMPORT_COLUMNS " FROM imports WHERE rowid > ? ORDER BY rowid LIMIT ?");
  if (st == NULL) return td__fail_internal(ctx, TD_EIO);
  td__stmt_bind_int(st, 1, after);
  td__stmt_bind_int(st, 2, limit + 1);
  return td__row_page(ctx, st, 0, limit, import_row_json, items, next_rowid);
}

int td__import_mapping_add(json_t *mapping, const char *item) {
  const char *colon = strrchr(item, ':');
  if (colon == NULL || colon == item) return TD_EINVAL;
  char *header = td__xstrndup(item, (size_t)(colon - item));
  json_object_set_new(mapping, header, json_string(colon + 1));
  free(header);
  return 0;
}
