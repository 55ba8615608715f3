/* `talentd demo --data DIR`: a believable data set for trying talentd and for screenshots.
 * 8 jobs in 4 departments, about 2,000 candidates and 3,000 applications whose stage
 * transitions span the last 9 months, with realistic pass-through rates, times in stage,
 * sources and reasons for rejection. Everything goes through the domain functions (with the
 * clock set back), so the transition log, events and history are what real use writes. */
#include <math.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "domain/applications.h"
#include "domain/candidates.h"
#include "domain/jobs.h"
#include "domain/notes.h"
#include "domain/tasks.h"
#include "domain/touches.h"
#include "auth/authn.h"
#include "domain/users.h"
#include "util/id.h"
#include "talentd/types.h"
#include "util/mem.h"
#include "util/time.h"

#define DAY_MS (24LL * 3600 * 1000)
#define CANDIDATES 2000
#define APPLICATIONS 3000
#define HISTORY_DAYS 270

/* A small deterministic generator: the demo is the same every time (not for secrets). */
static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static double rnd01(void) { return (double)(rnd() >> 11) / 9007199254740992.0; }
static size_t pick(size_t n) { return (size_t)(rnd() % n); }
#define PICK(arr) (arr[pick(sizeof arr / sizeof arr[0])])
/* Days drawn from a log-normal with the given median: most are near it, a few much longer. */
static double lognormal_days(double median, double spread) {
  double u1 = rnd01() + 1e-12, u2 = rnd01();
  double z = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
  return median * exp(spread * z);
}

static const char *const first_names[] = {
    "Ada",   "Grace", "Alan",  "Linus", "Margaret", "Ken",      "Barbara", "Dennis", "Frances", "Edsger",
    "Hedy",  "Tim",   "Radia", "Guido", "Sophie",   "Yukihiro", "Anita",   "Bjarne", "Karen",   "Donald",
    "Maria", "Chen",  "Priya", "Amara", "Lucas",    "Noah",     "Emma",    "Olivia", "Mateo",   "Aisha",
    "Omar",  "Sofia", "Liam",  "Mia",   "Hiro",     "Ingrid",   "Kwame",   "Leila",  "Nadia",   "Pablo"};
static const char *const last_names[] = {
    "Lovelace", "Hopper", "Turing",  "Torvalds", "Hamilton", "Thompson", "Liskov",    "Ritchie", "Allen",
    "Dijkstra", "Lamarr", "Berners", "Perlman",  "Rossum",   "Wilson",   "Matsumoto", "Borg",    "Stroustrup",
    "Jones",    "Knuth",  "Garcia",  "Wei",      "Patel",    "Okafor",   "Silva",     "Kim",     "Novak",
    "Haddad",   "Rossi",  "Nguyen",  "Schmidt",  "Dubois",   "Mensah",   "Larsen",    "Tanaka",  "Costa"};
static const char *const cities[] = {"Berlin", "Lisbon", "London", "New York", "Austin", "Toronto",
                                     "Remote", "Paris",  "Madrid", "Chicago",  "Denver", "Amsterdam"};
static const char *const sources[] = {"linkedin", "linkedin", "referral", "careers_page", "careers_page",
                                      "indeed",   "agency",   "sourced",  "event"};

typedef struct demo_job {
  const char *title, *department, *location;
  const char *skills[6];
  int openings;
  bool confidential;
  char id[TD_ID_MAX];
  char stages[8][TD_ID_MAX]; /* by position */
  char types[8][16];
  int stage_count;
} demo_job_t;

