"""The analytics plugin's weekly plan digest, through the sequences plugin's mail service
(talentd/mail.h) to a real SMTP server (aiosmtpd): every hiring manager with openings due this
quarter gets one email listing their jobs' openings, coverage and the applicants needed; a
manager without such openings gets none; the mail goes through the same outbox as any other
(Message-ID, the configured From). Without SMTP settings the digest is skipped and says why
(test_analytics.py covers the plugin being absent)."""
import datetime
import json

import harness
from harness import expect, expect_status
from mailservers import SmtpServer

SMTP = SmtpServer().start()
FROM = {"address": "talent@acme.test", "name": "Acme Talent"}
SERVER_ARGS = ["--set", "plugins.sequences.smtp_url=%s" % SMTP.url,
               "--set", "plugins.sequences.from=%s" % json.dumps(FROM)]


def prepare(s):
    for name in ("analytics", "sequences"):
        s.cli("plugin", "enable", name, "--data", s.data, *SERVER_ARGS)


def soon(days):
    return (datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(days=days)).strftime("%Y-%m-%d")


def this_quarter_end():
    """The 28th of the quarter's last month: always inside the current quarter."""
    today = datetime.datetime.now(datetime.timezone.utc).date()
    return datetime.date(today.year, (today.month - 1) // 3 * 3 + 3, 28).strftime("%Y-%m-%d")


def test_digest_reaches_each_manager_with_jobs_due(s):
    manager = s.user_ids["hiring_manager"]
    job = expect_status(s.post("/api/v1/jobs", {
        "title": "Platform Engineer <R&D>", "status": "open", "department": "Engineering",
        "hiring_team": {"hiring_managers": [manager]},
        "openings": [{"target_date": this_quarter_end()}, {"target_date": this_quarter_end()}]}), 201).json
    harness.new_application(s, job, to_stage="interview")
    harness.new_application(s, job)
    # A job without openings due this quarter: its manager is not written to.
    expect_status(s.post("/api/v1/jobs", {"title": "Later role", "status": "open",
                                           "openings": [{"target_date": soon(400)}]}), 201)
    SMTP.clear()
    r = expect_status(s.request("POST", "/api/v1/analytics/digest"), 200).json
    expect(r["skipped"] is None and r["sent"] == 1, r)
    msgs = SMTP.wait_for(1)
    expect(len(msgs) == 1, [m["Subject"] for m in msgs])
    msg = msgs[0]
    expect(msg.rcpt_tos == ["hiring_manager@example.test"], msg.rcpt_tos)
    expect(FROM["address"] in msg["From"] and msg["Message-ID"], msg["From"], msg["Message-ID"])
    expect(msg["Subject"].startswith("Hiring plan digest, 20"), msg["Subject"])
    body = "".join(part.get_payload(decode=True).decode("utf-8") for part in msg.walk()
                   if part.get_content_type() == "text/plain")
    expect("Platform Engineer <R&D>" in body and "openings left: 2" in body, body)
    expect("coverage:" in body and "All together: 2 openings left" in body, body)


def test_digest_skipped_without_smtp(s):
    s.stop()
    s.extra_args = []
    s.start()
    r = expect_status(s.request("POST", "/api/v1/analytics/digest"), 200).json
    expect(r["sent"] == 0 and "SMTP" in r["skipped"], r)


if __name__ == "__main__":
    try:
        harness.main(server_args=SERVER_ARGS, prepare=prepare)
    finally:
        SMTP.stop()
