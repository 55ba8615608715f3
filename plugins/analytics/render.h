/* The analytics plugin's output formats: turns a report's JSON (as the routes answer it) into
 * CSV, XLSX or an SVG chart, in memory, ready for the host's respond_bytes. One entry point,
 * an_render; the tables each report flattens to and the charts are documented in README.md ("Output formats").
 *
 * A route stays trivial:
 *   an_format_t f;
 *   if (an_format_parse(api->request_query(req, "format"), &f) != 0 ||
 *       !an_render_supports(AN_REPORT_CONVERSION, f))
 *     return api->fail_field(req, "/query/format", "must be json, csv, xlsx or svg (svg: ...)");
 *   ... build body as today ...
 *   if (f == AN_FORMAT_JSON) return api->respond(req, 200, body);
 *   an_rendered_t out;
 *   int rc = an_render(AN_REPORT_CONVERSION, f, body, &out);
 *   if (rc == 0) api->respond_bytes(req, 200, out.content_type, out.body, out.len, out.filename);
 *   else api->fail(req, an_render_status(rc), "Cannot render the report", out.error);
 *   an_rendered_free(&out);
 *   json_decref(body);
 * Plain C11 over jansson (plus libxlsxwriter inside render_xlsx.c); no talentd header. */
#ifndef ANALYTICS_RENDER_H
#define ANALYTICS_RENDER_H

#include <jansson.h>
#include <stddef.h>

/* Error codes, equal to the SDK's TD_ENOMEM, TD_EINVAL, TD_EIO and TD_ELIMIT. */
#ifndef AN_ENOMEM
#define AN_ENOMEM (-1)
#endif
#ifndef AN_EINVAL
#define AN_EINVAL (-2)
#endif
#define AN_EIO (-6)
#define AN_ELIMIT (-7)

/* The most rows a table may have in CSV or XLSX; more fails with AN_ELIMIT. */
#define AN_RENDER_MAX_ROWS 100000

typedef enum an_report_kind {
  AN_REPORT_CONVERSION,
  AN_REPORT_TIME_IN_STAGE,
  AN_REPORT_DROP_OFF,
  AN_REPORT_SOURCES,
  AN_REPORT_PLAN,
  AN_REPORT_FORECAST,
  AN_REPORT_VELOCITY
} an_report_kind_t;

typedef enum an_format { AN_FORMAT_JSON, AN_FORMAT_CSV, AN_FORMAT_XLSX, AN_FORMAT_SVG } an_format_t;

/* A rendered report. body is owned (free with an_rendered_free); content_type and error are
 * static strings; filename is a suggested attachment name such as "conversion.csv". */
typedef struct an_rendered {
  unsigned char *body;
  size_t len;
  const char *content_type;
  char filename[48];
  const char *error; /* on failure: what was wrong, for the problem's detail; else NULL */
} an_rendered_t;

/* Parses the `format` query parameter: NULL or "json" -> AN_FORMAT_JSON, "csv", "xlsx",
 * "svg". Returns 0 and sets *out, or AN_EINVAL for anything else. */
int an_format_parse(const char *name, an_format_t *out);

/* Whether kind can be rendered in format (JSON always; so the route can refuse before computing). */
int an_render_supports(an_report_kind_t kind, an_format_t format);

/* Renders report (borrowed; the JSON object a route would answer for kind) in format, which
 * must not be AN_FORMAT_JSON. CSV and XLSX are available for every kind; SVG for conversion,
 * time in stage, plan and velocity. Missing or mistyped members become empty cells (or are
 * left out of a chart); this never fails on the report's shape. Returns 0 with *out filled, or
 * AN_EINVAL (format not available for kind), AN_ELIMIT (more than AN_RENDER_MAX_ROWS rows),
 * AN_EIO (the XLSX temporary file failed) or AN_ENOMEM, with out->error saying why. *out is
 * always safe to pass to an_rendered_free. XLSX writes a temporary file in $TMPDIR (/tmp). */
int an_render(an_report_kind_t kind, an_format_t format, const json_t *report, an_rendered_t *out);

/* The HTTP status for a failed an_render: 422 (AN_EINVAL), 413 (AN_ELIMIT), else 500. */
int an_render_status(int rc);

/* Frees out->body; safe on a zeroed or failed result and twice. */
void an_rendered_free(an_rendered_t *out);

#endif
