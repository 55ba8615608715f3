/* The velocity chart: one line per stage type over the weeks of the report (entries into
 * stages of that type each week), with y gridlines, week labels thinned to fit, and a legend
 * on the right. Types missing from a week count as zero entries that week. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg_writer.h"

#define X0 80.0
#define X1 (SVG_WIDTH - 170.0)
#define Y0 78.0
#define Y1 378.0
#define MAX_WEEKS 260 /* five years; later weeks are left out with a note */
#define MAX_SERIES 12

typedef struct series_set {
  const char *types[MAX_SERIES];
  size_t count;
} series_set_t;

static void series_add(series_set_t *s, const char *type) {
  for (size_t i = 0; i < s->count; i++)
    if (strcmp(s->types[i], type) == 0) return;
  if (s->count < MAX_SERIES) s->types[s->count++] = type;
}

/* The stage types with entries in any week: the six known ones in pipeline order, then others. */
static void collect(const json_t *weeks, size_t n, series_set_t *s) {
  s->count = 0;
  for (size_t k = 0; k < 7; k++) {
    for (size_t i = 0; i < n; i++) {
      const json_t *entries = json_object_get(json_array_get(weeks, i), "entries");
      const char *key;
      const json_t *v;
      json_object_foreach((json_t *)entries, key, v) {
        int known = 0;
        for (size_t t = 0; t < 6; t++) known |= strcmp(key, an_stage_types[t]) == 0;
        if (json_is_number(v) && (k < 6 ? strcmp(key, an_stage_types[k]) == 0 : !known)) series_add(s, key);
      }
    }
  }
}

static double entries(const json_t *week, const char *type) {
  double v;
  return svg_number(json_object_get(week, "entries"), type, &v) && v > 0 ? v : 0;
}

static double x_at(size_t i, size_t n) {
  return n < 2 ? (X0 + X1) / 2 : X0 + (X1 - X0) * (double)i / (double)(n - 1);
}

static void y_axis(an_buf_t *b, double top, double step) {
  int ticks = (int)lround(top / step);
  for (int i = 0; i <= ticks; i++) {
    double v = step * i, y = Y1 - (Y1 - Y0) * v / top;
    char label[32];
    svg_format(label, sizeof label, v, 2);
    an_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\"/>\n", X0 - 5, y, X1,
                  y, i == 0 ? "#555555" : "#e4e4e4");
    svg_text(b, X0 - 9, y + 4, SVG_END, 11, 0, "#444444", label, 0);
  }
  an_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", X0, Y0, X0,
                Y1);
  an_buf_printf(b,
                "<text x=\"0\" y=\"0\" transform=\"translate(24 %.1f) rotate(-90)\" text-anchor=\"middle\" "
                "font-size=\"12\" fill=\"#333333\">Entries per week</text>\n",
                (Y0 + Y1) / 2);
}

/* Week labels (the date part of week_start), at most about eight. */
static void x_axis(an_buf_t *b, const json_t *weeks, size_t n) {
  size_t every = (n + 7) / 8;
  for (size_t i = 0; i < n; i += every) {
    double x = x_at(i, n);
    char date[11] = "";
    snprintf(date, sizeof date, "%s", svg_label(json_array_get(weeks, i), "week_start", NULL, "?"));
    an_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", x, Y1, x,
                  Y1 + 5);
    svg_text(b, x, Y1 + 18, SVG_MIDDLE, 11, 0, "#444444", date, 12);
  }
  svg_text(b, (X0 + X1) / 2, Y1 + 40, SVG_MIDDLE, 12, 0, "#333333", "Week starting", 0);
}

static void series_line(an_buf_t *b, const json_t *weeks, size_t n, const char *type, const char *colour,
                        double top) {
  an_buf_printf(
      b, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2.5\" stroke-linejoin=\"round\" points=\"",
      colour);
  for (size_t i = 0; i < n; i++)
    an_buf_printf(b, "%s%.1f,%.1f", i ? " " : "", x_at(i, n),
                  Y1 - (Y1 - Y0) * entries(json_array_get(weeks, i), type) / top);
  an_buf_puts(b, "\"/>\n");
  if (n > 26) return; /* markers only while they do not crowd */
  for (size_t i = 0; i < n; i++)
    an_buf_printf(b, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\" fill=\"%s\"/>\n", x_at(i, n),
                  Y1 - (Y1 - Y0) * entries(json_array_get(weeks, i), type) / top, colour);
}

static void legend(an_buf_t *b, const series_set_t *s) {
  svg_text(b, X1 + 24, Y0 + 4, SVG_START, 12, 1, "#222222", "Stage type", 0);
  for (size_t k = 0; k < s->count; k++) {
    double y = Y0 + 26 + 22 * (double)k;
    an_buf_printf(
        b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"3\"/>\n",
        X1 + 24, y - 4, X1 + 48, y - 4, svg_type_colour(s->types[k], k));
    svg_text(b, X1 + 56, y, SVG_START, 12, 0, "#333333", s->types[k], 14);
  }
}

int svg_velocity(const json_t *report, an_buf_t *b) {
  static const char title[] = "Velocity";
  static const char subtitle[] = "Entries into each stage type per week";
  const json_t *weeks = json_object_get(report, "weeks");
  size_t total = json_array_size(weeks), n = total > MAX_WEEKS ? MAX_WEEKS : total;
  series_set_t s;
  collect(weeks, n, &s);
  if (n == 0 || s.count == 0) {
    svg_no_data(b, title, subtitle);
    return b->failed ? AN_ENOMEM : 0;
  }
  double max = 0, step, top;
  for (size_t i = 0; i < n; i++)
    for (size_t k = 0; k < s.count; k++) max = fmax(max, entries(json_array_get(weeks, i), s.types[k]));
  svg_nice_axis(max, 6, &step, &top);
  double height = Y1 + 60 + (total > n ? 20 : 0);
  svg_begin(b, SVG_WIDTH, (int)height, title, subtitle);
  y_axis(b, top, step);
  x_axis(b, weeks, n);
  for (size_t k = 0; k < s.count; k++)
    series_line(b, weeks, n, s.types[k], svg_type_colour(s.types[k], k), top);
  legend(b, &s);
  if (total > n) {
    char note[96];
    snprintf(note, sizeof note, "Showing the first %zu of %zu weeks.", n, total);
    svg_text(b, 20, height - 8, SVG_START, 11, 0, "#777777", note, 0);
  }
  svg_end(b);
  return b->failed ? AN_ENOMEM : 0;
}
