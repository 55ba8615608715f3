/* Commands whose implementation lands next (demo data, CSV import). */
#include <stdio.h>

#include "cli/cli.h"

int td__cli_demo(const char *data_dir) {
  (void)data_dir;
  fprintf(stderr, "talentd demo: not available in this build yet\n");
  return 1;
}

int td__cli_import_candidates(const char *data_dir, const char *csv_path) {
  (void)data_dir;
  (void)csv_path;
  fprintf(stderr, "talentd import: not available in this build yet\n");
  return 1;
}
