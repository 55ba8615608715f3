/* test_analytics_render.c - the analytics plugin's output formats (plugins/analytics/render*.c
 * and svg_*.c, compiled into this test by plugins/analytics/CMakeLists.txt): exact CSV bytes
 * (quoting, CRLF, formula neutralisation, the flattening of every report kind, tolerance of
 * unexpected shapes, the row limit), XLSX (a zip whose sheet XML holds the numbers as numbers,
 * read with /usr/bin/unzip when present), and the four SVG charts (well-formed XML checked with
 * /usr/bin/python3's xml.etree when present, labels, escaping, truncation, "No data").
 *
 * `test_analytics_render --samples DIR` writes sample charts (1, 6 and 30 rows, awkward names,
 * empty data) to DIR instead of testing; tests/tools/render_charts.sh turns them into PNGs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "../../plugins/analytics/render_int.h"

/* Renders report (taken) and returns the body as a NUL-terminated string (caller frees), or
 * NULL with *rc set on failure. */
static char *render(an_report_kind_t kind, an_format_t f, json_t *report, int *rc, size_t *len) {
  an_rendered_t out;
  int r = an_render(kind, f, report, &out);
  json_decref(report);
  if (rc) *rc = r;
  if (r != 0) {
    an_rendered_free(&out);
    return NULL;
  }
  char *s = malloc(out.len + 1);
  assert_non_null(s);
  memcpy(s, out.body, out.len);
  s[out.len] = '\0';
  if (len) *len = out.len;
  an_rendered_free(&out);
  return s;
}

static json_t *parse(const char *text) {
  json_error_t e;
  json_t *j = json_loads(text, 0, &e);
  if (!j) fail_msg("bad test JSON: %s", e.text);
  return j;
}

static void check_csv(an_report_kind_t kind, const char *json, const char *expected) {
  int rc;
  char *csv = render(kind, AN_FORMAT_CSV, parse(json), &rc, NULL);
  assert_int_equal(rc, 0);
  assert_string_equal(csv, expected);
  free(csv);
}

static void test_csv_conversion_quoting_and_guard(void **state) {
  (void)state;
  check_csv(
      AN_REPORT_CONVERSION,
      "{\"stages\":[{\"stage_id\":\"stg_1\",\"name\":\"Phone, \\\"quick\\\" screen\",\"type\":\"screen\","
      "\"position\":0,\"reached\":10,\"conversion\":0.25},"
      "{\"stage_id\":null,\"name\":\"=HYPERLINK(\\\"x\\\")\",\"type\":\"-5\",\"position\":1,\"reached\":3,"
      "\"conversion\":0.3333333333333333},"
      "{\"stage_id\":\"@me\",\"name\":\"multi\\nline\",\"type\":\"+1\",\"position\":2,\"reached\":0,"
      "\"conversion\":null}]}",
      "stage_id,name,type,position,reached,conversion\r\n"
      "stg_1,\"Phone, \"\"quick\"\" screen\",screen,0,10,0.25\r\n"
      ",\"'=HYPERLINK(\"\"x\"\")\",-5,1,3,0.3333333333333333\r\n"
      "'@me,\"multi\nline\",+1,2,0,\r\n");
}

static void test_csv_guard_rules(void **state) {
  (void)state;
  const char *guarded[] = {"=1+1", "+x",   "-x",   "@SUM(A1)", "\tx", "\rx",
                           "-",    "-inf", "-1+1", "+",        "-1e", "=5"};
  const char *plain[] = {"-5", "+3.5", "-1e-3", "1e5", "abc", "", "5-3", ".5", "x=1"};
  for (size_t i = 0; i < sizeof guarded / sizeof *guarded; i++) assert_true(an_csv_needs_guard(guarded[i]));
  for (size_t i = 0; i < sizeof plain / sizeof *plain; i++) assert_false(an_csv_needs_guard(plain[i]));
  /* A tab-led cell is guarded but needs no quotes; a CR-led one needs both. */
  check_csv(AN_REPORT_FORECAST, "{\"job_id\":\"\\tj\",\"target_date\":\"\\rd\"}",
            "job_id,openings_left,target_date,p_filled_by_target,fill_date_p10,fill_date_p50,fill_date_p90,"
            "required_weekly_applicants,simulations,seed\r\n'\tj,,\"'\rd\",,,,,,,\r\n");
}

