/* Event subscribers: callbacks that receive outbox events after commit, on the loop thread,
 * and answer asynchronously (so they may do I/O). Registration sits on top of the hook
 * registry (hooks/registry.h): a subscriber is a registry entry whose hook name is the event
 * type it wants ("candidate.created"), a prefix pattern ("candidate.*") or "*" (every event);
 * `talentd hooks` lists it like any other hook. The dispatcher (hooks/delivery.h) delivers.
 *
 * Delivery is AT LEAST ONCE: after a crash, a restart, a timeout or a replay the same event
 * may reach a subscriber again. Subscribers deduplicate on the envelope's "id" (the event
 * id, unique and stable). Per subscriber, first attempts start in outbox order; a retried
 * event may arrive after later ones (no head-of-line blocking).
 *
 * Threading: register at start-up only, before td__hooks_freeze (like every hook). The
 * callback runs on the loop thread and must not block (wall 4): start I/O and complete later.
 * A subscriber enforces its own deadline (Lua: the 30 s wall budget; webhooks: the outbound
 * timeouts) and always completes: the dispatcher sets no timer on a call, and a call that
 * never completes keeps one of its subscriber's in-flight slots until a restart. */
#ifndef TD_HOOKS_EVENTS_H
#define TD_HOOKS_EVENTS_H

#include <jansson.h>
#include <stdbool.h>

#include "hooks/registry.h"

/* Completes one delivery: call exactly once, on the loop thread, from inside the callback or
 * later. rc 0 = handled; a negative TD_E* code = failed (retried with backoff), counted by
 * the circuit breaker unless it is TD_EPARTIAL (some targets of a fan-out failed). error is a
 * short reason stored in the delivery row and shown to admins (copied; may be NULL): it must
 * carry no personal data (say "HTTP 503", not a candidate's name). */
typedef void (*td__event_done_fn)(void *token, int rc, const char *error);

/* A subscriber. envelope is {id, type, version, occurred_at, actor:{id,kind},
 * subject:{type,id}, data}, borrowed until the callback returns (json_incref to keep it).
 * Call done(token, rc, error) once when the event is handled. data is what was registered. */
typedef void (*td__event_fn)(const json_t *envelope, td__event_done_fn done, void *token, void *data);

/* Subscribes fn to the events matching pattern (an exact type, "prefix.*", or "*") for
 * package. priority orders the calls for one event (higher first; ties as in the registry).
 * package and pattern are copied; data is borrowed until td__event_subscribers_reset. One
 * subscription per (package, pattern): the pair names the subscriber in delivery rows.
 * Returns 0, TD_EINVAL (bad pattern or names), TD_ECONFLICT (the pair is taken), TD_ENOMEM,
 * or TD_EDENIED after the freeze. */
int td__event_subscribe(const char *package, const char *pattern, int priority, td__event_fn fn, void *data);

/* A subscription for td__hooks_replace_package (live changes after the freeze, loop thread
 * only): validates like td__event_subscribe and fills *out. The small record behind it lives
 * until td__event_subscribers_reset, so a reloaded package leaves a few bytes behind per
 * reload. Returns 0, TD_EINVAL or TD_ENOMEM. */
int td__event_spec(const char *package, const char *pattern, int priority, td__event_fn fn, void *data,
                   td__hook_spec_t *out);

/* Whether pattern (exact, "prefix.*" or "*") matches the event type. Pure. */
bool td__event_pattern_match(const char *pattern, const char *type);

/* Whether a registry entry is an event subscriber (and not, say, a filter). */
bool td__event_is_subscriber(const td__hook_entry_t *entry);

/* Calls a subscriber entry's callback (the one place that casts the registry's generic
 * callback back). */
void td__event_call(const td__hook_entry_t *entry, const json_t *envelope, td__event_done_fn done,
                    void *token);

/* Forgets the subscriptions (with td__hooks_reset; tests and shutdown only). */
void td__event_subscribers_reset(void);

#endif
