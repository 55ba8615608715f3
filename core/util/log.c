/* JSON-lines logger shared by every thread; a mutex keeps lines whole. */
#include "util/log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "util/time.h"

static int min_level = TD_LOG_INFO;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static const char *level_names[] = {"debug", "info", "warn", "error"};

void td__log_set_level(int level) { min_level = level; }

int td__log_enabled(int level) { return level >= min_level; }

void td__log(int level, const char *event, json_t *fields) {
  if (level < min_level) {
    json_decref(fields);
    return;
  }
  json_t *line = json_object();
  char ts[40];
  td__time_format(td__time_now_ms(), ts, sizeof ts);
  json_object_set_new(line, "ts", json_string(ts));
  json_object_set_new(line, "level", json_string(level_names[level < 0 || level > 3 ? 1 : level]));
  json_object_set_new(line, "event", json_string(event));
  if (fields) json_object_update(line, fields);
  char *text = json_dumps(line, JSON_COMPACT | JSON_PRESERVE_ORDER);
  pthread_mutex_lock(&log_lock);
  if (text) fprintf(stderr, "%s\n", text);
  pthread_mutex_unlock(&log_lock);
  free(text);
  json_decref(line);
  json_decref(fields);
}
