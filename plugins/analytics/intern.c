/* String interning (see intern.h): FNV-1a hashing, linear probing, doubling at half full. */
#define _POSIX_C_SOURCE 200809L /* strdup */
#include "intern.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STRINGS 1000000

static uint64_t hash(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static int grow(an_intern_t *t) {
  size_t cap = t->cap ? t->cap * 2 : 64;
  char **slots = calloc(cap, sizeof *slots);
  if (slots == NULL) return -1;
  for (size_t i = 0; i < t->cap; i++) {
    if (t->slots[i] == NULL) continue;
    size_t j = (size_t)hash(t->slots[i]) & (cap - 1);
    while (slots[j]) j = (j + 1) & (cap - 1);
    slots[j] = t->slots[i];
  }
  free(t->slots);
  t->slots = slots;
  t->cap = cap;
  return 0;
}

const char *an_intern(an_intern_t *t, const char *s, int *failed) {
  if (s == NULL) return NULL;
  if ((t->count + 1) * 2 > t->cap && (t->count >= MAX_STRINGS || grow(t) != 0)) {
    *failed = 1;
    return NULL;
  }
  size_t j = (size_t)hash(s) & (t->cap - 1);
  while (t->slots[j]) {
    if (strcmp(t->slots[j], s) == 0) return t->slots[j];
    j = (j + 1) & (t->cap - 1);
  }
  if ((t->slots[j] = strdup(s)) == NULL) {
    *failed = 1;
    return NULL;
  }
  t->count++;
  return t->slots[j];
}

void an_intern_free(an_intern_t *t) {
  for (size_t i = 0; i < t->cap; i++) free(t->slots[i]);
  free(t->slots);
  memset(t, 0, sizeof *t);
}
