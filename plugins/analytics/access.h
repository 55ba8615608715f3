/* Who may see which analytics, one rule for every report. Admins see every job; recruiters
 * every job except confidential ones whose hiring team they are not on (the core's rule for
 * jobs, core/auth/policy.c); hiring managers the jobs whose team lists them as hiring_manager;
 * everyone else nothing (403). A job the caller may not see answers 404, as if it did not
 * exist; a report without job_id covers only the jobs the caller may see (the history it
 * learns from is wider for hiring managers: an_access_history). */
#ifndef ANALYTICS_ACCESS_H
#define ANALYTICS_ACCESS_H

#include <stddef.h>
#include <talentd/plugin.h>

typedef enum an_access_role { AN_ACCESS_ADMIN, AN_ACCESS_RECRUITER, AN_ACCESS_MANAGER } an_access_role_t;

typedef struct an_access {
  an_access_role_t role;
  const char *user_id; /* borrowed from the request */
} an_access_t;

/* Reads the caller. Returns 0, or answers 403 (401 without a caller) and returns TD_EDENIED. */
int an_access_begin(const td_host_api_t *api, td_request_t *req, an_access_t *out);

/* The access under which a report reads HISTORY (hire rates, the forecast's model), as
 * opposed to the jobs it reports on: a hiring manager learns from the jobs a recruiter on
 * their teams would see (every non-confidential job, and the confidential ones whose team
 * lists them in any role), so one job's manager still gets rates from enough data, while no
 * confidential job they are not on contributes. Admins and recruiters keep their own. */
an_access_t an_access_history(const an_access_t *a);

/* 1 when the caller sees every job (the report needs no job filter). */
int an_access_sees_all(const an_access_t *a);

/* Writes into buf an SQL predicate over a jobs row aliased `j` that is true for the jobs the
 * caller may see; it reads the caller's user id from parameter ?<param> (bind
 * an_access_user(a) there). Returns 0, or TD_ELIMIT when buf is too small. */
int an_access_sql(const an_access_t *a, int param, char *buf, size_t size);

/* The value to bind at the predicate's parameter (never NULL). */
const char *an_access_user(const an_access_t *a);

/* Checks that the job exists and the caller may see it: 0, or answers 404 and returns
 * TD_ENOTFOUND (TD_EIO after answering 500 when the query failed). */
int an_access_job(const td_host_api_t *api, td_tx_t *tx, td_request_t *req, const an_access_t *a,
                  const char *job_id);

#endif
