/* Step-budgeted Lua patterns (see pattern.h). The matcher is a backtracking matcher over
 * the pattern text: match() walks the pattern item by item, recursing only where it must
 * try alternatives (quantifiers, captures); every item attempt costs one step. */
#include "lua/pattern.h"

#include <ctype.h>
#include <lauxlib.h>
#include <string.h>

#define MAX_CAPTURES 32
#define MAX_DEPTH 200
#define CAP_UNCLOSED (-1)
#define CAP_POSITION (-2)
#define ESC '%'
#define SPECIALS "^$*+?.([%-"

typedef struct matcher {
  lua_State *L;
  const char *src, *src_end;
  const char *pat_end;
  uint64_t steps, max_steps;
  td__lua_state_t *sandbox;
  int depth;
  int level; /* captures opened so far */
  struct {
    const char *start;
    ptrdiff_t len;
  } cap[MAX_CAPTURES];
} matcher_t;

static const char *match(matcher_t *m, const char *s, const char *p);

/* One step of work; raises when the budget is spent. */
static void step(matcher_t *m) {
  if (++m->steps <= m->max_steps) return;
  if (m->sandbox != NULL && m->sandbox->cur != NULL) {
    td__lua_hook_soon(m->L);
    td__lua_kill(m->L, TD_LUA_KILL_PATTERN);
  }
  luaL_error(m->L, "pattern too complex (step budget exhausted)");
}

/* The end of the single-character class starting at p ('%x', '[...]' or one char). */
static const char *class_end(matcher_t *m, const char *p) {
  char c = *p++;
  if (c == ESC) {
    if (p >= m->pat_end) luaL_error(m->L, "malformed pattern (ends with '%%')");
    return p + 1;
  }
  if (c != '[') return p;
  if (p < m->pat_end && *p == '^') p++;
  do { /* the first ']' after '[' or '[^' is a literal */
    if (p >= m->pat_end) luaL_error(m->L, "malformed pattern (missing ']')");
    c = *p++;
    if (c == ESC && p < m->pat_end) p++;
  } while (*p != ']');
  return p + 1;
}

/* Whether c belongs to the class letter cl (%a, %d...; upper case = complement). */
static int class_has(int c, int cl) {
  int r;
  switch (tolower(cl)) {
    case 'a': r = isalpha(c); break;
    case 'c': r = iscntrl(c); break;
    case 'd': r = isdigit(c); break;
    case 'g': r = isgraph(c); break;
    case 'l': r = islower(c); break;
    case 'p': r = ispunct(c); break;
    case 's': r = isspace(c); break;
    case 'u': r = isupper(c); break;
    case 'w': r = isalnum(c); break;
    case 'x': r = isxdigit(c); break;
    case 'z': r = c == 0; break; /* deprecated in Lua but still accepted: keep the same results */
    default: return cl == c;     /* an escaped literal such as %. */
  }
  if (isupper(cl)) r = !r;
  return r != 0;
}

/* Whether c is in the set [p..ec] (p at '[', ec at the closing ']'). */
static int set_has(int c, const char *p, const char *ec) {
  int want = 1;
  if (*++p == '^') {
    want = 0;
    p++;
  }
  for (; p < ec; p++) {
    if (*p == ESC) {
      p++;
      if (class_has(c, (unsigned char)*p)) return want;
    } else if (p[1] == '-' && p + 2 < ec) {
      if ((unsigned char)p[0] <= c && c <= (unsigned char)p[2]) return want;
      p += 2;
    } else if ((unsigned char)*p == c) {
      return want;
    }
  }
  return !want;
}

/* Whether the char at s matches the single-char class [p, ep). */
static int single(matcher_t *m, const char *s, const char *p, const char *ep) {
  if (s >= m->src_end) return 0;
  int c = (unsigned char)*s;
  switch (*p) {
    case '.': return 1;
    case ESC: return class_has(c, (unsigned char)p[1]);
    case '[': return set_has(c, p, ep - 1);
    default: return (unsigned char)*p == c;
  }
}

