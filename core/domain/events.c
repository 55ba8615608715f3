/* The outbox writer. */
#include "domain/events.h"

#include <stdlib.h>

#include "talentd/types.h"
#include "util/id.h"

int td__event_emit(td__ctx_t *ctx, const char *type, const char *subject_type, const char *subject_id,
                   json_t *data) {
  char id[TD_ID_MAX];
  td__id_new("evt", id);
  if (data == NULL) data = json_object();
  char *text = json_dumps(data, JSON_COMPACT);
  json_decref(data);
  td__stmt_t *st = td__db_stmt(ctx->db,
                               "INSERT INTO events(id, type, occurred_at, actor_id, actor_kind,"
                               " subject_type, subject_id, data, cause) VALUES (?,?,?,?,?,?,?,?,?)");
  int rc = TD_EIO;
  if (st && text) {
    td__stmt_bind_text(st, 1, id);
    td__stmt_bind_text(st, 2, type);
    td__stmt_bind_int(st, 3, ctx->now_ms);
    td__stmt_bind_text(st, 4, td__ctx_actor_id(ctx));
    td__stmt_bind_text(st, 5, ctx->actor_kind ? ctx->actor_kind : "system");
    td__stmt_bind_text(st, 6, subject_type);
    td__stmt_bind_text(st, 7, subject_id);
    td__stmt_bind_text(st, 8, text);
    td__stmt_bind_text(st, 9, ctx->cause);
    rc = td__stmt_run(st);
  }
  free(text);
  return rc;
}
