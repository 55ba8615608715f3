/* Candidate full-text search (SQLite FTS5 table candidate_search, rowid = candidates.rowid)
 * and the candidate list query it shares with plain listing and export.
 *
 * The FTS row of a candidate holds its name, emails, tags, the bodies of its team-visible
 * notes and its resume text. It is rebuilt inside the same transaction as every change to
 * those (create, update, merge, a new note) and removed with the candidate. Private and
 * admin-only notes are not indexed: a search hit would reveal their words to people who
 * may not read them. */
#ifndef TD_DOMAIN_SEARCH_H
#define TD_DOMAIN_SEARCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "domain/context.h"
#include "store/db.h"

#define TD_SEARCH_MAX_TERMS 16
#define TD_SEARCH_MAX_TERM_BYTES 64
#define TD_SEARCH_MAX_TAGS 10     /* tag filters per query */
#define TD_SEARCH_MAX_OFFSET 5000 /* ranked results are paged by offset within the rank window */

/* Turns text typed by a user into an FTS5 query that can only mean "all these words":
 * each whitespace-separated term is double-quoted (quotes inside doubled), terms without a
 * letter or digit are dropped, at most TD_SEARCH_MAX_TERMS terms of at most
 * TD_SEARCH_MAX_TERM_BYTES bytes (cut on a UTF-8 boundary) are kept, and the last term is
 * a prefix ("ana" "lop"*) when it has at least two bytes. FTS5 operators (AND, OR, NOT,
 * NEAR, column filters, *, ^, parentheses) in the text are thereby plain words.
 * Returns a new string (caller frees), or NULL when nothing searchable is left. */
char *td__search_fts_query(const char *text);

/* Rebuilds the FTS row of the candidate at rowid from its current row and notes. */
int td__search_index_candidate(td__db_t *db, int64_t rowid);
/* Removes the candidate's FTS row (delete, merge). */
int td__search_remove_candidate(td__db_t *db, int64_t rowid);

/* What a candidate list is narrowed to. Every member is optional. */
typedef struct td__candidate_filter {
  const char *q;         /* full-text query as typed by the user (NULL or blank: none) */
  const json_t *tags;    /* array of tag strings, all required (case-insensitive) */
  const char *source;    /* exact source */
  int64_t updated_since; /* epoch ms; 0: none */
} td__candidate_filter_t;

/* Calls row(st, arg) for each candidate visible to ctx's principal that passes f, at most
 * limit rows. Without a search query: newest first, after `position` (a rowid; 0 = from
 * the newest). With one: best rank first, skipping `position` rows (an offset). The
 * statement's columns are TD_CANDIDATE_COLUMNS (domain/candidates.h). row returns 0 to go
 * on, nonzero to stop (that value is returned). *matched (may be NULL) counts rows seen.
 * An invalid filter is a field error on ctx (pointers under /query/). */
int td__candidate_query(td__ctx_t *ctx, const td__candidate_filter_t *f, int64_t position, int64_t limit,
                        int (*row)(td__stmt_t *st, void *arg), void *arg, int64_t *matched);

/* Whether f carries a full-text query that will be ranked. */
bool td__candidate_filter_ranked(const td__candidate_filter_t *f);

#endif
