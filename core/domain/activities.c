/* Appending to a candidate's history. */
#include "domain/activities.h"

#include <stdio.h>
#include <stdlib.h>

#include "talentd/types.h"

int td__activity_add(td__ctx_t *ctx, const td__activity_t *a, char id_out[TD_ID_MAX]) {
  char id[TD_ID_MAX];
  td__id_new("act", id);
  char *data = a->data ? json_dumps(a->data, JSON_COMPACT) : NULL;
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO activities(id, candidate_rowid, application_rowid, kind,"
                               " visibility, author_id, author_kind, body, data, at)"
                               " VALUES (?,?,?,?,?,?,?,?,coalesce(?, '{}'),?)");
  int rc = TD_EIO;
  if (st) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_int(st, 2, a->candidate_rowid);
    if (a->application_rowid)
      td__stmt_bind_int(st, 3, a->application_rowid);
    else
      td__stmt_bind_null(st, 3);
    td__stmt_bind_text(st, 4, a->kind);
    td__stmt_bind_text(st, 5, a->visibility ? a->visibility : "team");
    td__stmt_bind_text(st, 6, td__ctx_actor_id(ctx));
    td__stmt_bind_text(st, 7, ctx->actor_kind ? ctx->actor_kind : "system");
    td__stmt_bind_text(st, 8, a->body);
    td__stmt_bind_text(st, 9, data);
    td__stmt_bind_int(st, 10, ctx->now_ms);
    rc = td__stmt_run(st);
  }
  free(data);
  if (rc == 0 && id_out) snprintf(id_out, TD_ID_MAX, "%s", id);
  return rc;
}
