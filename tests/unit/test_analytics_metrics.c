/* test_analytics_metrics.c - the analytics plugin's pure computations (plugins/analytics/
 * metrics.c, included here since the plugin is not part of talentd_core): reached,
 * conversion, time in stage and drop-off on small hand-computed pipelines (skipped stages,
 * moves backwards, rejections in every stage, re-applications, unreject then move, open
 * intervals, a hire, the cohort filter), invalid logs, and a property test that the tables
 * reconcile with the raw transitions of random applications over random pipelines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../plugins/analytics/metrics.c"

#define H(x) ((int64_t)((x)*3600000.0)) /* hours to ms */

/* The standard pipeline: ids 10..15, positions with gaps (position is an order, not an index). */
enum { LEAD = 10, APPLIED, SCREEN, INTERVIEW, OFFER, HIRED };
static const an_stage_t stages[] = {
    {LEAD, AN_STAGE_LEAD, 0},           {APPLIED, AN_STAGE_APPLIED, 1}, {SCREEN, AN_STAGE_SCREEN, 2},
    {INTERVIEW, AN_STAGE_INTERVIEW, 4}, {OFFER, AN_STAGE_OFFER, 5},     {HIRED, AN_STAGE_HIRED, 9},
};
static const an_pipeline_t pipeline = {stages, 6};
enum { I_LEAD, I_APPLIED, I_SCREEN, I_INTERVIEW, I_OFFER, I_HIRED };

#define CREATED(to, at) \
  { AN_CREATED, -1, to, H(at), NULL }
#define MOVED(from, to, at) \
  { AN_MOVED, from, to, H(at), NULL }
#define REJECTED(in, at, why) \
  { AN_REJECTED, in, in, H(at), why }
#define WITHDRAWN(in, at, why) \
  { AN_WITHDRAWN, in, in, H(at), why }
#define UNREJECTED(in, at) \
  { AN_UNREJECTED, in, in, H(at), NULL }
#define HIRE(from, at) \
  { AN_HIRED, from, HIRED, H(at), NULL }
#define APP(log) \
  { log, sizeof log / sizeof log[0], AN_ACTIVE, "board", 0 }

static void expect_reached(const an_report_t *r, const size_t *want) {
  for (size_t i = 0; i < r->stage_count; i++) assert_int_equal(r->stages[i].reached, want[i]);
}

static void expect_times(const an_stage_metrics_t *s, size_t count, size_t open, int64_t median, int64_t p75,
                         int64_t p90) {
  assert_int_equal(s->count, count);
  assert_int_equal(s->open, open);
  assert_int_equal(s->stats_defined, count > 0);
  assert_int_equal(s->median_ms, median);
  assert_int_equal(s->p75_ms, p75);
  assert_int_equal(s->p90_ms, p90);
}

