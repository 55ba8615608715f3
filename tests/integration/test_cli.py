"""The command line: users and tokens, migrations, refusing a newer database, and config
validation that names the key at fault."""

import json
import os
import subprocess
import tempfile

import harness
from harness import expect, expect_status


def run(*args, stdin=None):
    return subprocess.run([harness.BIN, *args], input=stdin, capture_output=True, text=True, timeout=60)


def test_token_create_prints_only_the_token(s):
    out = run("token", "create", "--data", s.data, "--email", "recruiter@example.test", "--name", "ci")
    expect(out.returncode == 0, out.stderr)
    lines = out.stdout.splitlines()
    expect(len(lines) == 1 and lines[0].startswith("tdk_"), "stdout is exactly the token", out.stdout)
    r = expect_status(s.get("/api/v1/users/me", token=lines[0]), 200)
    expect(r.json["email"] == "recruiter@example.test")


def test_user_add_rejects_bad_input(s):
    out = run("user", "add", "--data", s.data, "--email", "x@example.test", "--name", "X", "--role", "king",
              "--password-stdin", stdin="long enough password\n")
    expect(out.returncode != 0 and "--role" in out.stderr, out.stderr)
    out = run("user", "add", "--data", s.data, "--email", "y@example.test", "--name", "Y", "--role", "admin",
              "--password-stdin", stdin="short\n")
    expect(out.returncode != 0 and "12 characters" in out.stderr, out.stderr)
    out = run("user", "add", "--data", s.data, "--email", "admin@example.test", "--name", "Dup", "--role", "admin")
    expect(out.returncode != 0 and "already exists" in out.stderr, out.stderr)


def test_newer_database_is_refused(s):
    d = tempfile.mkdtemp(prefix="talentd-newer-")
    out = run("migrate", "--data", d)
    expect(out.returncode == 0, out.stderr)
    subprocess.run(["sqlite3", os.path.join(d, "talentd.db"),
                    "INSERT INTO schema_migrations(version, name, applied_at) VALUES (9999, 'future', 0)"], check=True)
    out = run("serve", "--data", d, "--listen", "127.0.0.1:0")
    expect(out.returncode != 0 and "newer talentd" in out.stderr, "refusal message", out.stderr)


def test_config_errors_name_the_key(s):
    d = tempfile.mkdtemp(prefix="talentd-config-")
    out = run("serve", "--data", d, "--listen", "127.0.0.1:0", "--set", "http.max_body_bytes=12")
    expect(out.returncode != 0 and "/http/max_body_bytes" in out.stderr, out.stderr)
    out = run("serve", "--data", d, "--listen", "127.0.0.1:0", "--set", "htp.max_body_bytes=2048")
    expect(out.returncode != 0 and "/htp" in out.stderr, out.stderr)
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump({"auth": {"argon2_opslimit": 1}}, f)
    out = run("serve", "--data", d, "--listen", "127.0.0.1:0", "--config", path)
    expect(out.returncode != 0 and "/auth/argon2_opslimit" in out.stderr, out.stderr)
    with open(path, "w") as f:
        f.write("{not json")
    out = run("serve", "--data", d, "--listen", "127.0.0.1:0", "--config", path)
    expect(out.returncode != 0 and "config" in out.stderr, out.stderr)


def test_config_file_and_set_override(s):
    d = tempfile.mkdtemp(prefix="talentd-config-")
    path = os.path.join(d, "config.json")
    with open(path, "w") as f:
        json.dump({"http": {"max_headers": 10}}, f)
    other = harness.Server(data_dir=d, users=False, extra_args=["--config", path, "--set", "http.max_headers=12"])
    try:
        other.start()
        headers = "".join("X-H%d: v\r\n" % i for i in range(10))  # 10 + Host + Connection = 12
        ok = other.raw_exchange(("GET /healthz HTTP/1.1\r\nHost: a\r\n%sConnection: close\r\n\r\n" % headers).encode())
        expect(ok.startswith(b"HTTP/1.1 200"), "12 headers accepted", ok[:80])
        headers = "".join("X-H%d: v\r\n" % i for i in range(11))
        bad = other.raw_exchange(("GET /healthz HTTP/1.1\r\nHost: a\r\n%sConnection: close\r\n\r\n" % headers).encode())
        expect(bad.startswith(b"HTTP/1.1 431"), "13 headers refused", bad[:80])
    finally:
        other.cleanup()


def test_hooks_command(s):
    out = run("hooks")
    expect(out.returncode == 0 and "no hooks registered" in out.stdout, out.stdout, out.stderr)
    out = run("hooks", "--set", 'hooks.order={"candidate.before_create": "not-a-list"}')
    expect(out.returncode != 0 and "/hooks/order/candidate.before_create" in out.stderr, out.stderr)


def test_leftover_upload_spool_removed_at_start(s):
    d = tempfile.mkdtemp(prefix="talentd-spool-")
    os.makedirs(os.path.join(d, "tmp"))
    leftover = os.path.join(d, "tmp", "upload-Xy12Ab")
    keep = os.path.join(d, "tmp", "not-ours")
    for path in (leftover, keep):
        with open(path, "wb") as f:
            f.write(b"x" * 1000)
    other = harness.Server(data_dir=d, users=False)
    try:
        other.start()
        expect(not os.path.exists(leftover), "a spool file from a killed run is removed at start")
        expect(os.path.exists(keep), "other files are left alone")
    finally:
        other.cleanup()


if __name__ == "__main__":
    harness.main()
