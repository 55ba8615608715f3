/* The webhooks plugin's shared declarations (the plugin is built against the SDK alone). */
#ifndef WEBHOOKS_H
#define WEBHOOKS_H

#include <stddef.h>
#include <talentd/plugin.h>

extern const td_host_api_t *wh_api;
extern td_plugin_t *wh_self;

#define WH_SECRET_MAX 64     /* "whsec_" + base64 of 32 bytes, with room */
#define WH_SIGNATURE_MAX 200 /* "v1,<base64>" twice during a rotation */

/* A new secret "whsec_<base64 of 32 random bytes>". */
void wh_secret_new(char out[WH_SECRET_MAX]);
/* The webhook-signature header value for (msg_id, timestamp, body): "v1,<sig>" with secret,
 * and " v1,<sig>" appended with previous when it is not NULL (a rotation's grace period).
 * Returns 0, or TD_EINVAL when a secret is malformed. */
int wh_sign(const char *secret, const char *previous, const char *msg_id, long long timestamp,
            const char *body, size_t body_len, char out[WH_SIGNATURE_MAX]);

/* Whether an endpoint's patterns (a JSON array) match an event type. */
int wh_patterns_match(const json_t *patterns, const char *type);

/* Routes under /api/v1/plugins/webhooks/ (endpoints.c). */
int wh_register_routes(void);
/* The event subscriber (sender.c). */
void wh_on_event(const json_t *envelope, td_event_done_fn done, void *token, void *data);
/* Tells the sender an endpoint changed (any thread: the routes run on the writer thread). */
void wh_endpoints_changed(void);
/* Frees what the sender keeps between deliveries (at shutdown). */
void wh_sender_shutdown(void);

#endif
