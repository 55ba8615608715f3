/* Tasks: to-dos for a person ("call back Ana on Friday"), optionally about a candidate or
 * one of their applications. Not scheduler work (ARCHITECTURE section 1).
 *
 * Who sees a task: its assignee and its creator always; anyone else when it is about a
 * candidate they may see (td__policy_candidate_visible) and, if it names an application,
 * an application they may see too. A task about nobody is personal. Creating and updating
 * need TD_ACT_CREATE / TD_ACT_UPDATE on tasks (interviewers may update, e.g. complete, the
 * tasks they see, but not create). */
#ifndef TD_DOMAIN_TASKS_H
#define TD_DOMAIN_TASKS_H

#include <jansson.h>
#include <stdint.h>

#include "domain/context.h"

/* Creates a task from a validated body (borrowed): title; optional assignee_id (an active
 * user; default the caller), due_at (RFC 3339), candidate_id, application_id (the task
 * then concerns that application's candidate; naming another candidate is a 422), done.
 * Emits task.created. *out is the task JSON (new reference), *version its version. */
int td__task_create(td__ctx_t *ctx, const json_t *body, json_t **out, int64_t *version);

/* The task as API JSON when ctx's principal may see it (404 on ctx otherwise). */
int td__task_get(td__ctx_t *ctx, const char *task_id, json_t **out, int64_t *version);

/* Applies a validated PATCH body (borrowed): any of title, assignee_id, due_at,
 * candidate_id, application_id (the last four nullable) and done. Emits task.completed
 * when done turns true, else task.updated. The caller checks If-Match first (with
 * td__task_get's version): both run in the same write transaction. */
int td__task_update(td__ctx_t *ctx, const char *task_id, const json_t *body, json_t **out, int64_t *version);

/* List filters; NULL members do not filter. assignee_id "me" means the caller. */
typedef struct td__task_filter {
  const char *assignee_id;
  int done; /* -1: either, 0: open, 1: done */
  const char *candidate_id;
  const char *application_id;
  int64_t due_before_ms; /* 0: none; else due_at < this */
} td__task_filter_t;

/* One page of visible tasks by rowid after `after`; *next_rowid is 0 at the end. */
int td__task_list(td__ctx_t *ctx, const td__task_filter_t *filter, int limit, int64_t after, json_t **items,
                  int64_t *next_rowid);

#endif
