"""The sequences plugin's mail part against a real SMTP server (aiosmtpd, tests/integration/
mailservers.py): templates with a closed list of merge fields (422 at save time naming the part
and the field), previews that HTML-escape values, one-off messages queued through
POST /api/v1/email/messages and delivered with the right merge values and headers (Message-ID,
List-Unsubscribe with the signed https link and mailto, List-Unsubscribe-Post, multipart/
alternative UTF-8 parts, RFC 2047 subject), the email_out activity on the candidate, one-click
unsubscribe without login that works once and blocks later sends, an email.before_send Lua
filter that changes a subject or vetoes a send, and a burst of 200 messages during which the
server is SIGKILLed three times: afterwards every message has arrived at least once and every
duplicate carries its original's Message-ID; and the host's pace (mail.max_messages_per_second)."""
import email
import email.header
import email.policy
import json
import re
import sys
import time
import urllib.parse

import harness
from harness import expect, expect_problem, expect_status
from mailservers import SmtpServer

FROM = {"address": "talent@acme.test", "name": "Acme Talent"}
BASE = "https://ats.acme.test"

SMTP = SmtpServer(delay=0.01).start()

SERVER_ARGS = [
    "--set", "plugins.sequences.smtp_url=%s" % SMTP.url,
    "--set", "plugins.sequences.from=%s" % json.dumps(FROM),
    "--set", "plugins.sequences.public_base_url=%s" % BASE,
    "--set", "plugins.sequences.concurrency=8",
    "--set", "plugins.sequences.per_domain_concurrency=4",
]

N = [0]


def restart(s, **settings):
    """Restarts the server with plugins.sequences.<key> settings replaced (None removes one);
    returns the previous argument list for restore()."""
    saved = list(s.extra_args)
    args = []
    for i in range(0, len(saved), 2):
        key = saved[i + 1].split("=", 1)[0].rsplit(".", 1)[1]
        if key not in settings:
            args += saved[i:i + 2]
    for key, value in settings.items():
        if value is not None:
            args += ["--set", "plugins.sequences.%s=%s" % (key, value if isinstance(value, str) else json.dumps(value))]
    s.kill()
    s.extra_args = args
    s.start()
    return saved


def restore(s, saved):
    s.kill()
    s.extra_args = saved
    s.start()


def prepare(s):
    s.cli("plugin", "enable", "sequences", "--data", s.data, *s.extra_args)


