/* Reads off the loop thread: ops run on libuv's thread pool, each pool thread with its own
 * read-only connection (WAL readers never block the writer). */
#ifndef TD_STORE_READER_H
#define TD_STORE_READER_H

#include <uv.h>

#include "store/db.h"

typedef struct td__read_op td__read_op_t;
typedef int (*td__read_fn)(td__db_t *db, void *arg);
typedef void (*td__read_done_fn)(void *arg, int rc);

struct td__read_op {
  uv_work_t work;        /* private */
  td__read_op_t *next;   /* private (the background queue) */
  td__read_fn run;       /* on a pool thread; db is that thread's connection (NULL if it failed to open) */
  td__read_done_fn done; /* on the loop thread */
  void *arg;
  int rc;
};

/* Sets the database path for connections opened from now on. Call before the first op. */
void td__reader_configure(const char *db_path);
/* Queues op (borrowed until done). Returns 0 or TD_EBUSY. */
int td__reader_submit(uv_loop_t *loop, td__read_op_t *op);
/* Queues op (borrowed until done) for the background reader: one thread of its own at the
 * lowest CPU priority (SCHED_IDLE, nice 19) with its own read-only connection, for work that may take a second
 * of CPU (a report over a million applications), so that requests served by the pool and the
 * loop keep their latency while it runs. Ops run one at a time in submission order; done runs
 * on loop's thread. Loop thread only. Returns 0 or TD_EBUSY (stopping). */
int td__reader_submit_background(uv_loop_t *loop, td__read_op_t *op);
/* Stops accepting background ops and closes its loop handle (the op running, if any, finishes
 * on its thread and is dropped). Loop thread, before the loop's handles are closed. */
void td__reader_background_stop(void);
/* Closes every pool connection and joins the background thread; call once the loop has ended
 * (at shutdown). */
void td__reader_close_all(void);

#endif
