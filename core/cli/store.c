/* Opening a data directory's store from the command line. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "store/migrate.h"
#include "util/mem.h"

int td__cli_open_store(const char *data_dir, td__db_t **out) {
  if (data_dir == NULL) {
    fprintf(stderr, "talentd: --data DIR is required\n");
    return 2;
  }
  if (mkdir(data_dir, 0700) != 0 && errno != EEXIST) {
    fprintf(stderr, "talentd: cannot create %s: %s\n", data_dir, strerror(errno));
    return 1;
  }
  char *path = td__xprintf("%s/talentd.db", data_dir);
  td__db_t *db = NULL;
  int rc = td__db_open(path, TD_DB_READWRITE, &db);
  free(path);
  if (rc) {
    fprintf(stderr, "talentd: cannot open the database in %s\n", data_dir);
    return 1;
  }
  const char *message = NULL;
  rc = td__migrate(db, &message);
  if (rc) {
    fprintf(stderr, "talentd: %s\n", message ? message : "migration failed");
    td__db_close(db);
    return 1;
  }
  *out = db;
  return 0;
}
