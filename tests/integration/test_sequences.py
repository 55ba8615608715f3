"""Sequences (plugins/sequences): steps, enrollments, the runner, and reply and bounce detection
against real servers on loopback (Debian's aiosmtpd and dovecot, tests/integration/mailservers.py).

The main flow: 50 candidates enrolled in email / wait / email; every first message arrives with its
merge fields and headers; the sequence is paused (no second message while paused), replies from 5
(In-Reply-To = their first message's id) stop exactly those 5, a DSN stops a sixth with "bounced",
an application stops a seventh with "applied"; after resume the other 43 get their second message
and complete."""

import json
import time

import harness
from harness import expect, expect_problem, expect_status
from mailservers import ImapServer, SmtpServer

SMTP = SmtpServer()
IMAP = ImapServer(user="inbox", password="inbox-pw")
FROM = "jobs@example.test"
_n = iter(range(1, 10**6))


def server_args():
    sets = {
        "plugins.sequences.smtp_url": SMTP.url,
        "plugins.sequences.from": FROM,
        "plugins.sequences.imap_url": IMAP.url + "/INBOX",
        "plugins.sequences.imap_user": IMAP.user,
        "plugins.sequences.imap_password": IMAP.password,
        "plugins.sequences.imap_interval_seconds": 1,
    }
    args = []
    for k, v in sets.items():
        args += ["--set", "%s=%s" % (k, json.dumps(v))]
    return tuple(args)


def prepare(s):
    out = s.cli("plugin", "enable", "sequences", "--data", s.data)
    expect("enabled" in out, out)


def candidate(s, first=None, source=None, **extra):
    n = next(_n)
    body = {"first_name": first or "Person%d" % n, "last_name": "Case", "emails": ["person%d@example.test" % n]}
    if source:
        body["source"] = source
    body.update(extra)
    return expect_status(s.post("/api/v1/candidates", body), 201).json


def sequence(s, steps, name=None):
    return expect_status(s.post("/api/v1/sequences", {"name": name or "Seq %d" % next(_n), "steps": steps}), 201).json


def enrollments(s, seq_id):
    out, cursor = [], None
    while True:
        path = "/api/v1/sequences/%s/enrollments?limit=100" % seq_id + ("&cursor=%s" % cursor if cursor else "")
        page = expect_status(s.get(path), 200).json
        out += page["data"]
        cursor = page["next_cursor"]
        if not cursor:
            return {e["candidate_id"]: e for e in out}


def wait_until(what, fn, timeout=30.0):
    deadline = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting for " + what)
        time.sleep(0.1)


def tasks_of(s, cand_id):
    return s.db_query("SELECT t.title, t.assignee_id FROM tasks t JOIN candidates c ON c.rowid = t.candidate_rowid "
                      "WHERE c.id = ? ORDER BY t.rowid", cand_id)


def test_validation(s):
    r = s.post("/api/v1/sequences", {"name": "Bad lua", "steps": [
        {"type": "task", "title": "x"}, {"type": "condition", "lua": "return (ctx.candidate"}]})
    expect_problem(r, 422, "/steps/1/lua")
    expect("does not compile" in json.dumps(r.json), r.json)
    expect_problem(s.post("/api/v1/sequences", {"name": "x", "steps": [{"type": "sms"}]}), 422, "/steps/0/type")
    expect_problem(s.post("/api/v1/sequences", {"name": "x", "steps": [
        {"type": "wait", "delay_seconds": 5, "business_days": 1}]}), 422, "/steps/0/delay_seconds")
    expect_problem(s.post("/api/v1/sequences", {"name": "x", "steps": [
        {"type": "condition", "lua": "return true", "then": {"goto": 7}}]}), 422, "/steps/0/then")
    expect_problem(s.post("/api/v1/sequences", {"name": "x", "steps": [
        {"type": "email", "subject": "s"}]}), 422, "/steps/0/body_text")
    expect_problem(s.post("/api/v1/sequences", {"name": "x", "steps": [
        {"type": "task", "title": "t", "color": "red"}]}), 422, "/steps/0/color")
    expect_status(s.post("/api/v1/sequences", {"name": "x", "steps": [{"type": "task", "title": "t"}]},
                         role="interviewer"), 403)
    seq = sequence(s, [{"type": "task", "title": "t"}])
    c = candidate(s)
    r = s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [c["id"], "can_nosuchperson"]})
    expect_problem(r, 422, "/candidate_ids/1")
    expect_problem(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"pool_id": "pool_x"}), 422, "/pool_id")
    expect_status(s.get("/api/v1/sequences/seq_nosuch"), 404)
    expect_status(s.get("/api/v1/sequences/%s/enrollments" % seq["id"], role="hiring_manager"), 403)
    expect_status(s.get("/api/v1/sequences", role="interviewer"), 403)