def poll(fn, timeout=30, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out waiting for " + what)


def candidate(s, first="Ana", last="Lima", email_addr=None, **extra):
    N[0] += 1
    body = {"first_name": first, "last_name": last,
            "emails": [email_addr or "person%d@example.test" % N[0]]}
    if email_addr is False:
        body["emails"] = []
    body.update(extra)
    return expect_status(s.post("/api/v1/candidates", body), 201).json


def template(s, **fields):
    body = {"name": "Intro", "subject": "Hello {{candidate.first_name}}",
            "body_text": "Hi {{candidate.first_name}}, about {{job.title}}.\nUnsubscribe: {{unsubscribe_url}}",
            "body_html": "<p>Hi {{candidate.first_name}}, about <b>{{job.title}}</b>.</p>"
                         "<a href=\"{{unsubscribe_url}}\">unsubscribe</a>"}
    body.update(fields)
    return expect_status(s.post("/api/v1/templates", body), 201).json


def job(s, title="Data Engineer", department="Platform"):
    return expect_status(s.post("/api/v1/jobs", {"title": title, "department": department}), 201).json


def messages_to(addr):
    return [m for m in SMTP.messages() if addr in m.rcpt_tos]


def parts(msg):
    """{content type: decoded text} of a received message."""
    out = {}
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            out[part.get_content_type()] = part.get_payload(decode=True).decode(part.get_content_charset())
    return out


def decoded_subject(msg):
    return str(email.header.make_header(email.header.decode_header(msg["Subject"])))


def unsubscribe_url(msg):
    links = re.findall(r"<([^>]+)>", msg["List-Unsubscribe"])
    return next(l for l in links if l.startswith("https://")), next(l for l in links if l.startswith("mailto:"))


# ---------------------------------------------------------------- templates


def test_unknown_merge_field_is_refused_at_save_time(s):
    r = s.post("/api/v1/templates", {"name": "Bad", "subject": "Hi", "body_text": "Hello",
                                     "body_html": "<p>Hi</p>\n<p>Dear {{candidate.nickname}}</p>"})
    expect_problem(r, 422, "/body_html")
    msg = next(e["message"] for e in r.json["errors"] if e["pointer"] == "/body_html")
    expect("candidate.nickname" in msg and "line 2, column 9" in msg, "names the field and where", msg)
    expect_problem(s.post("/api/v1/templates", {"name": "Bad", "subject": "Hi {{ job.salary }}", "body_text": "x"}),
                   422, "/subject")
    expect_problem(s.post("/api/v1/templates", {"name": "Bad", "subject": "Hi", "body_text": "x {{candidate.email"}),
                   422, "/body_text")
    expect(s.get("/api/v1/templates?limit=100").json["data"] == [], "nothing saved")


def test_template_pages(s):
    made = [template(s, name="Paged %d" % i)["id"] for i in range(3)]
    seen, cursor = [], None
    for _ in range(50):
        page = expect_status(s.get("/api/v1/templates?limit=2" + ("&cursor=" + cursor if cursor else "")), 200).json
        expect(len(page["data"]) <= 2, page)
        seen += [t["id"] for t in page["data"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    expect(len(seen) == len(set(seen)) and set(made) <= set(seen), "every template once", seen, made)


def test_template_crud_etag_and_if_match(s):
    r = expect_status(s.post("/api/v1/templates", {"name": "Crud", "subject": "Hello {{candidate.first_name}}",
                                                   "body_text": "Hi"}), 201)
    t = r.json
    url = "/api/v1/templates/" + t["id"]
    expect(t["version"] == 1 and t["body_html"] is None and t["id"].startswith("tpl_"), t)
    # The core's conventions: Location and ETag on create, ETag on read.
    expect(r.headers.get("location") == url and r.headers.get("etag") == '"v1"', r.headers)
    got = expect_status(s.get(url), 200)
    expect(got.json == t and got.headers.get("etag") == '"v1"', got.headers, got.json)
    # A stale If-Match: the core's 412 problem, and nothing changed.
    r = expect_problem(s.patch(url, {"subject": "x"}, headers={"If-Match": '"v7"'}), 412)
    expect(r.json["title"] == "Precondition failed" and "If-Match" in r.json["detail"], r.json)
    expect(s.get(url).json == t, "a refused PATCH changes nothing")
    # A weak ETag never matches for If-Match (RFC 9110 13.1.1), as in the core.
    expect_problem(s.patch(url, {"subject": "x"}, headers={"If-Match": 'W/"v1"'}), 412)
    # The body version of earlier releases is gone: the schema refuses it.
    expect_problem(s.patch(url, {"subject": "x", "version": 1}), 422, "/version")
    expect_problem(s.patch(url, {"body_text": "{{sender.phone}}"}), 422, "/body_text")
    expect_problem(s.patch("/api/v1/templates/tpl_nosuch", {"name": "x"}, headers={"If-Match": '"v1"'}), 404)
    r = expect_status(s.patch(url, {"subject": "Hi {{ sender.name }}"}, headers={"If-Match": '"v1"'}), 200)
    expect(r.json["version"] == 2 and r.json["subject"] == "Hi {{ sender.name }}" and r.json["name"] == "Crud", r.json)
    expect(r.headers.get("etag") == '"v2"', "the ETag changes with the template", r.headers)
    expect(s.get(url).headers.get("etag") == '"v2"')
    # A list of ETags matches when one of them is current; "*" and no If-Match always do.
    r = expect_status(s.patch(url, {"name": "Listed"}, headers={"If-Match": '"v1", "v2"'}), 200)
    expect(r.headers.get("etag") == '"v3"' and r.json["name"] == "Listed", r.headers, r.json)
    expect(expect_status(s.patch(url, {"name": "Star"}, headers={"If-Match": "*"}), 200).headers.get("etag") == '"v4"')
    expect(expect_status(s.patch(url, {"name": "Crud"}), 200).headers.get("etag") == '"v5"')
    expect(t["id"] in [x["id"] for x in s.get("/api/v1/templates").json["data"]], "listed")
    expect_status(s.post("/api/v1/templates", {"name": "R", "subject": "s", "body_text": "b"}, role="recruiter"), 201)
    expect_problem(s.post("/api/v1/templates", {"name": "I", "subject": "s", "body_text": "b"}, role="interviewer"), 403)
    # DELETE honours If-Match too: a stale one removes nothing.
    expect_problem(s.delete(url, headers={"If-Match": '"v4"'}), 412)
    expect(expect_status(s.get(url), 200).json["version"] == 5, "still there")
    expect_status(s.delete(url, headers={"If-Match": '"v5"'}), 204)
    expect_problem(s.get(url), 404)
    expect_problem(s.delete(url), 404)


def test_preview_escapes_html_not_text(s):
    c = candidate(s, first="<b>Ana & Co</b>", last="O'Neil")
    j = job(s, title="R&D <Lead>")
    t = template(s, subject="Hi {{candidate.first_name}}\r\nBcc: evil@example.test")
    r = expect_status(s.post("/api/v1/templates/%s/preview" % t["id"], {"candidate_id": c["id"], "job_id": j["id"]}),
                      200).json
    expect("<p>Hi &lt;b&gt;Ana &amp; Co&lt;/b&gt;, about <b>R&amp;D &lt;Lead&gt;</b>.</p>" in r["body_html"],
           "values escaped in HTML", r["body_html"])
    expect(r["body_text"].startswith("Hi <b>Ana & Co</b>, about R&D <Lead>."), "text as is", r["body_text"])
    expect("\r" not in r["subject"] and "\n" not in r["subject"] and r["subject"].startswith("Hi <b>Ana & Co</b>"),
           "no header injection", r["subject"])
    expect(r["to"] == c["emails"][0], r)
    expect_problem(s.post("/api/v1/templates/%s/preview" % t["id"], {"candidate_id": "cand_nope"}), 422,
                   "/candidate_id")
    expect_problem(s.post("/api/v1/templates/%s/preview" % t["id"], {"candidate_id": c["id"]}, role="interviewer"),
                   403)
    expect_problem(s.post("/api/v1/templates/tpl_nosuch/preview", {"candidate_id": c["id"]}), 404)
    # It only reads: the template is unchanged (same ETag) and nothing is queued.
    expect(s.get("/api/v1/templates/" + t["id"]).headers.get("etag") == '"v1"')
    expect(s.get("/api/v1/email/messages?candidate_id=" + c["id"]).json["data"] == [], "nothing queued")
    expect(SMTP.count() == 0, "a preview sends nothing")


# ---------------------------------------------------------------- sending


def test_status_says_sending_is_on(s):
    st = expect_status(s.get("/api/v1/email/status"), 200).json
    expect(st["sending"] is True and st["unsubscribe_links"] is True, st)
    expect(st["limits"] == {"max_per_sender_per_day": 500, "per_domain_concurrency": 4, "concurrency": 8}, st)


def test_message_arrives_with_merge_fields_and_headers(s):
    c = candidate(s, first="Zoë", last="Ferré", email_addr="zoe@example.test")
    j = job(s, title="Backend Engineer", department="Core")
    t = template(s, subject="Olá {{candidate.first_name}} — {{job.title}}",
                 body_text="Hi {{candidate.first_name}} {{candidate.last_name}} ({{candidate.email}}),\n"
                           "{{job.department}} team. {{sender.name}} <{{sender.email}}>\n{{unsubscribe_url}}")
    r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "template_id": t["id"],
                                                        "job_id": j["id"]}, role="recruiter"), 202).json
    expect(r["status"] == "queued" and r["to"] == "zoe@example.test" and re.match(r"^<[^@<>]+@acme\.test>$",
                                                                                   r["message_id"]), r)
    msg = poll(lambda: messages_to("zoe@example.test"), what="the message")[0]
    expect(msg.mail_from == "talent@acme.test", msg.mail_from)
    expect(msg["Message-ID"] == r["message_id"], msg["Message-ID"], r["message_id"])
    expect(decoded_subject(msg) == "Olá Zoë — Backend Engineer", decoded_subject(msg))
    expect("=?UTF-8?B?" in msg["Subject"], "RFC 2047 subject", msg["Subject"])
    expect(email.utils.parseaddr(msg["To"])[1] == "zoe@example.test" and msg["Date"], msg["To"])
    expect(msg["Reply-To"] == "<recruiter@example.test>", "replies go to the sender", msg["Reply-To"])
    expect(msg.get_content_type() == "multipart/alternative", msg.get_content_type())
    p = parts(msg)
    https, mailto = unsubscribe_url(msg)
    expect(https.startswith(BASE + "/api/v1/email/unsubscribe/") and mailto.startswith("mailto:talent@acme.test"),
           msg["List-Unsubscribe"])
    expect(msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click", msg["List-Unsubscribe-Post"])
    want = ("Hi Zoë Ferré (zoe@example.test),\r\nCore team. Recruiter <recruiter@example.test>\r\n" + https)
    expect(p["text/plain"] == want, "text part merged", p["text/plain"], want)
    expect("Hi Zoë" in p["text/html"] and ('href="%s"' % https) in p["text/html"], p["text/html"])
    for part in msg.walk():
        if part.get_content_maintype() == "text":
            expect(part.get_content_charset() == "utf-8" and part["Content-Transfer-Encoding"] == "base64", part)
    got = poll(lambda: (lambda m: m if m["status"] == "sent" else None)(
        s.get("/api/v1/email/messages/" + r["id"]).json), what="status sent")
    expect(got["attempts"] == 1 and got["sent_at"], got)
    acts = s.get("/api/v1/candidates/%s/activities" % c["id"]).json["data"]
    out = [a for a in acts if a["kind"] == "email_out"]
    expect(len(out) == 1 and out[0]["data"]["message_id"] == r["message_id"] and
           out[0]["body"].startswith("Olá Zoë — Backend Engineer"), acts)


def test_inline_message_and_refusals(s):
    c = candidate(s, email_addr="inline@example.test")
    r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "Quick note",
                                                        "body_text": "Plain only, {{candidate.first_name}}."}), 202)
    msg = poll(lambda: messages_to("inline@example.test"), what="inline message")[0]
    expect(msg.get_content_type() == "text/plain" and parts(msg)["text/plain"] == "Plain only, Ana.", parts(msg))
    expect(msg["Message-ID"] == r.json["message_id"])
    expect_problem(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "x",
                                                     "body_text": "{{candidate.age}}"}), 422, "/body_text")
    nobody = candidate(s, email_addr=False)
    r = expect_problem(s.post("/api/v1/email/messages", {"candidate_id": nobody["id"], "subject": "x",
                                                         "body_text": "y"}), 422)
    expect("no email" in r.json["detail"], r.json)
    expect_problem(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "x", "body_text": "y"},
                          role="interviewer"), 403)


