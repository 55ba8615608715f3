/* Thread-local read-only connections for the libuv pool. */
#include "store/reader.h"

#include <pthread.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "talentd/types.h"
#include "util/mem.h"

#define MAX_READERS 64
#define TD_WORKER_NICE 5

static char *reader_path;
static pthread_mutex_t readers_lock = PTHREAD_MUTEX_INITIALIZER;
static td__db_t *readers[MAX_READERS];
static size_t reader_count;
static _Thread_local td__db_t *thread_db;
static _Thread_local int thread_generation;
static int generation = 1; /* bumped by close_all so threads reopen after a restart */

void td__reader_configure(const char *db_path) {
  pthread_mutex_lock(&readers_lock);
  free(reader_path);
  reader_path = td__xstrdup(db_path);
  pthread_mutex_unlock(&readers_lock);
}

static td__db_t *connection(void) {
  pthread_mutex_lock(&readers_lock);
  int gen = generation;
  pthread_mutex_unlock(&readers_lock);
  if (thread_db && thread_generation == gen) return thread_db;
  thread_db = NULL;
  td__db_t *db = NULL;
  pthread_mutex_lock(&readers_lock);
  char *path = reader_path ? td__xstrdup(reader_path) : NULL;
  pthread_mutex_unlock(&readers_lock);
  /* Pool threads yield to the loop thread under CPU contention: a report or a search may
   * take its time, but accepting and answering requests must not wait behind it. */
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), TD_WORKER_NICE);
  if (path == NULL || td__db_open(path, TD_DB_READONLY, &db) != 0) {
    free(path);
    return NULL;
  }
  free(path);
  pthread_mutex_lock(&readers_lock);
  if (reader_count < MAX_READERS) readers[reader_count++] = db;
  pthread_mutex_unlock(&readers_lock);
  thread_db = db;
  thread_generation = gen;
  return db;
}

static void work_cb(uv_work_t *req) {
  td__read_op_t *op = req->data;
  td__db_t *db = connection();
  if (db == NULL) {
    op->rc = TD_EIO;
    return;
  }
  /* One read transaction per op: a consistent snapshot across its queries, and the WAL
   * read lock taken once instead of once per statement (each costs fcntl and fstat calls). */
  if (td__db_exec(db, "BEGIN") != 0) {
    op->rc = TD_EIO;
    return;
  }
  op->rc = op->run(db, op->arg);
  td__db_exec(db, "COMMIT");
}

static void after_cb(uv_work_t *req, int status) {
  td__read_op_t *op = req->data;
  if (status == UV_ECANCELED) op->rc = TD_EBUSY;
  op->done(op->arg, op->rc);
}

int td__reader_submit(uv_loop_t *loop, td__read_op_t *op) {
  op->work.data = op;
  return uv_queue_work(loop, &op->work, work_cb, after_cb) == 0 ? 0 : TD_EBUSY;
}

void td__reader_close_all(void) {
  pthread_mutex_lock(&readers_lock);
  for (size_t i = 0; i < reader_count; i++) td__db_close(readers[i]);
  reader_count = 0;
  generation++;
  free(reader_path);
  reader_path = NULL;
  pthread_mutex_unlock(&readers_lock);
}
