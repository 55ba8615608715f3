/* Filter dispatch (see filter.h): runs a hook's filters in resolved order on a copy of the
 * proposed change, keeps only the members the hook lets filters change, turns a veto into
 * a 422 naming the owning package, isolates failing filters (fail-open by default, a
 * circuit breaker per entry) and logs slow calls. */
#include "hooks/filter.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "talentd/types.h"
#include "util/log.h"
#include "util/time.h"

#define SLOW_NS (25ull * 1000 * 1000)

static atomic_int breaker_threshold = 5;

/* The members a filter may change, per hook (filter.h documents them). */
static const struct {
  const char *hook;
  const char *members[4];
} MUTABLE[] = {
    {"candidate.before_create", {"tags", "source", NULL}},
    {"candidate.before_update", {"tags", "source", NULL}},
    {"application.before_create", {"source", NULL}},
    {"application.before_stage_change", {"reason", NULL}},
    {"application.before_reject", {"reason", NULL}},
    {"email.before_send", {"subject", NULL}},
    {NULL, {NULL}},
};

int td__filter_register(const char *hook, const char *package, int priority, unsigned flags, td__filter_fn fn,
                        void *data) {
  if (fn == NULL) return TD_EINVAL;
  /* The registry stores a generic callback; filter.c is the only place that casts it back. */
  return td__hooks_register(hook, package, priority, flags, (td__hook_cb_t)fn, data);
}

void td__filter_set_breaker_threshold(int n) { atomic_store(&breaker_threshold, n < 1 ? 1 : n); }

/* Copies the hook's mutable members from changed into proposed (absent ones are removed). */
static void take_allowed(const char *hook, json_t *proposed, json_t *changed) {
  for (size_t i = 0; MUTABLE[i].hook; i++) {
    if (strcmp(MUTABLE[i].hook, hook) != 0) continue;
    for (size_t j = 0; MUTABLE[i].members[j]; j++) {
      const char *m = MUTABLE[i].members[j];
      json_t *v = json_object_get(changed, m);
      if (v)
        json_object_set(proposed, m, v);
      else
        json_object_del(proposed, m);
    }
    return;
  }
}

static int refuse_unavailable(td__ctx_t *ctx, const char *hook, const td__hook_entry_t *e) {
  td__fail(ctx, 503, "Rule unavailable",
           "a rule that must approve this change failed, so nothing was changed; retry later or ask an admin "
           "to check the package named in owner");
  json_object_set_new(ctx->problem, "hook", json_string(hook));
  json_object_set_new(ctx->problem, "owner", json_string(e->package));
  return TD_EINVAL;
}

/* Counts a failure of e; returns nonzero (with the problem set) when the action must stop. */
static int on_failure(td__ctx_t *ctx, const char *hook, td__hook_entry_t *e, int code) {
  int failures = atomic_fetch_add(&e->failures, 1) + 1;
  bool closed = (e->flags & TD_HOOK_FAIL_CLOSED) != 0;
  td__log(TD_LOG_ERROR, "filter_failed",
          json_pack("{s:s,s:s,s:i,s:i,s:b}", "hook", hook, "package", e->package, "code", code, "failures",
                    failures, "fail_closed", closed));
  if (failures >= atomic_load(&breaker_threshold) && !atomic_exchange(&e->disabled, true))
    td__log(TD_LOG_ERROR, "filter_disabled",
            json_pack("{s:s,s:s,s:i}", "hook", hook, "package", e->package, "failures", failures));
  return closed ? refuse_unavailable(ctx, hook, e) : 0;
}

static int on_veto(td__ctx_t *ctx, const char *hook, const td__hook_entry_t *e, td__filter_veto_t *veto) {
  td__fail(ctx, 422, "Refused by a rule", veto->reason ? veto->reason : "a rule refused this change");
  json_object_set_new(ctx->problem, "hook", json_string(hook));
  json_object_set_new(ctx->problem, "owner", json_string(e->package));
  if (veto->owned) free((void *)veto->reason);
  td__log(TD_LOG_INFO, "filter_veto", json_pack("{s:s,s:s}", "hook", hook, "package", e->package));
  return TD_EINVAL;
}

/* Runs one entry on its own copy of proposed; returns nonzero when the action must stop. */
static int run_one(td__ctx_t *ctx, const char *hook, td__hook_entry_t *e, json_t *proposed) {
  json_t *work = json_deep_copy(proposed);
  if (work == NULL) return td__fail_internal(ctx, TD_ENOMEM);
  td__filter_veto_t veto = {0};
  uint64_t t0 = td__time_mono_ns();
  int verdict = ((td__filter_fn)e->fn)(ctx, hook, work, e->data, &veto);
  uint64_t took = td__time_mono_ns() - t0;
  if (took > SLOW_NS)
    td__log(
        TD_LOG_WARN, "filter_slow",
        json_pack("{s:s,s:s,s:I}", "hook", hook, "package", e->package, "ms", (json_int_t)(took / 1000000)));
  int rc = 0;
  if (verdict < 0 || verdict > TD_FILTER_VETO) {
    if (veto.owned) free((void *)veto.reason);
    rc = on_failure(ctx, hook, e, verdict < 0 ? verdict : TD_EINTERNAL);
  } else {
    atomic_store(&e->failures, 0);
    if (verdict == TD_FILTER_VETO)
      rc = on_veto(ctx, hook, e, &veto);
    else if (verdict == TD_FILTER_MODIFIED)
      take_allowed(hook, proposed, work);
    else if (veto.owned)
      free((void *)veto.reason);
  }
  json_decref(work);
  return rc;
}

int td__filter_spec(const char *hook, int priority, unsigned flags, td__filter_fn fn, void *data,
                    td__hook_spec_t *out) {
  if (hook == NULL || fn == NULL || strstr(hook, ".before_") == NULL || strlen(hook) >= TD_HOOK_NAME_MAX)
    return TD_EINVAL;
  *out = (td__hook_spec_t){hook, priority, flags, (td__hook_cb_t)fn, data};
  return 0;
}

int td__filter_run(td__ctx_t *ctx, const char *hook, json_t *proposed) {
  size_t n;
  td__hook_entry_t *const *entries = td__hooks_entries(hook, &n);
  for (size_t i = 0; i < n; i++) {
    td__hook_entry_t *e = entries[i];
    if (atomic_load(&e->disabled)) {
      if (e->flags & TD_HOOK_FAIL_CLOSED) return refuse_unavailable(ctx, hook, e);
      continue;
    }
    int rc = run_one(ctx, hook, e, proposed);
    if (rc) return rc;
  }
  return 0;
}
