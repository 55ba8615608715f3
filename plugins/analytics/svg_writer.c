/* SVG-writing helpers for the analytics charts (see svg_writer.h): escaping and truncation of
 * report strings, the page frame, axes with nice ticks, colours and number labels. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "svg_writer.h"

/* Decodes one UTF-8 code point at s; returns its length, with *cp = 0xFFFD for a bad one. */
static size_t utf8_next(const unsigned char *s, unsigned *cp) {
  unsigned c = s[0];
  size_t n = c < 0x80 ? 1 : (c & 0xE0) == 0xC0 ? 2 : (c & 0xF0) == 0xE0 ? 3 : (c & 0xF8) == 0xF0 ? 4 : 0;
  if (n == 0) {
    *cp = 0xFFFD;
    return 1;
  }
  unsigned v = n == 1 ? c : c & (0x7Fu >> n);
  for (size_t i = 1; i < n; i++) {
    if ((s[i] & 0xC0) != 0x80) {
      *cp = 0xFFFD;
      return i;
    }
    v = (v << 6) | (s[i] & 0x3Fu);
  }
  static const unsigned min[5] = {0, 0, 0x80, 0x800, 0x10000};
  if (v < min[n] || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) v = 0xFFFD;
  *cp = v;
  return n;
}

static void put_code_point(an_buf_t *b, unsigned cp) {
  char u[4];
  size_t n;
  if (cp < 0x80) {
    u[0] = (char)cp;
    n = 1;
  } else if (cp < 0x800) {
    u[0] = (char)(0xC0 | (cp >> 6));
    u[1] = (char)(0x80 | (cp & 0x3F));
    n = 2;
  } else if (cp < 0x10000) {
    u[0] = (char)(0xE0 | (cp >> 12));
    u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[2] = (char)(0x80 | (cp & 0x3F));
    n = 3;
  } else {
    u[0] = (char)(0xF0 | (cp >> 18));
    u[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    u[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    u[3] = (char)(0x80 | (cp & 0x3F));
    n = 4;
  }
  an_buf_append(b, u, n);
}

static size_t utf8_length(const char *s) {
  size_t chars = 0;
  unsigned cp;
  for (const unsigned char *p = (const unsigned char *)s; *p; chars++) p += utf8_next(p, &cp);
  return chars;
}

void svg_escape(an_buf_t *b, const char *s, size_t max_chars) {
  int cut = max_chars > 0 && utf8_length(s) > max_chars;
  size_t keep = cut ? max_chars - 1 : (size_t)-1, chars = 0;
  const unsigned char *p = (const unsigned char *)s;
  while (*p && chars < keep) {
    unsigned cp;
    p += utf8_next(p, &cp);
    chars++;
    if (cp == '&')
      an_buf_puts(b, "&amp;");
    else if (cp == '<')
      an_buf_puts(b, "&lt;");
    else if (cp == '>')
      an_buf_puts(b, "&gt;");
    else if (cp == '"')
      an_buf_puts(b, "&quot;");
    else if (cp == '\'')
      an_buf_puts(b, "&apos;");
    else if (cp < 0x20 || cp == 0x7F || cp == 0xFFFE || cp == 0xFFFF)
      an_buf_puts(b, " ");
    else
      put_code_point(b, cp);
  }
  if (cut) an_buf_puts(b, "\xE2\x80\xA6"); /* U+2026 HORIZONTAL ELLIPSIS */
}

void svg_text(an_buf_t *b, double x, double y, svg_anchor_t anchor, int size, int bold, const char *fill,
              const char *text, size_t max_chars) {
  static const char *const anchors[] = {"start", "middle", "end"};
  an_buf_printf(b, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"%s\" font-size=\"%d\"%s fill=\"%s\">", x, y,
                anchors[anchor], size, bold ? " font-weight=\"bold\"" : "", fill);
  if (max_chars > 0 && utf8_length(text) > max_chars) {
    an_buf_puts(b, "<title>");
    svg_escape(b, text, 0);
    an_buf_puts(b, "</title>");
  }
  svg_escape(b, text, max_chars);
  an_buf_puts(b, "</text>\n");
}

void svg_begin(an_buf_t *b, int width, int height, const char *title, const char *subtitle) {
  an_buf_printf(b,
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
                "font-family=\"%s\" role=\"img\">\n<title>",
                width, height, width, height, SVG_FONT);
  svg_escape(b, title, 0);
  an_buf_printf(b, "</title>\n<rect x=\"0\" y=\"0\" width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>\n", width,
                height);
  svg_text(b, 20, 30, SVG_START, 18, 1, "#222222", title, 80);
  if (subtitle && *subtitle) svg_text(b, 20, 50, SVG_START, 12, 0, "#666666", subtitle, 120);
}

void svg_end(an_buf_t *b) { an_buf_puts(b, "</svg>\n"); }

void svg_no_data(an_buf_t *b, const char *title, const char *subtitle) {
  svg_begin(b, SVG_WIDTH, 220, title, subtitle);
  an_buf_printf(b,
                "<rect x=\"20\" y=\"70\" width=\"%d\" height=\"120\" fill=\"#f6f6f6\" stroke=\"#dddddd\"/>\n",
                SVG_WIDTH - 40);
  svg_text(b, SVG_WIDTH / 2.0, 138, SVG_MIDDLE, 18, 0, "#777777", "No data", 0);
  svg_end(b);
}

void svg_nice_axis(double max, int target, double *step, double *top) {
  if (!(max > 0) || !isfinite(max)) max = 1;
  double raw = max / (target > 0 ? target : 5);
  double mag = pow(10, floor(log10(raw)));
  double f = raw / mag;
  *step = (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * mag;
  *top = ceil(max / *step - 1e-9) * *step;
  if (*top <= 0) *top = *step;
}

const char *svg_type_colour(const char *type, size_t index) {
  /* Okabe-Ito, distinguishable with the common colour-vision deficiencies. */
  static const char *const by_type[] = {"#56B4E9", "#0072B2", "#009E73", "#E69F00", "#D55E00", "#CC79A7"};
  static const char *const others[] = {"#444444", "#999999", "#8C6D31", "#7B4173"};
  for (size_t i = 0; i < 6; i++)
    if (type && strcmp(type, an_stage_types[i]) == 0) return by_type[i];
  return others[index % 4];
}

void svg_format(char *out, size_t n, double v, int decimals) {
  snprintf(out, n, "%.*f", decimals, v);
  if (decimals > 0 && strchr(out, '.')) {
    size_t len = strlen(out);
    while (len > 0 && out[len - 1] == '0') out[--len] = '\0';
    if (len > 0 && out[len - 1] == '.') out[--len] = '\0';
  }
  if (strcmp(out, "-0") == 0) snprintf(out, n, "0");
}

void svg_x_axis(an_buf_t *b, double x0, double x1, double y, double y_top, double top, double step,
                double scale, const char *suffix, const char *axis_title) {
  int ticks = (int)lround(top / step);
  for (int i = 0; i <= ticks; i++) {
    double v = step * i, x = x0 + (x1 - x0) * v / top;
    char label[48];
    svg_format(label, sizeof label - 8, v * scale, 2);
    strncat(label, suffix, 7);
    an_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#e4e4e4\"/>\n", x, y_top,
                  x, y);
    an_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", x, y, x,
                  y + 5);
    svg_text(b, x, y + 18, SVG_MIDDLE, 11, 0, "#444444", label, 0);
  }
  an_buf_printf(b, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#555555\"/>\n", x0, y, x1,
                y);
  if (axis_title) svg_text(b, (x0 + x1) / 2, y + 38, SVG_MIDDLE, 12, 0, "#333333", axis_title, 0);
}

int svg_number(const json_t *obj, const char *key, double *v) {
  const json_t *n = json_is_object(obj) ? json_object_get(obj, key) : NULL;
  if (!json_is_number(n) || !isfinite(json_number_value(n))) return 0;
  *v = json_number_value(n);
  return 1;
}

const char *svg_label(const json_t *row, const char *key1, const char *key2, const char *fallback) {
  const char *keys[2] = {key1, key2};
  for (int i = 0; i < 2; i++) {
    const json_t *s = keys[i] && json_is_object(row) ? json_object_get(row, keys[i]) : NULL;
    if (json_is_string(s) && json_string_length(s) > 0) return json_string_value(s);
  }
  return fallback;
}

int an_svg_write(an_report_kind_t kind, const json_t *report, an_buf_t *out) {
  switch (kind) {
    case AN_REPORT_CONVERSION: return svg_funnel(report, out);
    case AN_REPORT_TIME_IN_STAGE: return svg_boxplot(report, out);
    case AN_REPORT_PLAN: return svg_coverage(report, out);
    case AN_REPORT_VELOCITY: return svg_velocity(report, out);
    default: return AN_EINVAL;
  }
}
