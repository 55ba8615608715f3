/* The step-budgeted pattern functions (core/lua/pattern.c) against the stock Lua string
 * library: a differential test. The same driver runs in two plain states (luaL_openlibs),
 * one with the stock find/match/gmatch/gsub and one with ours, over thousands of cases
 * (every subject x pattern for find and match, init positions, gmatch with empty matches,
 * gsub with string/table/function replacements and max-n, malformed patterns), and the
 * serialized results must be identical (errors compare as "ERR"). Then the budget: the
 * bomb from ARCHITECTURE section 6 stops quickly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <lauxlib.h>
#include <lualib.h>

#include "lua/pattern.h"
#include "util/time.h"

/* Builds the cases and returns a table of result strings, one per case. */
static const char *DRIVER =
    "local subjects = {'', 'a', 'hello world', 'aaa', '  trim  ', 'key=value; k2=v2',\n"
    "  'THE (quick) [brown] fox', 'x = f(a(b)c)d', 'abc123def456', '\\0a\\0b', '\\195\\161\\195\\169',\n"
    "  'one two  three', 'aXbXc', '...', '%%', '[[x]]', 'ab\\nc\\td', 'THE', 'f(a(b)'}\n"
    "local patterns = {'', 'a', '^a', 'a$', '^$', '.', '..', 'a*', 'a+', 'a-', 'a?', '%a+', '%d+',\n"
    "  '%s*', '%w+', '%l', '%u+', '%p', '%x+', '%c', '%g+', '%A+', '%S+', '%D', '%W*', '[aeiou]',\n"
    "  '[^aeiou]+', '[%a_][%w_]*', '[a-c]+', '[]]', '[^]]', '(%w+)=(%w+)', '()a()', '(a*(.)%w(%s*))',\n"
    "  '%b()', '%b[]', '%bxy', '%f[%w]%w+', '%f[%W]', '%f[%a]', '%f[^%z]', '(.)%1', '^(%s*)(.-)(%s*)$',\n"
    "  '(h)(e)(l)(l)(o)', '.-o', 'o.-$', '[%]]', '[%-a]', '[a%-]', 'x*$', '%.%.', '%%', '\\0', '[\\0-a]+',\n"
    "  '(()b)', '^', '$', '^(a)', '(a)$', '[a-]', '[-a]', '[%w%s]+', '.-', '.*', '(.-)%s', '(%a)(%a)%2%1',\n"
    "  'l+', 'l-o', 'e?l', 'b*', '[^%s]*', '%S*$', 'T[HE]+', '^.-$'}\n"
    "local bad = {'[a', '%', '(', ')', '%b', '%bx', '%f', '%fa', '%1', '(a)%2', '(()', 'a)',\n"
    "  ('(a)'):rep(40), '[%', '[a%'}\n"
    "local out = {}\n"
    "local function ser(...)\n"
    "  local n, t = select('#', ...), {}\n"
    "  for i = 1, n do local v = select(i, ...) t[i] = type(v):sub(1, 1) .. ':' .. tostring(v) end\n"
    "  return n .. '|' .. table.concat(t, '|')\n"
    "end\n"
    "local names = {}\n"
    "local function run(f, ...)\n"
    "  local r = table.pack(pcall(f, ...))\n"
    "  local args = table.pack(...)\n"
    "  local label = {}\n"
    "  for i = 1, args.n do local a = args[i] label[i] = (type(a) == 'table' or type(a) == 'function') and "
    "type(a) or string.format('%q', tostring(a)) end\n"
    "  local name = (names[f] or '?') .. '(' .. table.concat(label, ', ') .. ') = '\n"
    "  if not r[1] then return name .. 'ERR' end\n"
    "  return name .. ser(table.unpack(r, 2, r.n))\n"
    "end\n"
    "local function gm(s, p, init)\n"
    "  local all = {}\n"
    "  for a, b, c in string.gmatch(s, p, init) do all[#all + 1] = ser(a, b, c) if #all > 200 then break end "
    "end\n"
    "  return table.concat(all, ';')\n"
    "end\n"
    "names[string.find], names[string.match], names[gm], names[string.gsub] = 'find', 'match', 'gmatch', "
    "'gsub'\n"
    "local inits = {false, 1, 2, 4, -1, -3, 0, 100, -100}\n"
    "for _, s in ipairs(subjects) do\n"
    "  for _, p in ipairs(patterns) do\n"
    "    out[#out + 1] = run(string.find, s, p)\n"
    "    out[#out + 1] = run(string.match, s, p)\n"
    "    out[#out + 1] = run(gm, s, p)\n"
    "    out[#out + 1] = run(string.gsub, s, p, '<%0>')\n"
    "  end\n"
    "  for _, i in ipairs(inits) do\n"
    "    for _, p in ipairs({'a', '', '%w+', '^%w', '()', 'o'}) do\n"
    "      out[#out + 1] = run(string.find, s, p, i or nil)\n"
    "      out[#out + 1] = run(string.find, s, p, i or nil, true)\n"
    "      out[#out + 1] = run(string.match, s, p, i or nil)\n"
    "      out[#out + 1] = run(gm, s, p, i or nil)\n"
    "    end\n"
    "  end\n"
    "  for _, p in ipairs(bad) do\n"
    "    out[#out + 1] = run(string.find, s, p)\n"
    "    out[#out + 1] = run(string.gsub, s, p, 'x')\n"
    "  end\n"
    "end\n"
    "local repls = {'%1', '[%0]', '%%', '%2', '%', '%x', 'z', 7, 1.5,\n"
    "  {hello = 'HI', a = false, o = 12, w = {}}, function(a, b) return b and (a .. b) or nil end,\n"
    "  function(a) return false end, function(a) return {} end, function(a) return #a end}\n"
    "for _, s in ipairs({'hello world', 'aaa', '', 'a,b,,c', 'one two three'}) do\n"
    "  for _, p in ipairs({'%w+', '(%w)(%w*)', '', 'a*', ',', '()', '(o)', 'x*', '^%w+', '(h)ello'}) do\n"
    "    for _, r in ipairs(repls) do\n"
    "      out[#out + 1] = run(string.gsub, s, p, r)\n"
    "      out[#out + 1] = run(string.gsub, s, p, r, 1)\n"
    "      out[#out + 1] = run(string.gsub, s, p, r, 0)\n"
    "    end\n"
    "  end\n"
    "end\n"
    "out[#out + 1] = run(string.gsub, 'abc', '%w', true)\n"
    "out[#out + 1] = run(string.find, 'a.b', '.', 1, true)\n"
    "out[#out + 1] = run(string.find, 'a+b', '+', 1, true)\n"
    "out[#out + 1] = run(string.find, 'abc', 'b', nil, true)\n"
    "out[#out + 1] = run(string.find, 'a\\0b', '\\0b')\n"
    "out[#out + 1] = run(string.find, ('ab'):rep(100), ('ab'):rep(50) .. 'x', 1, true)\n"
    "out[#out + 1] = run(string.find, 'abc', 'c', math.mininteger)\n"
    "out[#out + 1] = run(string.find, 'abc', 'c', math.maxinteger)\n"
    "return out\n";

