"""Integration test harness: starts the real talentd binary on 127.0.0.1:0 with a fresh data
directory, creates users of every role with tokens, and talks HTTP/1.1 to it.

A test file defines functions named test_*; harness.main() runs them in order (one server
per file unless a test starts its own), prints one line per test and a closing
"N passed, M failed" line, and exits non-zero on any failure.
"""

import http.client
import json
import os
import shutil
import signal
import sqlite3
import socket
import subprocess
import sys
import tempfile
import time
import traceback

BIN = os.environ.get("TALENTD_BIN", os.path.join(os.path.dirname(__file__), "../../build/talentd"))
SOURCE = os.environ.get("TALENTD_SOURCE", os.path.join(os.path.dirname(__file__), "../.."))
PASSWORD = "correct horse battery staple"
ROLES = ("admin", "recruiter", "hiring_manager", "interviewer")


class Response:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = {k.lower(): v for k, v in headers}
        self.raw = body
        self.json = None
        ctype = self.headers.get("content-type", "")
        if body and "json" in ctype:
            self.json = json.loads(body)

    def __repr__(self):
        return "<%d %s>" % (self.status, self.raw[:300])


class Server:
    """One talentd process with its own data directory."""

    def __init__(self, data_dir=None, extra_args=(), users=True):
        self.own_dir = data_dir is None
        self.data = data_dir or tempfile.mkdtemp(prefix="talentd-test-")
        self.extra_args = list(extra_args)
        self.proc = None
        self.port = None
        self.tokens = {}
        self.user_ids = {}
        if users:
            self._make_users()

    def cli(self, *args, stdin=None, check=True):
        """Runs `talentd ARGS` and returns its stdout."""
        p = subprocess.run([BIN, *args], input=stdin, capture_output=True, text=True, timeout=120)
        if check and p.returncode != 0:
            raise AssertionError("talentd %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr))
        return p.stdout

    def _make_users(self):
        for role in ROLES:
            email = "%s@example.test" % role
            self.user_ids[role] = self.cli("user", "add", "--data", self.data, "--email", email, "--name",
                                           role.replace("_", " ").title(), "--role", role, "--password-stdin",
                                           stdin=PASSWORD + "\n").strip()
            self.tokens[role] = self.cli("token", "create", "--data", self.data, "--email", email).strip()

    def start(self, *args):
        cmd = [BIN, "serve", "--data", self.data, "--listen", "127.0.0.1:0", *self.extra_args, *args]
        self.stderr_path = os.path.join(self.data, "server.log")
        self.stderr = open(self.stderr_path, "ab")
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=self.stderr)
        line = self.proc.stdout.readline().decode()
        if "listening on" not in line:
            self.proc.wait(5)
            raise AssertionError("server did not start: %r; log: %s" % (line, self.log()[-2000:]))
        self.port = int(line.strip().rsplit(":", 1)[1])
        return self

    def db_query(self, sql, *args):
        """Reads the server's database directly (read-only), to check what the API cannot show."""
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(self.data, "talentd.db"), uri=True)
        try:
            return db.execute(sql, args).fetchall()
        finally:
            db.close()

    def log(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode(errors="replace")

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("server did not stop within %ss" % timeout)
        finally:
            self.proc.stdout.close()
            self.stderr.close()
        self.proc = None
        return rc

    def kill(self):
        return self.stop(signal.SIGKILL)

    def cleanup(self):
        if self.proc is not None:
            try:
                self.stop()
            except AssertionError:
                pass
        if self.own_dir:
            shutil.rmtree(self.data, ignore_errors=True)

    def connect(self, timeout=30):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)

    def request(self, method, path, body=None, role="admin", token=None, headers=None, conn=None, raw=None):
        """Sends one request. body is JSON-encoded unless raw (bytes) is given. role picks the
        token of that role's user; role=None sends no credentials."""
        h = {}
        tok = token if token is not None else (self.tokens.get(role) if role else None)
        if tok:
            h["Authorization"] = "Bearer " + tok
        data = raw
        if body is not None and raw is None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        if headers:
            h.update(headers)
        own = conn is None
        c = conn or self.connect()
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            resp = Response(r.status, r.getheaders(), r.read())
        finally:
            if own:
                c.close()
        return resp

    def get(self, path, **kw):
        return self.request("GET", path, **kw)

    def post(self, path, body=None, **kw):
        return self.request("POST", path, body=body if body is not None else {}, **kw)

    def patch(self, path, body, **kw):
        return self.request("PATCH", path, body=body, **kw)

    def delete(self, path, **kw):
        return self.request("DELETE", path, **kw)

    def raw_exchange(self, data, timeout=5.0, read_until_close=True):
        """Sends raw bytes on a fresh socket and returns everything read until the server closes
        (or timeout). Used for framing and smuggling tests."""
        s = socket.create_connection(("127.0.0.1", self.port), timeout=timeout)
        out = b""
        try:
            s.sendall(data)
            deadline = time.time() + timeout
            while time.time() < deadline:
                try:
                    chunk = s.recv(65536)
                except socket.timeout:
                    break
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                out += chunk
                if not read_until_close:
                    break
        finally:
            s.close()
        return out


