/* SQL written by plugins, prepared under a guard: SQLite's authorizer checks every table a
 * statement touches when it is compiled, so a plugin can write only its own tables (named
 * "<plugin>_..."), change the schema only inside its migrations, never end or open a
 * transaction, attach a database or run a PRAGMA, and read core tables only with the
 * store.read permission. A refused statement never runs. */
#ifndef TD_STORE_GUARD_H
#define TD_STORE_GUARD_H

#include <stdbool.h>
#include <stddef.h>

#include "store/db.h"

typedef struct td__db_guard {
  const char *table_prefix; /* "<plugin>_": the tables the plugin owns */
  bool read_only;           /* no writes at all (filters, reader threads) */
  bool read_all;            /* may read tables it does not own (store.read) */
  bool ddl;                 /* may create, alter and drop its own tables (migrations) */
} td__db_guard_t;

/* Prepares the first statement of sql under guard. On success *out is a one-off statement
 * (td__stmt_finalize it) and *tail points past it (to "" or whitespace when it was the
 * last). *out is NULL with rc 0 when sql holds only whitespace or comments. Refusals give
 * TD_EDENIED and a sentence in why; SQL errors TD_EINVAL and SQLite's message in why. */
int td__db_prepare_guarded(td__db_t *db, const char *sql, const td__db_guard_t *guard, td__stmt_t **out,
                           const char **tail, char *why, size_t why_size);
/* The same through the connection's cache of plugin statements: *out is the cached statement
 * (or a one-off when it is already handed out, is a migration's, or its SQL has more than one
 * statement); give it back with td__stmt_finalize either way. The statement runs under the
 * guard it was prepared with, so a re-prepare after a schema change is checked again. */
int td__db_stmt_guarded(td__db_t *db, const char *sql, const td__db_guard_t *guard, td__stmt_t **out,
                        const char **tail, char *why, size_t why_size);

/* Result columns of a statement, for turning rows into JSON. */
typedef enum td__col_kind { TD_COL_NULL, TD_COL_INT, TD_COL_REAL, TD_COL_TEXT, TD_COL_BLOB } td__col_kind_t;
int td__stmt_column_count(td__stmt_t *st);
const char *td__stmt_column_name(td__stmt_t *st, int col);
td__col_kind_t td__stmt_column_kind(td__stmt_t *st, int col);
/* Number of ?N parameters the statement takes. */
int td__stmt_param_count(td__stmt_t *st);

#endif