/* Runs the driver in a fresh state (ours = with the budgeted functions); returns the
 * state with the result table on top. */
static lua_State *run_driver(int ours) {
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  if (ours) {
    lua_getglobal(L, "string");
    td__lua_pattern_register(L, -1, 10000000, NULL);
    lua_pop(L, 1);
  }
  if (luaL_dostring(L, DRIVER) != LUA_OK) fail_msg("driver: %s", lua_tostring(L, -1));
  assert_int_equal(lua_type(L, -1), LUA_TTABLE);
  return L;
}

static void test_differential(void **state) {
  (void)state;
  lua_State *stock = run_driver(0), *ours = run_driver(1);
  lua_Integer n = (lua_Integer)lua_rawlen(stock, -1);
  assert_int_equal(n, (lua_Integer)lua_rawlen(ours, -1));
  assert_true(n > 1000);
  int mismatches = 0, errors = 0;
  for (lua_Integer i = 1; i <= n; i++) {
    lua_rawgeti(stock, -1, i);
    lua_rawgeti(ours, -1, i);
    const char *a = lua_tostring(stock, -1), *b = lua_tostring(ours, -1);
    errors += strstr(a, ") = ERR") != NULL;
    if (strcmp(a, b) != 0 && mismatches++ < 10)
      fprintf(stderr, "case %lld: stock %s, ours %s\n", (long long)i, a, b);
    lua_pop(stock, 1);
    lua_pop(ours, 1);
  }
  fprintf(stderr, "%lld cases (%d errors in both), %d mismatches\n", (long long)n, errors, mismatches);
  assert_int_equal(mismatches, 0);
  assert_true(errors > 50);
  lua_close(stock);
  lua_close(ours);
}

static void test_budget(void **state) {
  (void)state;
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  lua_getglobal(L, "string");
  td__lua_pattern_register(L, -1, 1000000, NULL);
  lua_pop(L, 1);
  uint64_t t0 = td__time_mono_ns();
  assert_int_not_equal(luaL_dostring(L, "return string.find(('a'):rep(5000), '.-.-.-.-.-.-b')"), LUA_OK);
  assert_non_null(strstr(lua_tostring(L, -1), "pattern too complex (step budget exhausted)"));
  assert_true(td__time_mono_ns() - t0 < 500000000ull);
  lua_pop(L, 1);
  /* Plain finds are linear and use no steps. */
  assert_int_equal(
      luaL_dostring(L, "return string.find(('a'):rep(1000000) .. 'b', ('a'):rep(500000) .. 'b', 1, true)"),
      LUA_OK);
  assert_int_equal(lua_tointeger(L, -2), 500001);
  lua_close(L);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_differential),
      cmocka_unit_test(test_budget),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
