/* The SSRF guard: address classification (IPv4, IPv6 and the IPv6 forms that embed IPv4), the
 * admin's allow list, and the URL shape check done with curl's URL parser. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>
#include <netinet/in.h>

#include "net/ssrf.h"
#include "talentd/types.h"

typedef struct addr_case {
  const char *text;
  td__addr_class_t want;
} addr_case_t;

static const addr_case_t k_addrs[] = {
    /* public, must pass */
    {"8.8.8.8", TD_ADDR_PUBLIC},
    {"1.1.1.1", TD_ADDR_PUBLIC},
    {"93.184.216.34", TD_ADDR_PUBLIC},
    {"172.15.255.255", TD_ADDR_PUBLIC},
    {"172.32.0.1", TD_ADDR_PUBLIC},
    {"100.63.255.255", TD_ADDR_PUBLIC},
    {"100.128.0.1", TD_ADDR_PUBLIC},
    {"169.253.255.255", TD_ADDR_PUBLIC},
    {"198.17.255.255", TD_ADDR_PUBLIC},
    {"198.20.0.1", TD_ADDR_PUBLIC},
    {"223.255.255.255", TD_ADDR_PUBLIC},
    {"2606:4700:4700::1111", TD_ADDR_PUBLIC},
    {"2a00:1450:4001:82a::200e", TD_ADDR_PUBLIC},
    {"::ffff:8.8.8.8", TD_ADDR_PUBLIC},
    {"64:ff9b::808:808", TD_ADDR_PUBLIC},
    /* IPv4 special ranges */
    {"127.0.0.1", TD_ADDR_LOOPBACK},
    {"127.255.255.254", TD_ADDR_LOOPBACK},
    {"0.0.0.0", TD_ADDR_UNSPECIFIED},
    {"0.1.2.3", TD_ADDR_UNSPECIFIED},
    {"10.0.0.1", TD_ADDR_PRIVATE},
    {"10.255.255.255", TD_ADDR_PRIVATE},
    {"172.16.0.1", TD_ADDR_PRIVATE},
    {"172.31.255.255", TD_ADDR_PRIVATE},
    {"192.168.1.1", TD_ADDR_PRIVATE},
    {"169.254.169.254", TD_ADDR_LINK_LOCAL},
    {"100.64.0.1", TD_ADDR_SHARED},
    {"100.127.255.255", TD_ADDR_SHARED},
    {"224.0.0.1", TD_ADDR_MULTICAST},
    {"239.255.255.250", TD_ADDR_MULTICAST},
    {"255.255.255.255", TD_ADDR_BROADCAST},
    {"240.0.0.1", TD_ADDR_RESERVED},
    {"198.18.0.1", TD_ADDR_BENCHMARKING},
    {"198.19.255.255", TD_ADDR_BENCHMARKING},
    {"192.0.2.1", TD_ADDR_DOCUMENTATION},
    {"198.51.100.7", TD_ADDR_DOCUMENTATION},
    {"203.0.113.9", TD_ADDR_DOCUMENTATION},
    {"192.0.0.170", TD_ADDR_RESERVED},
    {"192.88.99.1", TD_ADDR_RESERVED},
    /* IPv6 special ranges */
    {"::1", TD_ADDR_LOOPBACK},
    {"::", TD_ADDR_UNSPECIFIED},
    {"fe80::1", TD_ADDR_LINK_LOCAL},
    {"febf:ffff::1", TD_ADDR_LINK_LOCAL},
    {"fec0::1", TD_ADDR_SITE_LOCAL},
    {"fc00::1", TD_ADDR_UNIQUE_LOCAL},
    {"fd12:3456:789a::1", TD_ADDR_UNIQUE_LOCAL},
    {"ff02::1", TD_ADDR_MULTICAST},
    {"2001:db8::1", TD_ADDR_DOCUMENTATION},
    {"3fff::1", TD_ADDR_DOCUMENTATION},
    {"100::1", TD_ADDR_RESERVED},
    {"2001:2::1", TD_ADDR_BENCHMARKING},
    {"2001:10::1", TD_ADDR_RESERVED},
    {"4000::1", TD_ADDR_RESERVED},
    {"2002:a00:1::1", TD_ADDR_TUNNEL},
    {"2002:808:808::1", TD_ADDR_TUNNEL},
    {"2001:0:4136:e378:8000:63bf:3fff:fdd2", TD_ADDR_TUNNEL},
    {"64:ff9b:1::a00:1", TD_ADDR_PRIVATE},
    /* IPv4 inside IPv6 */
    {"::ffff:127.0.0.1", TD_ADDR_LOOPBACK},
    {"::ffff:10.1.2.3", TD_ADDR_PRIVATE},
    {"::ffff:169.254.169.254", TD_ADDR_LINK_LOCAL},
    {"::ffff:0.0.0.0", TD_ADDR_UNSPECIFIED},
    {"::127.0.0.1", TD_ADDR_LOOPBACK},
    {"::10.0.0.1", TD_ADDR_PRIVATE},
    {"64:ff9b::7f00:1", TD_ADDR_LOOPBACK},
    {"64:ff9b::192.168.0.1", TD_ADDR_PRIVATE},
    {"64:ff9b::a9fe:a9fe", TD_ADDR_LINK_LOCAL},
};

