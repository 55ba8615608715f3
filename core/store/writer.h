/* The writer thread: the one read-write connection, and group commit.
 *
 * Every write in the server is an op queued here. The thread takes everything queued, runs
 * each op inside its own SAVEPOINT of one batch transaction, commits once (one fsync for
 * the batch, synchronous=FULL), then reports each op's result on the loop thread. So a 2xx
 * is sent only after the change is durable, and the loop thread never waits on an fsync. */
#ifndef TD_STORE_WRITER_H
#define TD_STORE_WRITER_H

#include <uv.h>

#include "store/db.h"

typedef struct td__writer td__writer_t;
typedef struct td__write_op td__write_op_t;

/* Runs on the writer thread inside the op's savepoint. Return 0 to keep the op's changes,
 * anything else to roll back to the savepoint; the value is passed to done unchanged. */
typedef int (*td__write_fn)(td__db_t *db, void *arg);
/* Runs on the loop thread after the batch committed (rc from run), or failed to commit
 * (rc = TD_EIO; nothing of the op is stored). */
typedef void (*td__write_done_fn)(void *arg, int rc);

struct td__write_op {
  td__write_fn run;
  td__write_done_fn done;
  void *arg;
  int rc;
  td__write_op_t *next; /* owned by the writer while queued */
};

/* Starts the thread; takes ownership of db (closed by td__writer_stop). */
int td__writer_start(uv_loop_t *loop, td__db_t *db, td__writer_t **out);
/* Queues op (borrowed until done runs). Callable from any thread. After stop has begun
 * the op completes with TD_EBUSY. */
void td__writer_submit(td__writer_t *w, td__write_op_t *op);
/* Runs every queued op, stops the thread, closes the connection, and delivers the last
 * completions; call on the loop thread. Frees w. */
void td__writer_stop(td__writer_t *w);
/* Ops queued or running right now (for metrics and shutdown). */
size_t td__writer_pending(td__writer_t *w);

#endif
