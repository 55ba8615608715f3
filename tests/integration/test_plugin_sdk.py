"""The plugin SDK from a third party's seat: install talentd into a prefix, build the hello
plugin OUTSIDE the tree against the installed CMake package (and once more with pkg-config),
sign it, and load it into a server that trusts the key. Then exercise the host API through
it (migrations, events, routes with a validated body, a scheduled run, the store guard), and
check that a tampered or unsigned copy is refused."""

import json
import os
import shutil
import subprocess
import tempfile
import time

import harness
from harness import expect, expect_problem, expect_status

BUILD = os.environ.get("TALENTD_BUILD", "build")
SOURCE = os.environ.get("TALENTD_SOURCE", ".")
WORK = tempfile.mkdtemp(prefix="talentd-sdk-")
PREFIX = os.path.join(WORK, "prefix")
PLUGINS = os.path.join(WORK, "hello-build", "plugins")


def run(*cmd, env=None):
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    if p.returncode != 0:
        raise AssertionError("%s failed:\n%s\n%s" % (" ".join(cmd), p.stdout[-3000:], p.stderr[-3000:]))
    return p.stdout


def build_outside(s):
    run("cmake", "--install", BUILD, "--prefix", PREFIX)
    for rel in ("include/talentd/plugin.h", "include/talentd/types.h", "lib/cmake/talentd/talentdConfig.cmake",
                "lib/pkgconfig/talentd-plugin.pc"):
        expect(os.path.exists(os.path.join(PREFIX, rel)), "installed " + rel)
    src = os.path.join(WORK, "hello-src")
    shutil.copytree(os.path.join(SOURCE, "tests", "fixtures", "out_of_tree", "hello"), src)
    out = os.path.join(WORK, "hello-build")
    run("cmake", "-S", src, "-B", out, "-DCMAKE_PREFIX_PATH=" + PREFIX)
    run("cmake", "--build", out)
    # The same source with pkg-config and a bare compiler.
    env = dict(os.environ, PKG_CONFIG_PATH=os.path.join(PREFIX, "lib", "pkgconfig"))
    flags = run("pkg-config", "--cflags", "--libs", "talentd-plugin", env=env).split()
    so = os.path.join(WORK, "hello-pc.so")
    run("cc", "-std=c11", "-shared", "-Wall", "-Werror", os.path.join(src, "hello.c"), "-o", so, *flags)
    exported = run("nm", "-D", "--defined-only", so)
    expect("talentd_plugin_entry" in exported and "record_seen" not in exported, "only the entry is exported")
    # Sign the staged plugin with a new key.
    key = os.path.join(WORK, "vendor")
    s.cli("plugin", "keygen", key)
    s.cli("plugin", "sign", os.path.join(PLUGINS, "hello"), key + ".key")
    with open(key + ".pub") as f:
        pub = f.read().strip()
    s.extra_args = ["--set", "plugins.path=%s" % json.dumps([PLUGINS]), "--set",
                    "plugins.trusted_keys=%s" % json.dumps([pub]), "--set", "plugins.hello.greeting=hi"]
    s.cli("plugin", "enable", "hello", "--data", s.data, *s.extra_args)


def hello(s):
    return next(p for p in s.get("/api/v1/plugins").json["data"] if p["name"] == "hello")


def poll(fn, timeout=10):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = fn()
        if got:
            return got
        time.sleep(0.05)
    raise AssertionError("timed out")


def test_signed_plugin_loads(s):
    p = hello(s)
    expect(p["loaded"] and p["trust"] == "signed" and p["version"] == "0.3.0", p)
    info = json.loads(s.cli("plugin", "info", "hello", "--data", s.data, *s.extra_args))
    expect(info["signature"] == "valid", info)


def test_events_reach_the_plugin(s):
    cand = expect_status(s.post("/api/v1/candidates", {"first_name": "Ola", "last_name": "Nor"}), 201).json
    events = s.get("/api/v1/events?type=candidate.created").json["data"]
    event_id = next(e["id"] for e in events if e["subject"]["id"] == cand["id"])
    rows = poll(lambda: [r for r in s.get("/api/v1/plugins/hello/seen").json["data"] if r["event_id"] == event_id])
    expect(rows == [{"event_id": event_id, "type": "candidate.created"}], rows)


def test_route_body_is_validated_and_run_is_scheduled(s):
    expect_problem(s.post("/api/v1/plugins/hello/greetings", {}), 422, "/name")
    expect_problem(s.post("/api/v1/plugins/hello/greetings", {"name": "x", "extra": 1}), 422, "/extra")
    expect_problem(s.post("/api/v1/plugins/hello/greetings", {"name": "nobody"}), 422, "/name")
    r = expect_status(s.post("/api/v1/plugins/hello/greetings", {"name": "Mara"}, role="recruiter"), 201)
    expect(r.json["run_id"].startswith("srun_"), r.json)
    rows = poll(lambda: s.get("/api/v1/plugins/hello/runs").json["data"])
    expect(rows == [{"message": "hi, Mara", "attempt": 1}], "config and payload reached the handler", rows)
    runs = s.get("/api/v1/scheduled-runs?handler=hello.greet").json["data"]
    expect(len(runs) == 1 and runs[0]["status"] == "done", runs)


def test_store_guard(s):
    r = expect_status(s.get("/api/v1/plugins/hello/probe"), 200)
    expect(r.json == {"read_core": -5, "write_in_read": -5, "pragma": -5}, r.json)
    expect_status(s.get("/api/v1/plugins/hello/probe", role="recruiter"), 403)
    expect_status(s.get("/api/v1/plugins/hello/seen", token="nope"), 401)


def test_tampered_and_unsigned_copies_are_refused(s):
    lib = os.path.join(PLUGINS, "hello", "hello.so")
    sig = os.path.join(PLUGINS, "hello", "plugin.sig")
    s.stop()
    with open(lib, "ab") as f:
        f.write(b"\0")
    s.start()
    p = hello(s)
    expect(not p["loaded"] and "does not verify" in p["error"], p)
    expect_status(s.get("/api/v1/plugins/hello/seen"), 404)
    s.stop()
    os.remove(sig)
    s.start()
    p = hello(s)
    expect(not p["loaded"] and "not signed" in p["error"], p)


if __name__ == "__main__":
    try:
        harness.main(prepare=build_outside)
    finally:
        shutil.rmtree(WORK, ignore_errors=True)
