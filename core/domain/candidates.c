/* Candidates: field normalization, storage with its side tables (emails, tags, search row),
 * duplicate detection, create/read/update, merge and erasure. */
#include "domain/candidates.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/activities.h"
#include "domain/custom_fields.h"
#include "domain/events.h"
#include "domain/phone.h"
#include "domain/search.h"
#include "domain/transitions.h"
#include "domain/users.h"
#include "hooks/filter.h"
#include "talentd/types.h"
#include "util/mem.h"
#include "util/time.h"

#define LINK_MAX 2048

/* The fields a candidate record has, in API order (also what "changed" lists). */
static const char *const FIELDS[] = {"first_name", "last_name", "emails", "phones",        "links",
                                     "location",   "source",    "tags",   "custom_fields", "resume_text",
                                     "owner_id",   "consent",   NULL};

/* ---------- small text helpers ---------- */

static bool is_space(char ch) {
  return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\f' || ch == '\v';
}

/* A copy of s without leading and trailing ASCII white space (caller frees). */
static char *trim_dup(const char *s) {
  size_t n = strlen(s);
  while (n && is_space(*s)) {
    s++;
    n--;
  }
  while (n && is_space(s[n - 1])) n--;
  return td__xstrndup(s, n);
}

static char ascii_lower(char ch) { return ch >= 'A' && ch <= 'Z' ? (char)(ch - 'A' + 'a') : ch; }

/* Case-insensitive (ASCII) equality: the same folding SQLite's NOCASE uses for tags. */
static bool same_nocase(const char *a, const char *b) {
  while (*a && ascii_lower(*a) == ascii_lower(*b)) {
    a++;
    b++;
  }
  return *a == *b;
}

static bool list_has(const json_t *list, const char *s, bool nocase) {
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    const char *t = json_string_value(v);
    if (t && (nocase ? same_nocase(t, s) : strcmp(t, s) == 0)) return true;
  }
  return false;
}

static void fail_at(td__ctx_t *ctx, int *failures, const char *field, size_t index, const char *message) {
  char pointer[64];
  snprintf(pointer, sizeof pointer, "/%s/%zu", field, index);
  td__fail_field(ctx, pointer, message);
  (*failures)++;
}

/* ---------- field normalization ---------- */

