/* `talentd import candidates FILE.csv --data DIR`: the same import as POST /api/v1/imports
 * (domain/csv_import.h), run against the data directory directly. Rows are committed in
 * batches so a large file neither holds one huge transaction nor loses everything to an
 * interruption: a rerun of the same file merges the rows already imported instead of
 * duplicating them. A progress bar is drawn on stderr when it is a terminal. */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "api/openapi.h"
#include "cli/cli.h"
#include "domain/csv_import.h"
#include "talentd/types.h"
#include "util/mem.h"
#include "util/time.h"

#define BATCH_ROWS 500
#define CLI_MAX_ROWS 2000000
#define CLI_MAX_BYTES (2LL * 1024 * 1024 * 1024)

/* Reads the whole file into memory. */
static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (f == NULL) {
    fprintf(stderr, "talentd import: cannot open %s: %s\n", path, strerror(errno));
    return NULL;
  }
  struct stat st;
  if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size > CLI_MAX_BYTES) {
    fprintf(stderr, "talentd import: %s is not a regular file of at most 2 GiB\n", path);
    fclose(f);
    return NULL;
  }
  char *data = td__xmalloc((size_t)st.st_size + 1);
  *len = fread(data, 1, (size_t)st.st_size, f);
  bool failed = ferror(f) != 0;
  fclose(f);
  if (failed) {
    fprintf(stderr, "talentd import: cannot read %s\n", path);
    free(data);
    return NULL;
  }
  data[*len] = '\0';
  return data;
}

static void progress(size_t done, size_t total) {
  int width = 30;
  int filled = total ? (int)((double)done * width / (double)total) : width;
  fprintf(stderr, "\r[%.*s%*s] %3d%% %zu/%zu rows", filled, "##############################", width - filled,
          "", total ? (int)(100.0 * (double)done / (double)total) : 100, done, total);
  fflush(stderr);
}

static void print_refusal(const td__ctx_t *ctx) {
  const char *detail = json_string_value(json_object_get(ctx->problem, "detail"));
  fprintf(stderr, "talentd import: %s\n", detail ? detail : "the file was refused");
  size_t i;
  json_t *e;
  json_array_foreach(json_object_get(ctx->problem, "errors"), i, e) {
    fprintf(stderr, "  %s: %s\n", json_string_value(json_object_get(e, "pointer")),
            json_string_value(json_object_get(e, "message")));
  }
}

/* Applies the plan batch by batch, each in its own transaction. */
static int apply_batches(td__ctx_t *ctx, const td__import_plan_t *plan, td__import_summary_t *summary) {
  bool bar = isatty(STDERR_FILENO) != 0;
  for (size_t from = 0; from < plan->count; from += BATCH_ROWS) {
    ctx->now_ms = td__time_now_ms();
    int rc = td__db_exec(ctx->db, "BEGIN IMMEDIATE");
    if (rc == 0) rc = td__import_apply(ctx, plan, from, from + BATCH_ROWS, summary);
    if (rc == 0) rc = td__db_exec(ctx->db, "COMMIT");
    if (rc) {
      td__db_exec(ctx->db, "ROLLBACK");
      if (bar) fputc('\n', stderr);
      fprintf(stderr,
              "talentd import: storing rows failed (%s) after line %zu; rerun the same file to continue\n",
              td_strerror(rc), from ? plan->rows[from - 1].line : 1);
      return rc;
    }
    if (bar) progress(from + BATCH_ROWS < plan->count ? from + BATCH_ROWS : plan->count, plan->count);
  }
  if (bar) fputc('\n', stderr);
  return 0;
}

static int record_and_print(td__ctx_t *ctx, const td__import_plan_t *plan,
                            const td__import_summary_t *summary, const char *csv_path) {
  json_t *out = NULL;
  int rc = td__db_exec(ctx->db, "BEGIN IMMEDIATE");
  if (rc == 0) rc = td__import_record(ctx, plan, summary, &out);
  if (rc == 0) rc = td__db_exec(ctx->db, "COMMIT");
  if (rc) {
    td__db_exec(ctx->db, "ROLLBACK");
    fprintf(stderr, "talentd import: the rows are stored but the summary could not be (%s)\n",
            td_strerror(rc));
  }
  printf("%s: %lld created, %lld merged, %lld rejected", csv_path, (long long)summary->created,
         (long long)summary->merged, (long long)summary->rejected);
  if (out) printf(" (import %s)", json_string_value(json_object_get(out, "id")));
  printf("\n");
  size_t i;
  json_t *row;
  json_array_foreach(summary->rows, i, row) {
    const char *reason = json_string_value(json_object_get(row, "reason"));
    if (reason)
      printf("  line %lld: %s\n", (long long)json_integer_value(json_object_get(row, "line")), reason);
  }
  json_decref(out);
  return rc;
}

int td__cli_import_candidates(const char *data_dir, const char *csv_path, const char *const *maps,
                              int map_count) {
  if (csv_path == NULL || data_dir == NULL) {
    fprintf(stderr, "usage: talentd import candidates FILE.csv --data DIR [--map HEADER:FIELD]...\n");
    return 2;
  }
  json_t *mapping = map_count > 0 ? json_object() : NULL;
  for (int i = 0; i < map_count; i++) {
    if (td__import_mapping_add(mapping, maps[i]) != 0) {
      fprintf(stderr, "talentd import: --map %s: expected HEADER:FIELD\n", maps[i]);
      json_decref(mapping);
      return 2;
    }
  }
  size_t len = 0;
  char *csv = read_file(csv_path, &len);
  if (csv == NULL) {
    json_decref(mapping);
    return 1;
  }
  const char *error = NULL;
  json_t *openapi = td__openapi_build(&error);
  td__db_t *db = NULL;
  if (openapi == NULL || td__cli_open_store(data_dir, &db) != 0) {
    if (openapi == NULL) fprintf(stderr, "talentd import: %s\n", error);
    json_decref(openapi);
    json_decref(mapping);
    free(csv);
    return 1;
  }
  /* The command line acts as the system with an administrator's rights. */
  td__ctx_t ctx = {.db = db,
                   .principal = {.role = TD_ROLE_ADMIN, .via = TD_VIA_SYSTEM, .can_write = true},
                   .actor_kind = "system",
                   .now_ms = td__time_now_ms(),
                   .cause = "cli:import"};
  td__import_plan_t plan;
  td__import_summary_t summary = {0};
  int rc = td__import_plan(&ctx, csv, len, mapping, openapi, CLI_MAX_ROWS, &plan);
  if (rc) print_refusal(&ctx);
  if (rc == 0) rc = apply_batches(&ctx, &plan, &summary);
  if (rc == 0) rc = record_and_print(&ctx, &plan, &summary, csv_path);
  td__ctx_dispose(&ctx);
  td__import_summary_free(&summary);
  td__import_plan_free(&plan);
  td__db_close(db);
  json_decref(openapi);
  json_decref(mapping);
  free(csv);
  return rc ? 1 : 0;
}