/* A1 skips screen, A2 is rejected at screen, A3 starts as a lead. */
static void test_skipped_stage_counts_as_reached(void **state) {
  (void)state;
  const an_transition_t a1[] = {CREATED(APPLIED, 0), MOVED(APPLIED, INTERVIEW, 10),
                                MOVED(INTERVIEW, OFFER, 30)};
  const an_transition_t a2[] = {CREATED(APPLIED, 0), MOVED(APPLIED, SCREEN, 5),
                                REJECTED(SCREEN, 7, "skills")};
  const an_transition_t a3[] = {CREATED(LEAD, 0), MOVED(LEAD, APPLIED, 2)};
  const an_application_t apps[] = {APP(a1), APP(a2), APP(a3)};
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 3, NULL, &r), 0);
  assert_int_equal(r.applications, 3);
  expect_reached(&r, (const size_t[]){3, 3, 2, 1, 1, 0});
  /* conversion: 3/3, 2/3, 1/2, 1/1, 0/1, undefined (last stage, and nobody reached it) */
  assert_true(r.stages[I_LEAD].conversion_defined);
  assert_true(r.stages[I_LEAD].conversion == 1.0);
  assert_true(fabs(r.stages[I_APPLIED].conversion - 2.0 / 3.0) < 1e-12);
  assert_true(r.stages[I_SCREEN].conversion == 0.5);
  assert_true(r.stages[I_INTERVIEW].conversion == 1.0);
  assert_true(r.stages[I_OFFER].conversion_defined);
  assert_true(r.stages[I_OFFER].conversion == 0.0);
  assert_false(r.stages[I_HIRED].conversion_defined);
  assert_true(isnan(r.stages[I_HIRED].conversion));
  /* time in stage: applied has 5h and 10h closed and A3 still open there */
  expect_times(&r.stages[I_LEAD], 1, 0, H(2), H(2), H(2));
  expect_times(&r.stages[I_APPLIED], 2, 1, H(5), H(10), H(10));
  expect_times(&r.stages[I_SCREEN], 1, 0, H(2), H(2), H(2)); /* closed by the rejection */
  expect_times(&r.stages[I_INTERVIEW], 1, 0, H(20), H(20), H(20));
  expect_times(&r.stages[I_OFFER], 0, 1, 0, 0, 0);
  /* drop-off */
  assert_int_equal(r.stages[I_SCREEN].rejected, 1);
  assert_int_equal(r.stages[I_SCREEN].withdrawn, 0);
  assert_int_equal(r.stages[I_SCREEN].reason_count, 1);
  assert_string_equal(r.stages[I_SCREEN].reasons[0].reason, "skills");
  assert_int_equal(r.stages[I_SCREEN].reasons[0].total, 1);
  for (size_t i = 0; i < 6; i++)
    if (i != I_SCREEN) assert_int_equal(r.stages[i].rejected + r.stages[i].withdrawn, 0);
  an_report_free(&r);
  an_report_free(&r); /* twice is safe */
}

/* Backwards moves do not lower the furthest position; every visit is its own interval. */
static void test_move_backwards(void **state) {
  (void)state;
  const an_transition_t a[] = {CREATED(APPLIED, 0), MOVED(APPLIED, INTERVIEW, 1), MOVED(INTERVIEW, SCREEN, 3),
                               MOVED(SCREEN, INTERVIEW, 6), MOVED(INTERVIEW, APPLIED, 7)};
  const an_application_t apps[] = {APP(a)};
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 1, NULL, &r), 0);
  expect_reached(&r, (const size_t[]){1, 1, 1, 1, 0, 0});
  expect_times(&r.stages[I_APPLIED], 1, 1, H(1), H(1), H(1));
  expect_times(&r.stages[I_SCREEN], 1, 0, H(3), H(3), H(3));
  expect_times(&r.stages[I_INTERVIEW], 2, 0, H(1), H(2), H(2)); /* 2h and 1h: nearest rank */
  an_report_free(&r);
}

/* One application rejected in each stage (reason "r<i>"), plus more at screen to group reasons. */
static void test_rejection_in_every_stage(void **state) {
  (void)state;
  an_transition_t logs[5][7];
  an_application_t apps[8];
  for (int i = 0; i < 5; i++) {
    static const char *const why[] = {"r0", "r1", "r2", "r3", "r4"};
    logs[i][0] = (an_transition_t)CREATED(LEAD, 0);
    for (int j = 1; j <= i; j++) logs[i][j] = (an_transition_t)MOVED(LEAD + j - 1, LEAD + j, j);
    logs[i][i + 1] = (an_transition_t)REJECTED(LEAD + i, i + 0.5, why[i]);
    apps[i] = (an_application_t){logs[i], (size_t)i + 2, AN_STATUS_REJECTED, "board", 0};
  }
  const an_transition_t a5[] = {CREATED(LEAD, 0), MOVED(LEAD, SCREEN, 1), REJECTED(SCREEN, 4, "too junior")};
  const an_transition_t a6[] = {CREATED(APPLIED, 0), MOVED(APPLIED, SCREEN, 1),
                                REJECTED(SCREEN, 2, "too junior")};
  const an_transition_t a7[] = {CREATED(APPLIED, 0), MOVED(APPLIED, SCREEN, 1),
                                WITHDRAWN(SCREEN, 9, "salary")};
  apps[5] = (an_application_t)APP(a5), apps[6] = (an_application_t)APP(a6),
  apps[7] = (an_application_t)APP(a7);
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 8, NULL, &r), 0);
  expect_reached(&r, (const size_t[]){8, 7, 6, 2, 1, 0});
  for (size_t i = 0; i < 5; i++) {
    const an_stage_metrics_t *s = &r.stages[i];
    assert_int_equal(s->rejected, i == I_SCREEN ? 3 : 1);
    assert_int_equal(s->withdrawn, i == I_SCREEN ? 1 : 0);
    assert_int_equal(s->open, 0);
  }
  const an_stage_metrics_t *s = &r.stages[I_SCREEN];
  assert_int_equal(s->reason_count, 3); /* by total desc, then reason asc */
  assert_string_equal(s->reasons[0].reason, "too junior");
  assert_int_equal(s->reasons[0].rejected, 2);
  assert_int_equal(s->reasons[0].total, 2);
  assert_string_equal(s->reasons[1].reason, "r2");
  assert_string_equal(s->reasons[2].reason, "salary");
  assert_int_equal(s->reasons[2].withdrawn, 1);
  assert_int_equal(s->reasons[2].rejected, 0);
  /* screen: 0.5h (app 2), 1h (apps 3, 4 moved on), 3h, 1h, 8h (apps 5, 6, 7)
   * -> sorted 0.5 1 1 1 3 8: ranks 3, 5, 6 */
  expect_times(s, 6, 0, H(1), H(3), H(8));
  assert_int_equal(r.stages[I_OFFER].reasons[0].total, 1);
  assert_string_equal(r.stages[I_OFFER].reasons[0].reason, "r4");
  an_report_free(&r);
}