/* Why e (trimmed, lower-cased) is not an email address we accept, or NULL. */
static const char *email_problem(const char *e) {
  size_t n = strlen(e);
  const char *at = strchr(e, '@');
  if (n > 254) return "must be at most 254 characters";
  if (at == NULL || strchr(at + 1, '@'))
    return "must be an email address with one @, for example ana@example.com";
  size_t local = (size_t)(at - e);
  const char *domain = at + 1;
  if (local == 0 || local > 64) return "must have 1 to 64 characters before the @";
  if (strchr(domain, '.') == NULL || domain[0] == '.' || domain[0] == '-' || e[n - 1] == '.' ||
      e[n - 1] == '-' || e[0] == '.' || at[-1] == '.' || strstr(e, ".."))
    return "must have a domain such as example.com after the @";
  for (const char *p = e; *p; p++) {
    unsigned char ch = (unsigned char)*p;
    if (ch <= ' ' || ch == 0x7f) return "must not contain spaces or control characters";
    if (p < at && strchr("()<>[]\\,;:\"", ch)) return "contains a character not allowed before the @";
    if (p > at &&
        !(ch >= 0x80 || ch == '-' || ch == '.' || (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z')))
      return "has a domain with a character other than letters, digits, - and .";
  }
  return NULL;
}

/* Trims and lower-cases an email (caller frees). */
static char *email_canonical(const char *s) {
  char *e = trim_dup(s);
  for (char *p = e; *p; p++) *p = ascii_lower(*p);
  return e;
}

/* Normalizers of one list item: NULL and the canonical text in *out (caller frees), or a
 * message saying what is wrong with the item. */
typedef const char *(*item_fn)(const char *in, char **out);

static const char *email_item(const char *in, char **out) {
  *out = email_canonical(in);
  const char *why = email_problem(*out);
  if (why) {
    free(*out);
    *out = NULL;
  }
  return why;
}

static const char *phone_item(const char *in, char **out) {
  char phone[TD_PHONE_MAX + 1];
  *out = NULL;
  if (td__phone_normalize(in, NULL, phone, sizeof phone) < 0)
    return "must be a phone number of 1 to 64 characters, for example +1 415 555 0100";
  *out = td__xstrdup(phone);
  return NULL;
}

static bool has_prefix_nocase(const char *s, const char *prefix) {
  for (; *prefix; s++, prefix++)
    if (ascii_lower(*s) != *prefix) return false;
  return true;
}

/* Links are http(s) only (a link is shown to users and opened: no javascript: or data:
 * URLs); "https://" is added when the scheme is missing. */
static const char *link_item(const char *in, char **out) {
  *out = NULL;
  char *s = trim_dup(in);
  const char *why = NULL;
  const char *colon = strchr(s, ':');
  const char *slash = strchr(s, '/');
  for (const char *p = s; *p && !why; p++)
    if ((unsigned char)*p <= ' ' || *p == 0x7f) why = "must not contain spaces or control characters";
  if (why == NULL && *s == '\0') why = "must not be blank";
  if (why == NULL) {
    if (has_prefix_nocase(s, "https://") || has_prefix_nocase(s, "http://")) {
      const char *host = strstr(s, "://") + 3;
      if (*host == '\0' || *host == '/')
        why = "must name a host, for example https://www.linkedin.com/in/ana";
      else
        *out = td__xstrdup(s);
    } else if (colon && (slash == NULL || colon < slash)) {
      why = "must be an http or https URL";
    } else {
      const char *dot = strchr(s, '.');
      if (dot == NULL || (slash && dot > slash) || s[0] == '.' || s[0] == '/')
        why = "must be an http or https URL, for example https://www.linkedin.com/in/ana";
      else
        *out = td__xprintf("https://%s", s);
    }
  }
  if (why == NULL && strlen(*out) > LINK_MAX) {
    why = "must be at most 2048 characters";
    free(*out);
    *out = NULL;
  }
  free(s);
  return why;
}

static const char *tag_item(const char *in, char **out) {
  *out = trim_dup(in);
  const char *why = **out == '\0'        ? "must not be blank"
                    : strlen(*out) > 100 ? "must be at most 100 bytes"
                                         : NULL;
  if (why) {
    free(*out);
    *out = NULL;
  }
  return why;
}

/* The list fields: how an item is normalized, and whether duplicates differ only in case
 * (emails are lower-cased already; tags keep the first spelling). */
static const struct list_field {
  const char *key;
  item_fn normalize;
  bool nocase;
} LIST_FIELDS[] = {
    {"emails", email_item, false}, {"phones", phone_item, false}, {"links", link_item, false},
    {"tags", tag_item, true},      {NULL, NULL, false},
};

/* Normalizes each item of list and drops duplicates; every bad item is a field error. */
static json_t *norm_list(td__ctx_t *ctx, const struct list_field *lf, const json_t *list, int *failures) {
  if (!json_is_array(list)) {
    char pointer[40];
    snprintf(pointer, sizeof pointer, "/%s", lf->key);
    td__fail_field(ctx, pointer, "must be an array");
    (*failures)++;
    return NULL;
  }
  json_t *out = json_array();
  size_t i;
  json_t *v;
  json_array_foreach(list, i, v) {
    char *text = NULL;
    const char *why = json_is_string(v) ? lf->normalize(json_string_value(v), &text) : "must be a string";
    if (why)
      fail_at(ctx, failures, lf->key, i, why);
    else if (!list_has(out, text, lf->nocase))
      json_array_append_new(out, json_string(text));
    free(text);
  }
  return out;
}

/* Consent: {"status", "at", "note"?}; "at" defaults to now, so the record says when. */
static json_t *norm_consent(td__ctx_t *ctx, const json_t *v, int *failures) {
  static const char *const statuses[] = {"unknown", "requested", "granted", "withdrawn", NULL};
  if (json_is_null(v)) return json_null();
  const char *status = json_string_value(json_object_get(v, "status"));
  bool known = false;
  for (int i = 0; status && statuses[i]; i++) known |= strcmp(status, statuses[i]) == 0;
  if (!known) {
    td__fail_field(ctx, "/consent/status", "must be one of unknown, requested, granted, withdrawn");
    (*failures)++;
    return NULL;
  }
  int64_t at = ctx->now_ms;
  const json_t *at_v = json_object_get(v, "at");
  if (at_v && (!json_is_string(at_v) || td__time_parse(json_string_value(at_v), &at) != 0)) {
    td__fail_field(ctx, "/consent/at", "must be an RFC 3339 time, for example 2024-05-01T09:30:00Z");
    (*failures)++;
    return NULL;
  }
  char at_text[32];
  td__time_format(at, at_text, sizeof at_text);
  json_t *out = json_pack("{s:s,s:s}", "status", status, "at", at_text);
  const json_t *note = json_object_get(v, "note");
  if (json_is_string(note)) json_object_set(out, "note", (json_t *)note);
  return out;
}

/* Text that may be cleared: a trimmed string, or null when null or blank. */
static json_t *norm_optional_text(td__ctx_t *ctx, const char *key, const json_t *v, bool trim,
                                  int *failures) {
  if (json_is_null(v)) return json_null();
  if (!json_is_string(v)) {
    char pointer[40];
    snprintf(pointer, sizeof pointer, "/%s", key);
    td__fail_field(ctx, pointer, "must be a string or null");
    (*failures)++;
    return NULL;
  }
  char *t = trim ? trim_dup(json_string_value(v)) : td__xstrdup(json_string_value(v));
  json_t *out = *t ? json_string(t) : json_null();
  free(t);
  return out;
}

static json_t *norm_name(td__ctx_t *ctx, const char *key, const json_t *v, int *failures) {
  char pointer[40];
  snprintf(pointer, sizeof pointer, "/%s", key);
  if (!json_is_string(v)) {
    td__fail_field(ctx, pointer, "must be a string");
    (*failures)++;
    return NULL;
  }
  char *t = trim_dup(json_string_value(v));
  json_t *out = NULL;
  if (*t == '\0' && strcmp(key, "first_name") == 0) {
    td__fail_field(ctx, pointer, "must not be blank");
    (*failures)++;
  } else {
    out = json_string(t);
  }
  free(t);
  return out;
}

static json_t *norm_owner(td__ctx_t *ctx, const json_t *v, int *failures) {
  if (json_is_null(v)) return json_null();
  if (!json_is_string(v) || !td__user_exists(ctx->db, json_string_value(v))) {
    td__fail_field(ctx, "/owner_id", "must be the id of an active user (see GET /api/v1/users)");
    (*failures)++;
    return NULL;
  }
  return json_copy((json_t *)v);
}

/* The normalized value of one body field (new reference), or NULL after a field error. */
static json_t *norm_field(td__ctx_t *ctx, const char *key, const json_t *v, int *failures) {
  for (const struct list_field *lf = LIST_FIELDS; lf->key; lf++)
    if (strcmp(key, lf->key) == 0) return norm_list(ctx, lf, v, failures);
  if (strcmp(key, "first_name") == 0 || strcmp(key, "last_name") == 0)
    return norm_name(ctx, key, v, failures);
  if (strcmp(key, "location") == 0 || strcmp(key, "source") == 0)
    return norm_optional_text(ctx, key, v, true, failures);
  if (strcmp(key, "resume_text") == 0) return norm_optional_text(ctx, key, v, false, failures);
  if (strcmp(key, "owner_id") == 0) return norm_owner(ctx, v, failures);
  if (strcmp(key, "consent") == 0) return norm_consent(ctx, v, failures);
  char pointer[300];
  snprintf(pointer, sizeof pointer, "/%s", key);
  td__fail_field(ctx, pointer, "is not a candidate field");
  (*failures)++;
  return NULL;
}

/* Custom fields: on create the body's object is the value; on update its keys are merged
 * into the stored ones and a null removes a key. */
static int apply_custom_fields(td__ctx_t *ctx, json_t *rec, const json_t *v, bool is_create) {
  if (!json_is_object(v)) return td__fail_field(ctx, "/custom_fields", "must be an object");
  int rc = td__custom_fields_validate(ctx, "candidate", v, "/custom_fields", is_create);
  if (rc) return rc;
  json_t *values = json_incref((json_t *)v); /* v may be rec's own object, replaced below */
  json_t *cf = json_object_get(rec, "custom_fields");
  if (is_create || !json_is_object(cf)) {
    cf = json_object();
    json_object_set_new(rec, "custom_fields", cf);
  }
  const char *key;
  json_t *value;
  json_object_foreach(values, key, value) {
    if (json_is_null(value))
      json_object_del(cf, key);
    else
      json_object_set(cf, key, value);
  }
  json_decref(values);
  return 0;
}

/* Applies body's fields to rec, normalized. All field errors are collected on ctx. */
static int apply_body(td__ctx_t *ctx, json_t *rec, const json_t *body, bool is_create) {
  int failures = 0;
  const char *key;
  json_t *v;
  if (!json_is_object(body)) return td__fail_field(ctx, "", "must be a JSON object");
  json_object_foreach((json_t *)body, key, v) {
    if (strcmp(key, "custom_fields") == 0) continue;
    json_t *nv = norm_field(ctx, key, v, &failures);
    if (nv) json_object_set_new(rec, key, nv);
  }
  const json_t *cf = json_object_get(body, "custom_fields");
  if (cf || is_create) {
    if (apply_custom_fields(ctx, rec, cf ? cf : json_object_get(rec, "custom_fields"), is_create)) failures++;
  }
  if (is_create && json_object_get(body, "first_name") == NULL) {
    td__fail_field(ctx, "/first_name", "is required");
    failures++;
  }
  return failures ? TD_EINVAL : 0;
}

static json_t *empty_record(void) {
  return json_pack("{s:s,s:s,s:[],s:[],s:[],s:n,s:n,s:[],s:{},s:n,s:n,s:n}", "first_name", "", "last_name",
                   "", "emails", "phones", "links", "location", "source", "tags", "custom_fields",
                   "resume_text", "owner_id", "consent");
}

/* ---------- rows and JSON ---------- */

static json_t *parse_column(td__stmt_t *st, int col, json_t *fallback /* taken */) {
  const char *text = td__stmt_text(st, col);
  json_error_t err;
  json_t *v = text ? json_loads(text, JSON_DECODE_ANY, &err) : NULL;
  if (v == NULL) return fallback;
  json_decref(fallback);
  return v;
}

static json_t *row_json(td__ctx_t *ctx, td__stmt_t *st, bool redact) {
  char created[32], updated[32];
  td__time_format(td__stmt_int(st, 14), created, sizeof created);
  td__time_format(td__stmt_int(st, 15), updated, sizeof updated);
  json_t *cf = parse_column(st, 10, json_object());
  if (redact && !td__policy_sees_sensitive(&ctx->principal))
    td__custom_fields_redact(ctx->db, "candidate", cf);
  return json_pack(
      "{s:s,s:s,s:s,s:o,s:o,s:o,s:s?,s:s?,s:o,s:o,s:s?,s:s?,s:o,s:s,s:s,s:I}", "id", td__stmt_text(st, 1),
      "first_name", td__stmt_text(st, 2), "last_name", td__stmt_text(st, 3), "emails",
      parse_column(st, 4, json_array()), "phones", parse_column(st, 5, json_array()), "links",
      parse_column(st, 6, json_array()), "location", td__stmt_text(st, 7), "source", td__stmt_text(st, 8),
      "tags", parse_column(st, 9, json_array()), "custom_fields", cf, "resume_text", td__stmt_text(st, 11),
      "owner_id", td__stmt_text(st, 12), "consent", parse_column(st, 13, json_null()), "created_at", created,
      "updated_at", updated, "version", (json_int_t)td__stmt_int(st, 16));
}

json_t *td__candidate_row_json(td__ctx_t *ctx, td__stmt_t *st) { return row_json(ctx, st, true); }

static json_t *load(td__ctx_t *ctx, int64_t rowid, bool redact) {
  td__stmt_t *st =
      td__db_stmt(ctx->db, "SELECT " TD_CANDIDATE_COLUMNS " FROM candidates c WHERE c.rowid = ?");
  if (st == NULL) return NULL;
  td__stmt_bind_int(st, 1, rowid);
  if (td__stmt_step(st) != 1) return NULL;
  json_t *out = row_json(ctx, st, redact);
  td__stmt_reset(st);
  return out;
}

json_t *td__candidate_json(td__ctx_t *ctx, int64_t rowid) { return load(ctx, rowid, true); }

/* ---------- lookup ---------- */

static int ref_from(td__stmt_t *st, td__candidate_ref_t *ref) {
  int rc = td__stmt_step(st);
  if (rc != 1) return rc < 0 ? rc : TD_ENOTFOUND;
  ref->rowid = td__stmt_int(st, 0);
  snprintf(ref->id, sizeof ref->id, "%s", td__stmt_text(st, 1));
  ref->version = td__stmt_int(st, 2);
  td__stmt_reset(st);
  return 0;
}

int td__candidate_resolve(td__db_t *db, const char *id, td__candidate_ref_t *ref) {
  td__stmt_t *st = td__db_stmt(db, "SELECT rowid, id, version FROM candidates WHERE id = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  int rc = ref_from(st, ref);
  if (rc != TD_ENOTFOUND) return rc;
  st = td__db_stmt(db,
                   "SELECT c.rowid, c.id, c.version FROM candidate_aliases al"
                   " JOIN candidates c ON c.id = al.candidate_id WHERE al.alias_id = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_text(st, 1, id);
  return ref_from(st, ref);
}

int td__candidate_find_quiet(td__ctx_t *ctx, const char *id, td__candidate_ref_t *ref) {
  int rc = td__candidate_resolve(ctx->db, id, ref);
  if (rc == 0 && !td__policy_sees_all_candidates(&ctx->principal))
    rc = td__policy_check_candidate(ctx->db, &ctx->principal, ref->id);
  return rc;
}

int td__candidate_find(td__ctx_t *ctx, const char *id, td__candidate_ref_t *ref) {
  int rc = td__candidate_find_quiet(ctx, id, ref);
  if (rc == TD_ENOTFOUND) return td__fail_not_found(ctx, "candidate");
  return rc ? td__fail_internal(ctx, rc) : 0;
}

int td__candidate_get(td__ctx_t *ctx, const char *id, json_t **out) {
  td__candidate_ref_t ref;
  *out = NULL;
  int rc = td__candidate_find(ctx, id, &ref);
  if (rc) return rc;
  *out = td__candidate_json(ctx, ref.rowid);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}

/* ---------- storage ---------- */

static char *dump(const json_t *rec, const char *key) {
  const json_t *v = json_object_get(rec, key);
  return v && !json_is_null(v) ? json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
}

/* Binds the record's twelve fields to parameters 1..12 in FIELDS order. */
static void bind_record(td__stmt_t *st, const json_t *rec, char *dumped[12]) {
  for (int i = 0; FIELDS[i]; i++) {
    const json_t *v = json_object_get(rec, FIELDS[i]);
    dumped[i] = NULL;
    if (json_is_string(v)) {
      td__stmt_bind_text(st, i + 1, json_string_value(v));
    } else if (v == NULL || json_is_null(v)) {
      td__stmt_bind_null(st, i + 1);
    } else {
      dumped[i] = dump(rec, FIELDS[i]);
      td__stmt_bind_text(st, i + 1, dumped[i]);
    }
  }
}

/* Rewrites the candidate's emails and tags side tables from rec. */
static int sync_side_tables(td__ctx_t *ctx, int64_t rowid, const json_t *rec) {
  td__stmt_t *st = td__db_stmt(ctx->db, "DELETE FROM candidate_emails WHERE candidate_rowid = ?");
  td__stmt_t *tg = td__db_stmt(ctx->db, "DELETE FROM candidate_tags WHERE candidate_rowid = ?");
  if (st == NULL || tg == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  td__stmt_bind_int(tg, 1, rowid);
  int rc = td__stmt_run(st);
  if (rc == 0) rc = td__stmt_run(tg);
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rec, "emails"), i, v) {
    if (rc) break;
    st = td__db_stmt(ctx->db, "INSERT INTO candidate_emails(email, candidate_rowid) VALUES (?, ?)");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_text(st, 1, json_string_value(v));
    td__stmt_bind_int(st, 2, rowid);
    rc = td__stmt_run(st);
  }
  json_array_foreach(json_object_get(rec, "tags"), i, v) {
    if (rc) break;
    st = td__db_stmt(ctx->db, "INSERT OR IGNORE INTO candidate_tags(candidate_rowid, tag) VALUES (?, ?)");
    if (st == NULL) return TD_EIO;
    td__stmt_bind_int(st, 1, rowid);
    td__stmt_bind_text(st, 2, json_string_value(v));
    rc = td__stmt_run(st);
  }
  return rc;
}

/* Writes rec as a new candidate (ref->rowid == 0: fills ref) or over the one at ref, then
 * its side tables and (when reindex) its search row. */
static int store(td__ctx_t *ctx, td__candidate_ref_t *ref, const json_t *rec, bool reindex) {
  char *dumped[12];
  td__stmt_t *st;
  bool insert = ref->rowid == 0;
  if (insert) {
    td__id_new("can", ref->id);
    st = td__db_stmt(ctx->db,
                     "INSERT INTO candidates(first_name, last_name, emails, phones, links, location,"
                     " source, tags, custom_fields, resume_text, owner_id, consent, id, created_at,"
                     " updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  } else {
    st = td__db_stmt(ctx->db,
                     "UPDATE candidates SET first_name = ?, last_name = ?, emails = ?, phones = ?,"
                     " links = ?, location = ?, source = ?, tags = ?, custom_fields = ?, resume_text = ?,"
                     " owner_id = ?, consent = ?, updated_at = ?, version = version + 1 WHERE rowid = ?");
  }
  if (st == NULL) return TD_EIO;
  bind_record(st, rec, dumped);
  if (insert) {
    td__stmt_bind_text(st, 13, ref->id);
    td__stmt_bind_int(st, 14, ctx->now_ms);
    td__stmt_bind_int(st, 15, ctx->now_ms);
  } else {
    td__stmt_bind_int(st, 13, ctx->now_ms);
    td__stmt_bind_int(st, 14, ref->rowid);
  }
  int rc = td__stmt_run(st);
  for (int i = 0; i < 12; i++) free(dumped[i]);
  if (rc) return rc;
  if (insert) {
    ref->rowid = td__db_last_rowid(ctx->db);
    ref->version = 1;
  } else {
    ref->version++;
  }
  rc = sync_side_tables(ctx, ref->rowid, rec);
  return rc || !reindex ? rc : td__search_index_candidate(ctx->db, ref->rowid);
}

/* ---------- duplicates ---------- */

/* The index in the body's emails of the entry that normalizes to email (0 if none). */
static size_t body_email_index(const json_t *body, const char *email) {
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(body, "emails"), i, v) {
    if (!json_is_string(v)) continue;
    char *e = email_canonical(json_string_value(v));
    bool same = strcmp(e, email) == 0;
    free(e);
    if (same) return i;
  }
  return 0;
}

static int fail_duplicate(td__ctx_t *ctx, const char *existing_id, size_t index, const char *detail) {
  td__fail(ctx, 409, "Duplicate candidate", detail);
  json_object_set_new(ctx->problem, "existing_id", json_string(existing_id));
  char pointer[32], message[128];
  snprintf(pointer, sizeof pointer, "/emails/%zu", index);
  snprintf(message, sizeof message, "already belongs to candidate %s", existing_id);
  return td__fail_field(ctx, pointer, message);
}

/* Looks for other candidates (not self_rowid) holding rec's emails. With allow_one, one
 * such candidate is returned in *owner; two different ones, or any one without allow_one,
 * are a 409 naming the first email found. */
static int check_duplicates(td__ctx_t *ctx, const json_t *rec, const json_t *body, int64_t self_rowid,
                            bool allow_one, td__candidate_ref_t *owner) {
  owner->rowid = 0;
  size_t i;
  json_t *v;
  json_array_foreach(json_object_get(rec, "emails"), i, v) {
    td__stmt_t *st = td__db_stmt(ctx->db,
                                 "SELECT c.rowid, c.id, c.version FROM candidate_emails e"
                                 " JOIN candidates c ON c.rowid = e.candidate_rowid"
                                 " WHERE e.email = ? AND e.candidate_rowid <> ?");
    if (st == NULL) return td__fail_internal(ctx, TD_EIO);
    td__stmt_bind_text(st, 1, json_string_value(v));
    td__stmt_bind_int(st, 2, self_rowid);
    td__candidate_ref_t found;
    int rc = ref_from(st, &found);
    if (rc == TD_ENOTFOUND) continue;
    if (rc) return td__fail_internal(ctx, rc);
    size_t index = body_email_index(body, json_string_value(v));
    if (!allow_one)
      return fail_duplicate(
          ctx, found.id, index,
          "a candidate with this email already exists (see existing_id): update or merge into "
          "that one, or create with ?on_duplicate=merge");
    if (owner->rowid && owner->rowid != found.rowid)
      return fail_duplicate(ctx, found.id, index,
                            "these emails belong to two different candidates; merge them first with "
                            "POST /api/v1/candidates/{id}/merge");
    *owner = found;
  }
  return 0;
}

/* ---------- merging two records ---------- */

static void unite_list(json_t *into, const json_t *from, bool nocase) {
  size_t i;
  json_t *v;
  json_array_foreach(from, i, v) {
    if (json_is_string(v) && !list_has(into, json_string_value(v), nocase)) json_array_append(into, v);
  }
}

static bool is_empty(const json_t *v) {
  return v == NULL || json_is_null(v) || (json_is_string(v) && json_string_length(v) == 0);
}

/* Merges from into into: into's values win; lists are united; empty fields are filled. */
static void unite_records(json_t *into, const json_t *from) {
  for (int i = 0; FIELDS[i]; i++) {
    const char *k = FIELDS[i];
    json_t *a = json_object_get(into, k);
    json_t *b = json_object_get(from, k);
    if (b == NULL) continue;
    if (json_is_array(a) && json_is_array(b)) {
      unite_list(a, b, strcmp(k, "tags") == 0);
    } else if (json_is_object(a) && json_is_object(b)) {
      const char *ck;
      json_t *cv;
      json_object_foreach(b, ck, cv) {
        if (json_object_get(a, ck) == NULL) json_object_set(a, ck, cv);
      }
    } else if (is_empty(a) && !is_empty(b)) {
      json_object_set(into, k, b);
    }
  }
}

/* The names of the fields whose values differ between before and after. */
static json_t *changed_fields(const json_t *before, const json_t *after) {
  json_t *changed = json_array();
  for (int i = 0; FIELDS[i]; i++) {
    json_t *a = json_object_get(before, FIELDS[i]);
    json_t *b = json_object_get(after, FIELDS[i]);
    bool same = (a == NULL && b == NULL) || (a && b && json_equal(a, b));
    if (!same) json_array_append_new(changed, json_string(FIELDS[i]));
  }
  return changed;
}

/* Whether a change touches what the search row holds (notes are indexed by notes.c). */
static bool indexed_change(const json_t *changed) {
  static const char *const indexed[] = {"first_name", "last_name", "emails", "tags", "resume_text", NULL};
  for (int i = 0; indexed[i]; i++)
    if (list_has(changed, indexed[i], false)) return true;
  return false;
}

/* ---------- filter hooks ---------- */

/* Runs hook's filters on a copy of rec plus extra (taken, may be NULL) and applies the
 * members filters may change (tags, source: hooks/filter.h), normalized like any input so
 * a rule cannot store what the API would refuse. Without filters it is one lookup. */
static int filter_record(td__ctx_t *ctx, const char *hook, json_t *rec, json_t *extra) {
  size_t n;
  td__hooks_entries(hook, &n);
  if (n == 0) {
    json_decref(extra);
    return 0;
  }
  json_t *proposed = json_deep_copy(rec);
  if (extra) json_object_update(proposed, extra);
  json_decref(extra);
  int rc = td__filter_run(ctx, hook, proposed);
  static const char *const mutable_fields[] = {"tags", "source", NULL};
  int failures = 0;
  for (size_t i = 0; rc == 0 && mutable_fields[i]; i++) {
    const char *key = mutable_fields[i];
    json_t *v = json_object_get(proposed, key);
    if (json_equal(v, json_object_get(rec, key))) continue;
    json_t *fallback = strcmp(key, "tags") == 0 ? json_array() : json_null();
    json_t *nv = norm_field(ctx, key, v ? v : fallback, &failures);
    json_decref(fallback);
    if (nv) json_object_set_new(rec, key, nv);
  }
  json_decref(proposed);
  return rc ? rc : failures ? TD_EINVAL : 0;
}

/* ---------- create ---------- */

static int history(td__ctx_t *ctx, int64_t rowid, const char *action, json_t *data /* taken */) {
  json_object_set_new(data, "action", json_string(action));
  td__activity_t a = {.candidate_rowid = rowid, .kind = "system", .visibility = "team", .data = data};
  int rc = td__activity_add(ctx, &a, NULL);
  json_decref(data);
  return rc;
}

/* Creating with ?on_duplicate=merge when an email matched: rec goes into owner. */
static int merge_into_existing(td__ctx_t *ctx, td__candidate_ref_t *owner, const json_t *rec) {
  json_t *before = load(ctx, owner->rowid, false);
  if (before == NULL) return td__fail_internal(ctx, TD_EIO);
  json_t *after = json_deep_copy(before);
  unite_records(after, rec);
  json_t *changed = changed_fields(before, after);
  int rc = 0;
  if (json_array_size(changed)) {
    rc = store(ctx, owner, after, true);
    if (rc == 0)
      rc = td__event_emit(ctx, "candidate.updated", "candidate", owner->id,
                          json_pack("{s:s,s:O,s:s}", "candidate_id", owner->id, "changed", changed, "via",
                                    "duplicate_merge"));
  }
  json_decref(changed);
  json_decref(before);
  json_decref(after);
  return rc ? td__fail_internal(ctx, rc) : 0;
}

int td__candidate_create(td__ctx_t *ctx, const json_t *body, bool merge_duplicate, json_t **out,
                         bool *created) {
  *out = NULL;
  if (created) *created = false;
  if (!td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_CREATE)) return td__fail_forbidden(ctx);
  json_t *rec = empty_record();
  td__candidate_ref_t ref = {0}, owner = {0};
  int rc = apply_body(ctx, rec, body, true);
  if (rc == 0) rc = filter_record(ctx, "candidate.before_create", rec, NULL);
  if (rc == 0) rc = check_duplicates(ctx, rec, body, 0, merge_duplicate, &owner);
  if (rc == 0 && owner.rowid) {
    rc = merge_into_existing(ctx, &owner, rec);
    ref = owner;
  } else if (rc == 0) {
    rc = store(ctx, &ref, rec, true);
    if (rc == 0) rc = history(ctx, ref.rowid, "created", json_object());
    if (rc == 0)
      rc = td__event_emit(
          ctx, "candidate.created", "candidate", ref.id,
          json_pack("{s:s,s:O,s:O}", "candidate_id", ref.id, "source", json_object_get(rec, "source"),
                    "owner_id", json_object_get(rec, "owner_id")));
    if (rc)
      rc = td__fail_internal(ctx, rc);
    else if (created)
      *created = true;
  }
  json_decref(rec);
  if (rc) return rc;
  *out = td__candidate_json(ctx, ref.rowid);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}

/* ---------- update ---------- */

static int check_version(td__ctx_t *ctx, const td__candidate_ref_t *ref, int64_t expect_version) {
  if (expect_version < 0 || expect_version == ref->version) return 0;
  return td__fail(
      ctx, 412, "Precondition failed",
      "the candidate changed since you read it (If-Match does not match its ETag); fetch it again "
      "and retry");
}

int td__candidate_update(td__ctx_t *ctx, const char *id, const json_t *body, int64_t expect_version,
                         json_t **out) {
  td__candidate_ref_t ref, owner;
  *out = NULL;
  int rc = td__candidate_find(ctx, id, &ref);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_UPDATE)) return td__fail_forbidden(ctx);
  if ((rc = check_version(ctx, &ref, expect_version))) return rc;
  json_t *before = load(ctx, ref.rowid, false);
  if (before == NULL) return td__fail_internal(ctx, TD_EIO);
  json_t *rec = json_deep_copy(before);
  json_t *changed = NULL;
  rc = apply_body(ctx, rec, body, false);
  if (rc == 0 && json_object_get(body, "emails"))
    rc = check_duplicates(ctx, rec, body, ref.rowid, false, &owner);
  if (rc == 0)
    rc = filter_record(ctx, "candidate.before_update", rec,
                       json_pack("{s:s,s:o}", "id", ref.id, "changed", changed_fields(before, rec)));
  if (rc == 0) {
    changed = changed_fields(before, rec);
    if (json_array_size(changed)) {
      rc = store(ctx, &ref, rec, indexed_change(changed));
      if (rc == 0)
        rc = td__event_emit(ctx, "candidate.updated", "candidate", ref.id,
                            json_pack("{s:s,s:O}", "candidate_id", ref.id, "changed", changed));
      if (rc) rc = td__fail_internal(ctx, rc);
    }
  }
  json_decref(changed);
  json_decref(before);
  json_decref(rec);
  if (rc) return rc;
  *out = td__candidate_json(ctx, ref.rowid);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}

/* ---------- delete ---------- */

int td__candidate_delete(td__ctx_t *ctx, const char *id, int64_t expect_version) {
  td__candidate_ref_t ref;
  int rc = td__candidate_find(ctx, id, &ref);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_DELETE)) return td__fail_forbidden(ctx);
  if ((rc = check_version(ctx, &ref, expect_version))) return rc;
  rc = td__search_remove_candidate(ctx->db, ref.rowid);
  td__stmt_t *st = td__db_stmt(ctx->db, "DELETE FROM candidate_aliases WHERE candidate_id = ?");
  if (rc == 0 && st) {
    td__stmt_bind_text(st, 1, ref.id);
    rc = td__stmt_run(st);
  }
  /* Foreign keys cascade to emails, tags, applications (and their transitions),
   * activities, tasks and attachment records. */
  td__stmt_t *del = td__db_stmt(ctx->db, "DELETE FROM candidates WHERE rowid = ?");
  if (rc == 0 && st && del) {
    td__stmt_bind_int(del, 1, ref.rowid);
    rc = td__stmt_run(del);
  }
  if (rc == 0 && (st == NULL || del == NULL)) rc = TD_EIO;
  if (rc == 0)
    rc = td__event_emit(ctx, "candidate.deleted", "candidate", ref.id,
                        json_pack("{s:s}", "candidate_id", ref.id));
  return rc ? td__fail_internal(ctx, rc) : 0;
}

