/* Checking and normalising a sequence's steps when it is saved: every field is checked with
 * an error naming /steps/N/<field>, condition chunks are compiled, and each step gets its
 * stable id: the id the client echoed (from a GET) when it names a step of the previous
 * version, else the id of an identical step of the previous version, else a new one. That id
 * is how an enrollment remembers what it already did, whatever later edits move. */
#include <stdio.h>
#include <string.h>

#include "sequence_steps.h"

#define TEXT_MAX (256 * 1024)
#define LUA_MAX (16 * 1024)

static int field_error(td_request_t *req, size_t n, const char *field, const char *message) {
  char pointer[64];
  snprintf(pointer, sizeof pointer, "/steps/%zu%s%s", n, field[0] ? "/" : "", field);
  return sq_api->fail_field(req, pointer, message);
}

/* Only the keys a step of its type may carry. */
static int check_keys(td_request_t *req, size_t n, const json_t *step, const char *const *allowed) {
  const char *key;
  json_t *v;
  json_object_foreach((json_t *)step, key, v) {
    size_t i = 0;
    while (allowed[i] && strcmp(allowed[i], key) != 0) i++;
    if (allowed[i] == NULL) return field_error(req, n, key, "is not a field of this step type");
  }
  return 0;
}

static int check_text(td_request_t *req, size_t n, const json_t *step, const char *key, bool required,
                      size_t max) {
  json_t *v = json_object_get(step, key);
  if (v == NULL && !required) return 0;
  if (!json_is_string(v) || json_string_length(v) == 0 || json_string_length(v) > max) {
    char message[96];
    snprintf(message, sizeof message, "must be a non-empty string of at most %zu bytes", max);
    return field_error(req, n, key, message);
  }
  return 0;
}

static int check_int(td_request_t *req, size_t n, const json_t *step, const char *key, json_int_t lo,
                     json_int_t hi) {
  json_t *v = json_object_get(step, key);
  if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi) {
    char message[96];
    snprintf(message, sizeof message, "must be an integer from %lld to %lld", (long long)lo, (long long)hi);
    return field_error(req, n, key, message);
  }
  return 0;
}

static int check_email(td_request_t *req, size_t n, const json_t *step) {
  static const char *const keys[] = {"id", "type", "template_id", "subject", "body_text", "body_html", NULL};
  int rc = check_keys(req, n, step, keys);
  if (rc) return rc;
  if (json_object_get(step, "template_id")) {
    if (json_object_get(step, "subject") || json_object_get(step, "body_text") ||
        json_object_get(step, "body_html"))
      return field_error(req, n, "template_id",
                         "give either template_id or inline subject and body_text, not both");
    return check_text(req, n, step, "template_id", true, 64);
  }
  if ((rc = check_text(req, n, step, "subject", true, 998)) != 0) return rc;
  if ((rc = check_text(req, n, step, "body_text", true, TEXT_MAX)) != 0) return rc;
  return check_text(req, n, step, "body_html", false, TEXT_MAX);
}

static int check_wait(td_request_t *req, size_t n, const json_t *step) {
  static const char *const keys[] = {"id", "type", "delay_seconds", "business_days", NULL};
  int rc = check_keys(req, n, step, keys);
  if (rc) return rc;
  bool delay = json_object_get(step, "delay_seconds") != NULL,
       days = json_object_get(step, "business_days") != NULL;
  if (delay == days)
    return field_error(req, n, "delay_seconds", "give exactly one of delay_seconds and business_days");
  return delay ? check_int(req, n, step, "delay_seconds", 0, 366 * 86400)
               : check_int(req, n, step, "business_days", 1, 365);
}

static int check_task(td_request_t *req, size_t n, const json_t *step) {
  static const char *const keys[] = {"id", "type", "title", "due_in_days", NULL};
  int rc = check_keys(req, n, step, keys);
  if (rc == 0) rc = check_text(req, n, step, "title", true, 500);
  if (rc == 0 && json_object_get(step, "due_in_days")) rc = check_int(req, n, step, "due_in_days", 0, 365);
  return rc;
}

/* A branch: "continue", "stop" or {"goto": index of a step}. */
static int check_branch(td_request_t *req, size_t n, const json_t *step, const char *key, size_t count) {
  json_t *v = json_object_get(step, key);
  if (v == NULL) return 0;
  if (json_is_string(v) &&
      (strcmp(json_string_value(v), "continue") == 0 || strcmp(json_string_value(v), "stop") == 0))
    return 0;
  json_t *target = json_object_get(v, "goto");
  if (json_is_object(v) && json_object_size(v) == 1 && json_is_integer(target) &&
      json_integer_value(target) >= 0 && (size_t)json_integer_value(target) < count)
    return 0;
  return field_error(req, n, key,
                     "must be \"continue\", \"stop\" or {\"goto\": the index of a step of this sequence}");
}

