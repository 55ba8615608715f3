/* Thread-local read-only connections for the libuv pool, and the background reader (one
 * low-priority thread for heavy reports). */
#include "store/reader.h"

#include <pthread.h>
#include <sched.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "talentd/types.h"
#include "util/mem.h"

#define MAX_READERS 64
#define TD_WORKER_NICE 5
#define TD_BACKGROUND_NICE 19

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
  /* Pool threads yield to the loop thread under CPU contention: a search may take its time,
   * but accepting and answering requests must not wait behind it. Only ever lowered: the
   * background reader stays at its own, lower priority. */
  id_t tid = (id_t)syscall(SYS_gettid);
  if (getpriority(PRIO_PROCESS, tid) < TD_WORKER_NICE) setpriority(PRIO_PROCESS, tid, TD_WORKER_NICE);
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

static void run_op(td__read_op_t *op) {
  td__db_t *db = connection();
  if (db == NULL) {
    op->rc = TD_EIO;
    return;
  }
  /* One read transaction per op: a consistent snapshot across its queries, and the WAL
   * read lock taken once instead of once per statement (each costs fcntl and fstat calls). */
  if (td__db_run(db, "BEGIN") != 0) {
    op->rc = TD_EIO;
    return;
  }
  op->rc = op->run(db, op->arg);
  td__db_run(db, "COMMIT");
}

static void work_cb(uv_work_t *req) {
  static _Thread_local bool named;
  if (!named) { /* libuv leaves its pool threads unnamed: "td-pool" tells them from the loop */
    pthread_setname_np(pthread_self(), "td-pool");
    named = true;
  }
  run_op(req->data);
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

/* ---- the background reader ---- */

static struct {
  pthread_mutex_t lock;
  pthread_cond_t wake;
  td__read_op_t *todo, *todo_tail; /* FIFO */
  td__read_op_t *done;             /* finished, for the loop (any order) */
  uv_async_t async;
  bool started, stopping, async_open;
  pthread_t thread;
} bg = {.lock = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER};

static void *background_main(void *arg) {
  (void)arg;
  pthread_setname_np(pthread_self(), "td-report");
  /* SCHED_IDLE: the CPU goes to it only when the loop, the writer and the pool have nothing
   * to run; the nice value stands in where the policy cannot be set. */
  struct sched_param idle = {0};
  pthread_setschedparam(pthread_self(), SCHED_IDLE, &idle);
  setpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid), TD_BACKGROUND_NICE);
  pthread_mutex_lock(&bg.lock);
  for (;;) {
    while (bg.todo == NULL && !bg.stopping) pthread_cond_wait(&bg.wake, &bg.lock);
    td__read_op_t *op = bg.todo;
    if (op == NULL) break; /* stopping and nothing left */
    bg.todo = op->next;
    if (bg.todo == NULL) bg.todo_tail = NULL;
    pthread_mutex_unlock(&bg.lock);
    if (!bg.stopping) run_op(op);
    pthread_mutex_lock(&bg.lock);
    if (bg.async_open) { /* under the lock: the loop cannot close the handle meanwhile */
      op->next = bg.done;
      bg.done = op;
      uv_async_send(&bg.async);
    }
  }
  pthread_mutex_unlock(&bg.lock);
  return NULL;
}

static void background_done(uv_async_t *a) {
  (void)a;
  pthread_mutex_lock(&bg.lock);
  td__read_op_t *list = bg.done;
  bg.done = NULL;
  pthread_mutex_unlock(&bg.lock);
  while (list) {
    td__read_op_t *op = list;
    list = op->next;
    op->done(op->arg, op->rc);
  }
}

int td__reader_submit_background(uv_loop_t *loop, td__read_op_t *op) {
  if (bg.stopping) return TD_EBUSY;
  if (!bg.started) {
    if (uv_async_init(loop, &bg.async, background_done) != 0) return TD_EBUSY;
    bg.async_open = true;
    if (pthread_create(&bg.thread, NULL, background_main, NULL) != 0) {
      bg.async_open = false;
      uv_close((uv_handle_t *)&bg.async, NULL);
      return TD_EBUSY;
    }
    bg.started = true;
  }
  op->next = NULL;
  pthread_mutex_lock(&bg.lock);
  if (bg.todo_tail)
    bg.todo_tail->next = op;
  else
    bg.todo = op;
  bg.todo_tail = op;
  pthread_cond_signal(&bg.wake);
  pthread_mutex_unlock(&bg.lock);
  return 0;
}

void td__reader_background_stop(void) {
  pthread_mutex_lock(&bg.lock);
  bg.stopping = true;
  bool close = bg.async_open;
  bg.async_open = false;
  pthread_cond_broadcast(&bg.wake);
  pthread_mutex_unlock(&bg.lock);
  if (close && !uv_is_closing((uv_handle_t *)&bg.async)) uv_close((uv_handle_t *)&bg.async, NULL);
}

static void background_join(void) {
  if (!bg.started) return;
  pthread_mutex_lock(&bg.lock);
  bg.stopping = true;
  bg.async_open = false;
  pthread_cond_broadcast(&bg.wake);
  pthread_mutex_unlock(&bg.lock);
  pthread_join(bg.thread, NULL);
  bg.started = false;
  bg.stopping = false; /* the tests start servers again in one process */
  bg.todo = bg.todo_tail = bg.done = NULL;
}

void td__reader_close_all(void) {
  background_join();
  pthread_mutex_lock(&readers_lock);
  for (size_t i = 0; i < reader_count; i++) td__db_close(readers[i]);
  reader_count = 0;
  generation++;
  free(reader_path);
  reader_path = NULL;
  pthread_mutex_unlock(&readers_lock);
}