static void test_classify_addresses(void **state) {
  (void)state;
  int failures = 0;
  for (size_t i = 0; i < sizeof k_addrs / sizeof k_addrs[0]; i++) {
    td__addr_class_t got = TD_ADDR_PUBLIC;
    int rc = td__addr_classify_text(k_addrs[i].text, &got);
    if (rc != 0 || got != k_addrs[i].want) {
      print_error("%s: got %s (rc %d), want %s\n", k_addrs[i].text, td__addr_class_name(got), rc,
                  td__addr_class_name(k_addrs[i].want));
      failures++;
    }
  }
  assert_int_equal(failures, 0);
}

static void test_classify_rejects_non_literals(void **state) {
  (void)state;
  td__addr_class_t c;
  assert_int_equal(td__addr_classify_text("example.com", &c), TD_EINVAL);
  assert_int_equal(td__addr_classify_text("127.1", &c), TD_EINVAL); /* not dotted quad: resolve it */
  assert_int_equal(td__addr_classify_text("", &c), TD_EINVAL);
  assert_int_equal(td__addr_classify_text("[::1]", &c), 0);
  assert_int_equal(c, TD_ADDR_LOOPBACK);
}

static void v4(struct sockaddr_in *in, const char *text, int port) {
  memset(in, 0, sizeof *in);
  in->sin_family = AF_INET;
  in->sin_port = htons((uint16_t)port);
  assert_int_equal(inet_pton(AF_INET, text, &in->sin_addr), 1);
}

static void v6(struct sockaddr_in6 *in, const char *text, int port) {
  memset(in, 0, sizeof *in);
  in->sin6_family = AF_INET6;
  in->sin6_port = htons((uint16_t)port);
  assert_int_equal(inet_pton(AF_INET6, text, &in->sin6_addr), 1);
}