static void test_csv_time_in_stage(void **state) {
  (void)state;
  check_csv(AN_REPORT_TIME_IN_STAGE,
            "{\"stages\":[{\"stage_id\":\"s\",\"name\":\"Screen\",\"type\":\"screen\",\"count\":3,"
            "\"median_seconds\":3600.0,\"p75_seconds\":5400.5,\"p90_seconds\":86400,\"open\":2},"
            "{\"name\":\"Offer\",\"type\":\"offer\",\"count\":0,\"median_seconds\":null,\"open\":1}],"
            "\"applications\":4}",
            "stage_id,name,type,count,median_seconds,p75_seconds,p90_seconds,open\r\n"
            "s,Screen,screen,3,3600,5400.5,86400,2\r\n"
            ",Offer,offer,0,,,,1\r\n");
}

static void test_csv_drop_off_rows_per_reason(void **state) {
  (void)state;
  check_csv(
      AN_REPORT_DROP_OFF,
      "{\"stages\":[{\"stage_id\":\"a\",\"name\":\"Screen\",\"type\":\"screen\",\"position\":2,"
      "\"rejected\":3,\"withdrawn\":1,\"reasons\":[{\"reason\":\"salary\",\"rejected\":2,\"withdrawn\":1,"
      "\"total\":3},{\"reason\":null,\"rejected\":1,\"withdrawn\":0,\"total\":1}]},"
      "{\"stage_id\":\"b\",\"name\":\"Offer\",\"type\":\"offer\",\"position\":3,\"rejected\":0,"
      "\"withdrawn\":0,\"reasons\":[]}]}",
      "stage_id,name,type,position,rejected,withdrawn,reason,reason_rejected,reason_withdrawn,reason_"
      "total\r\n"
      "a,Screen,screen,2,3,1,salary,2,1,3\r\n"
      "a,Screen,screen,2,3,1,,1,0,1\r\n"
      "b,Offer,offer,3,0,0,,,,\r\n");
}

static void test_csv_plan_sources_velocity(void **state) {
  (void)state;
  check_csv(
      AN_REPORT_PLAN,
      "{\"quarter\":\"2027Q1\",\"jobs\":[{\"job_id\":\"job_1\",\"title\":\"Engineer\",\"department\":\"R&D\","
      "\"openings_left\":2,\"target_dates\":[\"2027-01-15\",\"2027-03-01\"],"
      "\"active_by_stage_type\":{\"screen\":4,\"offer\":1,\"sourcing\":7},\"expected_hires\":1.5,"
      "\"coverage\":0.75,\"required_weekly_applicants\":3.2}]}",
      "quarter,job_id,title,department,openings_left,target_dates,active_lead,active_applied,active_screen,"
      "active_interview,active_offer,active_hired,active_sourcing,expected_hires,coverage,"
      "required_weekly_applicants\r\n"
      "2027Q1,job_1,Engineer,R&D,2,2027-01-15; 2027-03-01,,,4,,1,,7,1.5,0.75,3.2\r\n");
  check_csv(
      AN_REPORT_SOURCES,
      "{\"sources\":[{\"source\":\"referral\",\"applications\":10,\"reached\":{\"applied\":10,\"hired\":2},"
      "\"hires\":2,\"conversion_to_hire\":0.2,\"credit\":{\"first_touch\":1,\"last_touch\":2,"
      "\"linear\":1.5}}]}",
      "source,applications,reached_lead,reached_applied,reached_screen,reached_interview,reached_offer,"
      "reached_hired,hires,conversion_to_hire,credit_first_touch,credit_last_touch,credit_linear\r\n"
      "referral,10,,10,,,,2,2,0.2,1,2,1.5\r\n");
  check_csv(AN_REPORT_VELOCITY,
            "{\"weeks\":[{\"week_start\":\"2027-01-04\",\"entries\":{\"screen\":3,\"applied\":5},"
            "\"intervals\":{\"applied\":4,\"sourced\":1},"
            "\"median_seconds\":{\"applied\":60,\"screen\":null,\"offer\":7200}},"
            "{\"week_start\":\"2027-01-11\",\"entries\":{}}]}",
            "week_start,type,entries,intervals,median_seconds\r\n"
            "2027-01-04,applied,5,4,60\r\n"
            "2027-01-04,screen,3,,\r\n"
            "2027-01-04,offer,,,7200\r\n"
            "2027-01-04,sourced,,1,\r\n");
  check_csv(AN_REPORT_FORECAST,
            "{\"job_id\":\"j\",\"openings_left\":1,\"target_date\":\"2027-03-01\",\"p_filled_by_target\":0.8,"
            "\"fill_date\":{\"p10\":\"2027-01-10\",\"p50\":\"2027-02-01\",\"p90\":null},"
            "\"required_weekly_applicants\":0,\"simulations\":10000,\"seed\":42}",
            "job_id,openings_left,target_date,p_filled_by_target,fill_date_p10,fill_date_p50,fill_date_p90,"
            "required_weekly_applicants,simulations,seed\r\n"
            "j,1,2027-03-01,0.8,2027-01-10,2027-02-01,,0,10000,42\r\n");
}

