/* Schema migrations: schemas/sql/NNNN_name.sql, compiled in, applied in order. */
#ifndef TD_STORE_MIGRATE_H
#define TD_STORE_MIGRATE_H

#include "store/db.h"

/* Applies every migration newer than the database's version, each in its own transaction,
 * recording it in schema_migrations. A database from a newer talentd is refused with
 * TD_ECONFLICT and a message in *message (static or NULL). Returns 0 or a TD_E* code. */
int td__migrate(td__db_t *db, const char **message);
/* The highest migration this build knows. */
int td__migrate_latest(void);

#endif
