/* The store's connection and statement API. Only core/store/ calls sqlite3_*; the rest of
 * the core speaks through these functions (ARCHITECTURE wall 2), which keeps SQL portable
 * enough for a PostgreSQL backend behind the same API later. */
#ifndef TD_STORE_DB_H
#define TD_STORE_DB_H

#include <stdbool.h>
#include <stdint.h>

typedef struct td__db td__db_t;
typedef struct td__stmt td__stmt_t;

enum { TD_DB_READWRITE = 0, TD_DB_READONLY = 1 };

/* Opens (creating when read-write) the database at path with the house pragmas: WAL,
 * synchronous=FULL, foreign keys, secure_delete, busy timeout. Returns 0 or TD_EIO. */
int td__db_open(const char *path, int mode, td__db_t **out);
void td__db_close(td__db_t *db);

/* Runs one or more statements with no results. Returns 0 or TD_EIO/TD_ECONFLICT. */
int td__db_exec(td__db_t *db, const char *sql);

/* Returns the cached prepared statement for a SQL string literal (cached by address, so
 * pass literals only), reset and with bindings cleared. NULL on a SQL error (logged).
 * The statement is borrowed: never finalize it; call td__stmt_reset when done if results
 * are left unread (td__stmt_step resets automatically after the last row). */
td__stmt_t *td__db_stmt(td__db_t *db, const char *sql);
/* Runs a SQL string literal with no results through the statement cache (BEGIN, COMMIT):
 * like td__db_exec without parsing it each time. Returns 0 or an error (logged). */
int td__db_run(td__db_t *db, const char *sql);
/* Prepares a one-off statement for SQL built at run time; the caller owns it and must
 * td__stmt_finalize it. NULL on error. */
td__stmt_t *td__db_prepare(td__db_t *db, const char *sql);
void td__stmt_finalize(td__stmt_t *st);
void td__stmt_reset(td__stmt_t *st);

/* Bindings are 1-based. Text is copied (SQLITE_TRANSIENT); NULL text binds SQL NULL. */
void td__stmt_bind_text(td__stmt_t *st, int idx, const char *text);
void td__stmt_bind_int(td__stmt_t *st, int idx, int64_t value);
void td__stmt_bind_double(td__stmt_t *st, int idx, double value);
void td__stmt_bind_null(td__stmt_t *st, int idx);
/* Binds by :name; returns TD_EINVAL when the statement has no such parameter. */
int td__stmt_bind_text_named(td__stmt_t *st, const char *name, const char *text);
int td__stmt_bind_int_named(td__stmt_t *st, const char *name, int64_t value);

/* Returns 1 when a row is ready, 0 when done (and resets), TD_ECONFLICT on a constraint
 * violation, TD_EBUSY when locked, TD_EIO otherwise (all reset the statement). */
int td__stmt_step(td__stmt_t *st);
/* Steps a statement expected to produce no rows and resets it. Returns 0 or an error. */
int td__stmt_run(td__stmt_t *st);

/* Columns are 0-based. Text is borrowed until the next step or reset; NULL stays NULL. */
const char *td__stmt_text(td__stmt_t *st, int col);
int64_t td__stmt_int(td__stmt_t *st, int col);
double td__stmt_double(td__stmt_t *st, int col);
bool td__stmt_is_null(td__stmt_t *st, int col);

int64_t td__db_last_rowid(td__db_t *db);
int td__db_changes(td__db_t *db);

/* Savepoints for nested atomic units inside the writer's batch transaction. */
int td__db_savepoint(td__db_t *db, const char *name);
int td__db_release(td__db_t *db, const char *name);
int td__db_rollback_to(td__db_t *db, const char *name);

#endif
