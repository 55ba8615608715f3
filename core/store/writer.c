/* Writer thread with group commit (see writer.h for the contract). */
#include "store/writer.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "talentd/types.h"
#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"
#include "util/time.h"

#define MAX_BATCH 512
/* The writer yields the CPU to the loop (nice 0) and to the pool threads that answer reads
 * (nice 5): most of its work is background batches (a sequence queueing thousands of
 * messages, outcomes, scheduled runs) that can wait milliseconds, while a request's read
 * cannot. A request's own write waits a little longer, and only while the CPU is saturated;
 * readers never wait for the writer (WAL), so nothing is inverted. Measured with the
 * sequences benchmark (mail paced at 1,000/s): a 10,000-message burst took API p99 at a paced
 * load to 1.8x at nice 5 and 1.1-1.6x at nice 10; durable moves were no slower. */
#define WRITER_NICE 10

struct td__writer {
  uv_loop_t *loop;
  td__db_t *db;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  td__write_op_t *queue_head, *queue_tail; /* waiting to run */
  td__write_op_t *done_head, *done_tail;   /* finished, waiting for the loop */
  size_t pending;
  bool stopping;
  uv_async_t notify;
};

static void append(td__write_op_t **head, td__write_op_t **tail, td__write_op_t *op) {
  op->next = NULL;
  if (*tail)
    (*tail)->next = op;
  else
    *head = op;
  *tail = op;
}

/* Runs one op in its own savepoint so its failure leaves the rest of the batch intact. */
static void run_op(td__writer_t *w, td__write_op_t *op) {
  if (td__db_savepoint(w->db, "op")) {
    op->rc = TD_EIO;
    return;
  }
  op->rc = op->run(w->db, op->arg);
  if (op->rc == 0) {
    if (td__db_release(w->db, "op")) op->rc = TD_EIO;
  } else if (td__db_rollback_to(w->db, "op")) {
    /* A failed rollback leaves the transaction unusable; the batch fails as a whole. */
    op->rc = TD_EIO;
  }
}

static void run_batch(td__writer_t *w, td__write_op_t *batch) {
  uint64_t start = td__time_mono_ns();
  int rc = td__db_run(w->db, "BEGIN IMMEDIATE"); /* prepared once, as is COMMIT */
  for (td__write_op_t *op = batch; op; op = op->next) {
    if (rc)
      op->rc = TD_EIO;
    else
      run_op(w, op);
  }
  if (rc == 0) {
    rc = td__db_run(w->db, "COMMIT");
    if (rc) td__db_exec(w->db, "ROLLBACK");
  }
  if (rc) {
    td__log(TD_LOG_ERROR, "batch_commit_failed", json_pack("{s:i}", "code", rc));
    for (td__write_op_t *op = batch; op; op = op->next) op->rc = TD_EIO;
  }
  td__metrics_observe_commit((double)(td__time_mono_ns() - start) / 1e9);
}

static void *writer_main(void *arg) {
  td__writer_t *w = arg;
  pthread_setname_np(pthread_self(), "td-writer");
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), WRITER_NICE);
  pthread_mutex_lock(&w->lock);
  for (;;) {
    while (w->queue_head == NULL && !w->stopping) pthread_cond_wait(&w->wake, &w->lock);
    if (w->queue_head == NULL && w->stopping) break;
    /* Take up to MAX_BATCH ops: everything that queued while the last fsync ran. */
    td__write_op_t *batch = w->queue_head, *last = batch;
    int n = 1;
    while (last->next && n < MAX_BATCH) {
      last = last->next;
      n++;
    }
    w->queue_head = last->next;
    if (w->queue_head == NULL) w->queue_tail = NULL;
    last->next = NULL;
    pthread_mutex_unlock(&w->lock);

    run_batch(w, batch);

    pthread_mutex_lock(&w->lock);
    for (td__write_op_t *op = batch, *next; op; op = next) {
      next = op->next;
      append(&w->done_head, &w->done_tail, op);
    }
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->notify);
    pthread_mutex_lock(&w->lock);
  }
  pthread_mutex_unlock(&w->lock);
  return NULL;
}

static void deliver_done(td__writer_t *w) {
  pthread_mutex_lock(&w->lock);
  td__write_op_t *list = w->done_head;
  w->done_head = w->done_tail = NULL;
  pthread_mutex_unlock(&w->lock);
  while (list) {
    td__write_op_t *op = list;
    list = op->next;
    pthread_mutex_lock(&w->lock);
    w->pending--;
    pthread_mutex_unlock(&w->lock);
    op->done(op->arg, op->rc);
  }
}

static void on_notify(uv_async_t *handle) { deliver_done(handle->data); }

int td__writer_start(uv_loop_t *loop, td__db_t *db, td__writer_t **out) {
  td__writer_t *w = td__xcalloc(1, sizeof *w);
  w->loop = loop;
  w->db = db;
  pthread_mutex_init(&w->lock, NULL);
  pthread_cond_init(&w->wake, NULL);
  uv_async_init(loop, &w->notify, on_notify);
  w->notify.data = w;
  if (pthread_create(&w->thread, NULL, writer_main, w) != 0) {
    uv_close((uv_handle_t *)&w->notify, NULL);
    return TD_EINTERNAL;
  }
  *out = w;
  return 0;
}

void td__writer_submit(td__writer_t *w, td__write_op_t *op) {
  pthread_mutex_lock(&w->lock);
  w->pending++;
  if (w->stopping) {
    op->rc = TD_EBUSY;
    append(&w->done_head, &w->done_tail, op);
    pthread_mutex_unlock(&w->lock);
    uv_async_send(&w->notify);
    return;
  }
  append(&w->queue_head, &w->queue_tail, op);
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
}

size_t td__writer_pending(td__writer_t *w) {
  pthread_mutex_lock(&w->lock);
  size_t n = w->pending;
  pthread_mutex_unlock(&w->lock);
  return n;
}

static void free_writer(uv_handle_t *handle) {
  td__writer_t *w = handle->data;
  pthread_mutex_destroy(&w->lock);
  pthread_cond_destroy(&w->wake);
  free(w);
}

void td__writer_stop(td__writer_t *w) {
  pthread_mutex_lock(&w->lock);
  w->stopping = true;
  pthread_cond_signal(&w->wake);
  pthread_mutex_unlock(&w->lock);
  pthread_join(w->thread, NULL);
  deliver_done(w);
  td__db_close(w->db);
  w->db = NULL;
  uv_close((uv_handle_t *)&w->notify, free_writer);
}
