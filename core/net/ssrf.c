/* The SSRF guard: address classification, the admin's allow list and the URL shape check
 * (see ssrf.h for the rules and why 6to4/Teredo are denied outright). */
#include "net/ssrf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "talentd/types.h"
#include "util/mem.h"

typedef struct allow_entry {
  char *name; /* lowercase, no brackets, no trailing dot */
  int family; /* AF_INET/AF_INET6 when name is an IP literal, else 0 */
  uint8_t addr[16];
  int port; /* 0 = any port */
} allow_entry_t;

struct td__ssrf_policy {
  allow_entry_t *entries;
  size_t n;
  bool allow_http;
};

const char *td__addr_class_name(td__addr_class_t c) {
  switch (c) {
    case TD_ADDR_PUBLIC: return "public";
    case TD_ADDR_UNSPECIFIED: return "unspecified";
    case TD_ADDR_LOOPBACK: return "loopback";
    case TD_ADDR_PRIVATE: return "private";
    case TD_ADDR_LINK_LOCAL: return "link-local";
    case TD_ADDR_SHARED: return "shared address space";
    case TD_ADDR_UNIQUE_LOCAL: return "unique local";
    case TD_ADDR_SITE_LOCAL: return "site-local";
    case TD_ADDR_MULTICAST: return "multicast";
    case TD_ADDR_BROADCAST: return "broadcast";
    case TD_ADDR_BENCHMARKING: return "benchmarking";
    case TD_ADDR_DOCUMENTATION: return "documentation";
    case TD_ADDR_TUNNEL: return "tunnel";
    case TD_ADDR_RESERVED: return "reserved";
  }
  return "reserved";
}

td__addr_class_t td__addr_classify_v4(const uint8_t a[4]) {
  if (a[0] == 255 && a[1] == 255 && a[2] == 255 && a[3] == 255) return TD_ADDR_BROADCAST;
  if (a[0] == 0) return TD_ADDR_UNSPECIFIED;
  if (a[0] == 127) return TD_ADDR_LOOPBACK;
  if (a[0] == 10) return TD_ADDR_PRIVATE;
  if (a[0] == 172 && (a[1] & 0xf0) == 16) return TD_ADDR_PRIVATE;
  if (a[0] == 192 && a[1] == 168) return TD_ADDR_PRIVATE;
  if (a[0] == 169 && a[1] == 254) return TD_ADDR_LINK_LOCAL;
  if (a[0] == 100 && (a[1] & 0xc0) == 64) return TD_ADDR_SHARED;
  if (a[0] == 198 && (a[1] & 0xfe) == 18) return TD_ADDR_BENCHMARKING;
  if (a[0] == 192 && a[1] == 0 && a[2] == 2) return TD_ADDR_DOCUMENTATION;
  if (a[0] == 198 && a[1] == 51 && a[2] == 100) return TD_ADDR_DOCUMENTATION;
  if (a[0] == 203 && a[1] == 0 && a[2] == 113) return TD_ADDR_DOCUMENTATION;
  /* 192.0.0/24 holds protocol assignments (DS-Lite, NAT64 discovery); 192.88.99/24 was the
   * 6to4 relay anycast. Neither is a webhook destination. */
  if (a[0] == 192 && a[1] == 0 && a[2] == 0) return TD_ADDR_RESERVED;
  if (a[0] == 192 && a[1] == 88 && a[2] == 99) return TD_ADDR_RESERVED;
  if ((a[0] & 0xf0) == 224) return TD_ADDR_MULTICAST;
  if ((a[0] & 0xf0) == 240) return TD_ADDR_RESERVED;
  return TD_ADDR_PUBLIC;
}

static bool all_zero(const uint8_t *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i]) return false;
  return true;
}