def test_etag_location_and_if_match(s):
    """Sequences follow the core's conventions: Location and ETag on create, ETag on read and
    on every change, If-Match on PATCH, DELETE, pause and resume (412, nothing changed)."""
    steps = [{"type": "task", "title": "t"}]
    r = expect_status(s.post("/api/v1/sequences", {"name": "Tagged", "steps": steps}), 201)
    seq = r.json
    url = "/api/v1/sequences/" + seq["id"]
    expect(r.headers.get("location") == url and r.headers.get("etag") == '"v1"' and seq["version"] == 1, r.headers)
    got = expect_status(s.get(url), 200)
    expect(got.headers.get("etag") == '"v1"' and got.json == seq, got.headers, got.json)
    r = expect_problem(s.patch(url, {"name": "Stale"}, headers={"If-Match": '"v2"'}), 412)
    expect(r.json["title"] == "Precondition failed" and "If-Match" in r.json["detail"], r.json)
    expect(s.get(url).json == seq, "a refused PATCH changes nothing")
    expect_problem(s.patch(url, {"name": "x", "version": 1}), 422, "/version")  # the old body version is gone
    r = expect_status(s.patch(url, {"name": "Renamed"}, headers={"If-Match": '"v1"'}), 200)
    expect(r.json["name"] == "Renamed" and r.json["version"] == 2 and r.headers.get("etag") == '"v2"', r.headers, r.json)
    # Pause and resume change the sequence: a new ETag each, and a stale If-Match is refused.
    expect_problem(s.request("POST", url + "/pause", headers={"If-Match": '"v1"'}), 412)
    expect(s.get(url).json["paused"] is False, "a refused pause changes nothing")
    r = expect_status(s.request("POST", url + "/pause", headers={"If-Match": '"v2"'}), 200)
    expect(r.json["paused"] is True and r.headers.get("etag") == '"v3"', r.headers, r.json)
    r = expect_status(s.request("POST", url + "/resume"), 200)
    expect(r.json["paused"] is False and r.headers.get("etag") == '"v4"', r.headers, r.json)
    c = candidate(s)
    expect_status(s.post(url + "/enrollments", {"candidate_ids": [c["id"]]}), 201)
    expect_problem(s.delete(url, headers={"If-Match": '"v3"'}), 412)
    expect(len(enrollments(s, seq["id"])) == 1, "a refused DELETE removes nothing")
    expect_problem(s.delete("/api/v1/sequences/seq_nosuch", headers={"If-Match": '"v1"'}), 404)
    expect_status(s.delete(url, headers={"If-Match": '"v4"'}), 204)
    expect_problem(s.get(url), 404)