/* ---------- merge ---------- */

/* Withdraws the duplicate's active applications to jobs where the survivor also has an
 * active one (one active application per candidate and job), through the one function
 * that changes an application's status, so the transition log and the application event
 * record it like any withdrawal. Appends their ids to withdrawn. */
static int withdraw_conflicts(td__ctx_t *ctx, int64_t survivor, int64_t duplicate, json_t *withdrawn) {
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "SELECT d.rowid, d.id FROM applications d"
                               " WHERE d.candidate_rowid = ? AND d.status = 'active' AND EXISTS"
                               " (SELECT 1 FROM applications s WHERE s.candidate_rowid = ?"
                               " AND s.job_rowid = d.job_rowid AND s.status = 'active')");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, duplicate);
  td__stmt_bind_int(st, 2, survivor);
  json_t *rows = json_array();
  int rc;
  while ((rc = td__stmt_step(st)) == 1)
    json_array_append_new(rows, json_pack("[I,s]", (json_int_t)td__stmt_int(st, 0), td__stmt_text(st, 1)));
  size_t i;
  json_t *r;
  json_array_foreach(rows, i, r) {
    if (rc < 0) break;
    td__transition_req_t req = {.application_rowid = json_integer_value(json_array_get(r, 0)),
                                .kind = TD_TRANSITION_WITHDRAWN,
                                .reason = "merged"};
    rc = td__transition_apply(ctx, &req, NULL);
    if (rc == 0) json_array_append(withdrawn, json_array_get(r, 1));
  }
  json_decref(rows);
  return rc < 0 ? rc : 0;
}

