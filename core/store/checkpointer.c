/* Background WAL checkpoints (see checkpointer.h). */
#include "store/checkpointer.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "store/db.h"
#include "talentd/types.h"
#include "util/mem.h"

struct td__checkpointer {
  td__db_t *db;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t wake;
  unsigned interval_ms;
  bool stopping;
};

static void *checkpointer_main(void *arg) {
  td__checkpointer_t *cp = arg;
  pthread_setname_np(pthread_self(), "td-checkpoint");
  pthread_mutex_lock(&cp->lock);
  while (!cp->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_nsec += (long)(cp->interval_ms % 1000) * 1000000L;
    until.tv_sec += cp->interval_ms / 1000 + until.tv_nsec / 1000000000L;
    until.tv_nsec %= 1000000000L;
    int rc = 0;
    while (!cp->stopping && rc != ETIMEDOUT) rc = pthread_cond_timedwait(&cp->wake, &cp->lock, &until);
    pthread_mutex_unlock(&cp->lock);
    td__db_exec(cp->db, "PRAGMA wal_checkpoint(PASSIVE)");
    pthread_mutex_lock(&cp->lock);
  }
  pthread_mutex_unlock(&cp->lock);
  return NULL;
}

int td__checkpointer_start(const char *db_path, unsigned interval_ms, td__checkpointer_t **out) {
  td__checkpointer_t *cp = td__xcalloc(1, sizeof *cp);
  if (td__db_open(db_path, TD_DB_READWRITE, &cp->db) != 0) {
    free(cp);
    return TD_EIO;
  }
  cp->interval_ms = interval_ms ? interval_ms : 1000;
  pthread_mutex_init(&cp->lock, NULL);
  pthread_cond_init(&cp->wake, NULL);
  if (pthread_create(&cp->thread, NULL, checkpointer_main, cp) != 0) {
    td__db_close(cp->db);
    free(cp);
    return TD_EIO;
  }
  *out = cp;
  return 0;
}

void td__checkpointer_stop(td__checkpointer_t *cp) {
  if (cp == NULL) return;
  pthread_mutex_lock(&cp->lock);
  cp->stopping = true;
  pthread_cond_signal(&cp->wake);
  pthread_mutex_unlock(&cp->lock);
  pthread_join(cp->thread, NULL);
  td__db_exec(cp->db, "PRAGMA wal_checkpoint(TRUNCATE)");
  td__db_close(cp->db);
  pthread_mutex_destroy(&cp->lock);
  pthread_cond_destroy(&cp->wake);
  free(cp);
}
