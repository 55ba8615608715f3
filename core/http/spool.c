/* Streaming a request body to a temporary file without blocking the loop (see spool.h).
 * Bytes go to `fill`; when no operation is in flight, fill becomes `out` and is written at
 * the next offset of the file. A short write is continued before anything else, so the file
 * holds the bytes in the order they were appended. */
#include "http/spool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/log.h"
#include "util/mem.h"
#include "util/metrics.h"

enum op { OP_NONE, OP_MKSTEMP, OP_MKDIR, OP_WRITE, OP_CLOSE, OP_UNLINK };

typedef struct bytes {
  char *data;
  size_t len, cap;
} bytes_t;

struct td__http_spool {
  uv_loop_t *loop;
  uv_fs_t fs; /* the one operation in flight */
  enum op op;
  td__http_spool_cb cb;
  void *owner;
  char *dir, *path;
  uv_file fd;
  bytes_t fill; /* appended, waiting for the next write */
  bytes_t out;  /* being written; out_done bytes of it are in the file */
  size_t out_done;
  size_t size; /* bytes in the file */
  int error;   /* the first libuv error, or 0 */
  bool mkdir_tried, finishing, done, aborted, error_told;
};

static void on_fs(uv_fs_t *fs);

static void bytes_append(bytes_t *b, const char *data, size_t len) {
  if (b->len + len > b->cap) {
    /* Whole 16 KiB steps: a body arrives in reads of up to 64 KiB. */
    size_t cap = (b->len + len + 16383) & ~(size_t)16383;
    b->data = td__xrealloc(b->data, cap);
    b->cap = cap;
  }
  memcpy(b->data + b->len, data, len);
  b->len += len;
}

static void bytes_free(bytes_t *b) {
  free(b->data);
  *b = (bytes_t){0};
}

static void set_error(td__http_spool_t *s, int err, const char *op) {
  if (s->error) return;
  s->error = err;
  /* The path is not logged: it says nothing useful and the op says where it failed. */
  td__log(TD_LOG_ERROR, "upload_spool_failed", json_pack("{s:s,s:s}", "op", op, "error", uv_strerror(err)));
}

/* Starts an operation; a refusal by libuv is recorded as the spool's error. */
static void started(td__http_spool_t *s, enum op op, int rc, const char *name) {
  s->fs.data = s;
  s->op = rc == 0 ? op : OP_NONE;
  if (rc != 0) set_error(s, rc, name);
}

static void start_mkstemp(td__http_spool_t *s) {
  char *tpl = td__xprintf("%s/upload-XXXXXX", s->dir); /* libuv copies it */
  started(s, OP_MKSTEMP, uv_fs_mkstemp(s->loop, &s->fs, tpl, on_fs), "mkstemp");
  free(tpl);
}

static void start_write(td__http_spool_t *s) {
  if (s->out_done == s->out.len) {
    /* out is all written: the filled buffer takes its place (capacities are kept). */
    bytes_t t = s->out;
    s->out = s->fill;
    s->fill = t;
    s->fill.len = 0;
    s->out_done = 0;
  }
  uv_buf_t b = uv_buf_init(s->out.data + s->out_done, (unsigned)(s->out.len - s->out_done));
  started(s, OP_WRITE, uv_fs_write(s->loop, &s->fs, s->fd, &b, 1, (int64_t)s->size, on_fs), "write");
}

/* After abort: close, remove, free, one step per completed operation. */
static void dispose(td__http_spool_t *s) {
  bytes_free(&s->fill);
  bytes_free(&s->out);
  if (s->fd >= 0) {
    if (uv_fs_close(s->loop, &s->fs, s->fd, on_fs) == 0) {
      s->fs.data = s;
      s->op = OP_CLOSE;
      return;
    }
    close(s->fd); /* libuv refused the request (out of memory): do it here, once */
    s->fd = -1;
  }
  if (s->path) {
    if (uv_fs_unlink(s->loop, &s->fs, s->path, on_fs) == 0) {
      s->fs.data = s;
      s->op = OP_UNLINK;
      return;
    }
    unlink(s->path);
    free(s->path);
    s->path = NULL;
  }
  free(s->dir);
  free(s);
}

