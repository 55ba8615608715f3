/* Full-text search over candidates: the query sanitizer, FTS row maintenance, and the one
 * list query (visibility, filters, rank or recency order) behind list, search and export. */
#include "domain/search.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/policy.h"
#include "domain/candidates.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/mem.h"

/* ---------- the query sanitizer ---------- */

static bool is_blank(unsigned char ch) { return ch <= ' ' || ch == 0x7f; }
static bool is_word_byte(unsigned char ch) {
  return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch >= 0x80;
}

/* Length of the first n bytes of s, shortened so as not to cut a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t n, size_t max) {
  if (n <= max) return n;
  n = max;
  while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80) n--;
  return n;
}

char *td__search_fts_query(const char *text) {
  if (text == NULL) return NULL;
  td__buf_t out = {0};
  const char *p = text;
  int terms = 0;
  size_t last_len = 0;
  while (*p && terms < TD_SEARCH_MAX_TERMS) {
    while (*p && is_blank((unsigned char)*p)) p++;
    const char *start = p;
    bool wordy = false;
    while (*p && !is_blank((unsigned char)*p)) wordy |= is_word_byte((unsigned char)*p++);
    if (!wordy) continue;
    size_t n = utf8_cut(start, (size_t)(p - start), TD_SEARCH_MAX_TERM_BYTES);
    td__buf_puts(&out, terms ? " \"" : "\"");
    for (size_t i = 0; i < n; i++) {
      if (start[i] == '"') td__buf_append(&out, "\"", 1);
      td__buf_append(&out, &start[i], 1);
    }
    td__buf_append(&out, "\"", 1);
    last_len = n;
    terms++;
  }
  if (terms == 0) return NULL;
  if (last_len >= 2) td__buf_append(&out, "*", 1);
  return td__buf_take(&out);
}

/* ---------- index maintenance ---------- */

