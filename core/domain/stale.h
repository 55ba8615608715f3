/* Stale applications: an active application that has stayed in its current stage longer
 * than the stage's SLA gets one application.stale event per stage visit (a visit is the
 * stage plus the time the application entered it, so moving on and coming back later is a
 * new visit). The SLA is the stage's sla_days when set, else a default per stage type from
 * the configuration (applications.stale_after_days); a hired-type stage never goes stale,
 * and neither does a closed (rejected, withdrawn, hired) application. Reported visits are
 * recorded in application_stale_visits, in the same transaction as their events. */
#ifndef TD_DOMAIN_STALE_H
#define TD_DOMAIN_STALE_H

#include <jansson.h>

#include "domain/context.h"
#include "util/id.h"

/* The stage types that may go stale, as indexes of td__stale_sla_t.days. */
enum { TD_STALE_LEAD, TD_STALE_APPLIED, TD_STALE_SCREEN, TD_STALE_INTERVIEW, TD_STALE_OFFER, TD_STALE_TYPES };

/* Default SLA in days per stage type; 0 means that type never goes stale by default (a
 * stage's own sla_days still applies). */
typedef struct td__stale_sla {
  int days[TD_STALE_TYPES];
} td__stale_sla_t;

/* The defaults (lead none, applied 7, screen 5, interview 7, offer 3) overridden by
 * applications.stale_after_days of config (borrowed; NULL: defaults only), where an integer
 * sets a type's default and null turns it off. */
void td__stale_sla_from_config(const json_t *config, td__stale_sla_t *out);

/* One stage visit found stale. */
typedef struct td__stale_visit {
  int64_t application_rowid, stage_rowid, entered_at, sla_days;
  char application_id[TD_ID_MAX], candidate_id[TD_ID_MAX], job_id[TD_ID_MAX], stage_id[TD_ID_MAX];
  char stage_type[16];
} td__stale_visit_t;

/* Finds up to limit stale visits not reported yet, oldest first, as of now_ms, on db (any
 * connection: the runner uses a reader thread, so the scan of active applications never
 * holds the writer). *n gets the count. Returns 0 or a TD_E* storage error. */
int td__stale_find(td__db_t *db, int64_t now_ms, const td__stale_sla_t *sla, int limit,
                   td__stale_visit_t *out, int *n);
/* Reports visits found by td__stale_find inside the caller's write transaction, each only
 * if it still holds (the application is still active in that stage visit and it was not
 * reported meanwhile): one application.stale event and one application_stale_visits row.
 * *reported gets the number reported. Returns 0 or a TD_E* storage error. */
int td__stale_report(td__ctx_t *ctx, const td__stale_visit_t *visits, int n, int *reported);

/* find then report on ctx->db, in one go (tests, and small installations). Reports up to
 * limit stale stage visits not reported yet, oldest first, as of ctx->now_ms:
 * for each, one application.stale event and one application_stale_visits row, on ctx->db
 * (inside the caller's write transaction). The number reported goes to *reported (may be
 * NULL); a full batch (== limit) means more may be waiting. Returns 0 or a TD_E* storage
 * error (the caller rolls back). */
int td__stale_scan(td__ctx_t *ctx, const td__stale_sla_t *sla, int limit, int *reported);

#endif
