/* Users of talentd (recruiters, hiring managers, interviewers, admins). */
#ifndef TD_DOMAIN_USERS_H
#define TD_DOMAIN_USERS_H

#include <jansson.h>
#include <stdint.h>

#include "auth/principal.h"
#include "store/db.h"

/* Inserts a user. password_hash may be NULL (no password sign-in). Returns 0,
 * TD_ECONFLICT when the email is taken, or TD_EIO. */
int td__user_create(td__db_t *db, const char *email, const char *name, td__role_t role,
                    const char *password_hash, int64_t now_ms, char id_out[TD_ID_MAX]);
/* The user as API JSON (new reference), or NULL when there is no such user. */
json_t *td__user_json(td__db_t *db, const char *user_id);
/* Looks a user up by email for sign-in: copies id and password hash. TD_ENOTFOUND if none. */
int td__user_credentials(td__db_t *db, const char *email, char id_out[TD_ID_MAX], char *hash_out,
                         size_t hash_size);
/* True when user_id names an active user. */
int td__user_exists(td__db_t *db, const char *user_id);

#endif
