/* What pools and segments share as stored resources with an id and a version: loading one,
 * answering with it (ETag "v<version>", Location on a 201), listing them by pages, the
 * If-Match check of a write and DELETE. The conventions are the core's (api/call.c). */
#ifndef CRM_RESOURCE_H
#define CRM_RESOURCE_H

#include "crm.h"

typedef struct crm_resource {
  const char *what;       /* "pool", for problems */
  const char *table;      /* "crm_pools" */
  const char *collection; /* "/api/v1/pools", for Location */
  const char *select;     /* "SELECT <columns> FROM <table> t": rows carry rowid, id and version */
  json_t *(*to_json)(const json_t *row);
} crm_resource_t;

/* The row of id (new reference in *row). Returns 0, TD_ENOTFOUND or the query's error. */
int crm_res_load(td_tx_t *tx, const crm_resource_t *r, const char *id, json_t **row);

/* Answers status with id's current state and its ETag, and Location when status is 201 (404
 * when there is none). */
int crm_res_answer(td_request_t *req, td_tx_t *tx, const crm_resource_t *r, const char *id, int status);

/* The row of a write on id: 404 when missing, 412 when If-Match names another version
 * (crm_check_if_match). Returns 0 with *row (new reference), or nonzero with the answer set. */
int crm_res_load_for_write(td_request_t *req, td_tx_t *tx, const crm_resource_t *r, const char *id,
                           json_t **row);

/* Route handlers whose data is the crm_resource_t: GET list (paged, oldest first), GET one
 * (with its ETag) and DELETE (honouring If-Match). */
int crm_res_list_route(td_request_t *req, td_tx_t *tx, void *data);
int crm_res_get_route(td_request_t *req, td_tx_t *tx, void *data);
int crm_res_delete_route(td_request_t *req, td_tx_t *tx, void *data);

#endif