static int check_condition(td_request_t *req, size_t n, const json_t *step, size_t count) {
  static const char *const keys[] = {"id", "type", "lua", "then", "else", NULL};
  int rc = check_keys(req, n, step, keys);
  if (rc == 0) rc = check_text(req, n, step, "lua", true, LUA_MAX);
  if (rc == 0) rc = check_branch(req, n, step, "then", count);
  if (rc == 0) rc = check_branch(req, n, step, "else", count);
  if (rc) return rc;
  char why[256] = "";
  if (sq_api->lua_eval(sq_self, json_string_value(json_object_get(step, "lua")), NULL, NULL, why,
                       sizeof why) != 0) {
    char message[320];
    snprintf(message, sizeof message, "does not compile: %s", why[0] ? why : "a syntax error");
    return field_error(req, n, "lua", message);
  }
  return 0;
}

static int check_step(td_request_t *req, size_t n, const json_t *step, size_t count) {
  if (!json_is_object(step)) return field_error(req, n, "", "must be an object");
  const char *type = json_string_value(json_object_get(step, "type"));
  json_t *id = json_object_get(step, "id");
  if (id && (!json_is_string(id) || json_string_length(id) > 64))
    return field_error(req, n, "id", "must be a step id");
  if (type && strcmp(type, "email") == 0) return check_email(req, n, step);
  if (type && strcmp(type, "wait") == 0) return check_wait(req, n, step);
  if (type && strcmp(type, "task") == 0) return check_task(req, n, step);
  if (type && strcmp(type, "condition") == 0) return check_condition(req, n, step, count);
  return field_error(req, n, "type", "must be one of email, wait, task, condition");
}

/* Whether a and b are the same step apart from their ids. */
static bool same_content(const json_t *a, const json_t *b) {
  json_t *x = json_deep_copy(a), *y = json_deep_copy(b);
  json_object_del(x, "id");
  json_object_del(y, "id");
  bool same = json_equal(x, y);
  json_decref(x);
  json_decref(y);
  return same;
}

/* The id step n keeps: see the file comment. used marks old steps already matched. */
static void assign_id(json_t *step, const json_t *old, bool *used) {
  const char *echoed = json_string_value(json_object_get(step, "id"));
  size_t i;
  json_t *o;
  json_array_foreach(old, i, o) {
    if (!used[i] && echoed && strcmp(echoed, json_string_value(json_object_get(o, "id"))) == 0) {
      used[i] = true;
      return;
    }
  }
  json_array_foreach(old, i, o) {
    if (!used[i] && same_content(step, o)) {
      used[i] = true;
      json_object_set(step, "id", json_object_get(o, "id"));
      return;
    }
  }
  char id[TD_PLUGIN_ID_MAX];
  sq_api->new_id("stp", id);
  json_object_set_new(step, "id", json_string(id));
}

int seq_steps_normalize(td_request_t *req, const json_t *steps, const json_t *old, json_t **out) {
  *out = NULL;
  if (!json_is_array(steps) || json_array_size(steps) == 0 || json_array_size(steps) > SEQ_MAX_STEPS) {
    char message[80];
    snprintf(message, sizeof message, "must be an array of 1 to %d steps", SEQ_MAX_STEPS);
    return sq_api->fail_field(req, "/steps", message);
  }
  size_t count = json_array_size(steps), i;
  json_t *step;
  json_array_foreach(steps, i, step) {
    int rc = check_step(req, i, step, count);
    if (rc) return rc;
  }
  size_t old_count = json_array_size(old);
  bool used[SEQ_MAX_STEPS + 1] = {false};
  json_t *result = json_deep_copy(steps);
  json_array_foreach(result, i, step) assign_id(step, old_count <= SEQ_MAX_STEPS ? old : NULL, used);
  /* Two echoed copies of one id: the second gets a fresh id. */
  json_array_foreach(result, i, step) {
    for (size_t j = 0; j < i; j++) {
      if (json_equal(json_object_get(json_array_get(result, j), "id"), json_object_get(step, "id"))) {
        char id[TD_PLUGIN_ID_MAX];
        sq_api->new_id("stp", id);
        json_object_set_new(step, "id", json_string(id));
        break;
      }
    }
  }
  *out = result;
  return 0;
}