static void test_check_addr_and_allow_list(void **state) {
  (void)state;
  const char *allow[] = {"127.0.0.1:8080", "[::1]", "hooks.corp", "Intranet.Example:8443", "10.1.2.3"};
  td__ssrf_policy_t *p = NULL;
  char err[128];
  assert_int_equal(td__ssrf_policy_new(allow, 5, false, &p, err, sizeof err), 0);
  struct sockaddr_in in;
  struct sockaddr_in6 in6;

  v4(&in, "127.0.0.1", 8080);
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in, err, sizeof err), 0);
  v4(&in, "127.0.0.1", 9090); /* the entry names a port */
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in, err, sizeof err), TD_EDENIED);
  assert_string_equal(err, "address 127.0.0.1 is not allowed (loopback)");
  v4(&in, "10.1.2.3", 1);
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in, err, sizeof err), 0);
  v4(&in, "10.0.0.1", 443);
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in, err, sizeof err), TD_EDENIED);
  assert_string_equal(err, "address 10.0.0.1 is not allowed (private)");
  /* An allowed host name may resolve to a private address ... */
  assert_int_equal(td__ssrf_check_addr(p, true, (struct sockaddr *)&in, err, sizeof err), 0);
  /* ... but never to a non-unicast one. */
  v4(&in, "0.0.0.0", 443);
  assert_int_equal(td__ssrf_check_addr(p, true, (struct sockaddr *)&in, err, sizeof err), TD_EDENIED);
  v6(&in6, "::1", 5000);
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in6, err, sizeof err), 0);
  v6(&in6, "::ffff:127.0.0.1", 8080); /* v4-mapped matches the IPv4 entry */
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in6, err, sizeof err), 0);
  v6(&in6, "fd00::5", 443);
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in6, err, sizeof err), TD_EDENIED);
  assert_string_equal(err, "address fd00::5 is not allowed (unique local)");
  v6(&in6, "2606:4700::1", 443);
  assert_int_equal(td__ssrf_check_addr(p, false, (struct sockaddr *)&in6, err, sizeof err), 0);

  assert_true(td__ssrf_host_allowed(p, "HOOKS.corp.", 443));
  assert_true(td__ssrf_host_allowed(p, "intranet.example", 8443));
  assert_false(td__ssrf_host_allowed(p, "intranet.example", 443));
  assert_false(td__ssrf_host_allowed(p, "evil.hooks.corp", 443));
  assert_true(td__ssrf_host_allowed(p, "[::1]", 1));
  assert_true(td__ssrf_host_allowed(p, "::1", 1));
  assert_false(td__ssrf_host_allowed(p, "127.0.0.2", 8080));
  td__ssrf_policy_free(p);
}

