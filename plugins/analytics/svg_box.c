/* The time-in-stage chart: per stage, a box from the median to p75 and a whisker from p75 to
 * p90 on a shared time axis (minutes, hours or days, whichever reads best), with the median,
 * the number of completed stays and the stays still open labelled on the right. The report
 * has no lower quartile, so the box is deliberately one-sided and the legend says so. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg_writer.h"

#define LEFT 230.0
#define RIGHT 250.0
#define TOP 78.0
#define LABEL_CHARS 30

typedef struct time_unit {
  double seconds;
  const char *name, *suffix;
} time_unit_t;

/* The unit that keeps the axis numbers small but not fractional. */
static time_unit_t pick_unit(double max_seconds) {
  if (max_seconds < 2 * 3600) return (time_unit_t){60, "minutes", " min"};
  if (max_seconds < 3 * 86400) return (time_unit_t){3600, "hours", " h"};
  return (time_unit_t){86400, "days", " d"};
}

static void legend(an_buf_t *b, double y) {
  double x = LEFT;
  an_buf_printf(
      b,
      "<rect x=\"%.1f\" y=\"%.1f\" width=\"26\" height=\"14\" fill=\"#9ecae1\" stroke=\"#2b6a99\"/>\n"
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#08306b\" stroke-width=\"3\"/>\n",
      x, y - 11, x + 1.5, y - 12, x + 1.5, y + 4);
  svg_text(b, x + 32, y, SVG_START, 12, 0, "#333333", "median (dark edge) to p75", 0);
  x += 210;
  an_buf_printf(
      b,
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2b6a99\" stroke-width=\"1.5\"/>\n"
      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2b6a99\" stroke-width=\"1.5\"/>\n",
      x, y - 4, x + 26, y - 4, x + 26, y - 10, x + 26, y + 2);
  svg_text(b, x + 32, y, SVG_START, 12, 0, "#333333", "whisker: p75 to p90", 0);
}

/* One stage: the box, the whisker and the labels. */
static void box_row(an_buf_t *b, size_t i, double row_h, const json_t *s, double x1, double top,
                    time_unit_t u) {
  double cy = TOP + row_h * ((double)i + 0.5), bh = row_h * 0.6;
  double med, p75, p90, count = 0, open = 0;
  svg_number(s, "count", &count);
  svg_number(s, "open", &open);
  svg_text(b, LEFT - 10, cy + 4, SVG_END, 12, 0, "#222222", svg_label(s, "name", "type", "(unnamed stage)"),
           LABEL_CHARS);
  char label[128], m[32], c[24], o[24];
  svg_format(c, sizeof c, count, 0);
  svg_format(o, sizeof o, open, 0);
  if (count > 0 && svg_number(s, "median_seconds", &med) && svg_number(s, "p75_seconds", &p75) &&
      svg_number(s, "p90_seconds", &p90)) {
    double k = (x1 - LEFT) / (top * u.seconds);
    double limit = top * u.seconds; /* values outside [0, axis end] are drawn at its edges */
    double xm = LEFT + fmax(0, fmin(med, limit)) * k, x75 = LEFT + fmax(0, fmin(p75, limit)) * k,
           x90 = LEFT + fmax(0, fmin(p90, limit)) * k;
    an_buf_printf(
        b,
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2b6a99\" stroke-width=\"1.5\"/>\n"
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#2b6a99\" stroke-width=\"1.5\"/>\n"
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#9ecae1\" stroke=\"#2b6a99\"/>\n"
        "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#08306b\" stroke-width=\"3\"/>\n",
        x75, cy, x90, cy, x90, cy - bh / 3, x90, cy + bh / 3, xm, cy - bh / 2, fmax(x75 - xm, 1), bh, xm,
        cy - bh / 2 - 2, xm, cy + bh / 2 + 2);
    svg_format(m, sizeof m, med / u.seconds, 1);
    snprintf(label, sizeof label, "median %s%s \xC2\xB7 n=%s \xC2\xB7 %s open", m, u.suffix, c, o);
  } else {
    svg_text(b, LEFT + 6, cy + 4, SVG_START, 11, 0, "#888888", "no completed stays", 0);
    snprintf(label, sizeof label, "n=0 \xC2\xB7 %s open", o);
  }
  svg_text(b, x1 + 10, cy + 4, SVG_START, 12, 0, "#333333", label, 0);
}

int svg_boxplot(const json_t *report, an_buf_t *b) {
  static const char title[] = "Time in stage";
  static const char subtitle[] =
      "Completed stays per stage: median, p75 and p90; stays still open are counted apart";
  const json_t *stages = json_object_get(report, "stages");
  size_t n = json_array_size(stages), shown = n > SVG_MAX_ROWS ? SVG_MAX_ROWS : n;
  if (n == 0) {
    svg_no_data(b, title, subtitle);
    return b->failed ? AN_ENOMEM : 0;
  }
  double max = 0, v;
  for (size_t i = 0; i < shown; i++)
    if (svg_number(json_array_get(stages, i), "p90_seconds", &v) && v > max) max = v;
  time_unit_t u = pick_unit(max);
  double row_h = shown > 20 ? 22 : 30, axis_y = TOP + (double)shown * row_h + 4, step, top;
  double height = axis_y + 84 + (n > shown ? 20 : 0), x1 = SVG_WIDTH - RIGHT;
  svg_nice_axis(max / u.seconds, 6, &step, &top);
  svg_begin(b, SVG_WIDTH, (int)height, title, subtitle);
  char axis_title[64];
  snprintf(axis_title, sizeof axis_title, "Time in stage (%s)", u.name);
  svg_x_axis(b, LEFT, x1, axis_y, TOP - 4, top, step, 1, "", axis_title);
  for (size_t i = 0; i < shown; i++) box_row(b, i, row_h, json_array_get(stages, i), x1, top, u);
  legend(b, axis_y + 70);
  if (n > shown) {
    char note[96];
    snprintf(note, sizeof note, "Showing the first %zu of %zu stages.", shown, n);
    svg_text(b, 20, height - 10, SVG_START, 11, 0, "#777777", note, 0);
  }
  svg_end(b);
  return b->failed ? AN_ENOMEM : 0;
}