def test_unsubscribe_once_then_suppressed(s):
    c = candidate(s, email_addr="leaver@example.test")
    t = template(s)
    expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "template_id": t["id"]}), 202)
    msg = poll(lambda: messages_to("leaver@example.test"), what="message")[0]
    https, _ = unsubscribe_url(msg)
    path = urllib.parse.urlparse(https).path
    bad = path[:-3] + ("AAA" if not path.endswith("AAA") else "BBB")
    expect_problem(s.request("POST", bad, role=None), 404)
    page = expect_status(s.request("GET", path, role=None), 200)
    expect(page.headers["content-type"].startswith("text/html") and b"<form method=\"post\"" in page.raw, page)
    # RFC 8058: no login; the mail client posts List-Unsubscribe=One-Click as a form.
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    expect_problem(s.request("POST", path, role=None, raw=b"List-Unsubscribe=Something-Else", headers=form), 422)
    r = expect_status(s.request("POST", path, role=None, raw=b"List-Unsubscribe=One-Click", headers=form), 200)
    expect(r.json == {"status": "unsubscribed"}, r.json)
    r = expect_status(s.request("POST", path, role=None), 200)
    expect(r.json == {"status": "already_unsubscribed"}, r.json)
    sup = s.get("/api/v1/email/suppressions?limit=100").json["data"]
    expect([x["reason"] for x in sup if x["address"] == "leaver@example.test"] == ["unsubscribed"], sup)
    r = expect_problem(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "template_id": t["id"]}), 422)
    expect("suppression" in r.json["detail"], r.json)
    # The activity is written by a scheduled run, as the plugin (the public caller has no principal).
    poll(lambda: any(a["kind"] == "system" and a["data"].get("event") == "email.unsubscribed"
                     for a in s.get("/api/v1/candidates/%s/activities" % c["id"]).json["data"]),
         what="the unsubscribe activity")
    expect_problem(s.get("/api/v1/email/suppressions", role="recruiter"), 403)
    # Lifting the suppression lets mail through again.
    expect_status(s.delete("/api/v1/email/suppressions/leaver%40example.test"), 204)
    expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "template_id": t["id"]}), 202)


