/* Small SVG-writing helpers shared by the analytics charts (svg_*.c): the page frame, escaped
 * and truncated text, axes with "nice" ticks, colours, number labels, and the "No data" page.
 * Every string from a report goes through svg_text or svg_escape, never straight to the
 * buffer. */
#ifndef ANALYTICS_SVG_WRITER_H
#define ANALYTICS_SVG_WRITER_H

#include "render_int.h"

#define SVG_WIDTH 860
#define SVG_FONT "DejaVu Sans, Verdana, Arial, sans-serif"
#define SVG_MAX_ROWS 60 /* rows beyond this are left out, with a note under the chart */

typedef enum svg_anchor { SVG_START, SVG_MIDDLE, SVG_END } svg_anchor_t;

/* Writes s XML-escaped (& < > " ') and cut to max_chars code points with "…" when longer;
 * max_chars 0 means no limit. Invalid UTF-8 bytes become U+FFFD; control characters a space. */
void svg_escape(an_buf_t *b, const char *s, size_t max_chars);

/* <text> at (x, y) with the given size, weight (0 normal, 1 bold) and fill; text escaped and
 * truncated as svg_escape does. A truncated text carries its full value in a <title>. */
void svg_text(an_buf_t *b, double x, double y, svg_anchor_t anchor, int size, int bold, const char *fill,
              const char *text, size_t max_chars);

/* Opens the document (width x height, white background, title and optional subtitle) and
 * closes it. */
void svg_begin(an_buf_t *b, int width, int height, const char *title, const char *subtitle);
void svg_end(an_buf_t *b);

/* A complete page that says "No data" under title. */
void svg_no_data(an_buf_t *b, const char *title, const char *subtitle);

/* A "nice" axis over [0, max]: step 1, 2 or 5 times a power of ten giving at most ~target
 * ticks; *top is the axis end (a multiple of step, >= max, > 0). */
void svg_nice_axis(double max, int target, double *step, double *top);

/* The colour for a stage type ("lead" ... "hired"; others by index). */
const char *svg_type_colour(const char *type, size_t index);

/* A vertical-grid horizontal axis under a plot from x0 to x1 at y: tick lines, tick labels
 * (value * scale, with unit suffix), gridlines up to y_top, and a centred axis title. */
void svg_x_axis(an_buf_t *b, double x0, double x1, double y, double y_top, double top, double step,
                double scale, const char *suffix, const char *axis_title);

/* Formats v with at most decimals fraction digits, trailing zeros dropped ("2.5", "3"). */
void svg_format(char *out, size_t n, double v, int decimals);

/* Reads a number member; returns 1 and sets *v when present and finite. */
int svg_number(const json_t *obj, const char *key, double *v);

/* A row's label: the first of the members that is a non-empty string, or fallback. */
const char *svg_label(const json_t *row, const char *key1, const char *key2, const char *fallback);

/* The four charts. Each writes a complete document. */
int svg_funnel(const json_t *report, an_buf_t *b);
int svg_boxplot(const json_t *report, an_buf_t *b);
int svg_coverage(const json_t *report, an_buf_t *b);
int svg_velocity(const json_t *report, an_buf_t *b);

#endif