/* A second application of the same candidate is a separate application. */
static void test_reapplication_is_separate(void **state) {
  (void)state;
  const an_transition_t first[] = {CREATED(APPLIED, 0), MOVED(APPLIED, SCREEN, 1),
                                   REJECTED(SCREEN, 2, "timing")};
  const an_transition_t again[] = {CREATED(APPLIED, 100), MOVED(APPLIED, SCREEN, 101),
                                   MOVED(SCREEN, INTERVIEW, 104)};
  const an_application_t apps[] = {APP(first), APP(again)};
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 2, NULL, &r), 0);
  assert_int_equal(r.applications, 2);
  expect_reached(&r, (const size_t[]){2, 2, 2, 1, 0, 0});
  expect_times(&r.stages[I_SCREEN], 2, 0, H(1), H(3), H(3));
  expect_times(&r.stages[I_INTERVIEW], 0, 1, 0, 0, 0);
  assert_int_equal(r.stages[I_SCREEN].rejected, 1);
  an_report_free(&r);
}

/* Unrejecting re-enters the stage (a new interval); the application then moves on. */
static void test_unreject_then_move(void **state) {
  (void)state;
  const an_transition_t a[] = {CREATED(APPLIED, 0), REJECTED(APPLIED, 1, "oops"), UNREJECTED(APPLIED, 5),
                               MOVED(APPLIED, SCREEN, 8)};
  const an_application_t apps[] = {APP(a)};
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 1, NULL, &r), 0);
  expect_reached(&r, (const size_t[]){1, 1, 1, 0, 0, 0});
  expect_times(&r.stages[I_APPLIED], 2, 0, H(1), H(3), H(3)); /* 1h, then 3h after the unreject */
  expect_times(&r.stages[I_SCREEN], 0, 1, 0, 0, 0);
  assert_int_equal(r.stages[I_APPLIED].rejected, 1);
  assert_string_equal(r.stages[I_APPLIED].reasons[0].reason, "oops");
  an_report_free(&r);
}

/* A hired application's interval in the hired stage stays open. */
static void test_hired_interval_is_open(void **state) {
  (void)state;
  const an_transition_t a[] = {CREATED(APPLIED, 0), MOVED(APPLIED, OFFER, 10), HIRE(OFFER, 12)};
  const an_transition_t b[] = {CREATED(APPLIED, 0), MOVED(APPLIED, OFFER, 20), WITHDRAWN(OFFER, 30, NULL)};
  const an_application_t apps[] = {APP(a), APP(b)};
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 2, NULL, &r), 0);
  expect_reached(&r, (const size_t[]){2, 2, 2, 2, 2, 1});
  assert_true(r.stages[I_OFFER].conversion == 0.5);
  assert_false(r.stages[I_HIRED].conversion_defined);
  expect_times(&r.stages[I_OFFER], 2, 0, H(2), H(10), H(10));
  expect_times(&r.stages[I_HIRED], 0, 1, 0, 0, 0);
  assert_int_equal(r.stages[I_OFFER].withdrawn, 1);
  assert_int_equal(r.stages[I_OFFER].reason_count, 1);
  assert_null(r.stages[I_OFFER].reasons[0].reason); /* no reason groups under NULL */
  an_report_free(&r);
}