static const char *balance(matcher_t *m, const char *s, const char *p) {
  if (p + 1 >= m->pat_end) luaL_error(m->L, "malformed pattern (missing arguments to '%%b')");
  if (s >= m->src_end || *s != p[0]) return NULL;
  int open = 1;
  for (const char *q = s + 1; q < m->src_end; q++) {
    step(m);
    if (*q == p[1]) {
      if (--open == 0) return q + 1;
    } else if (*q == p[0]) {
      open++;
    }
  }
  return NULL;
}

static int capture_index(matcher_t *m, int c) {
  int l = c - '1';
  if (l < 0 || l >= m->level || m->cap[l].len == CAP_UNCLOSED)
    return luaL_error(m->L, "invalid capture index %%%d", l + 1);
  return l;
}

static const char *backref(matcher_t *m, const char *s, int c) {
  int l = capture_index(m, c);
  size_t len = (size_t)m->cap[l].len;
  if ((size_t)(m->src_end - s) >= len && memcmp(m->cap[l].start, s, len) == 0) return s + len;
  return NULL;
}

/* Greedy: take as many as possible, then give back one at a time. */
static const char *greedy(matcher_t *m, const char *s, const char *p, const char *ep) {
  ptrdiff_t n = 0;
  while (single(m, s + n, p, ep)) {
    step(m);
    n++;
  }
  for (; n >= 0; n--) {
    const char *r = match(m, s + n, ep + 1);
    if (r != NULL) return r;
  }
  return NULL;
}

/* Lazy: try the rest first, then take one more. */
static const char *lazy(matcher_t *m, const char *s, const char *p, const char *ep) {
  for (;;) {
    const char *r = match(m, s, ep + 1);
    if (r != NULL) return r;
    if (!single(m, s, p, ep)) return NULL;
    s++;
  }
}

static const char *open_capture(matcher_t *m, const char *s, const char *p, ptrdiff_t what) {
  if (m->level >= MAX_CAPTURES) luaL_error(m->L, "too many captures");
  m->cap[m->level].start = s;
  m->cap[m->level].len = what;
  m->level++;
  const char *r = match(m, s, p);
  if (r == NULL) m->level--;
  return r;
}

static const char *close_capture(matcher_t *m, const char *s, const char *p) {
  int l = m->level - 1;
  while (l >= 0 && m->cap[l].len != CAP_UNCLOSED) l--;
  if (l < 0) luaL_error(m->L, "invalid pattern capture");
  m->cap[l].len = s - m->cap[l].start;
  const char *r = match(m, s, p);
  if (r == NULL) m->cap[l].len = CAP_UNCLOSED;
  return r;
}

static const char *frontier(matcher_t *m, const char *s, const char **pp) {
  const char *p = *pp + 2;
  if (p >= m->pat_end || *p != '[') luaL_error(m->L, "missing '[' after '%%f' in pattern");
  const char *ep = class_end(m, p);
  int prev = (s == m->src) ? 0 : (unsigned char)s[-1];
  int cur = (s < m->src_end) ? (unsigned char)*s : 0;
  *pp = ep;
  return (!set_has(prev, p, ep - 1) && set_has(cur, p, ep - 1)) ? s : NULL;
}

/* One item that is a single-char class, with its optional quantifier. Returns the match
 * end when the item settled the whole rest, or sets *next to continue with. */
static const char *item(matcher_t *m, const char *s, const char *p, const char **next, const char **snext) {
  const char *ep = class_end(m, p);
  *next = NULL;
  if (!single(m, s, p, ep)) {
    if (ep < m->pat_end && (*ep == '*' || *ep == '?' || *ep == '-')) {
      *next = ep + 1;
      *snext = s;
    }
    return NULL;
  }
  char q = ep < m->pat_end ? *ep : '\0';
  switch (q) {
    case '?': {
      const char *r = match(m, s + 1, ep + 1);
      if (r != NULL) return r;
      *next = ep + 1;
      *snext = s;
      return NULL;
    }
    case '+': return greedy(m, s + 1, p, ep);
    case '*': return greedy(m, s, p, ep);
    case '-': return lazy(m, s, p, ep);
    default:
      *next = ep;
      *snext = s + 1;
      return NULL;
  }
}