def test_before_send_filter_changes_or_vetoes(s):
    src = b"""-- talentd: {"description": "mail guard"}
talent.filter("email.before_send", function(m)
  if m.subject:find("SECRET") then return false, "subjects with SECRET are not sent" end
  return {subject = m.subject .. " [checked]"}
end)
"""
    expect_status(s.request("PUT", "/api/v1/scripts/mailguard", raw=src, headers={"Content-Type": "text/x-lua"}), 201)
    try:
        c = candidate(s, email_addr="guarded@example.test")
        before = len(messages_to("guarded@example.test"))
        r = expect_problem(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "The SECRET plan",
                                                             "body_text": "x"}), 422)
        expect("subjects with SECRET are not sent" in r.json["detail"], r.json)
        expect(s.get("/api/v1/email/messages?candidate_id=" + c["id"]).json["data"] == [], "no outbox row")
        expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "Hello",
                                                        "body_text": "x"}), 202)
        msg = poll(lambda: messages_to("guarded@example.test")[before:], what="filtered message")[0]
        expect(decoded_subject(msg) == "Hello [checked]", decoded_subject(msg))
    finally:
        s.delete("/api/v1/scripts/mailguard")


# ---------------------------------------------------------------- crash safety


def test_sigkill_during_burst_loses_nothing(s):
    SMTP.clear()
    t = template(s, subject="Burst {{candidate.first_name}}", body_html=None,
                 body_text="Hello {{candidate.first_name}}")
    want = {}
    conn = s.connect()
    for i in range(200):
        c = candidate(s, first="B%03d" % i, email_addr="burst%03d@example.test" % i)
        r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "template_id": t["id"]},
                                 conn=conn), 202)
        want["burst%03d@example.test" % i] = r.json["message_id"]
    conn.close()
    for threshold in (40, 90, 140):  # three rounds: kill while messages are in flight, restart
        poll(lambda: SMTP.count() >= threshold, timeout=60, what="%d messages" % threshold)
        s.kill()
        s.start()
    poll(lambda: set(a for m in SMTP.messages() for a in m.rcpt_tos) >= set(want), timeout=120,
         what="every burst message")
    got = {}
    for m in SMTP.messages():
        for a in m.rcpt_tos:
            got.setdefault(a, []).append(m["Message-ID"])
    for addr, mid in want.items():
        expect(got[addr] and all(x == mid for x in got[addr]), "same Message-ID on every copy", addr, got[addr], mid)
    dupes = sum(len(v) - 1 for v in got.values())
    print("burst: %d messages, %d duplicates after 3 kills" % (len(want), dupes))
    poll(lambda: (lambda m: m["queued"] == 0 and m["sending"] == 0 and m["sent"] >= 200)(
        s.get("/api/v1/email/status").json["messages"]), timeout=30, what="every outcome recorded")
    poll(lambda: s.get("/api/v1/email/status").json["messages"]["sending"] == 0, timeout=30, what="all recorded")