/* The cohort is applied_at in [from, to); the source filter is exact. */
static void test_cohort_and_source_filter(void **state) {
  (void)state;
  const an_transition_t a[] = {CREATED(APPLIED, 0), MOVED(APPLIED, SCREEN, 1)};
  const an_transition_t b[] = {CREATED(APPLIED, 0), MOVED(APPLIED, OFFER, 1)};
  const an_transition_t bad[] = {MOVED(APPLIED, OFFER, 1)}; /* invalid, but filtered out */
  an_application_t apps[] = {APP(a), APP(b), APP(bad), APP(a)};
  apps[0].applied_at_ms = 100, apps[1].applied_at_ms = 200, apps[2].applied_at_ms = 300;
  apps[3].applied_at_ms = 199, apps[3].source = "referral";
  an_report_t r;
  an_filter_t f = {.has_from = 1, .from_ms = 100, .has_to = 1, .to_ms = 200};
  assert_int_equal(an_compute(&pipeline, apps, 4, &f, &r), 0);
  assert_int_equal(r.applications, 2); /* 100 and 199; 200 is outside [100, 200) */
  expect_reached(&r, (const size_t[]){2, 2, 2, 0, 0, 0});
  an_report_free(&r);
  f.source = "referral";
  assert_int_equal(an_compute(&pipeline, apps, 4, &f, &r), 0);
  assert_int_equal(r.applications, 1);
  an_report_free(&r);
  f = (an_filter_t){.has_from = 1, .from_ms = 150, .has_to = 1, .to_ms = 250};
  assert_int_equal(an_compute(&pipeline, apps, 4, &f, &r), 0);
  expect_reached(&r, (const size_t[]){2, 2, 2, 1, 1, 0});
  an_report_free(&r);
  f = (an_filter_t){.has_from = 1, .from_ms = 1000};
  assert_int_equal(an_compute(&pipeline, apps, 4, &f, &r), 0);
  assert_int_equal(r.applications, 0);
  assert_int_equal(r.stages[I_LEAD].reached, 0);
  assert_false(r.stages[I_LEAD].conversion_defined); /* 0 reached */
  assert_false(r.stages[I_LEAD].stats_defined);
  an_report_free(&r);
}

static void test_percentile_nearest_rank(void **state) {
  (void)state;
  int64_t v[20];
  for (int i = 0; i < 20; i++) v[i] = i + 1;
  assert_int_equal(an_percentile(v, 10, 50), 5);
  assert_int_equal(an_percentile(v, 10, 75), 8);
  assert_int_equal(an_percentile(v, 10, 90), 9);
  assert_int_equal(an_percentile(v, 10, 100), 10);
  assert_int_equal(an_percentile(v, 1, 50), 1);
  assert_int_equal(an_percentile(v, 1, 90), 1);
  assert_int_equal(an_percentile(v, 3, 50), 2);
  assert_int_equal(an_percentile(v, 4, 75), 3);
  assert_int_equal(an_percentile(v, 20, 90), 18);
  assert_int_equal(an_percentile(v, 20, 1), 1);
}

static void expect_invalid(const an_transition_t *log, size_t n) {
  const an_transition_t ok[] = {CREATED(APPLIED, 0)};
  const an_application_t apps[] = {APP(ok), {log, n, AN_ACTIVE, NULL, 0}};
  an_report_t r;
  assert_int_equal(an_compute(&pipeline, apps, 2, NULL, &r), AN_EINVAL);
  assert_int_equal(r.bad_application, 1);
  assert_null(r.stages);
}

