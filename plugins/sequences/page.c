/* Answering one page of a list (see sq.h): the rows a query gave (limit + 1 asked for, so one
 * more tells that another page exists), each turned into its JSON, and the cursor to go on. */
#include <stdbool.h>
#include <stdio.h>

#include "sq.h"

void sq_answer_page(td_request_t *req, json_t *rows, long limit, json_t *(*to_json)(const json_t *row)) {
  json_t *items = json_array();
  char next[32] = "";
  size_t i;
  json_t *row;
  json_array_foreach(rows, i, row) {
    if ((long)i == limit) break;
    json_array_append_new(items, to_json(row));
    snprintf(next, sizeof next, "%lld", (long long)json_integer_value(json_object_get(row, "rowid")));
  }
  bool more = (long)json_array_size(rows) > limit;
  sq_api->respond(req, 200, json_pack("{s:o,s:s?}", "data", items, "next_cursor", more ? next : NULL));
}