def test_message_in_flight_at_sigkill_is_sent_again_with_its_message_id(s):
    """Deterministic crash point: the SMTP server holds DATA for 3 s, the server is killed while
    every message is 'sending', and comes back pointed at another SMTP server, which must get
    every message with the Message-ID it was queued with (the slow server, which still accepts
    the data after the client vanished, holds the would-be duplicates: same ids)."""
    slow = SmtpServer(delay=3.0).start()
    fast = SmtpServer().start()
    saved = list(s.extra_args)

    def restart_with(url):
        restart(s, smtp_url=url)

    try:
        restart_with(slow.url)
        t = template(s, subject="Crash {{candidate.first_name}}", body_html=None, body_text="x")
        want = {}
        for i in range(6):
            c = candidate(s, first="K%d" % i, email_addr="k%d@crash%d.test" % (i, i))
            r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "template_id": t["id"]}), 202)
            want["k%d@crash%d.test" % (i, i)] = r.json["message_id"]
        poll(lambda: s.get("/api/v1/email/status").json["messages"]["sending"] == 6, timeout=10,
             what="all six in flight")
        expect(fast.count() == 0)
        restart_with(fast.url)
        msgs = fast.wait_for(6, timeout=30)
        got = {m.rcpt_tos[0]: m["Message-ID"] for m in msgs}
        expect(got == want, "every message re-sent once with its id", got, want)
        for m in slow.messages():  # a copy the slow server kept after the client vanished: same id
            expect(m["Message-ID"] == want[m.rcpt_tos[0]], m["Message-ID"])
        poll(lambda: all(r == ("sent", 2) for r in
                         s.db_query("SELECT status, attempts FROM sequences_outbox WHERE to_address LIKE 'k%@crash%.test'")),
             timeout=10, what="sent on the second attempt")
    finally:
        restore(s, saved)
        slow.stop()
        fast.stop()


