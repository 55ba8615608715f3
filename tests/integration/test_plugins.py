"""C plugins with the fixture plugins of tests/fixtures/plugins: what the host does with a
library built for another ABI, an init that fails, a registration after init, a slow hook
and a vetoing/modifying filter; the admin API and CLI; and refusing unsigned plugins."""

import json
import os
import subprocess
import sys
import time

import harness
from harness import expect, expect_problem, expect_status

FIXTURES = os.path.join(os.environ.get("TALENTD_BUILD", "build"), "tests", "fixtures", "plugins")
NAMES = ["wrong_abi", "failing_init", "late_register", "slow_hook", "veto_filter"]
PATH_SET = "plugins.path=%s" % json.dumps([os.path.abspath(FIXTURES)])
SERVER_ARGS = ("--set", PATH_SET, "--set", "plugins.allow_unsigned=true")


def enable_fixtures(s):
    for name in NAMES:
        out = s.cli("plugin", "enable", name, "--data", s.data, *SERVER_ARGS)
        expect("enabled" in out, out)


def plugins_by_name(s):
    r = expect_status(s.get("/api/v1/plugins"), 200)
    return {p["name"]: p for p in r.json["data"]}


def wait_for_log(s, needle, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = [json.loads(l) for l in s.log().splitlines() if l.startswith("{") and needle in l]
        if lines:
            return lines
        time.sleep(0.1)
    raise AssertionError("no log line with %r" % needle)


def test_states_in_the_admin_api(s):
    p = plugins_by_name(s)
    expect(set(NAMES) <= set(p), "every fixture is listed", sorted(p))
    expect(not p["wrong_abi"]["loaded"] and "ABI 99" in p["wrong_abi"]["error"], p["wrong_abi"])
    expect(not p["failing_init"]["loaded"] and "init failed" in p["failing_init"]["error"], p["failing_init"])
    for name in ("late_register", "slow_hook", "veto_filter"):
        expect(p[name]["loaded"] and p[name]["trust"] == "unsigned" and p[name]["enabled"], p[name])
    expect(p["late_register"]["routes"] == [{"method": "GET", "path": "/api/v1/plugins/late_register/try"}],
           p["late_register"]["routes"])
    for role in ("recruiter", "hiring_manager", "interviewer"):
        expect_status(s.get("/api/v1/plugins", role=role), 403)


def test_hooks_admin_api(s):
    rows = expect_status(s.get("/api/v1/hooks"), 200).json["data"]
    mine = [(r["hook"], r["package"], r["position"], r["kind"]) for r in rows
            if r["hook"] == "candidate.before_create"]
    expect(mine == [("candidate.before_create", "veto_filter", 1, "filter"),
                    ("candidate.before_create", "slow_hook", 2, "filter")], mine)
    expect(all(r["breaker"] == "closed" for r in rows), rows)
    expect_status(s.get("/api/v1/hooks", role="recruiter"), 403)


def test_failing_init_leaves_nothing_registered(s):
    out = s.cli("hooks", "--data", s.data, *SERVER_ARGS)
    expect("failing_init" not in out and "wrong_abi" not in out, out)
    expect("candidate.before_create\n  1. veto_filter (priority 50)\n  2. slow_hook (priority 0)" in out, out)
    # The failing plugin's filter vetoes everything: a candidate created fine proves it never ran.
    r = s.post("/api/v1/candidates", {"first_name": "Ines", "last_name": "Moura"})
    expect_status(r, 201)


def test_modifying_filter_adds_a_tag(s):
    r = expect_status(s.post("/api/v1/candidates", {"first_name": "Rui", "last_name": "Sá", "tags": ["java"]}), 201)
    expect(sorted(r.json["tags"]) == ["java", "vetted"], r.json)


def test_veto_reaches_the_caller(s):
    job = expect_status(s.post("/api/v1/jobs", {"title": "Analyst", "status": "open", "openings": 1}), 201).json
    cand = expect_status(s.post("/api/v1/candidates", {"first_name": "Eva", "last_name": "Reis"}), 201).json
    app = expect_status(s.post("/api/v1/applications", {"candidate_id": cand["id"], "job_id": job["id"],
                                                           "source": "referral"}), 201).json
    offer = next(st["id"] for st in job["stages"] if st["type"] == "offer")
    screen = next(st["id"] for st in job["stages"] if st["type"] == "screen")
    r = s.post("/api/v1/applications/%s/moves" % app["id"], {"to_stage_id": offer})
    expect_problem(r, 422)
    expect(r.json["detail"] == "offers are frozen until the budget review" and r.json.get("owner") == "veto_filter",
           r.json)
    # Nothing of the refused move is left: still in the first stage, one transition.
    got = expect_status(s.get("/api/v1/applications/%s" % app["id"]), 200).json
    expect(got["stage_id"] == app["stage_id"] and got["version"] == app["version"], got)
    expect_status(s.post("/api/v1/applications/%s/moves" % app["id"], {"to_stage_id": screen}), 200)


def test_filter_payloads_match_the_catalog(s):
    # Exercise every core filter hook, then check what the fixture saw against schemas/hooks/.
    job = expect_status(s.post("/api/v1/jobs", {"title": "Pilot", "status": "open", "openings": 1}), 201).json
    cand = expect_status(s.post("/api/v1/candidates", {"first_name": "Gil", "last_name": "Sol"}), 201).json
    expect_status(s.patch("/api/v1/candidates/" + cand["id"], {"location": "Porto"},
                          headers={"If-Match": '"v%d"' % cand["version"]}), 200)
    app = expect_status(s.post("/api/v1/applications", {"candidate_id": cand["id"], "job_id": job["id"],
                                                        "source": "referral"}), 201).json
    screen = next(st["id"] for st in job["stages"] if st["type"] == "screen")
    expect_status(s.post("/api/v1/applications/%s/moves" % app["id"], {"to_stage_id": screen}), 200)
    expect_status(s.post("/api/v1/applications/%s/reject" % app["id"], {"reason": "not a fit", "kind": "rejected"}), 200)
    expect_status(s.post("/api/v1/plugins/veto_filter/send", {"to": "gil@example.test", "subject": "Hello",
                                                              "candidate_id": cand["id"]}), 200)
    seen = expect_status(s.get("/api/v1/plugins/veto_filter/payloads"), 200).json
    hooks_dir = os.path.join(harness.SOURCE, "schemas", "hooks")
    core = [n[:-5] for n in os.listdir(hooks_dir) if n.endswith(".json")]
    expect(sorted(seen) == sorted(core), "every core filter hook fired", sorted(seen))
    for hook, payload in seen.items():
        p = subprocess.run([harness.BIN, "validate", os.path.join(hooks_dir, hook + ".json")],
                           input=json.dumps(payload), capture_output=True, text=True)
        expect(p.returncode == 0, "%s payload matches its schema: %s" % (hook, p.stdout), payload)
    expect(seen["candidate.before_update"]["changed"] == ["location"], seen["candidate.before_update"])
    catalog = os.path.join(harness.SOURCE, "tests", "tools", "gen_hook_docs.py")
    expect(subprocess.run([sys.executable, catalog, "--check"]).returncode == 0,
           "docs/hooks.md is stale: run python3 tests/tools/gen_hook_docs.py")


def test_plugins_fire_email_before_send(s):
    send = "/api/v1/plugins/veto_filter/send"
    r = expect_status(s.post(send, {"to": "ana@example.test", "subject": "Your interview"}), 200).json
    expect(r["rc"] == 0 and r["proposed"]["subject"] == "[checked] Your interview", r)
    expect(r["proposed"]["to"] == "ana@example.test", "only the subject may change", r)
    r = expect_status(s.post(send, {"to": "ana@example.test", "subject": "SPAM offer"}), 200).json
    expect(r["rc"] == -5 and r["reason"] == "no spam, please", "a veto comes back with its reason", r)
    expect_problem(s.post(send, {"to": "ana@example.test"}), 422, "/subject")


def test_registration_after_init_is_refused(s):
    r = expect_status(s.get("/api/v1/plugins/late_register/try"), 200)
    expect(r.json == {"rc": -5}, "TD_EDENIED", r.json)
    line = wait_for_log(s, "plugin_registration_refused")[-1]
    expect(line["plugin"] == "late_register" and "only during init" in line["reason"], line)
    expect_status(s.get("/api/v1/plugins/late_register/try", role="recruiter"), 403)


def test_slow_callbacks_are_named(s):
    expect_status(s.post("/api/v1/candidates", {"first_name": "Leo", "last_name": "Paz"}), 201)
    slow_filter = wait_for_log(s, '"filter_slow"')[-1]
    expect(slow_filter["package"] == "slow_hook" and slow_filter["ms"] >= 25, slow_filter)
    slow_event = [l for l in wait_for_log(s, '"slow_callback"') if l.get("callback") == "event"]
    expect(slow_event and slow_event[-1]["plugin"] == "slow_hook", slow_event)


def test_unsigned_plugins_are_refused_by_default(s):
    s.stop()
    saved, s.extra_args = s.extra_args, ["--set", PATH_SET]
    s.start()  # the same data directory, without plugins.allow_unsigned
    try:
        p = plugins_by_name(s)
        for name in ("late_register", "veto_filter", "slow_hook"):
            expect(not p[name]["loaded"] and "not signed" in p[name]["error"], p[name])
        r = expect_status(s.post("/api/v1/candidates", {"first_name": "Ana", "last_name": "Dias"}), 201)
        expect(r.json["tags"] == [], "no filter ran", r.json)
        expect_status(s.get("/api/v1/plugins/late_register/try"), 404)
    finally:
        s.stop()
        s.extra_args = saved
        s.start()


if __name__ == "__main__":
    harness.main(server_args=SERVER_ARGS, prepare=enable_fixtures)
