/* The server.started event: one per start of the server, recorded through the outbox like
 * every event, so subscribers learn of restarts (and of the version, schema and plugins
 * now running) in the same feed as everything else. */
#ifndef TD_DOMAIN_SERVER_STARTED_H
#define TD_DOMAIN_SERVER_STARTED_H

#include <jansson.h>
#include <stdint.h>

#include "store/db.h"

/* Appends server.started to the outbox on db, the server's read-write connection at
 * start-up, with no transaction open (after migrations and plugin loading, before the
 * writer thread takes the connection). plugin_names (borrowed; NULL: none) is an array of
 * the loaded plugins' names, built by the caller; anything but strings in it is skipped.
 * The subject is {type "server", id: a new srv_ id for this start}; the actor is the
 * system. Returns 0 or a TD_E* storage error (the event is then not recorded). */
int td__server_started_emit(td__db_t *db, const json_t *plugin_names, int64_t now_ms);

#endif