static demo_job_t jobs[] = {
    {.title = "Senior Backend Engineer",
     .department = "Engineering",
     .location = "Berlin",
     .skills = {"c", "postgres", "kubernetes", "rust", "linux", "kafka"},
     .openings = 11,
     .confidential = false},
    {.title = "Frontend Engineer",
     .department = "Engineering",
     .location = "Remote",
     .skills = {"react", "typescript", "css", "figma", "testing", "graphql"},
     .openings = 10,
     .confidential = false},
    {.title = "Account Executive",
     .department = "Sales",
     .location = "New York",
     .skills = {"salesforce", "negotiation", "saas", "pipeline", "enterprise", "hubspot"},
     .openings = 12,
     .confidential = false},
    {.title = "Sales Development Representative",
     .department = "Sales",
     .location = "Austin",
     .skills = {"outbound", "hubspot", "cold calling", "crm", "prospecting", "saas"},
     .openings = 12,
     .confidential = false},
    {.title = "Customer Success Manager",
     .department = "Customer Success",
     .location = "London",
     .skills = {"onboarding", "renewals", "zendesk", "saas", "training", "churn"},
     .openings = 10,
     .confidential = false},
    {.title = "Support Specialist",
     .department = "Customer Success",
     .location = "Lisbon",
     .skills = {"zendesk", "sql", "troubleshooting", "languages", "empathy", "jira"},
     .openings = 11,
     .confidential = false},
    {.title = "Financial Analyst",
     .department = "Finance",
     .location = "Toronto",
     .skills = {"excel", "forecasting", "sql", "tableau", "budgeting", "modeling"},
     .openings = 10,
     .confidential = false},
    {.title = "Head of Finance",
     .department = "Finance",
     .location = "London",
     .skills = {"ifrs", "audit", "leadership", "fundraising", "treasury", "payroll"},
     .openings = 1,
     .confidential = true},
};

typedef struct stage_odds {
  const char *type;
  double pass;        /* probability of moving on */
  double median_days; /* time in stage */
  const char *reasons[3];
} stage_odds_t;

/* Believable pass-through and time in stage, by stage type. */
static const stage_odds_t odds[] = {
    {"lead", 0.5, 4, {"No response", "Not interested", "Not a fit"}},
    {"applied", 0.3, 3, {"Not enough experience", "Location does not fit", "Role mismatch"}},
    {"screen", 0.45, 5, {"Salary expectations", "Communication", "Availability"}},
    {"interview", 0.3, 9, {"Technical skills", "Team fit", "Stronger candidates"}},
    {"offer", 0.75, 5, {"Declined offer", "Accepted another offer", "Compensation"}},
};

static const stage_odds_t *odds_for(const char *type) {
  for (size_t i = 0; i < sizeof odds / sizeof odds[0]; i++)
    if (strcmp(odds[i].type, type) == 0) return &odds[i];
  return NULL;
}

static int fail_with(td__ctx_t *ctx, const char *what, int rc) {
  char *problem = ctx->problem ? json_dumps(ctx->problem, JSON_COMPACT) : NULL;
  fprintf(stderr, "talentd demo: %s failed (%s)%s%s\n", what, td_strerror(rc), problem ? ": " : "",
          problem ? problem : "");
  free(problem);
  return rc ? rc : TD_EINTERNAL;
}

/* Creates the users; returns their ids through the array (admin, recruiter, manager, interviewer). */
static int make_users(td__db_t *db, const char *data_dir, char ids[4][TD_ID_MAX]) {
  static const char *const emails[] = {"admin@demo.talentd.local", "recruiter@demo.talentd.local",
                                       "hiring.manager@demo.talentd.local", "interviewer@demo.talentd.local"};
  static const char *const names[] = {"Avery Admin", "Riley Recruiter", "Morgan Manager", "Indy Interviewer"};
  static const td__role_t roles[] = {TD_ROLE_ADMIN, TD_ROLE_RECRUITER, TD_ROLE_HIRING_MANAGER,
                                     TD_ROLE_INTERVIEWER};
  char *path = td__xprintf("%s/demo-logins.txt", data_dir);
  FILE *f = fopen(path, "w");
  if (f == NULL) {
    fprintf(stderr, "talentd demo: cannot write %s\n", path);
    free(path);
    return TD_EIO;
  }
  chmod(path, 0600);
  fprintf(f, "Demo sign-ins (POST /api/v1/sessions with email and password):\n");
  for (int i = 0; i < 4; i++) {
    char password[32], hash[crypto_pwhash_STRBYTES];
    td__random_token(12, password, sizeof password);
    if (td__password_hash(password, hash, sizeof hash) != 0 ||
        td__user_create(db, emails[i], names[i], roles[i], hash, td__time_now_ms(), ids[i]) != 0) {
      fclose(f);
      free(path);
      fprintf(stderr, "talentd demo: cannot create the demo users (is this data directory new?)\n");
      return TD_ECONFLICT;
    }
    fprintf(f, "  %-15s %-36s %s\n", td__role_name(roles[i]), emails[i], password);
  }
  fclose(f);
  free(path);
  return 0;
}

