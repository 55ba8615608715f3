/* Unit tests for the multipart/form-data parser (core/util/multipart.c): boundaries from
 * the Content-Type, part headers and file names, binary data, malformed bodies, and bodies
 * as uploads hand them over (mapped from a file, not NUL-terminated). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include "http/http.h"
#include "talentd/types.h"
#include "util/buf.h"
#include "util/multipart.h"

#define CT "multipart/form-data; boundary=XyZ"

static int parse(const char *ctype, const char *body, size_t len, td__multipart_t *m, const char **error) {
  *error = NULL;
  return td__multipart_parse(ctype, body, len, m, error);
}

static int parse_s(const char *ctype, const char *body, td__multipart_t *m, const char **error) {
  return parse(ctype, body, strlen(body), m, error);
}

static void test_boundary_parameter(void **state) {
  (void)state;
  char b[80];
  assert_int_equal(td__multipart_boundary("multipart/form-data; boundary=abc", b, sizeof b), 0);
  assert_string_equal(b, "abc");
  assert_int_equal(
      td__multipart_boundary("Multipart/Form-Data;charset=utf-8; BOUNDARY=\"a b:c\"", b, sizeof b), 0);
  assert_string_equal(b, "a b:c");
  assert_int_equal(td__multipart_boundary("multipart/form-data", b, sizeof b), TD_EINVAL);
  assert_int_equal(td__multipart_boundary("multipart/form-data; boundary=", b, sizeof b), TD_EINVAL);
  assert_int_equal(td__multipart_boundary("multipart/mixed; boundary=abc", b, sizeof b), TD_EINVAL);
  assert_int_equal(td__multipart_boundary("multipart/form-dataX; boundary=abc", b, sizeof b), TD_EINVAL);
  assert_int_equal(td__multipart_boundary("multipart/form-data; boundary=\"ends in space \"", b, sizeof b),
                   TD_EINVAL);
  assert_int_equal(td__multipart_boundary("multipart/form-data; boundary=a\x01z", b, sizeof b), TD_EINVAL);
  assert_int_equal(td__multipart_boundary("multipart/form-data; boundary=\"unclosed", b, sizeof b),
                   TD_EINVAL);
  char long71[128] = "multipart/form-data; boundary=";
  memset(long71 + strlen(long71), 'a', 71);
  assert_int_equal(td__multipart_boundary(long71, b, sizeof b), TD_EINVAL);
  long71[strlen(long71) - 1] = '\0'; /* 70 is the most RFC 2046 allows */
  assert_int_equal(td__multipart_boundary(long71, b, sizeof b), 0);
  assert_int_equal(td__multipart_boundary(NULL, b, sizeof b), TD_EINVAL);
}

static void test_two_parts_with_binary_data(void **state) {
  (void)state;
  static const char body[] =
      "preamble is ignored\r\n"
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"note\"\r\n"
      "\r\n"
      "hello\r\n"
      "--XyZ  \r\n" /* transport padding */
      "content-disposition: form-data; name=file; filename=\"cv.pdf\"\r\n"
      "Content-Type: application/pdf\r\n"
      "X-Ignored: yes\r\n"
      "\r\n"
      "%PDF\0\r\n--Xy\r\nbinary\r\n"
      "--XyZ--\r\n"
      "epilogue";
  td__multipart_t m;
  const char *err;
  assert_int_equal(parse(CT, body, sizeof body - 1, &m, &err), 0);
  assert_int_equal(m.count, 2);
  assert_string_equal(m.parts[0].name, "note");
  assert_null(m.parts[0].filename);
  assert_null(m.parts[0].content_type);
  assert_int_equal(m.parts[0].len, 5);
  assert_memory_equal(m.parts[0].data, "hello", 5);
  const td__multipart_part_t *f = td__multipart_find(&m, "file");
  assert_non_null(f);
  assert_string_equal(f->filename, "cv.pdf");
  assert_string_equal(f->content_type, "application/pdf");
  static const char want[] = "%PDF\0\r\n--Xy\r\nbinary";
  assert_int_equal(f->len, sizeof want - 1);
  assert_memory_equal(f->data, want, sizeof want - 1);
  assert_int_equal(td__multipart_count(&m, "file"), 1);
  assert_null(td__multipart_find(&m, "other"));
  td__multipart_free(&m);
}