/* Unexpected shapes give empty cells or no rows, never a crash or an error. */
static void test_tolerant_shapes(void **state) {
  (void)state;
  check_csv(AN_REPORT_CONVERSION, "{\"stages\":\"nope\"}",
            "stage_id,name,type,position,reached,conversion\r\n");
  check_csv(AN_REPORT_CONVERSION,
            "{\"stages\":[7,{\"name\":{\"x\":1},\"reached\":true,\"position\":[1,\"a\"]}]}",
            "stage_id,name,type,position,reached,conversion\r\n,,,,,\r\n,,,1; a,true,\r\n");
  check_csv(
      AN_REPORT_PLAN, "{\"jobs\":[{\"active_by_stage_type\":5}]}",
      "quarter,job_id,title,department,openings_left,target_dates,active_lead,active_applied,active_screen,"
      "active_interview,active_offer,active_hired,expected_hires,coverage,required_weekly_applicants\r\n"
      ",,,,,,,,,,,,,,\r\n");
  check_csv(AN_REPORT_VELOCITY, "{\"weeks\":[1,{\"entries\":[1]}]}",
            "week_start,type,entries,intervals,median_seconds\r\n");
  check_csv(AN_REPORT_FORECAST, "[]",
            "job_id,openings_left,target_date,p_filled_by_target,fill_date_p10,fill_date_p50,fill_date_p90,"
            "required_weekly_applicants,simulations,seed\r\n");
  for (int k = AN_REPORT_CONVERSION; k <= AN_REPORT_VELOCITY; k++) {
    for (int f = AN_FORMAT_CSV; f <= AN_FORMAT_SVG; f++) {
      an_rendered_t out;
      int rc = an_render((an_report_kind_t)k, (an_format_t)f, NULL, &out);
      assert_true(rc == 0 || (f == AN_FORMAT_SVG && rc == AN_EINVAL));
      an_rendered_free(&out);
    }
  }
}

static void test_row_limit(void **state) {
  (void)state;
  json_t *stages = json_array();
  for (int i = 0; i < AN_RENDER_MAX_ROWS; i++)
    json_array_append_new(stages, json_pack("{s:i}", "reached", i));
  json_t *report = json_pack("{s:O}", "stages", stages);
  int rc;
  size_t len;
  char *csv = render(AN_REPORT_CONVERSION, AN_FORMAT_CSV, report, &rc, &len);
  assert_int_equal(rc, 0);
  assert_non_null(strstr(csv, "\r\n,,,,99999,\r\n"));
  free(csv);
  json_array_append_new(stages, json_object());
  report = json_pack("{s:o}", "stages", stages);
  an_rendered_t out;
  rc = an_render(AN_REPORT_CONVERSION, AN_FORMAT_XLSX, report, &out);
  assert_int_equal(rc, AN_ELIMIT);
  assert_int_equal(an_render_status(rc), 413);
  assert_non_null(strstr(out.error, "100000"));
  assert_null(out.body);
  an_rendered_free(&out);
  json_decref(report);
}

