/* Report answers in the requested format (see reply.h). */
#include "reply.h"

int an_reply(const td_host_api_t *api, td_request_t *req, an_report_kind_t kind, json_t *body) {
  an_format_t format;
  if (an_format_parse(api->request_query(req, "format"), &format) != 0 || !an_render_supports(kind, format)) {
    json_decref(body);
    return api->fail(req, 400, "Bad query parameter",
                     "format must be json, csv or xlsx, or svg for conversion, time-in-stage, plan and velocity");
  }
  if (format == AN_FORMAT_JSON) {
    api->respond(req, 200, body);
    return 0;
  }
  an_rendered_t out;
  int rc = an_render(kind, format, body, &out);
  json_decref(body);
  if (rc == 0 && api->respond_bytes(req, 200, out.content_type, out.body, out.len, out.filename) != 0) rc = AN_EIO;
  if (rc != 0) api->fail(req, an_render_status(rc), "Cannot render the report", out.error ? out.error : "");
  an_rendered_free(&out);
  return rc ? TD_EINVAL : 0;
}