static void test_empty_part_and_no_parts(void **state) {
  (void)state;
  td__multipart_t m;
  const char *err;
  assert_int_equal(
      parse_s(CT, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"e\"\r\n\r\n\r\n--XyZ--",
              &m, &err),
      0);
  assert_int_equal(m.count, 1);
  assert_int_equal(m.parts[0].len, 0);
  td__multipart_free(&m);
  assert_int_equal(parse_s(CT, "--XyZ--\r\n", &m, &err), 0);
  assert_int_equal(m.count, 0);
  td__multipart_free(&m);
}

static void test_filename_forms(void **state) {
  (void)state;
  td__multipart_t m;
  const char *err;
  /* filename* (RFC 8187) wins over filename; escapes in quoted strings; a Windows path. */
  assert_int_equal(
      parse_s(CT,
              "--XyZ\r\n"
              "Content-Disposition: form-data; name=\"a\"; filename=\"fallback.txt\"; "
              "filename*=UTF-8''%E2%82%AC%20rates.txt\r\n\r\nx\r\n"
              "--XyZ\r\n"
              "Content-Disposition: form-data; name=\"b\"; filename=\"say \\\"hi\\\".txt\"\r\n\r\ny\r\n"
              "--XyZ\r\n"
              "Content-Disposition: form-data; name=\"c\"; filename=\"C:\\Users\\ana\\cv.doc\"\r\n\r\nz\r\n"
              "--XyZ--",
              &m, &err),
      0);
  assert_int_equal(m.count, 3);
  assert_string_equal(m.parts[0].filename, "\xE2\x82\xAC rates.txt");
  assert_string_equal(m.parts[1].filename, "say \"hi\".txt");
  assert_string_equal(m.parts[2].filename, "C:\\Users\\ana\\cv.doc");
  td__multipart_free(&m);
  /* A filename* in another charset, or with a bad escape, is ignored. */
  assert_int_equal(parse_s(CT,
                           "--XyZ\r\nContent-Disposition: form-data; name=\"a\"; filename=\"f\"; "
                           "filename*=ISO-8859-1''%E9\r\n\r\nx\r\n"
                           "--XyZ\r\nContent-Disposition: form-data; name=\"b\"; filename=\"g\"; "
                           "filename*=UTF-8''%4\r\n\r\nx\r\n--XyZ--",
                           &m, &err),
                   0);
  assert_string_equal(m.parts[0].filename, "f");
  assert_string_equal(m.parts[1].filename, "g");
  td__multipart_free(&m);
}

/* Each malformed body is refused with a reason and leaves no parts. */
static void test_malformed_bodies(void **state) {
  (void)state;
  static const char *const bad[] = {
      "",                                                                        /* no boundary at all */
      "--Other\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--Other--", /* wrong boundary */
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nnever closed",     /* no closing delimiter */
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ",       /* ends after a delimiter */
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\n",                     /* ends in headers */
      "--XyZ\r\n\r\nx\r\n--XyZ--",                                               /* no Content-Disposition */
      "--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--",    /* not form-data */
      "--XyZ\r\nContent-Disposition: form-data; filename=a\r\n\r\nx\r\n--XyZ--", /* no name */
      "--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--",   /* unclosed quote */
      "--XyZ\r\nContent-Disposition form-data; name=a\r\n\r\nx\r\n--XyZ--",      /* no colon */
      "--XyZ\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; "
      "name=b\r\n\r\nx\r\n--XyZ--",
      "--XyZ\nContent-Disposition: form-data; name=a\n\nx\n--XyZ--",             /* LF only */
      "--XyZjunk\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--", /* junk after boundary */
      "--XyZ\r\nContent-Disposition: form-data; name=a; =b\r\n\r\nx\r\n--XyZ--", /* empty parameter name */
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    td__multipart_t m;
    const char *err;
    print_message("case %zu\n", i);
    assert_int_equal(parse_s(CT, bad[i], &m, &err), TD_EINVAL);
    assert_non_null(err);
    assert_int_equal(m.count, 0);
    td__multipart_free(&m);
  }
}

static void test_bad_content_type(void **state) {
  (void)state;
  td__multipart_t m;
  const char *err;
  assert_int_equal(parse_s("application/json", "--XyZ--", &m, &err), TD_EINVAL);
  assert_non_null(strstr(err, "multipart/form-data"));
  assert_int_equal(parse_s(NULL, "--XyZ--", &m, &err), TD_EINVAL);
  assert_int_equal(parse(CT, NULL, 0, &m, &err), TD_EINVAL);
}