static void test_format_parse_and_names(void **state) {
  (void)state;
  an_format_t f;
  assert_int_equal(an_format_parse(NULL, &f), 0);
  assert_int_equal(f, AN_FORMAT_JSON);
  assert_int_equal(an_format_parse("xlsx", &f), 0);
  assert_int_equal(f, AN_FORMAT_XLSX);
  assert_int_equal(an_format_parse("XLSX", &f), AN_EINVAL);
  assert_int_equal(an_format_parse("pdf", &f), AN_EINVAL);
  assert_true(an_render_supports(AN_REPORT_DROP_OFF, AN_FORMAT_JSON));
  assert_true(an_render_supports(AN_REPORT_DROP_OFF, AN_FORMAT_XLSX));
  assert_false(an_render_supports(AN_REPORT_DROP_OFF, AN_FORMAT_SVG));
  assert_false(an_render_supports(AN_REPORT_FORECAST, AN_FORMAT_SVG));
  assert_true(an_render_supports(AN_REPORT_VELOCITY, AN_FORMAT_SVG));
  an_rendered_t out;
  json_t *r = json_object();
  assert_int_equal(an_render(AN_REPORT_DROP_OFF, AN_FORMAT_SVG, r, &out), AN_EINVAL);
  assert_int_equal(an_render_status(AN_EINVAL), 422);
  assert_non_null(out.error);
  assert_int_equal(an_render(AN_REPORT_TIME_IN_STAGE, AN_FORMAT_CSV, r, &out), 0);
  assert_string_equal(out.filename, "time-in-stage.csv");
  assert_string_equal(out.content_type, "text/csv; charset=utf-8");
  an_rendered_free(&out);
  assert_int_equal(an_render(AN_REPORT_VELOCITY, AN_FORMAT_SVG, r, &out), 0);
  assert_string_equal(out.filename, "velocity.svg");
  assert_string_equal(out.content_type, "image/svg+xml");
  an_rendered_free(&out);
  an_rendered_free(&out);
  json_decref(r);
}

/* Runs cmd with input written to a temporary file as its last argument; returns its stdout
 * (caller frees) or NULL when the tool is missing. */
static char *run_on_file(const char *tool, const char *cmd, const char *after, const char *data, size_t len,
                         const char *suffix) {
  if (access(tool, X_OK) != 0) return NULL;
  char path[] = "/tmp/an-render-test-XXXXXX.bin";
  memcpy(path + strlen(path) - 4, suffix, 4);
  int fd = mkstemps(path, 4);
  assert_true(fd >= 0);
  assert_int_equal(write(fd, data, len), (ssize_t)len);
  close(fd);
  char line[512];
  snprintf(line, sizeof line, "%s %s %s", cmd, path, after);
  FILE *p = popen(line, "r");
  assert_non_null(p);
  an_buf_t b = {0};
  an_buf_puts(&b, "");
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof chunk, p)) > 0) an_buf_append(&b, chunk, n);
  pclose(p);
  unlink(path);
  return b.data;
}

static void test_xlsx(void **state) {
  (void)state;
  int rc;
  size_t len;
  char *x = render(
      AN_REPORT_CONVERSION, AN_FORMAT_XLSX,
      parse("{\"stages\":[{\"stage_id\":\"s1\",\"name\":\"=cmd <x>\",\"type\":\"screen\",\"position\":0,"
            "\"reached\":42,\"conversion\":0.5}]}"),
      &rc, &len);
  assert_int_equal(rc, 0);
  assert_true(len > 1000);
  assert_memory_equal(x, "PK\x03\x04", 4);
  char *sheet =
      run_on_file("/usr/bin/unzip", "/usr/bin/unzip -p", "xl/worksheets/sheet1.xml", x, len, ".zip");
  if (sheet) {
    assert_non_null(strstr(sheet, "<c r=\"E2\"><v>42</v></c>")); /* a number, not text */
    assert_non_null(strstr(sheet, "<c r=\"F2\"><v>0.5</v></c>"));
    assert_non_null(strstr(sheet, "=cmd &lt;x&gt;</t>")); /* a string, never a formula */
    assert_null(strstr(sheet, "<f>"));
    assert_non_null(strstr(sheet, "<pane ySplit=\"1\"")); /* header frozen */
    free(sheet);
  }
  char *book = run_on_file("/usr/bin/unzip", "/usr/bin/unzip -p", "xl/workbook.xml", x, len, ".zip");
  if (book) {
    assert_non_null(strstr(book, "name=\"conversion\""));
    free(book);
  }
  free(x);
}

/* Well-formed XML, by /usr/bin/python3's parser when it is installed. */
static void assert_well_formed(const char *svg) {
  char *r = run_on_file("/usr/bin/python3",
                        "/usr/bin/python3 -c 'import sys,xml.etree.ElementTree as E; "
                        "E.parse(sys.argv[1]); print(\"ok\")'",
                        "2>&1", svg, strlen(svg), ".svg");
  if (!r) return;
  if (strcmp(r, "ok\n") != 0) fail_msg("SVG is not well-formed: %s", r);
  free(r);
}