static void test_invalid_logs(void **state) {
  (void)state;
  const an_transition_t no_create[] = {MOVED(APPLIED, SCREEN, 1)};
  const an_transition_t two_creates[] = {CREATED(APPLIED, 0), CREATED(SCREEN, 1)};
  const an_transition_t back_in_time[] = {CREATED(APPLIED, 5), MOVED(APPLIED, SCREEN, 1)};
  const an_transition_t unknown_stage[] = {CREATED(APPLIED, 0), MOVED(APPLIED, 99, 1)};
  const an_transition_t wrong_from[] = {CREATED(APPLIED, 0), MOVED(SCREEN, INTERVIEW, 1)};
  const an_transition_t move_rejected[] = {CREATED(APPLIED, 0), REJECTED(APPLIED, 1, "x"),
                                           MOVED(APPLIED, SCREEN, 2)};
  const an_transition_t unreject_active[] = {CREATED(APPLIED, 0), UNREJECTED(APPLIED, 1)};
  const an_transition_t after_hire[] = {CREATED(APPLIED, 0), HIRE(APPLIED, 1), REJECTED(HIRED, 2, "x")};
  expect_invalid(no_create, 1);
  expect_invalid(two_creates, 2);
  expect_invalid(back_in_time, 2);
  expect_invalid(unknown_stage, 2);
  expect_invalid(wrong_from, 2);
  expect_invalid(move_rejected, 3);
  expect_invalid(unreject_active, 2);
  expect_invalid(after_hire, 3);
  expect_invalid(NULL, 0);
  /* an invalid pipeline: duplicate id, positions not increasing */
  const an_stage_t dup[] = {{1, AN_STAGE_APPLIED, 0}, {1, AN_STAGE_SCREEN, 1}};
  const an_stage_t order[] = {{1, AN_STAGE_APPLIED, 1}, {2, AN_STAGE_SCREEN, 1}};
  an_report_t r;
  assert_int_equal(an_compute(&(an_pipeline_t){dup, 2}, NULL, 0, NULL, &r), AN_EINVAL);
  assert_int_equal(r.bad_application, SIZE_MAX);
  assert_int_equal(an_compute(&(an_pipeline_t){order, 2}, NULL, 0, NULL, &r), AN_EINVAL);
}

static void test_names(void **state) {
  (void)state;
  for (int i = 0; i < 6; i++) {
    an_stage_type_t t;
    an_transition_kind_t k;
    assert_int_equal(an_stage_type_parse(an_stage_type_name((an_stage_type_t)i), &t), 0);
    assert_int_equal(t, i);
    assert_int_equal(an_transition_kind_parse(an_transition_kind_name((an_transition_kind_t)i), &k), 0);
    assert_int_equal(k, i);
  }
  an_stage_type_t t;
  assert_string_equal(an_stage_type_name(AN_STAGE_INTERVIEW), "interview");
  assert_string_equal(an_transition_kind_name(AN_UNREJECTED), "unrejected");
  assert_int_equal(an_stage_type_parse("phone", &t), AN_EINVAL);
  assert_int_equal(an_stage_type_parse(NULL, &t), AN_EINVAL);
  assert_null(an_stage_type_name((an_stage_type_t)7));
}

/* ---- property test: random legal logs over random pipelines ---- */

static uint64_t rng = 0x9e3779b97f4a7c15u;
static unsigned rnd(unsigned n) { /* xorshift64*, uniform enough for tests */
  rng ^= rng >> 12, rng ^= rng << 25, rng ^= rng >> 27;
  return (unsigned)((rng * 2685821657736338717u) >> 33) % n;
}

#define MAX_STAGES 8
#define MAX_LOG 12
#define APPS 200

typedef struct world {
  an_stage_t stages[MAX_STAGES];
  size_t stage_count;
  an_transition_t logs[APPS][MAX_LOG];
  an_application_t apps[APPS];
} world_t;