def test_conditions_tasks_and_branches(s):
    steps = [
        {"type": "condition", "lua": "local ctx = ...\nreturn ctx.candidate.source == 'referral'",
         "then": "continue", "else": {"goto": 2}},
        {"type": "task", "title": "Call the referral", "due_in_days": 2},
        {"type": "condition", "lua": "local ctx = ...\nfor _, t in ipairs(ctx.candidate.tags) do "
                                     "if t == 'vip' then return true end end\nreturn false",
         "then": "continue", "else": "stop"},
        {"type": "task", "title": "VIP follow-up"},
    ]
    seq = sequence(s, steps)
    expect(len({st["id"] for st in seq["steps"]}) == 4 and all(st["id"].startswith("stp_") for st in seq["steps"]), seq)
    a = candidate(s, source="referral", tags=["vip"])
    b = candidate(s, source="web", tags=["vip"])
    c = candidate(s, source="referral")
    r = expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"],
                             {"candidate_ids": [a["id"], b["id"], c["id"], a["id"]]}), 201).json
    expect(r["enrolled"] == [a["id"], b["id"], c["id"]] and r["already_active"] == [a["id"]], r)
    done = wait_until("three completed", lambda: (lambda e: e if all(x["status"] == "completed" for x in e.values())
                                                  else None)(enrollments(s, seq["id"])))
    # c took the "stop" branch at step 2: completed there.
    expect([done[x["id"]]["current_step"] for x in (a, b, c)] == [4, 4, 2], done)
    expect(all(e["stop_reason"] is None for e in done.values()), done)
    admin = s.user_ids["admin"]
    expect(tasks_of(s, a["id"]) == [("Call the referral", admin), ("VIP follow-up", admin)], tasks_of(s, a["id"]))
    expect(tasks_of(s, b["id"]) == [("VIP follow-up", admin)], tasks_of(s, b["id"]))
    expect(tasks_of(s, c["id"]) == [("Call the referral", admin)], tasks_of(s, c["id"]))
    # Enrolling recorded a touch with the sequence's name.
    touches = s.db_query("SELECT t.channel, t.source FROM touches t JOIN candidates c ON c.rowid = t.candidate_rowid "
                         "WHERE c.id = ?", a["id"])
    expect(("sequence", seq["name"]) in touches, touches)
    # Completed: enrolling again is a new enrollment (not active any more).
    again = expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [b["id"]]}), 201)
    expect(again.json["enrolled"] == [b["id"]], again.json)


def test_business_days_and_manual_stop(s):
    seq = sequence(s, [{"type": "wait", "business_days": 2}, {"type": "task", "title": "Later"}])
    c = candidate(s, custom_fields={})
    expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [c["id"]]}), 201)
    e = wait_until("the wait ran", lambda: (lambda x: x if x["current_step"] == 1 else None)(
        enrollments(s, seq["id"])[c["id"]]))
    at = time.strptime(e["next_run_at"][:19], "%Y-%m-%dT%H:%M:%S")
    now = time.gmtime()
    expect(at.tm_wday < 5, "a weekday", e["next_run_at"])
    days = (time.mktime(at) - time.mktime(now)) / 86400
    expect(1.9 < days < 4.1, "two business days later", e["next_run_at"], days)
    r = expect_status(s.request("POST", "/api/v1/sequences/%s/enrollments/%s/stop" % (seq["id"], c["id"])), 200).json
    expect(r["status"] == "stopped" and r["stop_reason"] == "manual" and r["next_run_at"] is None, r)
    expect_status(s.request("POST", "/api/v1/sequences/%s/enrollments/%s/stop" % (seq["id"], c["id"])), 409)


def first_messages_by_rcpt(msgs):
    return {m.rcpt_tos[0]: m for m in msgs}


def test_edit_never_resends(s):
    steps = [{"type": "email", "subject": "First {{candidate.first_name}}", "body_text": "one"},
             {"type": "wait", "delay_seconds": 2},
             {"type": "email", "subject": "Second {{candidate.first_name}}", "body_text": "two"}]
    seq = sequence(s, steps)
    c = candidate(s, first="Edith")
    to = c["emails"][0]
    before = SMTP.count()
    expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [c["id"]]}), 201)
    wait_until("first step done", lambda: enrollments(s, seq["id"])[c["id"]]["sent_count"] == 1)
    got = expect_status(s.get("/api/v1/sequences/%s" % seq["id"]), 200)
    cur, etag = got.json, got.headers.get("etag")
    expect(etag == '"v%d"' % cur["version"], got.headers, cur)
    first, wait, second = cur["steps"]
    # Reorder: the second email first, then the first one (edited, its id echoed), no wait.
    edited = dict(first, subject="First EDITED {{candidate.first_name}}")
    r = expect_status(s.patch("/api/v1/sequences/%s" % seq["id"], {"steps": [second, edited]},
                              headers={"If-Match": etag}), 200)
    expect([st["id"] for st in r.json["steps"]] == [second["id"], first["id"]], r.json["steps"])
    expect(r.headers.get("etag") == '"v%d"' % (cur["version"] + 1), "a new ETag", r.headers)
    expect_problem(s.patch("/api/v1/sequences/%s" % seq["id"], {"name": "stale"}, headers={"If-Match": etag}), 412)
    expect(s.get("/api/v1/sequences/%s" % seq["id"]).json["name"] == seq["name"], "a stale PATCH changes nothing")
    e = wait_until("completed", lambda: (lambda x: x if x["status"] == "completed" else None)(
        enrollments(s, seq["id"])[c["id"]]))
    expect(e["sent_count"] == 2 and len(e["messages"]) == 2, e)
    time.sleep(1.5)
    mine = [m for m in SMTP.messages()[before:] if m.rcpt_tos == [to]]
    expect(sorted(m["Subject"] for m in mine) == ["First Edith", "Second Edith"], [m["Subject"] for m in mine])