static int make_job(td__ctx_t *ctx, demo_job_t *j, char users[4][TD_ID_MAX]) {
  json_t *openings = json_array();
  for (int i = 0; i < j->openings; i++) {
    char date[32];
    /* The plan's waves: openings due over the past months (most get filled by the history's
     * hires) and the last three due in the coming weeks and months (the open pipeline). */
    int future = j->openings - i <= 3;
    int64_t offset_days = future ? 20 + 35 * (3 - (j->openings - i)) + (int64_t)pick(10) : -20 - (int64_t)pick(180);
    td__time_format(td__time_now_ms() + offset_days * DAY_MS, date, sizeof date);
    date[10] = '\0';
    json_array_append_new(openings, json_pack("{s:s}", "target_date", date));
  }
  json_t *body =
      json_pack("{s:s,s:s,s:s,s:s,s:s,s:b,s:{s:[s],s:[s],s:[s]},s:o}", "title", j->title, "department",
                j->department, "location", j->location, "employment_type", "full_time", "status", "open",
                "confidential", j->confidential, "hiring_team", "hiring_managers", users[2], "recruiters",
                users[1], "interviewers", users[3], "openings", openings);
  json_t *out = NULL;
  int64_t version = 0;
  int rc = td__job_create(ctx, body, &out, &version);
  json_decref(body);
  if (rc) return fail_with(ctx, "creating a job", rc);
  snprintf(j->id, sizeof j->id, "%s", json_string_value(json_object_get(out, "id")));
  size_t i;
  json_t *st;
  json_array_foreach(json_object_get(out, "stages"), i, st) {
    if (i >= 8) break;
    snprintf(j->stages[i], sizeof j->stages[i], "%s", json_string_value(json_object_get(st, "id")));
    snprintf(j->types[i], sizeof j->types[i], "%s", json_string_value(json_object_get(st, "type")));
    j->stage_count = (int)i + 1;
  }
  json_decref(out);
  return 0;
}

static json_t *candidate_body(int n, const demo_job_t *j) {
  const char *first = PICK(first_names), *last = PICK(last_names);
  char email[160], phone[32], resume[2048];
  snprintf(email, sizeof email, "%s.%s.%d@example.com", first, last, n);
  for (char *p = email; *p; p++)
    if (*p >= 'A' && *p <= 'Z') *p = (char)(*p - 'A' + 'a');
  snprintf(phone, sizeof phone, "+1 (555) 01%02d-%04d", (int)pick(100), (int)pick(10000));
  const char *s1 = j->skills[pick(6)], *s2 = j->skills[pick(6)], *s3 = j->skills[pick(6)];
  snprintf(resume, sizeof resume,
           "%s %s. %d years of experience as %s in %s. Skills: %s, %s, %s. Previously at a %s company; "
           "led projects in %s and %s. Looking for a %s role in %s.",
           first, last, 1 + (int)pick(15), j->title, j->department, s1, s2, s3,
           pick(2) ? "fast-growing" : "large", s2, s3, j->title, PICK(cities));
  return json_pack("{s:s,s:s,s:[s],s:[s],s:s,s:s,s:[s,s],s:s}", "first_name", first, "last_name", last,
                   "emails", email, "phones", phone, "location", PICK(cities), "source", PICK(sources),
                   "tags", s1, j->department, "resume_text", resume);
}

/* Walks one application forward from applied_at until it drops out, is hired, or reaches
 * today, moving the clock so every transition carries its real date. */
static int advance(td__ctx_t *ctx, const demo_job_t *j, const char *app_id, int start, int64_t at) {
  int64_t now = td__time_now_ms();
  json_t *out = NULL;
  int64_t version;
  for (int pos = start; pos < j->stage_count; pos++) {
    const stage_odds_t *o = odds_for(j->types[pos]);
    if (o == NULL) break; /* the hired stage: reached through hire */
    at += (int64_t)(lognormal_days(o->median_days, 0.6) * (double)DAY_MS);
    if (at >= now) return 0; /* still in this stage today: an open interval */
    ctx->now_ms = at;
    int rc;
    if (rnd01() > o->pass) {
      bool withdrew = strcmp(o->type, "offer") == 0 ? pick(3) > 0 : pick(4) == 0;
      rc = td__application_reject(ctx, app_id, withdrew ? "withdrawn" : "rejected", o->reasons[pick(3)], &out,
                                  &version);
      json_decref(out);
      out = NULL;
      return rc ? fail_with(ctx, "rejecting", rc) : 0;
    }
    if (pos + 1 < j->stage_count && strcmp(j->types[pos + 1], "hired") == 0) {
      rc = td__application_hire(ctx, app_id, NULL, &out, &version);
      json_decref(out);
      out = NULL;
      if (rc == 0) return 0;
      /* Every opening is filled: the offer is withdrawn on our side. */
      td__ctx_dispose(ctx);
      rc = td__application_reject(ctx, app_id, "rejected", "Position filled", &out, &version);
      json_decref(out);
      out = NULL;
      return rc ? fail_with(ctx, "rejecting", rc) : 0;
    }
    rc = td__application_move(ctx, app_id, j->stages[pos + 1], NULL, &out, &version);
    json_decref(out);
    out = NULL;
    if (rc) return fail_with(ctx, "moving", rc);
  }
  return 0;
}

