/* A request body streamed to a temporary file with libuv's asynchronous file API, for the
 * server (server.c): the loop never waits on the disk, one operation is in flight at a time
 * and writes go in order, and the bytes held in memory stay bounded because the owner stops
 * feeding (and reading its socket) while td__http_spool_full says so.
 *
 * Life: open → append... → finish → (event DONE) → release, or abort at any point. Events
 * reach the owner only from libuv's file callbacks, never from inside a spool call, so the
 * owner may call them from its parser callbacks. After abort or release nothing more is
 * heard; an aborted spool closes and removes its file, then frees itself. */
#ifndef TD_HTTP_SPOOL_H
#define TD_HTTP_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <uv.h>

typedef struct td__http_spool td__http_spool_t;

typedef enum td__http_spool_event {
  TD_SPOOL_PROGRESS, /* an operation finished: the spool may have room again */
  TD_SPOOL_DONE,     /* finished and the file closed: release it */
  TD_SPOOL_ERROR,    /* a file operation failed: abort it (the file is then removed) */
} td__http_spool_event_t;

typedef void (*td__http_spool_cb)(td__http_spool_t *s, td__http_spool_event_t event, void *owner);

/* Memory a spool may fill before the owner must stop feeding it. */
#define TD_SPOOL_HIGH_WATER (64 * 1024)

/* Starts creating a file "upload-XXXXXX" in dir (copied; made, 0700, if missing). Never
 * fails at once: a failure shows in td__http_spool_failed and as an ERROR event. */
td__http_spool_t *td__http_spool_open(uv_loop_t *loop, const char *dir, td__http_spool_cb cb, void *owner);
/* Copies len bytes to go after those appended before. */
void td__http_spool_append(td__http_spool_t *s, const char *data, size_t len);
/* True while the owner must not append: an operation is in flight or the buffer is at its
 * high-water mark. */
bool td__http_spool_full(const td__http_spool_t *s);
/* True once an operation failed. */
bool td__http_spool_failed(const td__http_spool_t *s);
/* Body bytes held in memory now (appended, not yet written). */
size_t td__http_spool_held(const td__http_spool_t *s);
/* No more bytes will come: write what is held, close the file, then DONE. */
void td__http_spool_finish(td__http_spool_t *s);
/* After DONE: hands over the file (*path is owned by the caller, who removes the file) and
 * its size, and frees s. */
void td__http_spool_release(td__http_spool_t *s, char **path, size_t *size);
/* The owner no longer wants the body: s stops calling back, removes its file and frees
 * itself once its operation in flight is over. */
void td__http_spool_abort(td__http_spool_t *s);

#endif