def reply_to(msg, n):
    return ("From: %s\r\nTo: %s\r\nSubject: Re: %s\r\nMessage-ID: <reply%d.%d@example.test>\r\n"
            "In-Reply-To: %s\r\nReferences:\r\n %s\r\n\r\nYes, interested.\r\n" % (
                msg.rcpt_tos[0], FROM, msg["Subject"], n, next(_n), msg["Message-ID"], msg["Message-ID"])).encode()


def dsn_for(msg):
    boundary = "dsn-boundary-1"
    return ("From: Mail Delivery System <MAILER-DAEMON@mx.example.test>\r\nTo: %s\r\n"
            "Subject: Undelivered Mail Returned to Sender\r\nMessage-ID: <dsn%d@mx.example.test>\r\n"
            "MIME-Version: 1.0\r\nContent-Type: multipart/report; report-type=delivery-status;\r\n"
            "\tboundary=\"%s\"\r\n\r\n--%s\r\nContent-Type: text/plain\r\n\r\nYour message could not be delivered.\r\n"
            "--%s\r\nContent-Type: message/delivery-status\r\n\r\nReporting-MTA: dns; mx.example.test\r\n\r\n"
            "Final-Recipient: rfc822; %s\r\nAction: failed\r\nStatus: 5.1.1\r\n\r\n"
            "--%s\r\nContent-Type: text/rfc822-headers\r\n\r\nMessage-ID: %s\r\nSubject: %s\r\n\r\n--%s--\r\n" % (
                FROM, next(_n), boundary, boundary, boundary, msg.rcpt_tos[0], boundary, msg["Message-ID"],
                msg["Subject"], boundary)).encode()


