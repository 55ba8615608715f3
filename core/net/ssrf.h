/* The SSRF guard for outbound requests to user-chosen destinations (webhooks, job boards):
 * which IP addresses a request may reach, and whether a URL is acceptable at all.
 *
 * The rule (ARCHITECTURE.md §8 "Outbound"): https only for user URLs; no private, loopback,
 * link-local or otherwise special address unless the admin allows the host. The address
 * checked is the RESOLVED address, never the host name: callers resolve, check every address
 * with td__ssrf_check_addr, then pin the transfer to the checked addresses (core/net/client.c
 * does this with CURLOPT_RESOLVE and re-checks in CURLOPT_OPENSOCKETFUNCTION).
 *
 * Addresses that embed an IPv4 address (v4-mapped ::ffff:a.b.c.d, v4-compatible ::a.b.c.d,
 * NAT64 64:ff9b::/96) are classified by the embedded address. 6to4 (2002::/16) and Teredo
 * (2001::/32) are denied outright: both are deprecated tunnels whose relays deliver to the
 * embedded IPv4 address, so they are a way around the IPv4 rules and have no legitimate use as
 * a webhook destination. Only 2000::/3 (global unicast) is public in IPv6.
 *
 * URLs are parsed with curl's URL API only (curl_url), never by hand, and the parsed handle is
 * handed on to the transfer (CURLOPT_CURLU) so the check and the transfer read the same URL.
 *
 * Threading: a policy is immutable after td__ssrf_policy_new and may be read from any thread.
 * Error messages written by these functions name the address class, never the URL (which may
 * carry a token), so they are safe to log and to show to the admin. */
#ifndef TD_NET_SSRF_H
#define TD_NET_SSRF_H

#include <curl/curl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

/* What kind of address an IP address is; only TD_ADDR_PUBLIC is reachable by default. */
typedef enum td__addr_class {
  TD_ADDR_PUBLIC = 0,
  TD_ADDR_UNSPECIFIED,   /* 0.0.0.0/8, :: */
  TD_ADDR_LOOPBACK,      /* 127/8, ::1 */
  TD_ADDR_PRIVATE,       /* 10/8, 172.16/12, 192.168/16, 64:ff9b:1::/48 */
  TD_ADDR_LINK_LOCAL,    /* 169.254/16 (cloud metadata), fe80::/10 */
  TD_ADDR_SHARED,        /* 100.64/10 carrier-grade NAT */
  TD_ADDR_UNIQUE_LOCAL,  /* fc00::/7 */
  TD_ADDR_SITE_LOCAL,    /* fec0::/10 (deprecated) */
  TD_ADDR_MULTICAST,     /* 224/4, ff00::/8 */
  TD_ADDR_BROADCAST,     /* 255.255.255.255 */
  TD_ADDR_BENCHMARKING,  /* 198.18/15, 2001:2::/48 */
  TD_ADDR_DOCUMENTATION, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 */
  TD_ADDR_TUNNEL,        /* 2002::/16 (6to4), 2001::/32 (Teredo) */
  TD_ADDR_RESERVED       /* 240/4, 192.0.0/24, 192.88.99/24, 100::/64, 2001::/23, not 2000::/3 */
} td__addr_class_t;

/* A short lowercase name for messages ("loopback", "private", ...); static storage. */
const char *td__addr_class_name(td__addr_class_t c);

/* Classifies a raw IPv4 address (network byte order, 4 bytes). */
td__addr_class_t td__addr_classify_v4(const uint8_t a[4]);
/* Classifies a raw IPv6 address (16 bytes), looking through v4-mapped, v4-compatible and NAT64. */
td__addr_class_t td__addr_classify_v6(const uint8_t a[16]);
/* Classifies a sockaddr of family AF_INET or AF_INET6; any other family is TD_ADDR_RESERVED. */
td__addr_class_t td__addr_classify(const struct sockaddr *sa);
/* Classifies a textual IP literal ("10.0.0.1", "::1", no brackets). Returns 0, or TD_EINVAL when
 * text is not an IP literal. */
int td__addr_classify_text(const char *text, td__addr_class_t *out);

typedef struct td__ssrf_policy td__ssrf_policy_t;

/* Builds a policy. allow_hosts (copied; may be NULL when n is 0) lists destinations the admin
 * allows even when they resolve to a non-public address: an exact host name ("hooks.corp"),
 * an IP literal ("127.0.0.1", "::1", "[::1]"), each optionally with a port ("127.0.0.1:8080",
 * "[::1]:8080", "hooks.corp:443"); no port means any port. Names compare case-insensitively
 * and ignore a trailing dot. allow_http lets plain http reach ANY destination (meant for
 * development); without it http is allowed only for allowed hosts. Returns 0 and the policy in
 * *out, or TD_EINVAL naming the bad entry in err (when err is not NULL). */
int td__ssrf_policy_new(const char *const *allow_hosts, size_t n, bool allow_http, td__ssrf_policy_t **out,
                        char *err, size_t errlen);
/* Frees a policy; NULL is a no-op. */
void td__ssrf_policy_free(td__ssrf_policy_t *p);

/* Whether host (a name or IP literal, with or without brackets) on port is on the allow list. */
bool td__ssrf_host_allowed(const td__ssrf_policy_t *p, const char *host, int port);

/* Checks one address the transfer would connect to. host_allowed says that the URL's host
 * matched the allow list (td__ssrf_target_t.allowed): then any unicast address is accepted.
 * Otherwise the address must be public or itself be an allowed IP literal (with port, when
 * the entry has one). Returns 0, or TD_EDENIED with "address 10.0.0.1 is not allowed
 * (private)" in err. */
int td__ssrf_check_addr(const td__ssrf_policy_t *p, bool host_allowed, const struct sockaddr *sa, char *err,
                        size_t errlen);

/* A URL that passed td__ssrf_check_url. */
typedef struct td__ssrf_target {
  CURLU *url;               /* owned: the parsed URL, to hand to curl with CURLOPT_CURLU */
  char *scheme;             /* owned: "https" or "http" */
  char *host;               /* owned: as curl will use it, lowercase; IPv6 without brackets */
  int port;                 /* 1-65535; the scheme's default when the URL has none */
  bool allowed;             /* host:port matched the policy's allow list */
  int literal_family;       /* AF_INET/AF_INET6 when host is an IP literal, else 0 */
  uint8_t literal_addr[16]; /* the literal's bytes (4 for IPv4) */
} td__ssrf_target_t;

/* Parses url (borrowed) with curl_url and checks its shape against the policy: scheme https
 * (http when the policy allows http or the host is allowed), no user name, password or login
 * options, a host, no IPv6 zone id, port 1-65535. When the host is an IP literal it is also
 * checked with td__ssrf_check_addr. Returns 0 and fills *out (free with
 * td__ssrf_target_clear), or TD_EINVAL / TD_EDENIED with a message in err that never repeats
 * the URL. */
int td__ssrf_check_url(const td__ssrf_policy_t *p, const char *url, td__ssrf_target_t *out, char *err,
                       size_t errlen);
/* Frees what a target owns and zeroes it; safe on a zeroed target. */
void td__ssrf_target_clear(td__ssrf_target_t *t);

#endif