/* A random pipeline: 2..8 stages, types non-decreasing, the last one hired half the time. */
static void random_pipeline(world_t *w) {
  w->stage_count = 2 + rnd(MAX_STAGES - 1);
  int pos = (int)rnd(3);
  for (size_t i = 0; i < w->stage_count; i++) {
    int hired = i + 1 == w->stage_count && i > 1 && rnd(2);
    an_stage_type_t type = hired ? AN_STAGE_HIRED : (an_stage_type_t)(i * 5 / w->stage_count);
    w->stages[i] = (an_stage_t){(int64_t)(1000 + rnd(50) * 100 + i), type, pos};
    pos += 1 + (int)rnd(3);
  }
}

/* The index of a random non-hired stage other than `except` (SIZE_MAX: none excepted). */
static size_t random_stage(const world_t *w, size_t except) {
  size_t live = w->stage_count - (w->stages[w->stage_count - 1].type == AN_STAGE_HIRED);
  for (;;) {
    size_t s = rnd((unsigned)live);
    if (s != except || live == 1) return s;
  }
}

static void random_application(world_t *w, size_t i) {
  static const char *const why[] = {NULL, "skills", "salary", "timing", "location"};
  an_transition_t *log = w->logs[i];
  size_t n = 0, cur = random_stage(w, SIZE_MAX);
  int64_t at = (int64_t)rnd(1000) * 60000;
  int active = 1;
  int has_hired = w->stages[w->stage_count - 1].type == AN_STAGE_HIRED;
  log[n++] = (an_transition_t){AN_CREATED, -1, w->stages[cur].stage_id, at, NULL};
  for (size_t steps = rnd(MAX_LOG); n < steps; n++) {
    at += rnd(4) == 0 ? 0 : (int64_t)rnd(100000) * 60000;
    int64_t here = w->stages[cur].stage_id;
    unsigned pick = rnd(10);
    an_transition_t t = {AN_MOVED, here, here, at, NULL};
    if (!active) {
      if (pick < 5) break;
      t.kind = AN_UNREJECTED, active = 1;
    } else if (pick < 5) {
      cur = random_stage(w, cur), t.to_stage = w->stages[cur].stage_id;
    } else if (pick < 8) {
      t.kind = pick < 7 ? AN_REJECTED : AN_WITHDRAWN, t.reason = why[rnd(5)], active = 0;
    } else if (has_hired) {
      cur = w->stage_count - 1, t.kind = AN_HIRED, t.to_stage = w->stages[cur].stage_id;
      log[n++] = t;
      break;
    } else {
      break;
    }
    log[n] = t;
  }
  w->apps[i] = (an_application_t){log, n, active ? AN_ACTIVE : AN_STATUS_REJECTED,
                                  rnd(2) ? "board" : "referral", (int64_t)rnd(100)};
}

/* Checks every table against the raw transitions of the applications passing f. */
static void reconcile(const world_t *w, const an_filter_t *f, const an_report_t *r) {
  size_t entries = 0, closed_plus_open = 0, apps = 0;
  size_t reached[MAX_STAGES] = {0}, rejected[MAX_STAGES] = {0}, withdrawn[MAX_STAGES] = {0};
  for (size_t i = 0; i < APPS; i++) {
    const an_application_t *a = &w->apps[i];
    if (!passes(f, a)) continue;
    apps++;
    int furthest = -1;
    for (size_t k = 0; k < a->count; k++) {
      const an_transition_t *t = &a->transitions[k];
      size_t s = (size_t)stage_index(&(an_pipeline_t){w->stages, w->stage_count}, t->to_stage);
      if (t->kind == AN_REJECTED) rejected[s]++;
      if (t->kind == AN_WITHDRAWN) withdrawn[s]++;
      if (t->kind == AN_REJECTED || t->kind == AN_WITHDRAWN) continue;
      entries++;
      if (w->stages[s].position > furthest) furthest = w->stages[s].position;
    }
    for (size_t s = 0; s < w->stage_count; s++) reached[s] += furthest >= w->stages[s].position;
  }
  assert_int_equal(r->applications, apps);
  for (size_t s = 0; s < w->stage_count; s++) {
    const an_stage_metrics_t *m = &r->stages[s];
    closed_plus_open += m->count + m->open;
    assert_int_equal(m->reached, reached[s]);
    if (s > 0) assert_true(m->reached <= r->stages[s - 1].reached);
    assert_int_equal(m->rejected, rejected[s]);
    assert_int_equal(m->withdrawn, withdrawn[s]);
    size_t by_reason = 0;
    for (size_t k = 0; k < m->reason_count; k++) {
      by_reason += m->reasons[k].total;
      assert_int_equal(m->reasons[k].total, m->reasons[k].rejected + m->reasons[k].withdrawn);
      if (k > 0) assert_true(m->reasons[k].total <= m->reasons[k - 1].total);
    }
    assert_int_equal(by_reason, m->rejected + m->withdrawn);
    if (m->stats_defined)
      assert_true(0 <= m->median_ms && m->median_ms <= m->p75_ms && m->p75_ms <= m->p90_ms);
    if (m->conversion_defined)
      assert_true(fabs(m->conversion - (double)r->stages[s + 1].reached / (double)m->reached) < 1e-12);
  }
  assert_int_equal(closed_plus_open, entries);
}