/* Matches pattern p against s; the end of the match or NULL. */
static const char *match(matcher_t *m, const char *s, const char *p) {
  if (++m->depth > MAX_DEPTH) luaL_error(m->L, "pattern too complex");
  while (s != NULL) {
    step(m);
    if (p == m->pat_end) break;
    if (*p == '(') {
      s = (p + 1 < m->pat_end && p[1] == ')') ? open_capture(m, s, p + 2, CAP_POSITION)
                                              : open_capture(m, s, p + 1, CAP_UNCLOSED);
      break;
    }
    if (*p == ')') {
      s = close_capture(m, s, p + 1);
      break;
    }
    if (*p == '$' && p + 1 == m->pat_end) {
      if (s != m->src_end) s = NULL;
      break;
    }
    if (*p == ESC && p + 1 < m->pat_end && p[1] == 'b') {
      s = balance(m, s, p + 2);
      p += 4;
      continue;
    }
    if (*p == ESC && p + 1 < m->pat_end && p[1] == 'f') {
      s = frontier(m, s, &p);
      continue;
    }
    if (*p == ESC && p + 1 < m->pat_end && isdigit((unsigned char)p[1])) {
      s = backref(m, s, (unsigned char)p[1]);
      p += 2;
      continue;
    }
    const char *next, *snext;
    const char *r = item(m, s, p, &next, &snext);
    if (next == NULL) {
      s = r;
      break;
    }
    p = next;
    s = snext;
  }
  m->depth--;
  return s;
}

static void matcher_init(matcher_t *m, lua_State *L, const char *s, size_t ls, const char *p, size_t lp) {
  m->L = L;
  m->src = s;
  m->src_end = s + ls;
  m->pat_end = p + lp;
  m->steps = 0;
  m->max_steps = (uint64_t)lua_tointeger(L, lua_upvalueindex(1));
  m->sandbox = lua_touserdata(L, lua_upvalueindex(2));
  m->depth = 0;
  m->level = 0;
  /* A stopped call gets no more matching (pcall around a bomb would retry it). */
  if (m->sandbox != NULL && m->sandbox->cur != NULL && m->sandbox->cur->kill != TD_LUA_KILL_NONE)
    td__lua_kill(L, m->sandbox->cur->kill);
}

#define HEAVY_STEPS 10000

/* After a long match, let the count hook look at the budget and the slice at once. */
static void matcher_done(matcher_t *m) {
  if (m->sandbox != NULL && m->steps > HEAVY_STEPS) td__lua_hook_soon(m->L);
}

static void push_capture(matcher_t *m, int i, const char *s, const char *e) {
  if (i >= m->level) {
    if (i != 0) luaL_error(m->L, "invalid capture index %%%d", i + 1);
    lua_pushlstring(m->L, s, (size_t)(e - s));
    return;
  }
  ptrdiff_t len = m->cap[i].len;
  if (len == CAP_UNCLOSED) luaL_error(m->L, "unfinished capture");
  if (len == CAP_POSITION)
    lua_pushinteger(m->L, (lua_Integer)(m->cap[i].start - m->src) + 1);
  else
    lua_pushlstring(m->L, m->cap[i].start, (size_t)len);
}

/* Pushes the captures (the whole match when there are none and whole is set). */
static int push_captures(matcher_t *m, const char *s, const char *e, int whole) {
  int n = (m->level == 0 && whole) ? 1 : m->level;
  luaL_checkstack(m->L, n, "too many captures");
  for (int i = 0; i < n; i++) push_capture(m, i, s, e);
  return n;
}