static void test_too_many_parts_and_headers(void **state) {
  (void)state;
  td__buf_t b = {0};
  for (int i = 0; i < TD_MULTIPART_MAX_PARTS + 1; i++)
    td__buf_printf(&b, "--XyZ\r\nContent-Disposition: form-data; name=p%d\r\n\r\nv\r\n", i);
  td__buf_puts(&b, "--XyZ--");
  td__multipart_t m;
  const char *err;
  assert_int_equal(parse(CT, b.data, b.len, &m, &err), TD_EINVAL);
  td__buf_reset(&b);
  td__buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=a\r\n");
  for (int i = 0; i < 10; i++) td__buf_printf(&b, "X-H%d: v\r\n", i);
  td__buf_puts(&b, "\r\nv\r\n--XyZ--");
  assert_int_equal(parse(CT, b.data, b.len, &m, &err), TD_EINVAL);
  td__buf_reset(&b);
  td__buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=a; filename=\"");
  for (int i = 0; i < 1100; i++) td__buf_puts(&b, "a");
  td__buf_puts(&b, "\"\r\n\r\nv\r\n--XyZ--");
  assert_int_equal(parse(CT, b.data, b.len, &m, &err), TD_EINVAL);
  td__buf_free(&b);
}

/* Every prefix of a body, placed so that its last byte is the last readable byte before a
 * PROT_NONE page: the parser never reads past the end (a mapped upload file ends like
 * this), refuses every truncation and accepts the whole. */
static void test_body_ending_at_a_page_edge(void **state) {
  (void)state;
  static const char body[] =
      "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.pdf\"\r\n"
      "Content-Type: application/pdf\r\n\r\n%PDF-\r\n--Xy\r\n--XyZ--";
  size_t len = sizeof body - 1;
  long page = sysconf(_SC_PAGESIZE);
  char *map = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  assert_true(map != MAP_FAILED);
  assert_int_equal(mprotect(map + page, (size_t)page, PROT_NONE), 0);
  for (size_t n = 0; n <= len; n++) {
    char *at = map + page - n;
    memcpy(at, body, n);
    td__multipart_t m;
    const char *err = NULL;
    int rc = parse(CT, at, n, &m, &err);
    if (n == len) {
      assert_int_equal(rc, 0);
      const td__multipart_part_t *f = td__multipart_find(&m, "file");
      assert_non_null(f);
      assert_int_equal(f->len, 11);
      assert_memory_equal(f->data, "%PDF-\r\n--Xy", 11);
    } else if (rc != TD_EINVAL) {
      fail_msg("a body cut after %zu of %zu bytes was accepted", n, len);
    }
    td__multipart_free(&m);
  }
  munmap(map, (size_t)page * 2);
}

/* A body streamed to a file, as the server hands it to the upload handler: mapped with
 * td__http_body_map and parsed in place. A file whose size is not what was received is
 * refused. */
static void test_body_mapped_from_its_file(void **state) {
  (void)state;
  char path[] = "/tmp/td-multipart-XXXXXX";
  int fd = mkstemp(path);
  assert_true(fd >= 0);
  td__buf_t b = {0};
  td__buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"big.bin\"\r\n\r\n");
  size_t head = b.len;
  for (int i = 0; i < 300000; i++) {
    char c = (char)(i * 7);
    td__buf_append(&b, &c, 1);
  }
  td__buf_puts(&b, "\r\n--XyZ--\r\n");
  assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
  close(fd);
  td__http_request_t req = {0};
  req.body_file.path = path;
  req.body_file.size = b.len;
  td__http_body_view_t view;
  assert_int_equal(td__http_body_map(&req, &view), 0);
  assert_int_equal(view.len, b.len);
  td__multipart_t m;
  const char *err = NULL;
  assert_int_equal(parse(CT, view.data, view.len, &m, &err), 0);
  const td__multipart_part_t *f = td__multipart_find(&m, "file");
  assert_non_null(f);
  assert_int_equal(f->len, 300000);
  assert_memory_equal(f->data, b.data + head, 300000);
  td__multipart_free(&m);
  td__http_body_unmap(&view);
  req.body_file.size = b.len + 1; /* not what is on disk */
  assert_int_equal(td__http_body_map(&req, &view), TD_EIO);
  assert_int_equal(view.len, 0);
  td__http_body_unmap(&view);
  unlink(path);
  td__buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_boundary_parameter),         cmocka_unit_test(test_two_parts_with_binary_data),
      cmocka_unit_test(test_empty_part_and_no_parts),    cmocka_unit_test(test_filename_forms),
      cmocka_unit_test(test_malformed_bodies),           cmocka_unit_test(test_bad_content_type),
      cmocka_unit_test(test_too_many_parts_and_headers), cmocka_unit_test(test_body_ending_at_a_page_edge),
      cmocka_unit_test(test_body_mapped_from_its_file),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