static int make_application(td__ctx_t *ctx, const char *candidate_id, const demo_job_t *j, const char *source,
                            int64_t applied_at) {
  bool sourced = strcmp(source, "sourced") == 0 && strcmp(j->types[0], "lead") == 0;
  int start = sourced ? 0 : 1;
  ctx->now_ms = applied_at;
  json_t *body = json_pack("{s:s,s:s,s:s,s:s}", "candidate_id", candidate_id, "job_id", j->id, "source",
                           source, "stage_id", j->stages[start]);
  json_t *out = NULL;
  int64_t version;
  int rc = td__application_create(ctx, body, &out, &version);
  json_decref(body);
  if (rc == TD_ECONFLICT ||
      (rc && ctx->problem && json_integer_value(json_object_get(ctx->problem, "status")) == 409)) {
    td__ctx_dispose(ctx);
    return 0; /* already applied to this job */
  }
  if (rc) return fail_with(ctx, "creating an application", rc);
  char app_id[TD_ID_MAX];
  snprintf(app_id, sizeof app_id, "%s", json_string_value(json_object_get(out, "id")));
  json_decref(out);
  return advance(ctx, j, app_id, start, applied_at);
}

static int make_notes_and_tasks(td__ctx_t *ctx, const char *candidate_id, const char *recruiter) {
  static const char *const notes[] = {
      "Strong communicator; follow up next week.", "Prefers hybrid work; open to relocation.",
      "Referred by a former colleague. Great portfolio.", "Asked about equity and the on-call rotation."};
  json_t *out = NULL;
  json_t *body = json_pack("{s:s,s:s}", "body", PICK(notes), "visibility", "team");
  int rc = td__note_create(ctx, candidate_id, body, &out);
  json_decref(body);
  json_decref(out);
  if (rc) return fail_with(ctx, "adding a note", rc);
  char due[32];
  td__time_format(td__time_now_ms() + (int64_t)(1 + pick(10)) * DAY_MS, due, sizeof due);
  body = json_pack("{s:s,s:s,s:s,s:s}", "title", "Call back about next steps", "assignee_id", recruiter,
                   "due_at", due, "candidate_id", candidate_id);
  int64_t version;
  rc = td__task_create(ctx, body, &out, &version);
  json_decref(body);
  json_decref(out);
  return rc ? fail_with(ctx, "creating a task", rc) : 0;
}

/* Earlier contacts for some people (a meetup, the alumni talent pool, a job-board click, a
 * colleague's referral) some weeks before they apply, so source attribution has several
 * touches to share credit between. */
static int make_touches(td__ctx_t *ctx, const char *candidate_id, int64_t applied_at) {
  static const struct {
    const char *channel, *source;
  } earlier[] = {{"event", "Berlin Tech Meetup"}, {"pool", "Alumni"}, {"board", "linkedin"},
                 {"referral", "referral"}, {"event", "Careers fair"}};
  td__candidate_ref_t ref;
  int rc = td__candidate_resolve(ctx->db, candidate_id, &ref);
  for (size_t k = 0, n = 1 + pick(2); rc == 0 && k < n; k++) {
    size_t e = pick(sizeof earlier / sizeof earlier[0]);
    td__touch_t t = {.candidate_rowid = ref.rowid, .channel = earlier[e].channel, .source = earlier[e].source,
                     .at_ms = applied_at - (int64_t)(5 + pick(60)) * DAY_MS};
    rc = td__touch_record(ctx, &t, NULL);
  }
  return rc ? fail_with(ctx, "recording a touch", rc) : 0;
}

