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
  td__read_fn run;       /* on a pool thread; db is that thread's connection (NULL if it failed to open) */
  td__read_done_fn done; /* on the loop thread */
  void *arg;
  int rc;
};

/* Sets the database path for connections opened from now on. Call before the first op. */
void td__reader_configure(const char *db_path);
/* Queues op (borrowed until done). Returns 0 or TD_EBUSY. */
int td__reader_submit(uv_loop_t *loop, td__read_op_t *op);
/* Closes every pool connection; call once no op is running (at shutdown). */
void td__reader_close_all(void);

#endif