static char *svg(an_report_kind_t kind, json_t *report) {
  int rc;
  char *s = render(kind, AN_FORMAT_SVG, report, &rc, NULL);
  assert_int_equal(rc, 0);
  assert_well_formed(s);
  assert_int_equal(strncmp(s, "<?xml", 5), 0);
  assert_non_null(strstr(s, "</svg>\n"));
  return s;
}

static void test_svg_funnel(void **state) {
  (void)state;
  char *s =
      svg(AN_REPORT_CONVERSION,
          parse("{\"applications\":120,\"stages\":[{\"name\":\"Applied <&> \\\"q\\\"\",\"type\":\"applied\","
                "\"reached\":120,\"conversion\":0.5},{\"name\":\"A very long stage name that goes on and "
                "on\",\"type\":\"screen\",\"reached\":60,\"conversion\":0.25},{\"name\":\"Hired\","
                "\"type\":\"hired\",\"reached\":15,\"conversion\":null}]}"));
  assert_non_null(strstr(s, ">Applied &lt;&amp;&gt; &quot;q&quot;</text>"));
  assert_null(strstr(s, "<&>"));
  /* 30 characters: 29 kept and an ellipsis; the full name in a <title>. */
  assert_non_null(strstr(s, ">A very long stage name that g\xE2\x80\xA6</text>"));
  assert_non_null(strstr(s, "<title>A very long stage name that goes on and on</title>"));
  assert_non_null(strstr(s, ">120</tspan>"));
  assert_non_null(strstr(s, "50% to next stage"));
  assert_non_null(strstr(s, "25% to next stage"));
  assert_non_null(strstr(s, ">15</tspan><tspan dx=\"8\" fill=\"#555555\"></tspan>"));
  assert_non_null(strstr(s, ">Conversion funnel<"));
  assert_non_null(strstr(s, "120 applications"));
  assert_non_null(strstr(s, ">120</text>")); /* the axis: nice ticks of 20 up to 120 */
  assert_null(strstr(s, ">140</text>"));
  free(s);
  s = svg(AN_REPORT_CONVERSION, parse("{\"stages\":[]}"));
  assert_non_null(strstr(s, ">No data</text>"));
  free(s);
}

static void test_svg_boxplot(void **state) {
  (void)state;
  char *s = svg(AN_REPORT_TIME_IN_STAGE,
                parse("{\"stages\":[{\"name\":\"Screen\",\"count\":12,\"median_seconds\":86400,"
                      "\"p75_seconds\":172800,\"p90_seconds\":432000,\"open\":3},"
                      "{\"name\":\"Offer\",\"count\":0,\"median_seconds\":null,\"open\":2}]}"));
  assert_non_null(strstr(s, "median 1 d \xC2\xB7 n=12 \xC2\xB7 3 open"));
  assert_non_null(strstr(s, "n=0 \xC2\xB7 2 open"));
  assert_non_null(strstr(s, "no completed stays"));
  assert_non_null(strstr(s, "Time in stage (days)"));
  assert_non_null(strstr(s, "whisker: p75 to p90"));
  free(s);
  s = svg(AN_REPORT_TIME_IN_STAGE, parse("{\"stages\":[{\"name\":\"S\",\"count\":2,\"median_seconds\":600,"
                                         "\"p75_seconds\":900,\"p90_seconds\":1800,\"open\":0}]}"));
  assert_non_null(strstr(s, "Time in stage (minutes)"));
  assert_non_null(strstr(s, "median 10 min"));
  free(s);
}

static void test_svg_coverage(void **state) {
  (void)state;
  char *s = svg(AN_REPORT_PLAN,
                parse("{\"quarter\":\"2027Q1\",\"jobs\":[{\"job_id\":\"j1\",\"title\":\"R&D <lead>\","
                      "\"openings_left\":2,\"expected_hires\":1.7,\"coverage\":0.85},"
                      "{\"job_id\":\"j2\",\"openings_left\":1,\"expected_hires\":5,\"coverage\":5},"
                      "{\"job_id\":\"j3\",\"title\":\"Done\",\"openings_left\":0,\"coverage\":null}]}"));
  assert_non_null(strstr(s, "Pipeline coverage, 2027Q1"));
  assert_non_null(strstr(s, ">R&amp;D &lt;lead&gt;</text>"));
  assert_non_null(strstr(s, ">j2</text>")); /* no title: the job id */
  assert_non_null(strstr(s, ">85%</tspan>"));
  assert_non_null(strstr(s, "1.7 expected of 2 open"));
  assert_non_null(strstr(s, ">500%</tspan>"));
  assert_non_null(strstr(s, "no openings left"));
  assert_non_null(strstr(s, "100% = openings left"));
  assert_non_null(strstr(s, ">300%</text>")); /* the axis stops at 300% */
  free(s);
  s = svg(AN_REPORT_PLAN, parse("{\"quarter\":\"2027Q2\",\"jobs\":[]}"));
  assert_non_null(strstr(s, ">No data</text>"));
  free(s);
}