def test_fifty_candidates_replies_bounce_applied_pause(s):
    steps = [{"type": "email", "subject": "Hello {{candidate.first_name}}",
              "body_text": "Hi {{candidate.first_name}} {{candidate.last_name}}, from {{sender.name}}."},
             {"type": "wait", "delay_seconds": 3},
             {"type": "email", "subject": "Again {{candidate.first_name}}", "body_text": "Second note."}]
    seq = sequence(s, steps, name="Fifty")
    cands = [candidate(s, first="Fifty%02d" % i) for i in range(50)]
    by_email = {c["emails"][0]: c for c in cands}
    before = SMTP.count()
    r = expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"],
                             {"candidate_ids": [c["id"] for c in cands]}), 201).json
    expect(len(r["enrolled"]) == 50, r)
    wait_until("50 first steps", lambda: all(e["sent_count"] == 1 for e in enrollments(s, seq["id"]).values()))
    paused = expect_status(s.request("POST", "/api/v1/sequences/%s/pause" % seq["id"]), 200).json
    expect(paused["status"] == "paused", paused)
    msgs = SMTP.wait_for(before + 50, timeout=60)[before:]
    firsts = first_messages_by_rcpt(msgs)
    expect(len(msgs) == 50 and set(firsts) == set(by_email), len(msgs))
    ens = enrollments(s, seq["id"])
    for addr, m in firsts.items():
        c = by_email[addr]
        expect(m["Subject"] == "Hello %s" % c["first_name"], m["Subject"])
        body = m.get_payload(decode=True) if not m.is_multipart() else m.get_payload(0).get_payload(decode=True)
        expect(("Hi %s Case, from Admin." % c["first_name"]).encode() in body, body[:200])
        expect(m["Message-ID"] and m["Message-ID"] == ens[c["id"]]["messages"][0]["message_id"],
               m["Message-ID"], ens[c["id"]]["messages"])
        expect(m["List-Unsubscribe"] and m.mail_from == FROM, m["List-Unsubscribe"], m.mail_from)
    # Paused past the end of the wait: nothing more is sent.
    time.sleep(4)
    expect(SMTP.count() == before + 50, "nothing sent while paused", SMTP.count() - before)
    # 5 replies, 1 bounce (DSN), 1 application.
    repliers, bounced, applicant = cands[:5], cands[5], cands[6]
    for i, c in enumerate(repliers):
        IMAP.append(reply_to(firsts[c["emails"][0]], i))
    IMAP.append(dsn_for(firsts[bounced["emails"][0]]))
    job = expect_status(s.post("/api/v1/jobs", {"title": "Sequence job", "status": "open", "openings": 1}), 201).json
    expect_status(s.post("/api/v1/applications", {"candidate_id": applicant["id"], "job_id": job["id"], "source": "referral"}), 201)
    try:
        wait_until("7 stops", lambda: sum(e["status"] == "stopped" for e in enrollments(s, seq["id"]).values()) == 7,
                   timeout=30)
    except AssertionError:
        print("\n".join(l for l in s.log().splitlines() if '"event":"request"' not in l)[-3000:])
        print({c: (e["status"], e["stop_reason"]) for c, e in enrollments(s, seq["id"]).items() if e["status"] != "active"})
        raise
    ens = enrollments(s, seq["id"])
    reasons = {cid: e["stop_reason"] for cid, e in ens.items() if e["status"] == "stopped"}
    want = {c["id"]: "replied" for c in repliers}
    want[bounced["id"]] = "bounced"
    want[applicant["id"]] = "applied"
    expect(reasons == want, reasons, want)
    # The reply is on the person's history with its subject.
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % repliers[0]["id"]), 200).json["data"]
    ins = [a for a in acts if a["kind"] == "email_in"]
    expect(len(ins) == 1 and ins[0]["body"] == "Re: Hello %s" % repliers[0]["first_name"], ins)
    sup = expect_status(s.get("/api/v1/email/suppressions"), 200).json["data"]
    expect(any(x["address"] == bounced["emails"][0] and x["reason"] == "bounced" for x in sup), sup)
    # Resume: the 43 others get their second message and complete.
    expect_status(s.request("POST", "/api/v1/sequences/%s/resume" % seq["id"]), 200)
    msgs = SMTP.wait_for(before + 93, timeout=60)[before:]
    time.sleep(1.5)
    seconds = [m for m in SMTP.messages()[before:] if m["Subject"].startswith("Again ")]
    stopped_addrs = {c["emails"][0] for c in repliers + [bounced, applicant]}
    expect(len(seconds) == 43 and not ({m.rcpt_tos[0] for m in seconds} & stopped_addrs), len(seconds))
    ens = wait_until("43 completed", lambda: (lambda e: e if sum(x["status"] == "completed" for x in e.values()) == 43
                                              else None)(enrollments(s, seq["id"])))
    expect(all(e["sent_count"] == 2 for e in ens.values() if e["status"] == "completed"), ens)
    sent = wait_until("outbox sent", lambda: (lambda e: e if all(m["status"] == "sent" and m["sent_at"]
                                                                 for x in e.values() if x["status"] == "completed"
                                                                 for m in x["messages"]) else None)(enrollments(s, seq["id"])))
    expect(sum(len(x["messages"]) for x in sent.values()) == 93, "every message listed once")
    # Events: email.replied x5 and email.bounced x1 in the feed.
    events = s.db_query("SELECT type, count(*) FROM events WHERE type LIKE 'email.%' GROUP BY type")
    expect(dict(events).get("email.replied") == 5 and dict(events).get("email.bounced") == 1, events)


def test_delete(s):
    seq = sequence(s, [{"type": "wait", "delay_seconds": 3600}])
    c = candidate(s)
    expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [c["id"]]}), 201)
    expect_status(s.delete("/api/v1/sequences/%s" % seq["id"]), 204)
    expect_status(s.get("/api/v1/sequences/%s" % seq["id"]), 404)
    expect(s.db_query("SELECT count(*) FROM sequences_enrollments e WHERE candidate_id = ?", c["id"]) == [(0,)])