/* Moves everything that hangs off the duplicate to the survivor. */
static int move_rows(td__ctx_t *ctx, int64_t survivor, int64_t duplicate) {
  static const char *const moves[] = {
      ("UPDATE applications SET candidate_rowid = ?1, updated_at = ?3, version = version + 1"
       " WHERE candidate_rowid = ?2"),
      "UPDATE activities SET candidate_rowid = ?1 WHERE candidate_rowid = ?2",
      "UPDATE tasks SET candidate_rowid = ?1 WHERE candidate_rowid = ?2",
      "UPDATE attachments SET candidate_rowid = ?1 WHERE candidate_rowid = ?2",
      /* Touches stay append-only except for who they belong to (migration 0010's trigger). */
      "UPDATE touches SET candidate_rowid = ?1 WHERE candidate_rowid = ?2",
      /* The duplicate's emails are re-inserted for the survivor by store(). */
      "DELETE FROM candidate_emails WHERE candidate_rowid = ?2",
  };
  /* Parameters a statement does not use are ignored by the store. */
  for (size_t i = 0; i < sizeof moves / sizeof moves[0]; i++) {
    td__stmt_t *st = td__db_stmt(ctx->db, moves[i]);
    if (st == NULL) return TD_EIO;
    td__stmt_bind_int(st, 1, survivor);
    td__stmt_bind_int(st, 2, duplicate);
    td__stmt_bind_int(st, 3, ctx->now_ms);
    int rc = td__stmt_run(st);
    if (rc) return rc;
  }
  return 0;
}

