/* A plugin's own migrations (migrations/NNNN_name.sql beside its manifest): applied in name
 * order, each once per data directory (recorded in plugin_migrations), each in its own
 * transaction, under the store guard: only schema objects named "<plugin>_..." may be
 * created, altered or dropped, and only those tables written. */
#ifndef TD_PLUGIN_MIGRATE_H
#define TD_PLUGIN_MIGRATE_H

#include <stddef.h>

#include "plugin/host.h"
#include "plugin/trust.h"
#include "store/db.h"

/* Applies the migrations of files not yet recorded for p, on db (no transaction open).
 * Returns 0, or a TD_E* code with why naming the migration and the reason (the failed
 * migration leaves nothing behind; earlier ones stay applied). */
int td__plugin_migrate(td_plugin_t *p, td__db_t *db, const td__plugin_files_t *files, char *why,
                       size_t why_size);

#endif