def test_smtp_auth_and_permanent_failure(s):
    """SMTP AUTH with the configured login; a 550 at RCPT is permanent: failed at once, no retry."""
    authed = SmtpServer(auth=("mailer", "s3cret pw"), refuse=["gone@example.test"]).start()
    saved = restart(s, smtp_url=authed.url, smtp_user="mailer", smtp_password="s3cret pw")
    try:
        ok = candidate(s, email_addr="here@example.test")
        gone = candidate(s, email_addr="gone@example.test")
        expect_status(s.post("/api/v1/email/messages", {"candidate_id": ok["id"], "subject": "A", "body_text": "x"}), 202)
        r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": gone["id"], "subject": "B",
                                                            "body_text": "x"}), 202).json
        msg = authed.wait_for(1)[0]
        expect(msg.auth_user == "mailer" and msg.rcpt_tos == ["here@example.test"], msg.auth_user, msg.rcpt_tos)
        got = poll(lambda: (lambda m: m if m["status"] == "failed" else None)(
            s.get("/api/v1/email/messages/" + r["id"]).json), timeout=15, what="failed")
        expect(got["attempts"] == 1 and got["last_code"] == 550 and got["last_error"], got)
        expect("gone@example.test" not in got["last_error"], "no address in the error", got["last_error"])
    finally:
        restore(s, saved)
        authed.stop()


# ---------------------------------------------------------------- limits and configuration


def local_now(zone):
    from zoneinfo import ZoneInfo
    import datetime
    return datetime.datetime.now(ZoneInfo(zone))


