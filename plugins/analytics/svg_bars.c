/* The horizontal-bar charts of the analytics plugin: the conversion funnel (one bar per
 * stage, its reached count and the conversion to the next stage labelled) and pipeline
 * coverage for the hiring plan (one bar per job against a 100% line). Both share the row
 * layout below: labels on the left, bars in the middle, value labels on the right. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg_writer.h"

#define LEFT 230.0  /* x where bars start; row labels end 10 px before */
#define RIGHT 230.0 /* room right of the plot for value labels */
#define TOP 78.0
#define LABEL_CHARS 30

/* The vertical layout of n rows. */
typedef struct rows_layout {
  size_t n;
  double row_h, bar_h, axis_y, height;
} rows_layout_t;

static rows_layout_t layout(size_t n, int legend) {
  rows_layout_t l;
  l.n = n > SVG_MAX_ROWS ? SVG_MAX_ROWS : n;
  l.row_h = l.n > 20 ? 22 : 30;
  l.bar_h = l.row_h * 0.62;
  l.axis_y = TOP + (double)l.n * l.row_h + 4;
  l.height = l.axis_y + 56 + (legend ? 28 : 0) + (n > l.n ? 20 : 0);
  return l;
}

/* "Showing the first 60 of 75 rows." under the chart when rows were left out. */
static void overflow_note(an_buf_t *b, const rows_layout_t *l, size_t n) {
  if (n <= l->n) return;
  char note[96];
  snprintf(note, sizeof note, "Showing the first %zu of %zu rows.", l->n, n);
  svg_text(b, 20, l->height - 10, SVG_START, 11, 0, "#777777", note, 0);
}

/* The row label, centred on row i. */
static void row_label(an_buf_t *b, const rows_layout_t *l, size_t i, const char *text) {
  svg_text(b, LEFT - 10, TOP + l->row_h * ((double)i + 0.5) + 4, SVG_END, 12, 0, "#222222", text,
           LABEL_CHARS);
}

static void bar(an_buf_t *b, const rows_layout_t *l, size_t i, double width, const char *fill) {
  double y = TOP + l->row_h * (double)i + (l->row_h - l->bar_h) / 2;
  an_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\"/>\n", LEFT, y,
                width > 0 ? width : 0, l->bar_h, fill);
}

/* A value label: bold head, then a grey tail, left-aligned at x on row i. */
static void value_label(an_buf_t *b, const rows_layout_t *l, size_t i, double x, const char *head,
                        const char *tail) {
  an_buf_printf(b,
                "<text x=\"%.1f\" y=\"%.1f\" font-size=\"12\" stroke=\"#ffffff\" stroke-width=\"3\" "
                "paint-order=\"stroke\"><tspan font-weight=\"bold\" fill=\"#222222\">%s</tspan>"
                "<tspan dx=\"8\" fill=\"#555555\">%s</tspan></text>\n",
                x, TOP + l->row_h * ((double)i + 0.5) + 4, head, tail);
}

int svg_funnel(const json_t *report, an_buf_t *b) {
  static const char title[] = "Conversion funnel";
  const json_t *stages = json_object_get(report, "stages");
  size_t n = json_array_size(stages);
  double apps;
  char subtitle[160] = "Applications that reached each stage, and the share that went on to the next";
  if (svg_number(report, "applications", &apps))
    snprintf(subtitle, sizeof subtitle,
             "%.0f applications: how many reached each stage, and the share that went on to the next", apps);
  if (n == 0) {
    svg_no_data(b, title, subtitle);
    return b->failed ? AN_ENOMEM : 0;
  }
  rows_layout_t l = layout(n, 0);
  double max = 0, v, step, top;
  for (size_t i = 0; i < l.n; i++)
    if (svg_number(json_array_get(stages, i), "reached", &v) && v > max) max = v;
  svg_nice_axis(max, 6, &step, &top);
  double x1 = SVG_WIDTH - RIGHT;
  svg_begin(b, SVG_WIDTH, (int)l.height, title, subtitle);
  svg_x_axis(b, LEFT, x1, l.axis_y, TOP - 4, top, step, 1, "", "Applications that reached the stage");
  for (size_t i = 0; i < l.n; i++) {
    const json_t *s = json_array_get(stages, i);
    const char *type = svg_label(s, "type", NULL, NULL);
    row_label(b, &l, i, svg_label(s, "name", "type", "(unnamed stage)"));
    double reached = svg_number(s, "reached", &v) && v > 0 ? v : 0, conv;
    bar(b, &l, i, (x1 - LEFT) * (reached > top ? top : reached) / top, svg_type_colour(type, i));
    char head[32], tail[64] = "", pct[16];
    svg_format(head, sizeof head, reached, 0);
    if (svg_number(s, "conversion", &conv)) {
      svg_format(pct, sizeof pct, conv * 100, 1);
      snprintf(tail, sizeof tail, "\xE2\x86\x92 %s%% to next stage", pct);
    }
    value_label(b, &l, i, LEFT + (x1 - LEFT) * (reached > top ? top : reached) / top + 6, head, tail);
  }
  overflow_note(b, &l, n);
  svg_end(b);
  return b->failed ? AN_ENOMEM : 0;
}