/* Deletes the duplicate's row and search row, and makes its id (and every alias that
 * pointed at it) resolve to the survivor. */
static int retire_duplicate(td__ctx_t *ctx, const td__candidate_ref_t *s, const td__candidate_ref_t *d) {
  int rc = td__search_remove_candidate(ctx->db, d->rowid);
  td__stmt_t *del = td__db_stmt(ctx->db, "DELETE FROM candidates WHERE rowid = ?");
  td__stmt_t *re =
      td__db_stmt(ctx->db, "UPDATE candidate_aliases SET candidate_id = ? WHERE candidate_id = ?");
  td__stmt_t *add =
      td__db_stmt(ctx->db, "INSERT INTO candidate_aliases(alias_id, candidate_id) VALUES (?, ?)");
  if (del == NULL || re == NULL || add == NULL) return TD_EIO;
  if (rc == 0) {
    td__stmt_bind_int(del, 1, d->rowid);
    rc = td__stmt_run(del);
  }
  if (rc == 0) {
    td__stmt_bind_text(re, 1, s->id);
    td__stmt_bind_text(re, 2, d->id);
    rc = td__stmt_run(re);
  }
  if (rc == 0) {
    td__stmt_bind_text(add, 1, d->id);
    td__stmt_bind_text(add, 2, s->id);
    rc = td__stmt_run(add);
  }
  return rc;
}

