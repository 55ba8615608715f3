/* Unit tests for the RFC 4180 reader (core/util/csv.c): quoting, line ends, line numbers,
 * recovery after a malformed record, and the size limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/csv.h"

/* Reads every record of text into a compact description: fields joined by '|', records
 * by '\n', a malformed record as "!<line>", each prefixed with its line number. */
static char *describe(const char *text, size_t len, const td__csv_limits_t *limits) {
  td__csv_reader_t r;
  td__csv_init(&r, text, len, limits);
  td__buf_t out = {0};
  td__csv_record_t rec;
  while (td__csv_next(&r, &rec) == 1) {
    if (rec.error) {
      td__buf_printf(&out, "!%zu\n", rec.line);
      continue;
    }
    td__buf_printf(&out, "%zu:", rec.line);
    for (size_t i = 0; i < rec.count; i++) {
      assert_int_equal(strlen(rec.fields[i]), rec.lengths[i]);
      td__buf_printf(&out, "%s%s", i ? "|" : "", rec.fields[i]);
    }
    td__buf_puts(&out, "\n");
  }
  assert_int_equal(td__csv_offset(&r), len);
  td__csv_free(&r);
  return td__buf_take(&out);
}

static void check(const char *text, const char *want) {
  char *got = describe(text, strlen(text), NULL);
  assert_string_equal(got, want);
  free(got);
}

static void test_plain_records(void **state) {
  (void)state;
  check("a,b,c\n1,2,3\n", "1:a|b|c\n2:1|2|3\n");
  check("a,b\n1,2", "1:a|b\n2:1|2\n"); /* no final line end */
  check("a,,c,\n", "1:a||c|\n");       /* empty fields, a trailing empty field */
  check("", "");
  check("single", "1:single\n");
}

static void test_line_ends(void **state) {
  (void)state;
  check("a,b\r\n1,2\r\n", "1:a|b\n2:1|2\n");
  check("a,b\r1,2\r", "1:a|b\n2:1|2\n");   /* old Mac lone CR */
  check("a\r\n\r\n\n\nb\n", "1:a\n5:b\n"); /* empty lines skipped, still counted */
  check("\n\na\n", "3:a\n");
}

static void test_quoting(void **state) {
  (void)state;
  check("\"a,b\",c\n", "1:a,b|c\n");
  check("\"he said \"\"hi\"\"\",x\n", "1:he said \"hi\"|x\n");
  check("\"\"\n", "1:\n"); /* one quoted empty field is a record */
  check("\"\",\"\"\n", "1:|\n");
  check("\"\"\"\"\n", "1:\"\n");
  check("ab\"c,d\n", "1:ab\"c|d\n"); /* a quote inside an unquoted field is literal */
}

static void test_embedded_newlines_keep_line_numbers(void **state) {
  (void)state;
  check("\"line1\nline2\",x\nnext,y\n", "1:line1\nline2|x\n3:next|y\n");
  check("\"a\r\nb\"\r\nc\r\n", "1:a\r\nb\n3:c\n");
  check("h\n\"1\n2\n3\",z\nlast\n", "1:h\n2:1\n2\n3|z\n5:last\n");
}

static void test_bom_skipped(void **state) {
  (void)state;
  check(
      "\xEF\xBB\xBF"
      "email,name\nx,y\n",
      "1:email|name\n2:x|y\n");
  check("\xEF\xBB\xBF", "");
}

static void test_text_after_closing_quote_is_one_bad_record(void **state) {
  (void)state;
  check("ok,1\n\"bad\"x,2\nok,3\n", "1:ok|1\n!2\n3:ok|3\n");
  /* The bad record's quoted newline still belongs to it. */
  check("\"a\"b,\"c\nd\"\nnext\n", "!1\n3:next\n");
}

static void test_unterminated_quote_ends_input(void **state) {
  (void)state;
  check("a,b\n\"open,c\nmore\n", "1:a|b\n!2\n");
}

static void test_limits(void **state) {
  (void)state;
  td__csv_limits_t l = {.max_field = 4, .max_fields = 3, .max_record = 12};
  const char *text = "abcd,x\nabcde,x\nok,1\n\"ab\"\"cd\"\na,b,c\na,b,c,d\nok,2\n1234,1234,123\n";
  char *got = describe(text, strlen(text), &l);
  /* "ab""cd" is 5 bytes decoded: too long; 4 fields: too many; the last is 14 bytes. */
  assert_string_equal(got, "1:abcd|x\n!2\n3:ok|1\n!4\n5:a|b|c\n!6\n7:ok|2\n!8\n");
  free(got);
}

static void test_long_field_is_not_stored(void **state) {
  (void)state;
  size_t n = 5u * 1024u * 1024u;
  char *big = malloc(n + 16);
  assert_non_null(big);
  memset(big, 'x', n);
  memcpy(big + n, "\nok,1\n", 7);
  char *got = describe(big, n + 6, NULL);
  assert_string_equal(got, "!1\n2:ok|1\n");
  free(got);
  free(big);
}

static void test_encoding_errors(void **state) {
  (void)state;
  const char nul[] = "a\0b,c\nok\n";
  char *got = describe(nul, sizeof nul - 1, NULL);
  assert_string_equal(got, "!1\n2:ok\n");
  free(got);
  check("caf\xC3\xA9,ok\n", "1:caf\xC3\xA9|ok\n");
  check("bad\xE9,latin1\nok\n", "!1\n2:ok\n");
}

static void test_semicolon_delimiter(void **state) {
  (void)state;
  td__csv_limits_t l = {.delimiter = ';'};
  const char *text = "a;\"b;c\";d,e\n";
  char *got = describe(text, strlen(text), &l);
  assert_string_equal(got, "1:a|b;c|d,e\n");
  free(got);
}

static void test_utf8_validator(void **state) {
  (void)state;
  assert_true(td__utf8_valid("", 0));
  assert_true(td__utf8_valid("\xF0\x9F\x98\x80", 4));  /* U+1F600 */
  assert_true(td__utf8_valid("\xEF\xBF\xBF", 3));      /* U+FFFF */
  assert_false(td__utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
  assert_false(td__utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
  assert_false(td__utf8_valid("\xED\xA0\x80", 3));     /* surrogate */
  assert_false(td__utf8_valid("\xF4\x90\x80\x80", 4)); /* above U+10FFFF */
  assert_false(td__utf8_valid("\xE2\x82", 2));         /* truncated */
  assert_false(td__utf8_valid("\x80", 1));             /* stray continuation */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_records),
      cmocka_unit_test(test_line_ends),
      cmocka_unit_test(test_quoting),
      cmocka_unit_test(test_embedded_newlines_keep_line_numbers),
      cmocka_unit_test(test_bom_skipped),
      cmocka_unit_test(test_text_after_closing_quote_is_one_bad_record),
      cmocka_unit_test(test_unterminated_quote_ends_input),
      cmocka_unit_test(test_limits),
      cmocka_unit_test(test_long_field_is_not_stored),
      cmocka_unit_test(test_encoding_errors),
      cmocka_unit_test(test_semicolon_delimiter),
      cmocka_unit_test(test_utf8_validator),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