int td__search_remove_candidate(td__db_t *db, int64_t rowid) {
  td__stmt_t *st = td__db_stmt(db, "DELETE FROM candidate_search WHERE rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  return td__stmt_run(st);
}

/* Only team notes on the candidate itself are indexed: a private or admin note, or a note on
 * an application the searcher may not see (another team's job, a confidential one), must
 * not make a candidate match, since a hit reveals the note's words. */
int td__search_index_candidate(td__db_t *db, int64_t rowid) {
  int rc = td__search_remove_candidate(db, rowid);
  if (rc) return rc;
  td__stmt_t *st =
      td__db_stmt(db,
                  "INSERT INTO candidate_search(rowid, name, emails, tags, notes, resume)"
                  " SELECT c.rowid, c.first_name || ' ' || c.last_name,"
                  " (SELECT group_concat(e.value, ' ') FROM json_each(c.emails) e),"
                  " (SELECT group_concat(t.value, ' ') FROM json_each(c.tags) t),"
                  " (SELECT group_concat(n.body, ' ') FROM activities n"
                  "   WHERE n.candidate_rowid = c.rowid AND n.kind = 'note' AND n.visibility = 'team'"
                  "   AND n.application_rowid IS NULL),"
                  " c.resume_text FROM candidates c WHERE c.rowid = ?");
  if (st == NULL) return TD_EIO;
  td__stmt_bind_int(st, 1, rowid);
  return td__stmt_run(st);
}

/* ---------- the list query ---------- */

bool td__candidate_filter_ranked(const td__candidate_filter_t *f) {
  if (f == NULL || f->q == NULL) return false;
  for (const char *p = f->q; *p; p++)
    if (!is_blank((unsigned char)*p)) return true;
  return false;
}

/* Column weights for bm25: a hit in the name counts most, the resume least. */
#define RANK "bm25(candidate_search, 10.0, 5.0, 4.0, 2.0, 1.0)"
#define TD_SEARCH_RANK_WINDOW_SQL "5000"

/* Appends visibility and every filter of f (named parameters), on candidates `c`. */
static void append_filters(td__buf_t *sql, const td__principal_t *p, const td__candidate_filter_t *f) {
  td__buf_printf(sql, " WHERE (%s)", td__policy_candidate_visible(p));
  if (f->source) td__buf_puts(sql, " AND c.source = :source");
  if (f->updated_since) td__buf_puts(sql, " AND c.updated_at >= :since");
  for (size_t i = 0; i < json_array_size(f->tags); i++)
    td__buf_printf(sql,
                   " AND EXISTS (SELECT 1 FROM candidate_tags ct WHERE ct.candidate_rowid = c.rowid"
                   " AND ct.tag = :tag%zu)",
                   i);
}

/* Builds the SQL for f: visibility first, then each filter with a named parameter.
 *
 * Ranked search scores only the newest TD_SEARCH_RANK_WINDOW_SQL matches: FTS5 walks rowids
 * in order cheaply, but bm25 over every match of a common word costs seconds on a large
 * pool (recruiters want recent people first anyway; the window is documented). The page is
 * chosen on rowids and ranks alone, and only its rows are read in full: reading thousands of
 * 2 KB candidate rows just to sort them was most of a search's time. */
static char *build_sql(const td__principal_t *p, const td__candidate_filter_t *f, bool ranked,
                       bool from_start) {
  td__buf_t sql = {0};
  if (!ranked) {
    td__buf_puts(&sql, "SELECT " TD_CANDIDATE_COLUMNS " FROM candidates c");
    append_filters(&sql, p, f);
    if (!from_start) td__buf_puts(&sql, " AND c.rowid < :after");
    td__buf_puts(&sql, " ORDER BY c.rowid DESC LIMIT :limit");
    return td__buf_take(&sql);
  }
  bool needs_rows = strcmp(td__policy_candidate_visible(p), "1") != 0 || f->source || f->updated_since ||
                    json_array_size(f->tags) > 0;
  td__buf_puts(&sql, "WITH hits AS (SELECT rowid AS hit_rowid, " RANK
                     " AS hit_rank FROM candidate_search"
                     " WHERE candidate_search MATCH :q ORDER BY rowid DESC LIMIT " TD_SEARCH_RANK_WINDOW_SQL
                     "),"
                     " page AS (SELECT h.hit_rowid, h.hit_rank FROM hits h");
  if (needs_rows) {
    td__buf_puts(&sql, " JOIN candidates c ON c.rowid = h.hit_rowid");
    append_filters(&sql, p, f);
  }
  td__buf_puts(&sql,
               " ORDER BY h.hit_rank, h.hit_rowid DESC LIMIT :limit OFFSET :offset)"
               " SELECT " TD_CANDIDATE_COLUMNS
               " FROM page JOIN candidates c ON c.rowid = page.hit_rowid"
               " ORDER BY page.hit_rank, page.hit_rowid DESC");
  return td__buf_take(&sql);
}

static int check_filter(td__ctx_t *ctx, const td__candidate_filter_t *f, int64_t position, bool ranked) {
  if (json_array_size(f->tags) > TD_SEARCH_MAX_TAGS) {
    td__fail(ctx, 400, "Invalid query parameter", "give at most 10 tag parameters");
    return td__fail_field(ctx, "/query/tag", "is repeated more than 10 times");
  }
  for (size_t i = 0; i < json_array_size(f->tags); i++) {
    if (!json_is_string(json_array_get(f->tags, i))) return td__fail_query(ctx, "tag", "must be text");
  }
  if (ranked && position > TD_SEARCH_MAX_OFFSET) {
    td__fail(ctx, 400, "Invalid query parameter",
             "search results are available to a depth of 5000; narrow the query instead");
    return td__fail_field(ctx, "/query/cursor", "goes deeper than 5000 search results");
  }
  return 0;
}

int td__candidate_query(td__ctx_t *ctx, const td__candidate_filter_t *f, int64_t position, int64_t limit,
                        int (*row)(td__stmt_t *st, void *arg), void *arg, int64_t *matched) {
  static const td__candidate_filter_t none = {0};
  if (f == NULL) f = &none;
  if (matched) *matched = 0;
  bool ranked = td__candidate_filter_ranked(f);
  if (check_filter(ctx, f, position, ranked)) return TD_EINVAL;
  char *match = ranked ? td__search_fts_query(f->q) : NULL;
  if (ranked && match == NULL) return 0; /* nothing searchable: no hits */
  char *sql = build_sql(&ctx->principal, f, ranked, position <= 0);
  td__stmt_t *st = td__db_prepare(ctx->db, sql);
  free(sql);
  if (st == NULL) {
    free(match);
    return td__fail_internal(ctx, TD_EIO);
  }
  td__policy_bind(st, &ctx->principal);
  if (ranked) {
    td__stmt_bind_text_named(st, ":q", match);
    td__stmt_bind_int_named(st, ":offset", position);
  } else if (position > 0) {
    td__stmt_bind_int_named(st, ":after", position);
  }
  if (f->source) td__stmt_bind_text_named(st, ":source", f->source);
  if (f->updated_since) td__stmt_bind_int_named(st, ":since", f->updated_since);
  for (size_t i = 0; i < json_array_size(f->tags); i++) {
    char name[32];
    snprintf(name, sizeof name, ":tag%zu", i);
    td__stmt_bind_text_named(st, name, json_string_value(json_array_get(f->tags, i)));
  }
  td__stmt_bind_int_named(st, ":limit", limit);
  free(match);
  int rc, stop = 0;
  int64_t seen = 0;
  while ((rc = td__stmt_step(st)) == 1) {
    seen++;
    if ((stop = row(st, arg)) != 0) break;
  }
  td__stmt_finalize(st);
  if (matched) *matched = seen;
  if (stop) return stop;
  return rc < 0 ? td__fail_internal(ctx, rc) : 0;
}