def test_inbox_robustness_and_from_matching(s):
    """Malformed mail never breaks the poller; a reply matched only by its (folded) From and larger
    than the fetch cap (read by its header) stops its sender; a qmail-style bounce (From
    MAILER-DAEMON, the original Message-ID in the body) stops with bounced; a delayed-delivery DSN
    (4.x.x) stops nobody."""
    seq = sequence(s, [{"type": "email", "subject": "Robust {{candidate.first_name}}", "body_text": "x"},
                       {"type": "wait", "delay_seconds": 3600},
                       {"type": "email", "subject": "Never", "body_text": "y"}])
    x, y, z = candidate(s, first="Xavier"), candidate(s, first="Yara"), candidate(s, first="Zoe")
    before = SMTP.count()
    expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [x["id"], y["id"], z["id"]]}),
                  201)
    firsts = first_messages_by_rcpt(SMTP.wait_for(before + 3)[before:])
    junk = [b"\r\n\r\n", b"no colon here\r\n" * 500 + b"\r\nbody\r\n",
            b"Subject: " + b"A" * 100000 + b"\r\nIn-Reply-To: <<<<>>>>\r\n\r\nx\r\n",
            b"From: <>\r\nReferences: <a@b> <" + b"c" * 5000 + b"@d>\r\nMessage-ID:\r\n\r\n",
            b"Content-Type: multipart/report; report-type=delivery-status\r\n\r\nFinal-Recipient: rfc822;\r\n",
            b"From: \xff\xfe\x80 <stranger@example.test>\r\nIn-Reply-To: <unknown@example.test>\r\n\r\nhi\r\n"]
    for raw in junk:
        try:
            IMAP.append(raw)
        except Exception:
            pass
    big = ("From:\r\n \"Xavier Case\"\r\n\t<%s>\r\nSUBJECT: Re: no thread\r\nMessage-ID: <big.%d@example.test>\r\n\r\n" % (
        x["emails"][0].upper(), next(_n))).encode() + b"x" * (300 * 1024) + b"\r\n"
    IMAP.append(big)
    IMAP.append(("From: MAILER-DAEMON@mx.example.test\r\nSubject: failure notice\r\n\r\nSorry, I could not deliver.\r\n"
                 "--- Below this line is a copy of the message.\r\n\r\nMessage-ID: %s\r\nTo: %s\r\n\r\n" % (
                     firsts[y["emails"][0]]["Message-ID"], y["emails"][0])).encode())
    IMAP.append(("From: postmaster@mx.example.test\r\nSubject: Delayed\r\nContent-Type: multipart/report; "
                 "report-type=delivery-status; boundary=b\r\n\r\n--b\r\nContent-Type: message/delivery-status\r\n\r\n"
                 "Final-Recipient: rfc822; %s\r\nAction: delayed\r\nStatus: 4.4.1\r\n\r\n--b\r\n"
                 "Content-Type: text/rfc822-headers\r\n\r\nMessage-ID: %s\r\n\r\n--b--\r\n" % (
                     z["emails"][0], firsts[z["emails"][0]]["Message-ID"])).encode())
    try:
        ens = wait_until("x and y stopped", lambda: (lambda e: e if e[x["id"]]["status"] == "stopped" and
                                                     e[y["id"]]["status"] == "stopped" else None)(enrollments(s, seq["id"])))
    except AssertionError:
        print("\n".join(l for l in s.log().splitlines() if '"event":"request"' not in l)[-3000:])
        print(s.db_query("SELECT key, value FROM sequences_state"))
        print({c: (e["status"], e["stop_reason"]) for c, e in enrollments(s, seq["id"]).items()})
        raise
    time.sleep(2.5)  # the poller has read the delayed DSN too by now
    ens = enrollments(s, seq["id"])
    expect(ens[x["id"]]["stop_reason"] == "replied" and ens[y["id"]]["stop_reason"] == "bounced", ens)
    expect(ens[z["id"]]["status"] == "active", ens[z["id"]])
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % x["id"]), 200).json["data"]
    expect([a["body"] for a in acts if a["kind"] == "email_in"] == ["Re: no thread"], acts)
    # Nothing personal in the log: no address, no subject.
    log = s.log()
    expect(x["emails"][0] not in log and "no thread" not in log and "Robust" not in log, "personal data in the log")