/* Resolves the duplicate named in the body: a field error (not a 404) when it is unknown. */
static int find_duplicate(td__ctx_t *ctx, const td__candidate_ref_t *s, const char *duplicate_id,
                          td__candidate_ref_t *d) {
  int rc = duplicate_id ? td__candidate_find_quiet(ctx, duplicate_id, d) : TD_ENOTFOUND;
  if (rc == TD_ENOTFOUND)
    return td__fail_field(ctx, "/duplicate_id", "is not the id of a candidate you can see");
  if (rc) return td__fail_internal(ctx, rc);
  if (d->rowid == s->rowid)
    return td__fail_field(
        ctx, "/duplicate_id",
        "is the candidate being merged into (or was already merged into it); give another id");
  return 0;
}

static int merge_rows(td__ctx_t *ctx, td__candidate_ref_t *s, const td__candidate_ref_t *d,
                      json_t *withdrawn) {
  json_t *rec = load(ctx, s->rowid, false);
  json_t *dup = load(ctx, d->rowid, false);
  int rc = rec && dup ? 0 : TD_EIO;
  if (rc == 0) {
    unite_records(rec, dup);
    rc = withdraw_conflicts(ctx, s->rowid, d->rowid, withdrawn);
  }
  if (rc == 0) rc = move_rows(ctx, s->rowid, d->rowid);
  if (rc == 0) rc = retire_duplicate(ctx, s, d);
  if (rc == 0) rc = store(ctx, s, rec, true);
  json_decref(rec);
  json_decref(dup);
  return rc;
}

