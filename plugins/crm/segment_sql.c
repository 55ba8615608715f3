/* Segment definitions -> SQL. Every filter is one AND-ed predicate on candidates `c` with a
 * bound parameter; user text is never part of the SQL (q goes through the core's
 * search_match sanitizer and is bound as the MATCH expression). README.md states each filter's meaning; keep
 * them equal. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "segment_sql.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crm.h"

#define SQL_MAX 16384

/* The kinds of activity that count as contact with the person. */
#define CONTACT_KINDS "('email_in', 'email_out', 'call', 'meeting', 'note')"

typedef struct builder {
  char sql[SQL_MAX];
  size_t len;
  json_t *params; /* ?1 is after, ?2 is limit; filters bind from ?3 */
  int overflow;
} builder_t;

static void put(builder_t *b, const char *text, size_t n) {
  if (b->overflow || n >= SQL_MAX - b->len) {
    b->overflow = 1;
    return;
  }
  memcpy(b->sql + b->len, text, n);
  b->len += n;
  b->sql[b->len] = '\0';
}

/* Appends " AND " + predicate, in which each "?#" stands for the next parameter (one per
 * value, in order), and binds the values (stolen) to them. */
static void add_n(builder_t *b, const char *predicate, json_t *v1, json_t *v2) {
  int slot = (int)json_array_size(b->params) + 1;
  json_array_append_new(b->params, v1);
  if (v2) json_array_append_new(b->params, v2);
  put(b, " AND ", 5);
  for (const char *p = predicate; *p;) {
    const char *mark = strstr(p, "?#");
    if (mark == NULL) {
      put(b, p, strlen(p));
      break;
    }
    char num[16];
    int n = snprintf(num, sizeof num, "?%d", slot++);
    put(b, p, (size_t)(mark - p));
    put(b, num, (size_t)n);
    p = mark + 2;
  }
}

static void add(builder_t *b, const char *predicate, json_t *value) { add_n(b, predicate, value, NULL); }

static int fail(crm_segment_error_t *err, const char *pointer, const char *message) {
  snprintf(err->pointer, sizeof err->pointer, "%s", pointer);
  snprintf(err->message, sizeof err->message, "%s", message);
  return TD_EINVAL;
}

static int add_q(builder_t *b, const char *q, crm_segment_error_t *err) {
  char *match = crm_api->search_match(q); /* the core's sanitizer: whom ?q= finds */
  if (match == NULL) return fail(err, "/q", "must contain at least one letter or digit");
  add(b, "c.rowid IN (SELECT rowid FROM candidate_search WHERE candidate_search MATCH ?#)",
      json_string(match));
  free(match);
  return 0;
}

static void add_tags(builder_t *b, const json_t *tags) {
  size_t i;
  const json_t *tag;
  json_array_foreach(tags, i, tag)
      add(b,
          "EXISTS (SELECT 1 FROM candidate_tags ct WHERE ct.candidate_rowid = c.rowid"
          " AND ct.tag = ?#)",
          json_incref((json_t *)tag));
}

/* Keys are checked by the schema (^[a-z][a-z0-9_]{0,62}$), so "$.key" is a plain JSON path;
 * it is bound all the same. */
static void add_custom_fields(builder_t *b, const json_t *fields) {
  const char *key;
  const json_t *value;
  json_object_foreach((json_t *)fields, key, value) {
    char path[80];
    snprintf(path, sizeof path, "$.%s", key);
    /* Equality on the extracted SQL value: a JSON true extracts as 1, false as 0. */
    json_t *bound = json_is_boolean(value) ? json_integer(json_is_true(value)) : json_incref((json_t *)value);
    add_n(b, "json_extract(c.custom_fields, ?#) = ?#", json_string(path), bound);
  }
}

static int add_contact(builder_t *b, const json_t *filters, const char *key, const char *op,
                       crm_segment_error_t *err) {
  const char *text = json_string_value(json_object_get(filters, key));
  if (text == NULL) return 0;
  int64_t ms = 0;
  char pointer[64], predicate[256];
  snprintf(pointer, sizeof pointer, "/filters/%s", key);
  if (crm_parse_time(text, &ms) != 0)
    return fail(err, pointer, "must be an RFC 3339 time, for example 2026-01-31T09:00:00Z");
  snprintf(
      predicate, sizeof predicate,
      "(SELECT max(a.at) FROM activities a WHERE a.candidate_rowid = c.rowid AND a.kind IN " CONTACT_KINDS
      ") %s ?#",
      op);
  add(b, predicate, json_integer((json_int_t)ms));
  return 0;
}

/* The filters that are one simple predicate each. */
static void add_simple(builder_t *b, const json_t *f) {
  const json_t *v;
  if ((v = json_object_get(f, "source")) != NULL)
    add(b, "c.source = ?# COLLATE NOCASE", json_incref((json_t *)v));
  if ((v = json_object_get(f, "location")) != NULL)
    add(b, "instr(lower(c.location), lower(?#)) > 0", json_incref((json_t *)v));
  if ((v = json_object_get(f, "consent")) != NULL)
    add(b, "coalesce(json_extract(c.consent, '$.status'), 'unknown') = ?#", json_incref((json_t *)v));
  if ((v = json_object_get(f, "in_pool")) != NULL)
    add(b,
        "EXISTS (SELECT 1 FROM crm_pool_members m JOIN crm_pools p ON p.rowid = m.pool_rowid"
        " WHERE m.candidate_rowid = c.rowid AND p.id = ?#)",
        json_incref((json_t *)v));
  if ((v = json_object_get(f, "has_active_application")) != NULL)
    add(b,
        "EXISTS (SELECT 1 FROM applications ap WHERE ap.candidate_rowid = c.rowid AND ap.status = 'active')"
        " = ?#",
        json_integer(json_is_true(v)));
}

int crm_segment_sql(const json_t *def, int64_t after, int64_t limit, char **sql, json_t **params,
                    crm_segment_error_t *err) {
  builder_t *b = calloc(1, sizeof *b);
  if (b == NULL) return TD_ENOMEM;
  b->params = json_pack("[I,I]", (json_int_t)after, (json_int_t)limit);
  b->len = (size_t)snprintf(b->sql, SQL_MAX,
                            "SELECT c.rowid AS rowid, c.id AS id, c.first_name AS first_name, c.last_name AS "
                            "last_name, c.location AS location, c.source AS source, c.tags AS tags"
                            " FROM candidates c WHERE c.rowid > ?1");
  const json_t *filters = json_object_get(def, "filters");
  const char *q = json_string_value(json_object_get(def, "q"));
  int rc = q ? add_q(b, q, err) : 0;
  if (rc == 0) rc = add_contact(b, filters, "last_contact_before", "<", err);
  if (rc == 0) rc = add_contact(b, filters, "last_contact_after", ">", err);
  if (rc == 0) {
    add_tags(b, json_object_get(filters, "tags"));
    add_custom_fields(b, json_object_get(filters, "custom_fields"));
    add_simple(b, filters);
    int n = snprintf(b->sql + b->len, SQL_MAX - b->len, " ORDER BY c.rowid LIMIT ?2");
    if (b->overflow || n < 0 || (size_t)n >= SQL_MAX - b->len) rc = TD_ELIMIT;
  }
  if (rc == 0) {
    *sql = strdup(b->sql);
    *params = json_incref(b->params);
    if (*sql == NULL) rc = TD_ENOMEM;
  }
  json_decref(b->params);
  free(b);
  return rc;
}
