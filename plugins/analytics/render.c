/* The analytics renderers' entry point (render.h): picks the table or chart writer for a
 * report kind and format, and names the result (content type, attachment filename). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render_int.h"

static const char *const kind_names[] = {
    [AN_REPORT_CONVERSION] = "conversion",
    [AN_REPORT_TIME_IN_STAGE] = "time-in-stage",
    [AN_REPORT_DROP_OFF] = "drop-off",
    [AN_REPORT_SOURCES] = "sources",
    [AN_REPORT_PLAN] = "plan",
    [AN_REPORT_FORECAST] = "forecast",
    [AN_REPORT_VELOCITY] = "velocity",
};

int an_format_parse(const char *name, an_format_t *out) {
  static const struct {
    const char *name;
    an_format_t format;
  } formats[] = {
      {"json", AN_FORMAT_JSON}, {"csv", AN_FORMAT_CSV}, {"xlsx", AN_FORMAT_XLSX}, {"svg", AN_FORMAT_SVG}};
  if (!name) {
    *out = AN_FORMAT_JSON;
    return 0;
  }
  for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++)
    if (strcmp(name, formats[i].name) == 0) {
      *out = formats[i].format;
      return 0;
    }
  return AN_EINVAL;
}

static int svg_available(an_report_kind_t kind) {
  return kind == AN_REPORT_CONVERSION || kind == AN_REPORT_TIME_IN_STAGE || kind == AN_REPORT_PLAN ||
         kind == AN_REPORT_VELOCITY;
}

int an_render_supports(an_report_kind_t kind, an_format_t format) {
  if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0]) return 0;
  return format != AN_FORMAT_SVG || svg_available(kind);
}

/* CSV or XLSX: flatten, then write. */
static int render_table(an_report_kind_t kind, an_format_t format, const json_t *report, an_buf_t *b,
                        const char **error) {
  an_table_t t;
  int rc = an_table_build(kind, report, &t);
  if (rc == AN_ELIMIT)
    *error = "the table has more than 100000 rows; narrow the filter";
  else if (rc != 0)
    *error = "out of memory building the table";
  else if (format == AN_FORMAT_CSV && (rc = an_csv_write(&t, b)) != 0)
    *error = "out of memory writing CSV";
  else if (format == AN_FORMAT_XLSX)
    rc = an_xlsx_write(&t, kind_names[kind], b, error);
  an_table_free(&t);
  return rc;
}

int an_render(an_report_kind_t kind, an_format_t format, const json_t *report, an_rendered_t *out) {
  memset(out, 0, sizeof *out);
  if ((unsigned)kind >= sizeof kind_names / sizeof kind_names[0]) {
    out->error = "unknown report";
    return AN_EINVAL;
  }
  an_buf_t b = {0};
  int rc;
  const char *ext;
  if (format == AN_FORMAT_CSV) {
    out->content_type = "text/csv; charset=utf-8";
    ext = "csv";
  } else if (format == AN_FORMAT_XLSX) {
    out->content_type = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    ext = "xlsx";
  } else if (format == AN_FORMAT_SVG && svg_available(kind)) {
    out->content_type = "image/svg+xml";
    ext = "svg";
  } else {
    out->error = format == AN_FORMAT_SVG
                     ? "format=svg is available for conversion, time-in-stage, plan and velocity"
                     : "format must be csv, xlsx or svg";
    return AN_EINVAL;
  }
  if (format == AN_FORMAT_SVG) {
    rc = an_svg_write(kind, report, &b);
    if (rc != 0) out->error = "out of memory drawing the chart";
  } else {
    rc = render_table(kind, format, report, &b, &out->error);
  }
  if (rc != 0) {
    an_buf_free(&b);
    out->content_type = NULL;
    return rc;
  }
  out->body = (unsigned char *)b.data;
  out->len = b.len;
  snprintf(out->filename, sizeof out->filename, "%s.%s", kind_names[kind], ext);
  return 0;
}

int an_render_status(int rc) { return rc == AN_EINVAL ? 422 : rc == AN_ELIMIT ? 413 : 500; }

void an_rendered_free(an_rendered_t *out) {
  free(out->body);
  out->body = NULL;
  out->len = 0;
}