static void test_policy_rejects_bad_entries(void **state) {
  (void)state;
  const char *bad[][1] = {{"host:0"}, {"host:70000"}, {"[::1"}, {"1:2:3:zz::1"}, {"a b"}, {""}, {"[::1]x"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    td__ssrf_policy_t *p = NULL;
    char err[128] = "";
    int rc = td__ssrf_policy_new(bad[i], 1, false, &p, err, sizeof err);
    if (rc != TD_EINVAL) print_error("entry '%s' accepted\n", bad[i][0]);
    assert_int_equal(rc, TD_EINVAL);
    assert_null(p);
    assert_string_equal(err, "allowed host 1 is not a host name, IP address or host:port");
  }
}

typedef struct url_case {
  const char *url;
  int want_rc;
  const char *want_err; /* substring, or NULL */
  const char *host;     /* expected host when accepted */
  int port;
} url_case_t;

static const url_case_t k_urls[] = {
    {"https://example.com/hook", 0, NULL, "example.com", 443},
    {"https://Example.COM:8443/a?b=c#d", 0, NULL, "example.com", 8443},
    {"https://[2606:4700::1]/x", 0, NULL, "2606:4700::1", 443},
    {"https://8.8.8.8/", 0, NULL, "8.8.8.8", 443},
    {"http://hooks.corp/x", 0, NULL, "hooks.corp", 80},      /* allowed host: http ok */
    {"http://127.0.0.1:8080/x", 0, NULL, "127.0.0.1", 8080}, /* allowed literal with its port */
    {"http://example.com/hook", TD_EDENIED, "scheme http is not allowed", NULL, 0},
    {"ftp://example.com/file", TD_EDENIED, "use https", NULL, 0},
    {"file:///etc/passwd", TD_EINVAL, NULL, NULL, 0},
    {"gopher://example.com/", TD_EDENIED, "use https", NULL, 0},
    {"example.com/hook", TD_EINVAL, "not valid", NULL, 0},
    {"", TD_EINVAL, "empty", NULL, 0},
    {"https://user:pw@example.com/", TD_EINVAL, "user name or password", NULL, 0},
    {"https://user@example.com/", TD_EINVAL, "user name or password", NULL, 0},
    {"https://example.com:0/", TD_EINVAL, NULL, NULL, 0},
    {"https://example.com:65536/", TD_EINVAL, NULL, NULL, 0},
    {"https://:8080/", TD_EINVAL, NULL, NULL, 0},
    {"https://exa mple.com/", TD_EINVAL, NULL, NULL, 0},
    {"https://127.0.0.1/", TD_EDENIED, "address 127.0.0.1 is not allowed (loopback)", NULL, 0},
    {"https://127.0.0.1:9999/", TD_EDENIED, "(loopback)", NULL, 0},
    {"https://10.0.0.1/", TD_EDENIED, "address 10.0.0.1 is not allowed (private)", NULL, 0},
    {"https://169.254.169.254/latest/meta-data/", TD_EDENIED, "(link-local)", NULL, 0},
    {"https://[::1]/", TD_EDENIED, "(loopback)", NULL, 0},
    {"https://[::ffff:10.0.0.1]/", TD_EDENIED, "(private)", NULL, 0},
    {"https://[fe80::1%25eth0]/", TD_EINVAL, NULL, NULL, 0},
    {"https://[fd00::1]:443/", TD_EDENIED, "(unique local)", NULL, 0},
    {"https://0.0.0.0/", TD_EDENIED, "(unspecified)", NULL, 0},
    {"https://0x7f.1/", TD_EDENIED, "(loopback)", NULL, 0}, /* curl normalises 0x7f.1 */
    {"https://2130706433/", TD_EDENIED, "(loopback)", NULL, 0},
};

static void test_check_urls(void **state) {
  (void)state;
  const char *allow[] = {"hooks.corp", "127.0.0.1:8080"};
  td__ssrf_policy_t *p = NULL;
  assert_int_equal(td__ssrf_policy_new(allow, 2, false, &p, NULL, 0), 0);
  int failures = 0;
  for (size_t i = 0; i < sizeof k_urls / sizeof k_urls[0]; i++) {
    const url_case_t *c = &k_urls[i];
    td__ssrf_target_t t = {0};
    char err[160] = "";
    int rc = td__ssrf_check_url(p, c->url, &t, err, sizeof err);
    bool ok = rc == c->want_rc;
    if (ok && c->want_err) ok = strstr(err, c->want_err) != NULL;
    if (ok && rc == 0) ok = t.url && strcmp(t.host, c->host) == 0 && t.port == c->port;
    if (ok && rc != 0) ok = t.url == NULL && err[0] && !strstr(err, "://"); /* never echoes the URL */
    if (!ok) {
      print_error("%s: rc %d err '%s' host '%s' port %d\n", c->url, rc, err, t.host ? t.host : "", t.port);
      failures++;
    }
    td__ssrf_target_clear(&t);
  }
  td__ssrf_policy_free(p);
  assert_int_equal(failures, 0);
}

static void test_allow_http_policy(void **state) {
  (void)state;
  td__ssrf_policy_t *p = NULL;
  assert_int_equal(td__ssrf_policy_new(NULL, 0, true, &p, NULL, 0), 0);
  td__ssrf_target_t t = {0};
  char err[160];
  assert_int_equal(td__ssrf_check_url(p, "http://example.com/x", &t, err, sizeof err), 0);
  assert_string_equal(t.scheme, "http");
  assert_false(t.allowed);
  td__ssrf_target_clear(&t);
  /* allow_http opens the scheme, not the private ranges. */
  assert_int_equal(td__ssrf_check_url(p, "http://192.168.0.10/x", &t, err, sizeof err), TD_EDENIED);
  assert_string_equal(err, "address 192.168.0.10 is not allowed (private)");
  td__ssrf_policy_free(p);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_classify_addresses),
      cmocka_unit_test(test_classify_rejects_non_literals),
      cmocka_unit_test(test_check_addr_and_allow_list),
      cmocka_unit_test(test_policy_rejects_bad_entries),
      cmocka_unit_test(test_check_urls),
      cmocka_unit_test(test_allow_http_policy),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