def expect(cond, message="expectation failed", *context):
    if not cond:
        # message may itself be the object to show (expect(ok, obj)).
        text = message if isinstance(message, str) else repr(message)
        raise AssertionError(text + ("" if not context else ": " + " ".join(repr(c) for c in context)))


def expect_status(resp, status, message=""):
    if resp.status != status:
        raise AssertionError("expected %d, got %d %s %s" % (status, resp.status, message, resp.raw[:500]))
    return resp


def expect_problem(resp, status, pointer=None):
    """The response is an RFC 9457 problem with that status (and, if given, an error whose
    pointer is `pointer`)."""
    expect_status(resp, status)
    expect(resp.headers.get("content-type", "").startswith("application/problem+json"),
           "problem content type", resp.headers.get("content-type"))
    expect(resp.json and resp.json.get("status") == status, "problem status", resp.json)
    if pointer is not None:
        pointers = [e.get("pointer") for e in resp.json.get("errors", [])]
        expect(pointer in pointers, "problem names the field %s" % pointer, pointers)
    return resp


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


_fixture_seq = iter(range(1, 10**9))


def new_application(s, job, to_stage=None):
    """A new candidate applied to job (source referral), then moved to the job's stage of type
    to_stage when given. Returns the application as the API answered."""
    n = next(_fixture_seq)
    cand = expect_status(s.post("/api/v1/candidates", {"first_name": "Fixture%d" % n, "last_name": "Case",
                                                       "emails": ["fixture%d@example.test" % n]}), 201).json
    app = expect_status(s.post("/api/v1/applications", {"candidate_id": cand["id"], "job_id": job["id"],
                                                        "source": "referral"}), 201).json
    if to_stage:
        stage = next(st["id"] for st in job["stages"] if st["type"] == to_stage)
        app = expect_status(s.post("/api/v1/applications/%s/moves" % app["id"], {"to_stage_id": stage}), 200).json
    return app


def sanitizer_reports(log):
    """Lines of a server log that are sanitizer findings."""
    return [line for line in log.splitlines() if any(m in line for m in SANITIZER_MARKERS)]


def main(server_args=(), start=True, users=True, prepare=None):
    """Runs every test_* function of the calling module. Each takes the shared server.
    prepare(server), when given, runs before the server starts (e.g. to enable plugins)."""
    module = sys.modules["__main__"]
    tests = [(name, fn) for name, fn in vars(module).items() if name.startswith("test_") and callable(fn)]
    server = Server(extra_args=server_args, users=users)
    passed = failed = 0
    try:
        if prepare:
            prepare(server)
        if start:
            server.start()
        for name, fn in tests:
            t0 = time.time()
            try:
                fn(server)
                passed += 1
                print("PASS %s (%.2fs)" % (name, time.time() - t0), flush=True)
            except Exception:
                failed += 1
                print("FAIL %s (%.2fs)" % (name, time.time() - t0), flush=True)
                traceback.print_exc()
            if start and (server.proc is None or server.proc.poll() is not None):
                print("server is not running after %s; restarting (log tail follows)" % name)
                print(server.log()[-3000:])
                failed += 0 if server.proc is None else 1
                server.proc = None
                server.start()
        if start and server.proc is not None:
            # A clean stop is part of passing: exit 0 and no sanitizer report in the log.
            rc = server.stop()
            problems = sanitizer_reports(server.log())
            if rc != 0 or problems:
                failed += 1
                print("FAIL server shutdown: exit code %s; %s" % (rc, problems[:3]))
    finally:
        if failed:
            print("--- server log tail ---")
            try:
                print(server.log()[-4000:])
            except OSError:
                pass
        server.cleanup()
    print("%d passed, %d failed" % (passed, failed))
    sys.exit(1 if failed else 0)


def parse_raw_responses(raw):
    """Splits bytes read from a raw socket into Response objects, in order. talentd frames every
    response with Content-Length; an interim 1xx response has no body."""
    out = []
    while raw:
        head, sep, rest = raw.partition(b"\r\n\r\n")
        expect(sep, "a complete response head", raw[:300])
        lines = head.split(b"\r\n")
        expect(lines[0].startswith(b"HTTP/1.1 "), "a status line", lines[0])
        status = int(lines[0].split()[1])
        headers = [(k.strip().decode(), v.strip().decode()) for k, _, v in (l.partition(b":") for l in lines[1:])]
        n = 0 if status < 200 else int(dict((k.lower(), v) for k, v in headers).get("content-length", "0"))
        expect(len(rest) >= n, "a complete response body", raw[:300])
        out.append(Response(status, headers, rest[:n]))
        raw = rest[n:]
    return out