/* Starts what comes next when nothing is in flight. */
static void pump(td__http_spool_t *s) {
  if (s->op != OP_NONE) return;
  if (s->aborted) {
    dispose(s);
    return;
  }
  if (s->error || s->fd < 0 || s->done) return;
  if (s->out_done < s->out.len || s->fill.len > 0)
    start_write(s);
  else if (s->finishing)
    started(s, OP_CLOSE, uv_fs_close(s->loop, &s->fs, s->fd, on_fs), "close");
}

/* Records what the finished operation did. Returns false when it handed over to another
 * step of the same stage (mkdir, then mkstemp again). */
static bool record(td__http_spool_t *s, enum op op, ssize_t result) {
  switch (op) {
    case OP_MKSTEMP:
      if (result >= 0) {
        s->fd = (uv_file)result;
        s->path = td__xstrdup(s->fs.path);
      } else if (result == UV_ENOENT && !s->mkdir_tried && !s->aborted) {
        s->mkdir_tried = true;
        uv_fs_req_cleanup(&s->fs);
        started(s, OP_MKDIR, uv_fs_mkdir(s->loop, &s->fs, s->dir, 0700, on_fs), "mkdir");
        return s->op == OP_NONE;
      } else {
        set_error(s, (int)result, "mkstemp");
      }
      return true;
    case OP_MKDIR:
      if (result < 0 && result != UV_EEXIST) {
        set_error(s, (int)result, "mkdir");
      } else if (!s->aborted) {
        uv_fs_req_cleanup(&s->fs);
        start_mkstemp(s);
        return s->op == OP_NONE;
      }
      return true;
    case OP_WRITE:
      if (result <= 0) {
        set_error(s, result < 0 ? (int)result : UV_EIO, "write");
      } else {
        s->out_done += (size_t)result;
        s->size += (size_t)result;
        td__metrics_count("td_http_upload_spooled_bytes_total", (double)result);
      }
      return true;
    case OP_CLOSE:
      s->fd = -1;
      if (result < 0)
        set_error(s, (int)result, "close");
      else if (!s->aborted)
        s->done = true;
      return true;
    case OP_UNLINK:
      free(s->path);
      s->path = NULL;
      return true;
    case OP_NONE: break;
  }
  return true;
}

static void on_fs(uv_fs_t *fs) {
  td__http_spool_t *s = fs->data;
  enum op op = s->op;
  ssize_t result = fs->result;
  s->op = OP_NONE;
  bool settled = record(s, op, result);
  if (s->op == OP_NONE) uv_fs_req_cleanup(fs);
  if (!settled) return; /* the stage goes on (mkdir, then mkstemp) */
  bool aborted = s->aborted;
  pump(s);
  if (aborted) return; /* s may be gone: pump disposed of it */
  td__http_spool_event_t ev = s->error ? TD_SPOOL_ERROR : s->done ? TD_SPOOL_DONE : TD_SPOOL_PROGRESS;
  if (ev == TD_SPOOL_ERROR) {
    if (s->error_told) return;
    s->error_told = true;
  }
  s->cb(s, ev, s->owner); /* may release or abort s: nothing after this */
}

td__http_spool_t *td__http_spool_open(uv_loop_t *loop, const char *dir, td__http_spool_cb cb, void *owner) {
  td__http_spool_t *s = td__xcalloc(1, sizeof *s);
  s->loop = loop;
  s->cb = cb;
  s->owner = owner;
  s->dir = td__xstrdup(dir);
  s->fd = -1;
  start_mkstemp(s);
  return s;
}

void td__http_spool_append(td__http_spool_t *s, const char *data, size_t len) {
  if (s->error || len == 0) return;
  bytes_append(&s->fill, data, len);
  pump(s);
}

bool td__http_spool_full(const td__http_spool_t *s) {
  return s->op != OP_NONE || s->fill.len >= TD_SPOOL_HIGH_WATER;
}

bool td__http_spool_failed(const td__http_spool_t *s) { return s->error != 0; }

size_t td__http_spool_held(const td__http_spool_t *s) { return s->fill.len + s->out.len - s->out_done; }

void td__http_spool_finish(td__http_spool_t *s) {
  s->finishing = true;
  pump(s);
}

void td__http_spool_release(td__http_spool_t *s, char **path, size_t *size) {
  *path = s->path;
  *size = s->size;
  bytes_free(&s->fill);
  bytes_free(&s->out);
  free(s->dir);
  free(s);
}

void td__http_spool_abort(td__http_spool_t *s) {
  s->aborted = true;
  s->cb = NULL;
  pump(s);
}
