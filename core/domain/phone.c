/* Phone number normalization to E.164 (see phone.h for the rules). Deliberately small: no
 * numbering-plan tables beyond the North American one, because a wrong "correction" is
 * worse than keeping what the user typed. */
#include "domain/phone.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "talentd/types.h"

#define E164_MIN_DIGITS 7  /* the shortest international numbers (+290 xxxx) */
#define E164_MAX_DIGITS 15 /* ITU-T E.164 */

static char default_cc[4] = "1";

static bool valid_cc(const char *cc) {
  size_t n = cc ? strlen(cc) : 0;
  if (n < 1 || n > 3 || cc[0] < '1' || cc[0] > '9') return false;
  for (size_t i = 0; i < n; i++)
    if (cc[i] < '0' || cc[i] > '9') return false;
  return true;
}

int td__phone_set_default_calling_code(const char *cc) {
  if (!valid_cc(cc)) return TD_EINVAL;
  snprintf(default_cc, sizeof default_cc, "%s", cc);
  return 0;
}

const char *td__phone_default_calling_code(void) { return default_cc; }

static bool is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r'; }
static bool is_digit(char ch) { return ch >= '0' && ch <= '9'; }
static bool is_separator(char ch) {
  return ch == ' ' || ch == '\t' || ch == '-' || ch == '.' || ch == '(' || ch == ')' || ch == '/';
}

/* Collects the digits of s (length n) into digits (size > TD_PHONE_MAX). Returns false when
 * s holds anything but digits, separators and one leading '+'. A "(0)" after the first
 * digits of a '+' number (the trunk zero people write in brackets) is skipped. */
static bool collect_digits(const char *s, size_t n, bool *plus, char *digits, size_t *count) {
  size_t k = 0;
  *plus = n > 0 && s[0] == '+';
  for (size_t i = *plus ? 1 : 0; i < n; i++) {
    char ch = s[i];
    if (is_digit(ch)) {
      digits[k++] = ch;
    } else if (*plus && k > 0 && ch == '(' && i + 2 < n && s[i + 1] == '0' && s[i + 2] == ')') {
      i += 2;
    } else if (!is_separator(ch)) {
      return false;
    }
  }
  digits[k] = '\0';
  *count = k;
  return true;
}

/* The international digits (country code first) of a national number, or NULL when the
 * national number does not fit the default country's plan. */
static const char *from_national(const char *d, size_t n, const char *cc, char *buf, size_t size) {
  if (strcmp(cc, "1") == 0) {
    if (n == 11 && d[0] == '1') {
      d++;
      n--;
    }
    if (n != 10 || d[0] < '2' || d[0] > '9') return NULL;
  } else if (d[0] == '0' && strcmp(cc, "39") != 0) {
    d++;
    n--;
  }
  if (n < 4) return NULL;
  snprintf(buf, size, "%s%.*s", cc, (int)n, d);
  return buf;
}

/* Whether intl (country code first, digits only) can be an E.164 number. */
static bool plausible_e164(const char *intl) {
  size_t n = strlen(intl);
  if (n < E164_MIN_DIGITS || n > E164_MAX_DIGITS || intl[0] == '0') return false;
  /* The North American plan: +1 and ten digits, area code 2-9. */
  if (intl[0] == '1' && (n != 11 || intl[1] < '2')) return false;
  return true;
}

int td__phone_normalize(const char *in, const char *cc, char *out, size_t out_size) {
  if (out_size) out[0] = '\0';
  if (cc == NULL || !valid_cc(cc)) cc = default_cc;
  const char *s = in ? in : "";
  size_t n = strlen(s);
  while (n && is_space(*s)) {
    s++;
    n--;
  }
  while (n && is_space(s[n - 1])) n--;
  if (n == 0 || n > TD_PHONE_MAX || out_size < TD_PHONE_MAX + 1) return TD_EINVAL;

  char digits[TD_PHONE_MAX + 1], buf[TD_PHONE_MAX + 8];
  size_t count = 0;
  bool plus = false;
  const char *intl = NULL;
  if (collect_digits(s, n, &plus, digits, &count) && count > 0) {
    if (plus)
      intl = digits;
    else if (count > 2 && strncmp(digits, "00", 2) == 0)
      intl = digits + 2;
    else if (strcmp(cc, "1") == 0 && count > 3 && strncmp(digits, "011", 3) == 0)
      intl = digits + 3;
    else
      intl = from_national(digits, count, cc, buf, sizeof buf);
  }
  if (intl && plausible_e164(intl)) {
    snprintf(out, out_size, "+%s", intl);
    return 1;
  }
  snprintf(out, out_size, "%.*s", (int)n, s);
  return 0;
}