/* The forms that carry an IPv4 address in their last 32 bits and are classified by it. */
static bool v6_embeds_v4(const uint8_t a[16]) {
  static const uint8_t nat64[12] = {0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
  if (all_zero(a, 10) && a[10] == 0xff && a[11] == 0xff) return true; /* ::ffff:0:0/96 mapped */
  if (all_zero(a, 12)) return true;                                   /* ::/96 compatible */
  return memcmp(a, nat64, sizeof nat64) == 0;                         /* 64:ff9b::/96 */
}

td__addr_class_t td__addr_classify_v6(const uint8_t a[16]) {
  if (all_zero(a, 16)) return TD_ADDR_UNSPECIFIED;
  if (all_zero(a, 15) && a[15] == 1) return TD_ADDR_LOOPBACK;
  if (v6_embeds_v4(a)) return td__addr_classify_v4(a + 12);
  if (a[0] == 0xff) return TD_ADDR_MULTICAST;
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0x80) return TD_ADDR_LINK_LOCAL;
  if (a[0] == 0xfe && (a[1] & 0xc0) == 0xc0) return TD_ADDR_SITE_LOCAL;
  if ((a[0] & 0xfe) == 0xfc) return TD_ADDR_UNIQUE_LOCAL;
  /* 64:ff9b:1::/48 is NAT64 for local use (RFC 8215): it translates to private networks. */
  if (a[0] == 0x00 && a[1] == 0x64 && a[2] == 0xff && a[3] == 0x9b && a[4] == 0 && a[5] == 1)
    return TD_ADDR_PRIVATE;
  if (a[0] == 0x20 && a[1] == 0x02) return TD_ADDR_TUNNEL;                           /* 6to4 */
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 0) return TD_ADDR_TUNNEL; /* Teredo */
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0x0d && a[3] == 0xb8) return TD_ADDR_DOCUMENTATION;
  if (a[0] == 0x3f && a[1] == 0xff && (a[2] & 0xf0) == 0) return TD_ADDR_DOCUMENTATION; /* 3fff::/20 */
  if (a[0] == 0x20 && a[1] == 0x01 && a[2] == 0 && a[3] == 2 && a[4] == 0 && a[5] == 0)
    return TD_ADDR_BENCHMARKING;                                                   /* 2001:2::/48 */
  if (a[0] == 0x20 && a[1] == 0x01 && (a[2] & 0xfe) == 0) return TD_ADDR_RESERVED; /* 2001::/23 */
  if ((a[0] & 0xe0) != 0x20) return TD_ADDR_RESERVED; /* outside 2000::/3, incl. 100::/64 */
  return TD_ADDR_PUBLIC;
}

td__addr_class_t td__addr_classify(const struct sockaddr *sa) {
  if (!sa) return TD_ADDR_RESERVED;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    return td__addr_classify_v4((const uint8_t *)&in->sin_addr);
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    return td__addr_classify_v6(in6->sin6_addr.s6_addr);
  }
  return TD_ADDR_RESERVED;
}

/* Parses an IP literal (IPv6 optionally in brackets) into family + bytes; 0 when not one. */
static int parse_literal(const char *text, uint8_t out[16]) {
  char buf[INET6_ADDRSTRLEN + 2];
  size_t len = strlen(text);
  if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
    if (len - 2 >= sizeof buf) return 0;
    memcpy(buf, text + 1, len - 2);
    buf[len - 2] = '\0';
    return inet_pton(AF_INET6, buf, out) == 1 ? AF_INET6 : 0;
  }
  if (inet_pton(AF_INET, text, out) == 1) return AF_INET;
  if (inet_pton(AF_INET6, text, out) == 1) return AF_INET6;
  return 0;
}

int td__addr_classify_text(const char *text, td__addr_class_t *out) {
  uint8_t a[16];
  int family = text ? parse_literal(text, a) : 0;
  if (!family) return TD_EINVAL;
  *out = family == AF_INET ? td__addr_classify_v4(a) : td__addr_classify_v6(a);
  return 0;
}

/* Lowercases host into a fresh string without brackets and without a trailing dot. */
static char *normalize_host(const char *host, size_t len) {
  if (len >= 2 && host[0] == '[' && host[len - 1] == ']') {
    host++;
    len -= 2;
  }
  if (len > 1 && host[len - 1] == '.') len--;
  char *s = td__xstrndup(host, len);
  for (char *c = s; *c; c++) *c = (char)tolower((unsigned char)*c);
  return s;
}

static int parse_port(const char *s, int *port) {
  char *end = NULL;
  if (!*s || !isdigit((unsigned char)*s)) return TD_EINVAL;
  long v = strtol(s, &end, 10);
  if (*end || v < 1 || v > 65535) return TD_EINVAL;
  *port = (int)v;
  return 0;
}

/* "name", "name:port", "v4", "v4:port", "v6", "[v6]", "[v6]:port". */
static int parse_entry(const char *text, allow_entry_t *e) {
  const char *colon = strchr(text, ':');
  size_t hostlen = strlen(text);
  e->port = 0;
  if (text[0] == '[') {
    const char *close = strchr(text, ']');
    if (!close) return TD_EINVAL;
    hostlen = (size_t)(close - text) + 1;
    if (close[1] == ':') {
      if (parse_port(close + 2, &e->port)) return TD_EINVAL;
    } else if (close[1]) {
      return TD_EINVAL;
    }
  } else if (colon && !strchr(colon + 1, ':')) { /* exactly one colon: host:port */
    hostlen = (size_t)(colon - text);
    if (parse_port(colon + 1, &e->port)) return TD_EINVAL;
  }
  if (hostlen == 0) return TD_EINVAL;
  e->name = normalize_host(text, hostlen);
  e->family = parse_literal(e->name, e->addr);
  if (!e->family && strchr(e->name, ':')) return TD_EINVAL; /* a bad IPv6 literal */
  for (const char *c = e->name; *c; c++)
    if (!isalnum((unsigned char)*c) && !strchr(".-_:", *c)) return TD_EINVAL;
  return 0;
}