/* Lua's position rule for init: negative counts from the end, 0 and below the start is 1. */
static size_t start_index(lua_Integer init, size_t len) {
  if (init > 0) return (size_t)init;
  if (init == 0) return 1;
  if (init < -(lua_Integer)len) return 1;
  return len + (size_t)init + 1;
}

static int find_or_match(lua_State *L, int find) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  size_t init = start_index(luaL_optinteger(L, 3, 1), ls);
  if (init > ls + 1) {
    luaL_pushfail(L);
    return 1;
  }
  if (find && (lua_toboolean(L, 4) || strpbrk(p, SPECIALS) == NULL) && strlen(p) == lp) {
    const char *hit = lp == 0 ? s + init - 1 : memmem(s + init - 1, ls - init + 1, p, lp);
    if (hit == NULL) {
      luaL_pushfail(L);
      return 1;
    }
    lua_pushinteger(L, (lua_Integer)(hit - s) + 1);
    lua_pushinteger(L, (lua_Integer)(hit - s) + (lua_Integer)lp);
    return 2;
  }
  matcher_t m;
  matcher_init(&m, L, s, ls, p, lp);
  int anchor = lp > 0 && *p == '^';
  if (anchor) p++;
  const char *at = s + init - 1;
  do {
    m.level = 0;
    m.depth = 0;
    const char *e = match(&m, at, p);
    if (e != NULL) {
      matcher_done(&m);
      if (!find) return push_captures(&m, at, e, 1);
      lua_pushinteger(L, (lua_Integer)(at - s) + 1);
      lua_pushinteger(L, (lua_Integer)(e - s));
      return push_captures(&m, NULL, NULL, 0) + 2;
    }
  } while (at++ < m.src_end && !anchor);
  matcher_done(&m);
  luaL_pushfail(L);
  return 1;
}

static int pat_find(lua_State *L) { return find_or_match(L, 1); }
static int pat_match(lua_State *L) { return find_or_match(L, 0); }

/* gmatch's iterator: upvalues 1-2 as every function, 3 subject, 4 pattern, 5 position
 * (0-based), 6 end of the last match (-1 for none). */
static int gmatch_next(lua_State *L) {
  size_t ls, lp;
  const char *s = lua_tolstring(L, lua_upvalueindex(3), &ls);
  const char *p = lua_tolstring(L, lua_upvalueindex(4), &lp);
  lua_Integer pos = lua_tointeger(L, lua_upvalueindex(5));
  lua_Integer last = lua_tointeger(L, lua_upvalueindex(6));
  matcher_t m;
  matcher_init(&m, L, s, ls, p, lp);
  for (const char *at = s + pos; at <= m.src_end; at++) {
    m.level = 0;
    m.depth = 0;
    const char *e = match(&m, at, p);
    if (e != NULL && (e - s) != last) {
      matcher_done(&m);
      lua_pushinteger(L, e - s);
      lua_copy(L, -1, lua_upvalueindex(5));
      lua_replace(L, lua_upvalueindex(6));
      return push_captures(&m, at, e, 1);
    }
  }
  matcher_done(&m);
  return 0;
}

static int pat_gmatch(lua_State *L) {
  size_t ls;
  luaL_checklstring(L, 1, &ls);
  luaL_checkstring(L, 2);
  size_t init = start_index(luaL_optinteger(L, 3, 1), ls);
  if (init > ls + 1) init = ls + 2; /* past the end: no match at all */
  lua_settop(L, 2);
  lua_pushvalue(L, lua_upvalueindex(1));
  lua_pushvalue(L, lua_upvalueindex(2));
  lua_rotate(L, 1, 2); /* steps, sandbox, s, p */
  lua_pushinteger(L, (lua_Integer)init - 1);
  lua_pushinteger(L, -1);
  lua_pushcclosure(L, gmatch_next, 6);
  return 1;
}

