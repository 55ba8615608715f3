/* Command-line actions that work on a data directory directly (no server running). */
#ifndef TD_CLI_CLI_H
#define TD_CLI_CLI_H

#include "store/db.h"

/* Creates the data directory if needed, opens its database read-write and migrates it.
 * Prints a clear error and returns nonzero on failure. */
int td__cli_open_store(const char *data_dir, td__db_t **out);
/* `talentd demo --data DIR`: a realistic demo data set and one login per role. */
int td__cli_demo(const char *data_dir);
/* `talentd import candidates FILE.csv --data DIR [--map HEADER:FIELD]...`: maps name
 * columns explicitly (split at the last ':'), as ?map= does for POST /api/v1/imports. */
int td__cli_import_candidates(const char *data_dir, const char *csv_path, const char *const *maps,
                              int map_count);

/* `talentd plugin ...` (argv: the words after "plugin"); config is the loaded configuration
 * (borrowed) for plugin paths and trusted keys. */
#include <jansson.h>
int td__cli_plugin(int argc, char **argv, const char *data_dir, const json_t *config);

/* `talentd script load FILE [--name N] | list | remove NAME | dry-run FILE [--since DATE]`
 * (argv: the words after the subcommand); config (borrowed) for the dry run. */
int td__cli_script(const char *sub, int argc, char **argv, const char *data_dir, const char *name,
                   const char *since, const json_t *config);

#endif