int td__candidate_merge(td__ctx_t *ctx, const char *survivor_id, const char *duplicate_id, json_t **out) {
  td__candidate_ref_t s, d;
  *out = NULL;
  int rc = td__candidate_find(ctx, survivor_id, &s);
  if (rc) return rc;
  if (!td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_UPDATE) ||
      !td__policy_can(&ctx->principal, TD_RES_CANDIDATE, TD_ACT_DELETE))
    return td__fail_forbidden(ctx);
  if ((rc = find_duplicate(ctx, &s, duplicate_id, &d))) return rc;
  json_t *withdrawn = json_array();
  rc = merge_rows(ctx, &s, &d, withdrawn);
  if (rc == 0) rc = history(ctx, s.rowid, "merged", json_pack("{s:s}", "duplicate_id", d.id));
  if (rc == 0)
    rc = td__event_emit(ctx, "candidate.merged", "candidate", s.id,
                        json_pack("{s:s,s:s,s:O}", "candidate_id", s.id, "duplicate_id", d.id,
                                  "withdrawn_applications", withdrawn));
  json_decref(withdrawn);
  if (rc) return ctx->problem ? rc : td__fail_internal(ctx, rc);
  *out = td__candidate_json(ctx, s.rowid);
  return *out ? 0 : td__fail_internal(ctx, TD_EIO);
}