static int fill(td__ctx_t *ctx, char users[4][TD_ID_MAX]) {
  int64_t now = td__time_now_ms();
  ctx->now_ms = now - HISTORY_DAYS * DAY_MS - 30 * DAY_MS;
  size_t njobs = sizeof jobs / sizeof jobs[0];
  for (size_t i = 0; i < njobs; i++) {
    int rc = make_job(ctx, &jobs[i], users);
    if (rc) return rc;
  }
  int applications = 0;
  for (int n = 0; n < CANDIDATES; n++) {
    int64_t applied_at = now - (int64_t)(rnd01() * HISTORY_DAYS * (double)DAY_MS);
    const demo_job_t *first_job = &jobs[pick(njobs)];
    ctx->now_ms = applied_at - DAY_MS;
    json_t *body = candidate_body(n, first_job);
    json_t *out = NULL;
    bool created = false;
    int rc = td__candidate_create(ctx, body, false, &out, &created);
    const char *source = json_string_value(json_object_get(body, "source"));
    char source_copy[32], candidate_id[TD_ID_MAX];
    snprintf(source_copy, sizeof source_copy, "%s", source);
    json_decref(body);
    if (rc) return fail_with(ctx, "creating a candidate", rc);
    snprintf(candidate_id, sizeof candidate_id, "%s", json_string_value(json_object_get(out, "id")));
    json_decref(out);
    if (n % 3 == 0 && (rc = make_touches(ctx, candidate_id, applied_at)) != 0) return rc;
    /* About 1.5 applications per person: 3,000 over 2,000 candidates. */
    int wanted = applications < APPLICATIONS && (n % 2 == 0) ? 2 : 1;
    for (int k = 0; k < wanted && applications < APPLICATIONS; k++) {
      const demo_job_t *j = k == 0 ? first_job : &jobs[pick(njobs)];
      int64_t at = applied_at + (int64_t)k * 7 * DAY_MS;
      if (at >= now) at = now - DAY_MS;
      rc = make_application(ctx, candidate_id, j, source_copy, at);
      if (rc) return rc;
      applications++;
    }
    if (n % 20 == 0) {
      ctx->now_ms = now - (int64_t)pick(30) * DAY_MS;
      rc = make_notes_and_tasks(ctx, candidate_id, users[1]);
      if (rc) return rc;
    }
  }
  printf("demo: %zu jobs, %d candidates, %d applications\n", njobs, CANDIDATES, applications);
  return 0;
}

int td__cli_demo(const char *data_dir) {
  td__db_t *db = NULL;
  if (td__cli_open_store(data_dir, &db)) return 1;
  char users[4][TD_ID_MAX];
  int rc = td__db_exec(db, "BEGIN IMMEDIATE");
  if (rc == 0) rc = make_users(db, data_dir, users);
  if (rc == 0) {
    td__ctx_t ctx = {.db = db, .actor_kind = "system", .cause = "demo"};
    snprintf(ctx.principal.user_id, sizeof ctx.principal.user_id, "%s", users[1]);
    ctx.principal.role = TD_ROLE_ADMIN; /* the demo acts with every permission, in the recruiter's name */
    ctx.principal.via = TD_VIA_SYSTEM;
    ctx.principal.can_write = true;
    rc = fill(&ctx, users);
    td__ctx_dispose(&ctx);
  }
  /* The bundled plugins a demo shows off; the states apply at the next start. */
  if (rc == 0)
    rc = td__db_exec(db,
                     "INSERT OR IGNORE INTO plugin_states (name, enabled, updated_at) "
                     "VALUES ('webhooks', 1, unixepoch() * 1000), ('analytics', 1, unixepoch() * 1000),"
                     " ('crm', 1, unixepoch() * 1000), ('sequences', 1, unixepoch() * 1000)");
  rc = rc == 0 ? td__db_exec(db, "COMMIT") : (td__db_exec(db, "ROLLBACK"), rc);
  td__db_close(db);
  if (rc) return 1;
  char *path = td__xprintf("%s/demo-logins.txt", data_dir);
  FILE *f = fopen(path, "r");
  char line[256];
  while (f && fgets(line, sizeof line, f)) fputs(line, stdout);
  if (f) fclose(f);
  free(path);
  return 0;
}
