/* Dry run of a Lua script against a data directory: what would it have done?
 *
 * Opens the database read-only, loads the script with host.dry_run (its reads run for real
 * on that connection; its actions, HTTP requests, schedules and store writes are only
 * recorded), replays the recorded events (the events table, oldest first, from since_ms)
 * that match the script's talent.on patterns through its handlers, and prints one line per
 * event: "<occurred_at> <type> <subject_type>/<subject_id>: " followed by the would-be
 * actions as JSON ({"action","args"} per entry), "nothing", or "error: <message>". Filters
 * are not run (they only act on proposed changes). Nothing is committed: the connection is
 * read-only. `talentd script dry-run FILE --data DIR [--since DATE]` calls this. */
#ifndef TD_LUA_DRY_RUN_H
#define TD_LUA_DRY_RUN_H

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>

/* config: the server configuration (borrowed; may be NULL): the script gets
 * config.scripts.<name> as talent.config. The script's name is its file name without
 * ".lua"; its role comes from the manifest header (default recruiter). Returns 0 (even
 * when handlers failed: those are printed), or a negative TD_E* code after printing the
 * reason to out (unreadable file, no database, a script that does not load). */
int td__lua_dry_run(const json_t *config, const char *data_dir, const char *script_path, int64_t since_ms,
                    FILE *out);

#endif