def test_hired_stops(s):
    job = expect_status(s.post("/api/v1/jobs", {"title": "Hire job", "status": "open", "openings": 1}), 201).json
    app = harness.new_application(s, job)
    time.sleep(1.0)  # application.created is delivered before the enrollment exists
    seq = sequence(s, [{"type": "wait", "delay_seconds": 3600}, {"type": "task", "title": "never"}])
    expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": [app["candidate_id"]]}), 201)
    expect_status(s.post("/api/v1/applications/%s/hire" % app["id"], {}), 200)
    e = wait_until("hired stop", lambda: (lambda x: x if x["status"] == "stopped" else None)(
        enrollments(s, seq["id"])[app["candidate_id"]]))
    expect(e["stop_reason"] == "hired", e)


def test_pool_enrollment_with_crm(s):
    """With the crm plugin enabled (a server of its own), pool_id enrolls every member of the pool."""
    t = harness.Server(extra_args=server_args())
    try:
        for name in ("sequences", "crm"):
            t.cli("plugin", "enable", name, "--data", t.data)
        t.start()
        members = [candidate(t) for _ in range(3)]
        pool = expect_status(t.post("/api/v1/pools", {"name": "Pool %d" % next(_n)}), 201).json
        added = t.post("/api/v1/pools/%s/members" % pool["id"], {"candidate_ids": [c["id"] for c in members]})
        expect(added.status in (200, 201), added)
        seq = sequence(t, [{"type": "wait", "delay_seconds": 3600}])
        r = expect_status(t.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"pool_id": pool["id"]}), 201).json
        expect(sorted(r["enrolled"]) == sorted(c["id"] for c in members) and r["already_active"] == [], r)
        expect_problem(t.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"pool_id": "pool_nosuch"}), 422, "/pool_id")
        expect_problem(t.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"segment_id": "seg_x"}), 422,
                       "/segment_id")
        # A saved segment's current members, evaluated by the crm plugin (talentd/segments.h).
        tagged = [candidate(t, tags=["nurture-me"]) for _ in range(2)]
        segment = expect_status(t.post("/api/v1/segments", {"name": "Nurture %d" % next(_n),
                                                            "filters": {"tags": ["nurture-me"]}}), 201).json
        seq2 = sequence(t, [{"type": "wait", "delay_seconds": 3600}])
        r = expect_status(t.post("/api/v1/sequences/%s/enrollments" % seq2["id"], {"segment_id": segment["id"]}),
                          201).json
        expect(sorted(r["enrolled"]) == sorted(c["id"] for c in tagged), r)
    finally:
        t.cleanup()


def test_refused_sends_stop_with_their_reason(s):
    seq = sequence(s, [{"type": "email", "subject": "Hi", "body_text": "x"}])
    unsub, bounced = candidate(s), candidate(s)
    noemail = expect_status(s.post("/api/v1/candidates", {"first_name": "No", "last_name": "Mail"}), 201).json
    expect_status(s.post("/api/v1/email/suppressions", {"address": unsub["emails"][0], "reason": "unsubscribed"}), 201)
    expect_status(s.post("/api/v1/email/suppressions", {"address": bounced["emails"][0], "reason": "bounced"}), 201)
    ids = [unsub["id"], bounced["id"], noemail["id"]]
    expect_status(s.post("/api/v1/sequences/%s/enrollments" % seq["id"], {"candidate_ids": ids}), 201)
    ens = wait_until("three stopped", lambda: (lambda e: e if all(x["status"] == "stopped" for x in e.values()) else None)(
        enrollments(s, seq["id"])))
    expect([ens[i]["stop_reason"] for i in ids] == ["unsubscribed", "bounced", "manual"], ens)
    expect("no email" in ens[noemail["id"]]["last_error"] and ens[unsub["id"]]["sent_count"] == 0, ens)


if __name__ == "__main__":
    servers = [SMTP, IMAP]
    try:
        for srv in servers:
            srv.start()
        harness.main(server_args=server_args(), prepare=prepare)
    finally:
        for srv in servers:
            srv.stop()