static void test_svg_velocity(void **state) {
  (void)state;
  char *s =
      svg(AN_REPORT_VELOCITY,
          parse("{\"weeks\":[{\"week_start\":\"2027-01-04T00:00:00Z\",\"entries\":{\"applied\":10,"
                "\"screen\":4,\"x<y\":1}},{\"week_start\":\"2027-01-11T00:00:00Z\",\"entries\":{\"applied\":"
                "7}}]}"));
  assert_non_null(strstr(s, ">2027-01-04</text>"));
  assert_non_null(strstr(s, ">applied</text>"));
  assert_non_null(strstr(s, ">screen</text>"));
  assert_non_null(strstr(s, ">x&lt;y</text>"));
  assert_non_null(strstr(s, "Entries per week"));
  /* three series, two points each */
  size_t lines = 0;
  for (const char *p = s; (p = strstr(p, "<polyline")); p++) lines++;
  assert_int_equal(lines, 3);
  free(s);
  s = svg(AN_REPORT_VELOCITY, parse("{\"weeks\":[{\"week_start\":\"2027-01-04\",\"entries\":{}}]}"));
  assert_non_null(strstr(s, ">No data</text>"));
  free(s);
}

/* Many rows are cut at SVG_MAX_ROWS with a note; one week is a point; odd values stay inside. */
static void test_svg_extremes(void **state) {
  (void)state;
  json_t *stages = json_array();
  for (int i = 0; i < 61; i++)
    json_array_append_new(
        stages, json_pack("{s:s,s:i,s:f,s:f,s:f,s:i}", "name", "S", "count", 1, "median_seconds", -5.0,
                          "p75_seconds", 1e300, "p90_seconds", 1e301, "open", 0));
  char *s = svg(AN_REPORT_TIME_IN_STAGE, json_pack("{s:o}", "stages", stages));
  assert_non_null(strstr(s, "Showing the first 60 of 61 stages."));
  assert_null(strstr(s, "nan"));
  assert_null(strstr(s, "inf"));
  free(s);
  s = svg(AN_REPORT_VELOCITY,
          parse("{\"weeks\":[{\"week_start\":\"2027-01-04\",\"entries\":{\"hired\":2}}]}"));
  assert_non_null(strstr(s, "<circle cx=\"385.0\""));
  free(s);
  s = svg(AN_REPORT_CONVERSION,
          parse("{\"stages\":[{\"name\":\"\\u0001bad\\ud83d\\ude00\",\"reached\":-3}]}"));
  assert_non_null(strstr(s, "> bad\xF0\x9F\x98\x80</text>"));
  free(s);
}

/* --samples: the charts tests/tools/render_charts.sh renders for people to look at. */
static json_t *sample_stages(size_t n, int times) {
  static const char *names[] = {
      "Lead",  "Applied", "Phone screen <R&D>", "Technical interview with the platform team", "Onsite",
      "Offer", "Hired"};
  json_t *a = json_array();
  double reached = 480;
  for (size_t i = 0; i < n; i++) {
    char name[96];
    snprintf(name, sizeof name, "%s%s", names[i % 7], i >= 7 ? " (again)" : "");
    const char *type = an_stage_types[i < 6 ? i : i % 6];
    double next = i + 1 < n ? floor(reached * (i < 6 ? 0.35 + 0.1 * (double)(i % 5) : 0.9)) : 0;
    if (times)
      json_array_append_new(
          a,
          json_pack("{s:s,s:s,s:i,s:f,s:f,s:f,s:i}", "name", name, "type", type, "count",
                    (int)(3 + i * 7 % 40), "median_seconds", 86400.0 * (1 + (double)(i % 4)), "p75_seconds",
                    86400.0 * (2 + (double)(i % 4 + i % 3)), "p90_seconds",
                    86400.0 * (3 + (double)(i % 4 + i % 3) + (double)(i % 5) * 1.5), "open", (int)(i % 5)));
    else
      json_array_append_new(
          a, json_pack("{s:s,s:s,s:f,s:o}", "name", name, "type", type, "reached", reached, "conversion",
                       i + 1 < n && reached > 0 ? json_real(next / reached) : json_null()));
    reached = next;
  }
  return a;
}