int td__ssrf_policy_new(const char *const *allow_hosts, size_t n, bool allow_http, td__ssrf_policy_t **out,
                        char *err, size_t errlen) {
  td__ssrf_policy_t *p = td__xcalloc(1, sizeof *p);
  p->allow_http = allow_http;
  p->entries = n ? td__xcalloc(n, sizeof *p->entries) : NULL;
  for (size_t i = 0; i < n; i++) {
    if (!allow_hosts[i] || parse_entry(allow_hosts[i], &p->entries[p->n]) != 0) {
      if (err) snprintf(err, errlen, "allowed host %zu is not a host name, IP address or host:port", i + 1);
      if (allow_hosts[i]) p->n++; /* free the partial entry too */
      td__ssrf_policy_free(p);
      return TD_EINVAL;
    }
    p->n++;
  }
  *out = p;
  return 0;
}

void td__ssrf_policy_free(td__ssrf_policy_t *p) {
  if (!p) return;
  for (size_t i = 0; i < p->n; i++) free(p->entries[i].name);
  free(p->entries);
  free(p);
}

bool td__ssrf_host_allowed(const td__ssrf_policy_t *p, const char *host, int port) {
  if (!p || !host || !p->n) return false;
  char *h = normalize_host(host, strlen(host));
  uint8_t a[16];
  int family = parse_literal(h, a);
  bool ok = false;
  for (size_t i = 0; i < p->n && !ok; i++) {
    const allow_entry_t *e = &p->entries[i];
    if (e->port && e->port != port) continue;
    if (family && e->family == family)
      ok = memcmp(a, e->addr, family == AF_INET ? 4 : 16) == 0;
    else if (!family && !e->family)
      ok = strcmp(h, e->name) == 0;
  }
  free(h);
  return ok;
}

/* The address as IPv4 when it is v4-mapped, so "127.0.0.1" on the list matches ::ffff:127.0.0.1. */
static int addr_bytes(const struct sockaddr *sa, uint8_t out[16], int *port) {
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *in = (const struct sockaddr_in *)(const void *)sa;
    memcpy(out, &in->sin_addr, 4);
    *port = ntohs(in->sin_port);
    return AF_INET;
  }
  if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)(const void *)sa;
    const uint8_t *b = in6->sin6_addr.s6_addr;
    *port = ntohs(in6->sin6_port);
    if (all_zero(b, 10) && b[10] == 0xff && b[11] == 0xff) {
      memcpy(out, b + 12, 4);
      return AF_INET;
    }
    memcpy(out, b, 16);
    return AF_INET6;
  }
  return 0;
}

int td__ssrf_check_addr(const td__ssrf_policy_t *p, bool host_allowed, const struct sockaddr *sa, char *err,
                        size_t errlen) {
  uint8_t a[16];
  int port = 0;
  int family = sa ? addr_bytes(sa, a, &port) : 0;
  if (!family) {
    if (err) snprintf(err, errlen, "address family is not allowed");
    return TD_EDENIED;
  }
  td__addr_class_t c = family == AF_INET ? td__addr_classify_v4(a) : td__addr_classify_v6(a);
  if (c == TD_ADDR_PUBLIC) return 0;
  /* Even an allowed host never reaches a non-unicast address: 0.0.0.0 means "this host" to
   * Linux, and multicast/broadcast are not a peer. */
  bool unicast = c != TD_ADDR_UNSPECIFIED && c != TD_ADDR_MULTICAST && c != TD_ADDR_BROADCAST;
  if (unicast && host_allowed) return 0;
  for (size_t i = 0; unicast && p && i < p->n; i++) {
    const allow_entry_t *e = &p->entries[i];
    if (e->family != family || (e->port && e->port != port)) continue;
    if (memcmp(a, e->addr, family == AF_INET ? 4 : 16) == 0) return 0;
  }
  if (err) {
    char text[INET6_ADDRSTRLEN];
    if (!inet_ntop(family, a, text, sizeof text)) snprintf(text, sizeof text, "?");
    snprintf(err, errlen, "address %s is not allowed (%s)", text, td__addr_class_name(c));
  }
  return TD_EDENIED;
}

/* Whether part is present in u (a userinfo part, a zone id ...). */
static bool has_part(CURLU *u, CURLUPart part) {
  char *v = NULL;
  CURLUcode rc = curl_url_get(u, part, &v, 0);
  bool present = rc == CURLUE_OK && v && *v;
  curl_free(v);
  return present;
}