/* Coverage colours: covered, at risk, far short. */
static const char *coverage_colour(double c) { return c >= 1 ? "#009E73" : c >= 0.5 ? "#E69F00" : "#D55E00"; }

static void coverage_legend(an_buf_t *b, double y) {
  static const struct {
    double c;
    const char *text;
  } items[] = {{1, "100% or more: on track"},
               {0.5,
                "50\xE2\x80\x93"
                "99%: at risk"},
               {0, "under 50%: far short"}};
  double x = LEFT;
  for (size_t i = 0; i < 3; i++) {
    an_buf_printf(b, "<rect x=\"%.1f\" y=\"%.1f\" width=\"14\" height=\"14\" fill=\"%s\"/>\n", x, y - 11,
                  coverage_colour(items[i].c));
    svg_text(b, x + 20, y, SVG_START, 12, 0, "#333333", items[i].text, 0);
    x += 190;
  }
}

/* The 100% line, dashed, labelled above the plot. */
static void target_line(an_buf_t *b, double x, double y0, double y1) {
  an_buf_printf(
      b,
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#222222\" stroke-width=\"1.5\" "
      "stroke-dasharray=\"6 4\"/>\n",
      x, y0, x, y1);
  svg_text(b, x, y0 - 4, SVG_MIDDLE, 11, 1, "#222222", "100% = openings left", 0);
}

/* One job's bar and label; coverage is a ratio (1 = 100%). */
static void coverage_row(an_buf_t *b, const rows_layout_t *l, size_t i, const json_t *job, double x1,
                         double top) {
  double cov, expected, left;
  row_label(b, l, i, svg_label(job, "title", "job_id", "(untitled job)"));
  char head[32] = "n/a", tail[96] = "no openings left", e[24], o[24];
  double x = LEFT;
  if (svg_number(job, "coverage", &cov)) {
    double pct = cov * 100, shown = pct > top ? top : pct < 0 ? 0 : pct;
    bar(b, l, i, (x1 - LEFT) * shown / top, coverage_colour(cov));
    x = LEFT + (x1 - LEFT) * shown / top;
    svg_format(head, sizeof head - 1, pct, 0);
    strcat(head, "%");
    tail[0] = '\0';
  }
  if (svg_number(job, "expected_hires", &expected) && svg_number(job, "openings_left", &left)) {
    svg_format(e, sizeof e, expected, 1);
    svg_format(o, sizeof o, left, 0);
    snprintf(tail, sizeof tail, "%s expected of %s open", e, o);
  }
  value_label(b, l, i, x + 6, head, tail);
}

int svg_coverage(const json_t *report, an_buf_t *b) {
  const json_t *jobs = json_object_get(report, "jobs");
  const char *quarter = svg_label(report, "quarter", NULL, NULL);
  char title[96] = "Pipeline coverage";
  if (quarter) snprintf(title, sizeof title, "Pipeline coverage, %.40s", quarter);
  static const char subtitle[] = "Expected hires from the active pipeline \xC3\xB7 openings left, per job";
  size_t n = json_array_size(jobs);
  if (n == 0) {
    svg_no_data(b, title, subtitle);
    return b->failed ? AN_ENOMEM : 0;
  }
  rows_layout_t l = layout(n, 1);
  double max = 120, cov, step, top;
  for (size_t i = 0; i < l.n; i++)
    if (svg_number(json_array_get(jobs, i), "coverage", &cov) && cov * 100 > max) max = cov * 100;
  if (max > 300) max = 300; /* longer bars are cut at the edge; their label gives the value */
  svg_nice_axis(max, 6, &step, &top);
  double x1 = SVG_WIDTH - RIGHT;
  svg_begin(b, SVG_WIDTH, (int)l.height, title, subtitle);
  svg_x_axis(b, LEFT, x1, l.axis_y, TOP - 4, top, step, 1, "%", "Coverage");
  target_line(b, LEFT + (x1 - LEFT) * 100 / top, TOP - 8, l.axis_y); /* under the labels */
  for (size_t i = 0; i < l.n; i++) coverage_row(b, &l, i, json_array_get(jobs, i), x1, top);
  coverage_legend(b, l.axis_y + 70);
  overflow_note(b, &l, n);
  svg_end(b);
  return b->failed ? AN_ENOMEM : 0;
}