static json_t *sample_plan(size_t n) {
  json_t *jobs = json_array();
  for (size_t i = 0; i < n; i++) {
    char title[96];
    snprintf(title, sizeof title,
             i % 4 == 1 ? "Senior Backend Engineer, Payments & Billing Platform %zu" : "Job %zu", i + 1);
    double cov = i % 5 == 4 ? 4.2 : 0.2 + 0.35 * (double)(i % 5);
    json_array_append_new(
        jobs, json_pack("{s:s,s:s,s:i,s:f,s:o}", "job_id", "job_x", "title", title, "openings_left",
                        (int)(1 + i % 3), "expected_hires", cov * (double)(1 + i % 3), "coverage",
                        i % 7 == 6 ? json_null() : json_real(cov)));
  }
  return json_pack("{s:s,s:o}", "quarter", "2027Q1", "jobs", jobs);
}

static json_t *sample_velocity(size_t n) {
  json_t *weeks = json_array();
  for (size_t i = 0; i < n; i++) {
    char date[32];
    snprintf(date, sizeof date, "2027-%02zu-%02zuT00:00:00Z", 1 + i / 4 % 12, 1 + 7 * (i % 4));
    json_t *e = json_object();
    for (size_t k = 1; k < 6; k++)
      json_object_set_new(e, an_stage_types[k],
                          json_integer((json_int_t)((60 >> k) + (int)((i * (k + 3)) % 9))));
    json_array_append_new(weeks, json_pack("{s:s,s:o}", "week_start", date, "entries", e));
  }
  return json_pack("{s:o}", "weeks", weeks);
}

static int write_samples(const char *dir) {
  static const size_t sizes[] = {0, 1, 6, 30};
  for (size_t i = 0; i < 4; i++) {
    size_t n = sizes[i];
    struct {
      const char *name;
      an_report_kind_t kind;
      json_t *report;
    } charts[] = {
        {"conversion", AN_REPORT_CONVERSION,
         json_pack("{s:o,s:i}", "stages", sample_stages(n, 0), "applications", 480)},
        {"time-in-stage", AN_REPORT_TIME_IN_STAGE, json_pack("{s:o}", "stages", sample_stages(n, 1))},
        {"plan", AN_REPORT_PLAN, sample_plan(n)},
        {"velocity", AN_REPORT_VELOCITY, sample_velocity(n * 2)},
    };
    for (size_t c = 0; c < 4; c++) {
      an_rendered_t out;
      int rc = an_render(charts[c].kind, AN_FORMAT_SVG, charts[c].report, &out);
      json_decref(charts[c].report);
      if (rc != 0) return 1;
      char path[512];
      snprintf(path, sizeof path, "%s/%s-%zu.svg", dir, charts[c].name, n);
      FILE *f = fopen(path, "wb");
      if (!f || fwrite(out.body, 1, out.len, f) != out.len) return 1;
      fclose(f);
      an_rendered_free(&out);
    }
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 3 && strcmp(argv[1], "--samples") == 0) return write_samples(argv[2]);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_csv_conversion_quoting_and_guard),
      cmocka_unit_test(test_csv_guard_rules),
      cmocka_unit_test(test_csv_time_in_stage),
      cmocka_unit_test(test_csv_drop_off_rows_per_reason),
      cmocka_unit_test(test_csv_plan_sources_velocity),
      cmocka_unit_test(test_tolerant_shapes),
      cmocka_unit_test(test_row_limit),
      cmocka_unit_test(test_format_parse_and_names),
      cmocka_unit_test(test_xlsx),
      cmocka_unit_test(test_svg_funnel),
      cmocka_unit_test(test_svg_boxplot),
      cmocka_unit_test(test_svg_coverage),
      cmocka_unit_test(test_svg_velocity),
      cmocka_unit_test(test_svg_extremes),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