static int fail(char *err, size_t errlen, int rc, const char *msg) {
  if (err) snprintf(err, errlen, "%s", msg);
  return rc;
}

/* Fills scheme, host and port of t from its parsed URL; errors are shape errors (TD_EINVAL). */
static int target_parts(td__ssrf_target_t *t, char *err, size_t errlen) {
  char *v = NULL;
  if (curl_url_get(t->url, CURLUPART_SCHEME, &v, 0) != CURLUE_OK || !v)
    return fail(err, errlen, TD_EINVAL, "URL has no scheme: use an absolute https URL");
  t->scheme = normalize_host(v, strlen(v));
  curl_free(v);
  if (has_part(t->url, CURLUPART_USER) || has_part(t->url, CURLUPART_PASSWORD) ||
      has_part(t->url, CURLUPART_OPTIONS))
    return fail(err, errlen, TD_EINVAL, "URL must not contain a user name or password");
  if (has_part(t->url, CURLUPART_ZONEID))
    return fail(err, errlen, TD_EINVAL, "URL must not contain an IPv6 zone id");
  v = NULL;
  if (curl_url_get(t->url, CURLUPART_HOST, &v, 0) != CURLUE_OK || !v || !*v) {
    curl_free(v);
    return fail(err, errlen, TD_EINVAL, "URL has no host");
  }
  /* Keep the trailing dot if any: the transfer must pin the very name curl will look up. */
  size_t len = strlen(v);
  bool bracketed = len >= 2 && v[0] == '[' && v[len - 1] == ']';
  t->host = bracketed ? td__xstrndup(v + 1, len - 2) : td__xstrdup(v);
  for (char *c = t->host; *c; c++) *c = (char)tolower((unsigned char)*c);
  curl_free(v);
  v = NULL;
  if (curl_url_get(t->url, CURLUPART_PORT, &v, CURLU_DEFAULT_PORT) != CURLUE_OK || !v ||
      parse_port(v, &t->port) != 0) {
    curl_free(v);
    return fail(err, errlen, TD_EINVAL, "URL port must be between 1 and 65535");
  }
  curl_free(v);
  return 0;
}

int td__ssrf_check_url(const td__ssrf_policy_t *p, const char *url, td__ssrf_target_t *out, char *err,
                       size_t errlen) {
  td__ssrf_target_t t = {0};
  int rc = TD_EINVAL;
  if (!url || !*url) {
    fail(err, errlen, rc, "URL is empty");
    goto out;
  }
  t.url = curl_url();
  if (!t.url) abort(); /* out of memory: the core aborts in one place */
  /* No CURLU_GUESS_SCHEME / DEFAULT_SCHEME: the scheme must be written out. */
  if (curl_url_set(t.url, CURLUPART_URL, url, 0) != CURLUE_OK) {
    fail(err, errlen, rc, "URL is not valid: use an absolute https URL");
    goto out;
  }
  if ((rc = target_parts(&t, err, errlen)) != 0) goto out;
  t.allowed = td__ssrf_host_allowed(p, t.host, t.port);
  bool http_ok = t.allowed || (p && p->allow_http);
  if (strcmp(t.scheme, "https") != 0 && !(strcmp(t.scheme, "http") == 0 && http_ok)) {
    rc = TD_EDENIED;
    fail(err, errlen, rc,
         strcmp(t.scheme, "http") == 0 ? "URL scheme http is not allowed for this host: use https"
                                       : "URL scheme is not allowed: use https");
    goto out;
  }
  t.literal_family = parse_literal(t.host, t.literal_addr);
  if (t.literal_family) {
    struct sockaddr_storage ss = {0};
    if (t.literal_family == AF_INET) {
      struct sockaddr_in *in = (struct sockaddr_in *)&ss;
      in->sin_family = AF_INET;
      in->sin_port = htons((uint16_t)t.port);
      memcpy(&in->sin_addr, t.literal_addr, 4);
    } else {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
      in6->sin6_family = AF_INET6;
      in6->sin6_port = htons((uint16_t)t.port);
      memcpy(&in6->sin6_addr, t.literal_addr, 16);
    }
    if ((rc = td__ssrf_check_addr(p, t.allowed, (struct sockaddr *)&ss, err, errlen)) != 0) goto out;
  }
  rc = 0;
  *out = t;
  return 0;
out:
  td__ssrf_target_clear(&t);
  return rc;
}

void td__ssrf_target_clear(td__ssrf_target_t *t) {
  if (!t) return;
  if (t->url) curl_url_cleanup(t->url);
  free(t->scheme);
  free(t->host);
  memset(t, 0, sizeof *t);
}