def test_sending_window_holds_a_message_until_the_next_opening(s):
    import datetime
    zone = "Asia/Kolkata"  # +05:30, no daylight saving: the expected instant is easy to state
    now = local_now(zone)
    start = (now + datetime.timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
    end = start + datetime.timedelta(hours=1)
    saved = restart(s, sending_window={"start": start.strftime("%H:%M"), "end": end.strftime("%H:%M"),
                                       "weekdays": False}, default_time_zone=zone)
    try:
        c = candidate(s, email_addr="night@window.test")
        r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "Later",
                                                            "body_text": "x"}), 202).json
        want = start.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.000Z")
        got = poll(lambda: (lambda m: m if m["due_at"] == want else None)(
            s.get("/api/v1/email/messages/" + r["id"]).json), timeout=10, what="due_at moved to the opening")
        expect(got["status"] == "queued" and got["attempts"] == 0, got)
        st = s.get("/api/v1/email/status").json
        expect(st["sending_window"]["default_time_zone"] == zone, st)
        expect(messages_to("night@window.test") == [], "nothing sent outside the window")
    finally:
        restore(s, saved)


def test_daily_cap_per_sender_defers_to_the_next_utc_day(s):
    rid = s.user_ids["recruiter"]
    already = s.db_query("SELECT count(*) FROM sequences_outbox WHERE sender_key = ? AND status = 'sent'", rid)[0][0]
    saved = restart(s, max_per_sender_per_day=already + 2)
    try:
        ids = []
        for i in range(3):
            c = candidate(s, email_addr="cap%d@cap.test" % i)
            ids.append(expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "Cap",
                                                                       "body_text": "x"}, role="recruiter"),
                                     202).json["id"])
        poll(lambda: len([m for m in SMTP.messages() if m.rcpt_tos[0].endswith("@cap.test")]) == 2,
             what="two of three sent")
        rows = [s.get("/api/v1/email/messages/" + i).json for i in ids]
        held = [m for m in rows if m["status"] == "queued"]
        day = time.strftime("%Y-%m-%dT00:00:00.000Z", time.gmtime(time.time() + 86400))
        expect(len(held) == 1 and held[0]["due_at"] == day, "the third waits for the next UTC day", rows)
        time.sleep(1.5)
        expect(len([m for m in SMTP.messages() if m.rcpt_tos[0].endswith("@cap.test")]) == 2, "still two")
    finally:
        restore(s, saved)


def test_without_smtp_config_templates_work_and_nothing_is_sent(s):
    saved = restart(s, smtp_url=None)
    try:
        st = s.get("/api/v1/email/status").json
        expect(st["sending"] is False and "smtp_url" in st["reason"], st)
        template(s, name="Offline")
        c = candidate(s, email_addr="offline@example.test")
        r = expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "Queued",
                                                            "body_text": "x"}), 202).json
        time.sleep(2)
        expect(s.get("/api/v1/email/messages/" + r["id"]).json["status"] == "queued")
    finally:
        restore(s, saved)
    # Configured again: the queued message goes out.
    poll(lambda: messages_to("offline@example.test"), timeout=90, what="the held message after configuration")



def test_host_paces_messages(s):
    """mail.max_messages_per_second (the host's pace, shared by every plugin): six messages at
    4/s leave at least 1.25 s between the first and the last (5 gaps of 0.25 s); unpaced they
    arrive within a tenth of that."""
    saved = list(s.extra_args)
    s.kill()
    s.extra_args = saved + ["--set", "mail.max_messages_per_second=4"]
    s.start()
    try:
        conn = s.connect()
        for i in range(6):
            c = candidate(s, email_addr="paced%d@pace.test" % i)
            expect_status(s.post("/api/v1/email/messages", {"candidate_id": c["id"], "subject": "Paced",
                                                            "body_text": "x"}, conn=conn), 202)
        conn.close()
        got = poll(lambda: (lambda m: m if len(m) == 6 else None)(
            [m for m in SMTP.messages() if m.rcpt_tos[0].endswith("@pace.test")]), what="six paced messages")
        times = sorted(m.arrived_at for m in got)
        expect(times[-1] - times[0] >= 1.1, "paced at 4/s", times)
    finally:
        restore(s, saved)


if __name__ == "__main__":
    try:
        harness.main(server_args=SERVER_ARGS, prepare=prepare)
    finally:
        SMTP.stop()