static int cmp_ms(const void *x, const void *y) {
  int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
  return (a > b) - (a < b);
}

/* The percentiles are found by selection, not sorting: on many random sizes and value
 * ranges (few distinct values, so many ties) they must equal the nearest-rank values of the
 * sorted durations. */
static void test_percentiles_match_sorting(void **state) {
  (void)state;
  uint64_t seed = 42;
  for (int round = 0; round < 300; round++) {
    size_t n = 1 + (size_t)(round * 7 % 97);
    int64_t range = round % 3 == 0 ? 3 : round % 3 == 1 ? 50 : 1000000;
    an_transition_t *log = calloc(2 * n, sizeof *log);
    an_application_t *apps = calloc(n, sizeof *apps);
    int64_t *sorted = calloc(n, sizeof *sorted);
    for (size_t i = 0; i < n; i++) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      int64_t d = (int64_t)((seed >> 33) % (uint64_t)range);
      log[2 * i] = (an_transition_t){AN_CREATED, -1, APPLIED, 0, NULL};
      log[2 * i + 1] = (an_transition_t){AN_MOVED, APPLIED, SCREEN, d, NULL};
      apps[i] = (an_application_t){&log[2 * i], 2, AN_ACTIVE, NULL, 0};
      sorted[i] = d;
    }
    qsort(sorted, n, sizeof *sorted, cmp_ms);
    an_report_t r;
    assert_int_equal(an_compute(&pipeline, apps, n, NULL, &r), 0);
    const an_stage_metrics_t *m = &r.stages[I_APPLIED];
    assert_int_equal(m->count, n);
    assert_int_equal(m->median_ms, an_percentile(sorted, n, 50));
    assert_int_equal(m->p75_ms, an_percentile(sorted, n, 75));
    assert_int_equal(m->p90_ms, an_percentile(sorted, n, 90));
    an_report_free(&r);
    free(log);
    free(apps);
    free(sorted);
  }
}

static void test_property_tables_reconcile(void **state) {
  (void)state;
  static world_t w;
  for (int round = 0; round < 50; round++) {
    random_pipeline(&w);
    for (size_t i = 0; i < APPS; i++) random_application(&w, i);
    an_filter_t f = {0}, *fp = NULL;
    if (round % 2) {
      f = (an_filter_t){.has_from = 1, .from_ms = rnd(50), .has_to = (int)rnd(2), .to_ms = 50 + rnd(50)};
      f.source = rnd(3) == 0 ? "referral" : NULL;
      fp = &f;
    }
    an_report_t r;
    assert_int_equal(an_compute(&(an_pipeline_t){w.stages, w.stage_count}, w.apps, APPS, fp, &r), 0);
    reconcile(&w, fp, &r);
    an_report_free(&r);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_skipped_stage_counts_as_reached),
      cmocka_unit_test(test_move_backwards),
      cmocka_unit_test(test_rejection_in_every_stage),
      cmocka_unit_test(test_reapplication_is_separate),
      cmocka_unit_test(test_unreject_then_move),
      cmocka_unit_test(test_hired_interval_is_open),
      cmocka_unit_test(test_cohort_and_source_filter),
      cmocka_unit_test(test_percentile_nearest_rank),
      cmocka_unit_test(test_invalid_logs),
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_percentiles_match_sorting),
      cmocka_unit_test(test_property_tables_reconcile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
