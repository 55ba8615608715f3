/* The script manager: the Lua packages of the `scripts` table (schemas/sql/0009_scripts.sql)
 * loaded into the running server, and their live replacement.
 *
 * Start-up (td__lua_manager_start, on the thread that starts the server, before
 * td__hooks_freeze): every enabled script is loaded with its manifest, its principal user
 * (created when missing: a users row without a password, so no one can sign in as it) and
 * scripts.<name> of the configuration, then registered through lua/bridge.h. A script that
 * fails to load is logged, its error stored, and skipped: the server starts anyway.
 *
 * Live changes (loop thread, after the freeze): td__lua_manager_install swaps a package
 * built beside the running one (td__hooks_replace_package, then td__delivery_resync); the
 * old snapshot is freed after a writer op completes (no filter of it can still run) and the
 * old package once none of its event calls is running. A package that failed to load never
 * reaches the manager: the running version stays.
 *
 * Threading: the package table is guarded by a mutex so reader threads (GET
 * /api/v1/scripts) can ask what is loaded. */
#ifndef TD_LUA_MANAGER_H
#define TD_LUA_MANAGER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

#include "auth/principal.h"
#include "lua/package.h"
#include "store/db.h"

struct td__writer;
struct td__net;
struct td__delivery;

#define TD_SCRIPT_DESCRIPTION_MAX 512
/* Scheduled runs of scripts are named "script.<package>.<talent.on_run name>". */
#define TD_SCRIPT_RUN_PREFIX "script."
/* The largest script source the API takes (the sandbox's default load_max_bytes). */
#define TD_SCRIPT_SOURCE_MAX (256 * 1024)

/* The manifest header: an optional first line `-- talentd: {"description": "...", "role":
 * "recruiter"}`. */
typedef struct td__script_manifest {
  char description[TD_SCRIPT_DESCRIPTION_MAX];
  td__role_t role; /* default TD_ROLE_RECRUITER */
} td__script_manifest_t;

/* Parses the manifest of source (len bytes). Returns 0, or TD_EINVAL with a malloc'd
 * message in *error (line 1: bad JSON, unknown member, bad role). */
int td__script_manifest_parse(const char *source, size_t len, td__script_manifest_t *m, char **error);

/* Whether name is a valid script name ([a-z0-9_.-], 1..63 bytes). */
bool td__script_name_valid(const char *name);

/* The email of a script's principal user: "script+<name>@scripts.talentd.invalid". */
void td__script_user_email(const char *name, char *out, size_t size);

/* --- start-up and shutdown --- */

/* Loads and registers every enabled script of db (the start-up connection). config
 * (borrowed, must outlive the manager) gives scripts.<name>. With list_only (`talentd
 * hooks`), no user is created and no error stored. Returns the number of scripts loaded. */
int td__lua_manager_start(td__db_t *db, const json_t *config, bool list_only);

/* Binds the server's loop, writer, outbound client and delivery to the loaded packages and
 * to later ones (once they exist, before the loop runs). */
void td__lua_manager_bind(uv_loop_t *loop, struct td__writer *writer, struct td__net *net,
                          struct td__delivery *delivery);

/* The host a new package of script name gets (principal: user_id and role as given). */
void td__lua_manager_host(const char *name, const td__principal_t *principal, td__lua_host_t *out);

/* The writer is stopping: retire later packages at shutdown instead (loop thread). */
void td__lua_manager_stop(void);

/* Frees every package (after the loop ended and after td__hooks_reset). */
void td__lua_manager_shutdown(void);

/* --- live changes (loop thread) --- */

/* Replaces the live package of pkg->name by pkg (taken, on success and failure): swaps its
 * registrations, resyncs deliveries, retires the old one. Returns 0, or TD_ENOMEM /
 * TD_EINVAL (then pkg is freed and the old version keeps running). */
int td__lua_manager_install(td__lua_package_t *pkg);

/* Removes the live package name (its registrations replaced with none). 0 or TD_ENOTFOUND. */
int td__lua_manager_remove(const char *name);

/* Completion of td__lua_manager_put, on the loop: rc 0, or the load error (borrowed). */
typedef void (*td__lua_manager_done_fn)(void *ud, int rc, const char *error);

/* Builds script name from source (copied) on a reader thread (its top level runs under the
 * load budget, never on the loop or the writer), then installs it on the loop. The caller
 * stores the source; the principal is the one of the running version (or none). Returns 0
 * (done will be called) or TD_EBUSY. */
int td__lua_manager_put(const char *name, const char *source, size_t len, td__lua_manager_done_fn done,
                        void *ud);

/* Logs a failure to swap script name in after its source was stored, and stores message
 * as its error (a writer op; loop thread). */
void td__lua_manager_note_error(const char *name, const char *message);

/* --- what is loaded (any thread) --- */

/* Whether script name is live, and its registrations as [{kind, name, priority}] in
 * *regs (new; may be NULL). */
bool td__lua_manager_info(const char *name, json_t **regs);

/* --- the scripts table (any connection; writes inside the caller's transaction) --- */

/* Finds or creates the principal user of script name with role (updated when it changed);
 * its id goes to id_out. Returns 0 or a TD_E* code. */
int td__script_user_ensure(td__db_t *db, const char *name, td__role_t role, int64_t now_ms,
                           char id_out[TD_ID_MAX]);
/* The id of the principal user of name, or TD_ENOTFOUND. */
int td__script_user_find(td__db_t *db, const char *name, char id_out[TD_ID_MAX]);

/* Inserts or replaces script name (version + 1, enabled, error cleared). *version_out gets
 * the new version, *created whether it is new. Returns 0 or a TD_E* code. */
int td__script_store(td__db_t *db, const char *name, const char *source, size_t len,
                     const td__script_manifest_t *m, const char *updated_by, int64_t now_ms,
                     int64_t *version_out, bool *created);
/* Deletes script name. 0 or TD_ENOTFOUND. */
int td__script_delete(td__db_t *db, const char *name);
/* Sets (error NULL: clears) the load error of script name. */
int td__script_set_error(td__db_t *db, const char *name, const char *error);
/* Script name as JSON (with its source when with_source), or NULL (TD_ENOTFOUND). */
json_t *td__script_json(td__db_t *db, const char *name, bool with_source);
/* Scripts by rowid after `after`, up to limit; *next as in the other lists. */
int td__script_list(td__db_t *db, int limit, int64_t after, json_t **items, int64_t *next);

#endif
