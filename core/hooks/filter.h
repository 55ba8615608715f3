/* Filter hooks (`<noun>.before_<verb>`): callbacks that run inside the write transaction of
 * a domain action, before it writes anything, and may let the proposed change through,
 * change some of its fields, or veto it with a reason that reaches the API caller.
 *
 * What a filter may do. It gets ctx (the writer's connection, inside the action's
 * transaction) for read-only lookups. It must not write to the database, and it must not
 * do I/O (network, files, sleeping): it runs on the writer thread, where every other write
 * waits for it. Calls slower than 25 ms are logged with the owning package.
 *
 * The hooks the core fires, their payload (`proposed`) and the members a filter may change
 * (changes to any other member are ignored; each call site re-validates what it takes):
 *
 *   candidate.before_create     the candidate after normalization (first_name, last_name,
 *                               emails, phones, links, location, source, tags,
 *                               custom_fields, resume_text, owner_id, consent).
 *                               May change: tags, source.
 *   candidate.before_update     the candidate as it would be after the update, plus "id"
 *                               and "changed" (names of the fields the update changes).
 *                               May change: tags, source.
 *   application.before_create   {candidate_id, job_id, stage:{id,type}, source,
 *                               credited_to, answers}. May change: source.
 *   application.before_stage_change
 *                               {application_id, candidate_id, job_id, from_stage:{id,type},
 *                               to_stage:{id,type}, kind ("moved"|"hired"), reason}.
 *                               May change: reason.
 *   application.before_reject   {application_id, candidate_id, job_id, from_stage:{id,type},
 *                               kind ("rejected"|"withdrawn"), reason}. May change: reason
 *                               (a non-empty string).
 *   job.before_publish          {job: the job as it would be, from_status} when a job is
 *                               created open or its status becomes open. Veto only.
 *
 * Failures. A filter returning a negative TD_E* code is logged with its package and
 * skipped (fail-open), unless registered with TD_HOOK_FAIL_CLOSED: then the action is
 * refused with a 503. After td__filter_breaker_threshold consecutive failures (default 5)
 * the circuit breaker disables the entry and logs it; a disabled fail-closed filter keeps
 * refusing (its rule cannot be evaluated), a disabled fail-open one is skipped. */
#ifndef TD_HOOKS_FILTER_H
#define TD_HOOKS_FILTER_H

#include <jansson.h>
#include <stdbool.h>

#include "domain/context.h"
#include "hooks/registry.h"

typedef enum td__filter_verdict {
  TD_FILTER_ALLOW = 0,    /* let the proposed change through unchanged */
  TD_FILTER_MODIFIED = 1, /* the filter changed proposed (only the hook's allowed members count) */
  TD_FILTER_VETO = 2      /* refuse: set the veto reason */
} td__filter_verdict_t;

/* A veto's reason: a sentence for the API caller (no personal data). Set reason to a static
 * string, or to a malloc'd one with owned = true (the dispatcher frees it). */
typedef struct td__filter_veto {
  const char *reason;
  bool owned;
} td__filter_veto_t;

/* A filter: returns a td__filter_verdict_t, or a negative TD_E* code when it failed.
 * proposed is the filter's own copy of the payload (modify it in place and return
 * TD_FILTER_MODIFIED); data is what was registered. */
typedef int (*td__filter_fn)(td__ctx_t *ctx, const char *hook, json_t *proposed, void *data,
                             td__filter_veto_t *veto);

/* Registers a filter (start-up only; see hooks/registry.h for the contract and errors).
 * flags: TD_HOOK_FAIL_CLOSED or 0. */
int td__filter_register(const char *hook, const char *package, int priority, unsigned flags, td__filter_fn fn,
                        void *data);

/* A filter for td__hooks_replace_package (live changes after the freeze): validates the
 * hook name (a filter hook: "<noun>.before_<verb>") and fills *out. Returns 0 or TD_EINVAL. */
int td__filter_spec(const char *hook, int priority, unsigned flags, td__filter_fn fn, void *data,
                    td__hook_spec_t *out);

/* The number of consecutive failures that opens an entry's circuit breaker (>= 1; default 5).
 * Set at start-up, before the freeze. */
void td__filter_set_breaker_threshold(int n);

/* Runs hook's filters in resolved order on proposed (borrowed; modified in place with the
 * allowed members of each filter that returned TD_FILTER_MODIFIED). Disabled entries are
 * skipped (or refuse, when fail-closed). Returns 0 to go on; on a veto, a 422 problem on
 * ctx ("Refused by a rule", detail = the reason, members "hook" and "owner" = the package)
 * and TD_EINVAL; on a fail-closed failure a 503 problem naming the owner and TD_EINVAL. The
 * caller stops the action and rolls back its savepoint on nonzero. Without filters on hook
 * it costs a lookup. */
int td__filter_run(td__ctx_t *ctx, const char *hook, json_t *proposed);

#endif