/* Appends the replacement string at index 3 with its %0-%9 and %% escapes. */
static void add_template(matcher_t *m, luaL_Buffer *b, const char *s, const char *e) {
  size_t lr;
  const char *r = lua_tolstring(m->L, 3, &lr);
  const char *end = r + lr;
  while (r < end) {
    const char *pc = memchr(r, ESC, (size_t)(end - r));
    if (pc == NULL) {
      luaL_addlstring(b, r, (size_t)(end - r));
      break;
    }
    luaL_addlstring(b, r, (size_t)(pc - r));
    r = pc + 1;
    if (r >= end) luaL_error(m->L, "invalid use of '%c' in replacement string", ESC);
    if (*r == ESC) {
      luaL_addchar(b, ESC);
    } else if (isdigit((unsigned char)*r)) {
      if (*r == '0') {
        luaL_addlstring(b, s, (size_t)(e - s));
      } else {
        push_capture(m, *r - '1', s, e);
        luaL_tolstring(m->L, -1, NULL);
        lua_remove(m->L, -2);
        luaL_addvalue(b);
      }
    } else {
      luaL_error(m->L, "invalid use of '%c' in replacement string", ESC);
    }
    r++;
  }
}

/* Appends the replacement of the match [s, e) for a function or table replacement. */
static void add_lookup(matcher_t *m, luaL_Buffer *b, const char *s, const char *e, int kind) {
  lua_State *L = m->L;
  if (kind == LUA_TFUNCTION) {
    lua_pushvalue(L, 3);
    int n = push_captures(m, s, e, 1);
    lua_call(L, n, 1);
  } else {
    push_capture(m, 0, s, e);
    lua_gettable(L, 3);
  }
  if (!lua_toboolean(L, -1)) {
    lua_pop(L, 1);
    luaL_addlstring(b, s, (size_t)(e - s));
    return;
  }
  if (!lua_isstring(L, -1)) luaL_error(L, "invalid replacement value (a %s)", luaL_typename(L, -1));
  luaL_addvalue(b);
}

static int pat_gsub(lua_State *L) {
  size_t ls, lp;
  const char *s = luaL_checklstring(L, 1, &ls);
  const char *p = luaL_checklstring(L, 2, &lp);
  int kind = lua_type(L, 3);
  lua_Integer max_n = luaL_optinteger(L, 4, (lua_Integer)ls + 1);
  luaL_argexpected(L,
                   kind == LUA_TNUMBER || kind == LUA_TSTRING || kind == LUA_TFUNCTION || kind == LUA_TTABLE,
                   3, "string/function/table");
  matcher_t m;
  matcher_init(&m, L, s, ls, p, lp);
  int anchor = lp > 0 && *p == '^';
  if (anchor) p++;
  luaL_Buffer b;
  luaL_buffinit(L, &b);
  const char *at = s, *last = NULL;
  lua_Integer n = 0;
  while (n < max_n) {
    m.level = 0;
    m.depth = 0;
    const char *e = match(&m, at, p);
    if (e != NULL && e != last) {
      n++;
      if (kind == LUA_TFUNCTION || kind == LUA_TTABLE)
        add_lookup(&m, &b, at, e, kind);
      else
        add_template(&m, &b, at, e);
      at = last = e;
    } else if (at < m.src_end) {
      luaL_addchar(&b, *at++);
    } else {
      break;
    }
    if (anchor) break;
  }
  luaL_addlstring(&b, at, (size_t)(m.src_end - at));
  matcher_done(&m);
  luaL_pushresult(&b);
  lua_pushinteger(L, n);
  return 2;
}

void td__lua_pattern_register(lua_State *L, int idx, uint64_t max_steps, td__lua_state_t *sandbox) {
  static const luaL_Reg fns[] = {
      {"find", pat_find}, {"match", pat_match}, {"gmatch", pat_gmatch}, {"gsub", pat_gsub}, {NULL, NULL}};
  idx = lua_absindex(L, idx);
  for (const luaL_Reg *f = fns; f->name != NULL; f++) {
    lua_pushinteger(L, (lua_Integer)max_steps);
    lua_pushlightuserdata(L, sandbox);
    lua_pushcclosure(L, f->func, 2);
    lua_setfield(L, idx, f->name);
  }
}
