/* Audit entries, written in the same transaction as the change they describe. */
#include "domain/audit.h"

#include "talentd/types.h"
#include "util/id.h"

int td__audit_write(td__db_t *db, const td__audit_entry_t *e) {
  td__stmt_t *st = td__db_stmt(db,
                               "INSERT INTO audit_log(id, at, actor_id, actor_kind, action, object_type,"
                               " object_id, status, request_id, remote_ip) VALUES (?,?,?,?,?,?,?,?,?,?)");
  if (st == NULL) return TD_EIO;
  char id[TD_ID_MAX];
  td__id_new("aud", id);
  td__stmt_bind_text(st, 1, id);
  td__stmt_bind_int(st, 2, e->at_ms);
  td__stmt_bind_text(st, 3, e->actor_id && *e->actor_id ? e->actor_id : NULL);
  td__stmt_bind_text(st, 4, e->actor_kind);
  td__stmt_bind_text(st, 5, e->action);
  td__stmt_bind_text(st, 6, e->object_type && *e->object_type ? e->object_type : NULL);
  td__stmt_bind_text(st, 7, e->object_id && *e->object_id ? e->object_id : NULL);
  td__stmt_bind_int(st, 8, e->status);
  td__stmt_bind_text(st, 9, e->request_id);
  td__stmt_bind_text(st, 10, e->remote_ip && *e->remote_ip ? e->remote_ip : NULL);
  return td__stmt_run(st);
}
