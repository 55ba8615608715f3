"""Attachments: multipart upload to a candidate, content-addressed storage (one file per
content), byte-identical download with safe headers, hostile file names, served media
types, and who may upload, list and download."""

import glob
import hashlib
import os
import signal
import socket
import sqlite3
import threading
import time

import harness
from harness import expect, expect_problem, expect_status

BOUNDARY = "----talentdTestBoundary7MA4YWxkTrZu0gW"


def multipart(parts, boundary=BOUNDARY):
    """parts: list of (headers-dict-or-disposition-string, bytes). Returns (body, content type)."""
    out = b""
    for disposition, data in parts:
        out += b"--" + boundary.encode() + b"\r\n"
        if isinstance(disposition, dict):
            for k, v in disposition.items():
                out += k.encode() + b": " + (v if isinstance(v, bytes) else v.encode()) + b"\r\n"
        else:
            out += b"Content-Disposition: " + disposition.encode() + b"\r\n"
        out += b"\r\n" + data + b"\r\n"
    out += b"--" + boundary.encode() + b"--\r\n"
    return out, "multipart/form-data; boundary=" + boundary


def upload(s, cid, data, filename="cv.pdf", ctype="application/pdf", role="admin", disposition=None):
    disp = disposition or 'form-data; name="file"; filename="%s"' % filename
    headers = {"Content-Disposition": disp}
    if ctype:
        headers["Content-Type"] = ctype
    body, content_type = multipart([(headers, data)])
    return s.request("POST", "/api/v1/candidates/%s/attachments" % cid, raw=body,
                     headers={"Content-Type": content_type}, role=role)


def new_candidate(s, name="Grace"):
    return expect_status(s.post("/api/v1/candidates", {"first_name": name, "last_name": "Hopper"}), 201).json["id"]


def stored_files(s):
    return sorted(p for p in glob.glob(os.path.join(s.data, "attachments", "**", "*"), recursive=True)
                  if os.path.isfile(p))


def tmp_leftovers(s):
    return glob.glob(os.path.join(s.data, "attachments", "*", ".tmp-*"))


PDF = b"%PDF-1.7\n" + bytes(range(256)) * 40 + b"\r\n--" + BOUNDARY.encode()[:10] + b"\r\n\x00end"


def test_round_trip_is_byte_identical(s):
    cid = new_candidate(s)
    r = expect_status(upload(s, cid, PDF), 201)
    a = r.json
    digest = hashlib.sha256(PDF).hexdigest()
    expect(a["id"].startswith("att_") and a["candidate_id"] == cid, a)
    expect(a["filename"] == "cv.pdf" and a["content_type"] == "application/pdf", a)
    expect(a["size"] == len(PDF) and a["sha256"] == digest, a)
    expect(a["uploaded_by"] == s.user_ids["admin"], a)
    expect(r.headers.get("location") == "/api/v1/attachments/" + a["id"], r.headers)
    path = os.path.join(s.data, "attachments", digest[:2], digest[2:])
    with open(path, "rb") as f:
        expect(f.read() == PDF, "stored content is the upload")
    d = expect_status(s.get("/api/v1/attachments/" + a["id"]), 200)
    expect(d.raw == PDF, "download is byte-identical", len(d.raw), len(PDF))
    expect(d.headers.get("content-type") == "application/pdf", d.headers)
    expect(d.headers.get("content-disposition") == "attachment; filename=\"cv.pdf\"; filename*=UTF-8''cv.pdf",
           d.headers)
    expect(d.headers.get("x-content-type-options") == "nosniff", d.headers)
    expect(tmp_leftovers(s) == [], "no temporary files left")
    # History and the outbox.
    acts = expect_status(s.get("/api/v1/candidates/%s/activities" % cid), 200).json["data"]
    expect(any(x.get("kind") == "attachment" for x in acts), "an activity records the upload", acts)
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(s.data, "talentd.db"), uri=True)
    rows = db.execute("SELECT data FROM events WHERE type = 'attachment.created' AND subject_id = ?",
                      (a["id"],)).fetchall()
    db.close()
    expect(len(rows) == 1 and digest in rows[0][0] and cid in rows[0][0], "event", rows)


def test_same_content_is_stored_once(s):
    data = b"same bytes, uploaded three times " * 1000
    before = stored_files(s)
    c1, c2 = new_candidate(s, "One"), new_candidate(s, "Two")
    a1 = expect_status(upload(s, c1, data, "a.txt", "text/plain"), 201).json
    a2 = expect_status(upload(s, c1, data, "b.txt", "text/plain"), 201).json
    a3 = expect_status(upload(s, c2, data, "c.txt", "text/plain"), 201).json
    expect(len({a1["id"], a2["id"], a3["id"]}) == 3, "three attachments")
    expect(a1["sha256"] == a2["sha256"] == a3["sha256"], "same digest")
    added = [p for p in stored_files(s) if p not in before]
    expect(len(added) == 1, "one file for one content", added)
    for a, name in ((a1, "a.txt"), (a3, "c.txt")):
        d = expect_status(s.get("/api/v1/attachments/" + a["id"]), 200)
        expect(d.raw == data and name in d.headers["content-disposition"], d.headers)
    listed = expect_status(s.get("/api/v1/candidates/%s/attachments" % c1), 200).json
    expect([x["id"] for x in listed["data"]] == [a1["id"], a2["id"]] and listed["next_cursor"] is None, listed)
    page = expect_status(s.get("/api/v1/candidates/%s/attachments?limit=1" % c1), 200).json
    expect([x["id"] for x in page["data"]] == [a1["id"]] and page["next_cursor"], page)
    page2 = expect_status(s.get("/api/v1/candidates/%s/attachments?limit=1&cursor=%s" % (c1, page["next_cursor"])),
                          200).json
    expect([x["id"] for x in page2["data"]] == [a2["id"]], page2)


def test_hostile_file_names(s):
    cid = new_candidate(s)
    # CR LF in filename* (RFC 8187 escapes): the classic response-splitting attempt.
    evil = "form-data; name=\"file\"; filename=\"x.txt\"; filename*=UTF-8''evil%0D%0ASet-Cookie%3A%20pwned%3D1.txt"
    a = expect_status(upload(s, cid, b"hello", ctype="text/plain", disposition=evil), 201).json
    expect(a["filename"] == "evilSet-Cookie: pwned=1.txt", "control characters removed", a["filename"])
    d = expect_status(s.get("/api/v1/attachments/" + a["id"]), 200)
    expect("set-cookie" not in d.headers, "no injected header", d.headers)
    cd = d.headers["content-disposition"]
    expect(cd == "attachment; filename=\"evilSet-Cookie: pwned=1.txt\"; "
                 "filename*=UTF-8''evilSet-Cookie%3A%20pwned%3D1.txt", cd)
    # The raw response: exactly one Set-Cookie-free header block, no stray lines.
    raw = raw_get(s, "/api/v1/attachments/" + a["id"])
    head = raw.split(b"\r\n\r\n", 1)[0]
    expect(b"\r\nSet-Cookie" not in head and b"\n\n" not in head, "header block intact", head)
    # Directories, quotes, bidi overrides and non-ASCII.
    cases = [
        ('form-data; name="file"; filename="../../etc/passwd"', "passwd"),
        ('form-data; name="file"; filename="C:\\Users\\ana\\cv.doc"', "cv.doc"),
        ('form-data; name="file"; filename="say \\"hi\\".txt"', 'say "hi".txt'),
        ("form-data; name=\"file\"; filename*=UTF-8''cv%E2%80%AEfdp.exe", "cvfdp.exe"),
        ('form-data; name="file"; filename="..."', "attachment"),
        ('form-data; name="file"', "attachment"),
        ("form-data; name=\"file\"; filename*=UTF-8''Lebenslauf%20M%C3%BCller.pdf", "Lebenslauf Müller.pdf"),
    ]
    for disposition, want in cases:
        a = expect_status(upload(s, cid, b"%PDF-x", ctype=None, disposition=disposition), 201).json
        expect(a["filename"] == want, "cleaned name", disposition, a["filename"])
    d = expect_status(s.get("/api/v1/attachments/" + a["id"]), 200)
    expect(d.headers["content-disposition"] == "attachment; filename=\"Lebenslauf M__ller.pdf\"; "
                                              "filename*=UTF-8''Lebenslauf%20M%C3%BCller.pdf", d.headers)
    long_name = "x" * 300 + ".pdf"
    a = expect_status(upload(s, cid, b"%PDF-x", filename=long_name), 201).json
    expect(len(a["filename"].encode()) == 200 and a["filename"].endswith(".pdf"), "capped, extension kept", a)


def raw_get(s, path):
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        sock.sendall(("GET %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nConnection: close\r\n\r\n"
                      % (path, s.tokens["admin"])).encode())
        out = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return out
            out += chunk
    finally:
        sock.close()


def test_served_media_types(s):
    cid = new_candidate(s)
    html = b"<html><script>alert(1)</script></html>"
    a = expect_status(upload(s, cid, html, "page.html", "text/html"), 201).json
    expect(a["content_type"] == "text/html", "declared type recorded", a)
    d = expect_status(s.get("/api/v1/attachments/" + a["id"]), 200)
    expect(d.headers["content-type"] == "application/octet-stream" and d.raw == html, "never rendered", d.headers)
    svg = expect_status(upload(s, cid, b"<svg onload=alert(1)/>", "i.svg", "image/svg+xml"), 201).json
    d = expect_status(s.get("/api/v1/attachments/" + svg["id"]), 200)
    expect(d.headers["content-type"] == "application/octet-stream", d.headers)
    fake = expect_status(upload(s, cid, b"MZ\x90\x00 not a pdf", "cv.pdf", "application/pdf"), 201).json
    d = expect_status(s.get("/api/v1/attachments/" + fake["id"]), 200)
    expect(d.headers["content-type"] == "application/octet-stream", "bytes disagree with the type", d.headers)
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64
    p = expect_status(upload(s, cid, png, "photo", None), 201).json
    expect(p["content_type"] == "image/png", "sniffed when undeclared", p)
    p = expect_status(upload(s, cid, png, "photo", "application/octet-stream"), 201).json
    expect(p["content_type"] == "image/png", "sniffed when generic", p)
    d = expect_status(s.get("/api/v1/attachments/" + p["id"]), 200)
    expect(d.headers["content-type"] == "image/png" and d.raw == png, d.headers)
    odd = expect_status(upload(s, cid, b"data", "x.bin", "Application/X-Custom; charset=\"utf-8\""), 201).json
    expect(odd["content_type"] == "application/x-custom", "normalised", odd)
    bad = expect_status(upload(s, cid, b"data", "x.bin", "not a type"), 201).json
    expect(bad["content_type"] == "application/octet-stream", bad)


def test_bad_uploads(s):
    cid = new_candidate(s)
    url = "/api/v1/candidates/%s/attachments" % cid
    expect_problem(s.post(url, {"file": "x"}), 415)
    body, ctype = multipart([('form-data; name="other"', b"x")])
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": ctype}), 422, "/file")
    body, ctype = multipart([('form-data; name="file"; filename="a"', b"x"), ('form-data; name="file"; filename="b"',
                                                                              b"y")])
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": ctype}), 422, "/file")
    body, ctype = multipart([('form-data; name="file"; filename="empty.txt"', b"")])
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": ctype}), 422, "/file")
    body, ctype = multipart([('form-data; name="file"; filename="a"', b"x")])
    expect_problem(s.request("POST", url, raw=body[:-10], headers={"Content-Type": ctype}), 400)
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": "multipart/form-data; boundary=zz"}), 400)
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": "multipart/form-data"}), 400)
    expect_problem(s.request("POST", "/api/v1/candidates/can_nope/attachments", raw=body,
                             headers={"Content-Type": ctype}), 404)
    expect(s.get(url).json["data"] == [], "nothing was recorded")
    expect_problem(s.get("/api/v1/attachments/att_nope"), 404)


def test_upload_limit(s):
    # Announcing more than 10 MiB is refused before the body is read.
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    try:
        sock.sendall(("POST /api/v1/candidates/x/attachments HTTP/1.1\r\nHost: x\r\n"
                      "Authorization: Bearer %s\r\nContent-Type: multipart/form-data; boundary=b\r\n"
                      "Content-Length: %d\r\n\r\n" % (s.tokens["admin"], 10 * 1024 * 1024 + 1)).encode())
        resp = sock.recv(4096)
    finally:
        sock.close()
    expect(resp.startswith(b"HTTP/1.1 413"), resp[:100])
    # Just under the limit is accepted, and comes back whole.
    cid = new_candidate(s)
    data = os.urandom(10 * 1024 * 1024 - 4096)
    a = expect_status(upload(s, cid, data, "big.bin", "application/octet-stream"), 201).json
    expect(a["size"] == len(data), a)
    expect(s.get("/api/v1/attachments/" + a["id"]).raw == data, "big round trip")


def test_permissions(s):
    cid = new_candidate(s, "Perm")
    a = expect_status(upload(s, cid, b"%PDF-secret", "secret.pdf", role="recruiter"), 201).json
    # Roles that cannot see the candidate: 404 everywhere, nothing revealed.
    for role in ("hiring_manager", "interviewer"):
        expect_problem(s.get("/api/v1/attachments/" + a["id"], role=role), 404)
        expect_problem(s.get("/api/v1/candidates/%s/attachments" % cid, role=role), 404)
        expect_problem(upload(s, cid, b"x", role=role), 404)
    # Put them on a job the candidate applied to: they now see the candidate.
    team = {"hiring_managers": [s.user_ids["hiring_manager"]], "interviewers": [s.user_ids["interviewer"]]}
    job = expect_status(s.post("/api/v1/jobs", {"title": "Attachment probe", "status": "open", "hiring_team": team}),
                        201).json
    expect_status(s.post("/api/v1/applications", {"candidate_id": cid, "job_id": job["id"], "source": "t"}), 201)
    d = expect_status(s.get("/api/v1/attachments/" + a["id"], role="hiring_manager"), 200)
    expect(d.raw == b"%PDF-secret", "hiring manager reads it")
    expect_status(s.get("/api/v1/candidates/%s/attachments" % cid, role="hiring_manager"), 200)
    expect_problem(upload(s, cid, b"x", role="hiring_manager"), 403)  # read only
    # Interviewers see the candidate but their role has no access to files.
    expect_problem(s.get("/api/v1/attachments/" + a["id"], role="interviewer"), 403)
    expect_problem(upload(s, cid, b"x", role="interviewer"), 403)
    expect(len(s.get("/api/v1/candidates/%s/attachments" % cid).json["data"]) == 1, "no extra rows")


def test_attachments_follow_a_merge(s):
    survivor, duplicate = new_candidate(s, "Keep"), new_candidate(s, "Dup")
    a = expect_status(upload(s, duplicate, b"%PDF-dup", "dup.pdf"), 201).json
    expect_status(s.post("/api/v1/candidates/%s/merge" % survivor, {"duplicate_id": duplicate}), 200)
    listed = expect_status(s.get("/api/v1/candidates/%s/attachments" % survivor), 200).json["data"]
    expect([x["id"] for x in listed] == [a["id"]] and listed[0]["candidate_id"] == survivor, listed)
    # The merged-away id still resolves, for listing and for new uploads.
    via_alias = expect_status(s.get("/api/v1/candidates/%s/attachments" % duplicate), 200).json["data"]
    expect([x["id"] for x in via_alias] == [a["id"]], via_alias)
    b = expect_status(upload(s, duplicate, b"%PDF-late", "late.pdf"), 201).json
    expect(b["candidate_id"] == survivor, b)
    expect(s.get("/api/v1/attachments/" + a["id"]).raw == b"%PDF-dup")


# ---------- uploads are streamed to disk ----------

def metric(s, name):
    """The value of an unlabelled metric in /metrics, or 0 when it has not appeared yet."""
    text = expect_status(s.get("/metrics", role=None), 200).raw.decode()
    for line in text.splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def spool_files(s):
    return sorted(glob.glob(os.path.join(s.data, "tmp", "*")))


def expect_spool_empty(s, why):
    """Temporary body files go away when their request is done (removal is asynchronous)."""
    deadline = time.time() + 3
    while spool_files(s) and time.time() < deadline:
        time.sleep(0.02)
    expect(spool_files(s) == [], "no temporary body file left " + why, spool_files(s))


def upload_head(s, cid, length, ctype, extra=""):
    return ("POST /api/v1/candidates/%s/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
            "Content-Type: %s\r\nContent-Length: %d\r\n%s\r\n" % (cid, s.tokens["admin"], ctype, length, extra)).encode()


def read_all(sock):
    out = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, socket.timeout):
            return out
        if not chunk:
            return out
        out += chunk


def test_big_upload_holds_a_small_buffer(s):
    """9.5 MiB go through the server holding at most a few buffers of it in memory at once:
    the server counts the most body bytes a streamed upload ever held (its spool buffers and
    the socket bytes held back while the disk catches up) and every byte written to disk."""
    cid = new_candidate(s)
    data = os.urandom(int(9.5 * 1024 * 1024))
    spooled = metric(s, "td_http_upload_spooled_bytes_total")
    a = expect_status(upload(s, cid, data, "big.bin", "application/octet-stream"), 201).json
    expect(a["size"] == len(data) and a["sha256"] == hashlib.sha256(data).hexdigest(), a)
    peak = metric(s, "td_http_upload_memory_peak_bytes")
    written = metric(s, "td_http_upload_spooled_bytes_total") - spooled
    # (/metrics prints counters with 6 significant digits.)
    expect(written >= 0.999 * len(data), "the whole body went to disk", written, len(data))
    expect(0 < peak <= 512 * 1024, "at most 512 KiB of a 9.5 MiB body in memory at once", peak)
    expect_spool_empty(s, "after a successful upload")
    expect(s.get("/api/v1/attachments/" + a["id"]).raw == data, "big round trip")


def test_body_reaches_disk_while_it_arrives(s):
    """Half a body sent, the rest held back: that half is already in a temporary file under
    DATA/tmp, and the server serves other clients meanwhile. Then the rest arrives and the
    upload completes; the temporary file goes."""
    cid = new_candidate(s)
    data = b"%PDF-1.7\n" + os.urandom(3 * 1024 * 1024)
    body, ctype = multipart([({"Content-Disposition": 'form-data; name="file"; filename="slow.pdf"',
                               "Content-Type": "application/pdf"}, data)])
    half = len(body) // 2
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        sock.sendall(upload_head(s, cid, len(body), ctype) + body[:half])
        deadline = time.time() + 5
        sizes = []
        while time.time() < deadline:
            sizes = [os.path.getsize(p) for p in spool_files(s)]
            if sizes and sizes[0] >= half - 64 * 1024:
                break
            time.sleep(0.02)
        expect(len(sizes) == 1 and half - 64 * 1024 <= sizes[0] <= half, "half the body is on disk", sizes, half)
        mode = os.stat(spool_files(s)[0]).st_mode & 0o777
        expect(mode == 0o600, "private temporary file", oct(mode))
        expect_status(s.get("/api/v1/candidates/" + cid), 200)  # the loop is not held up
        sock.sendall(body[half:])
        sock.shutdown(socket.SHUT_WR)
        replies = harness.parse_raw_responses(read_all(sock))
    finally:
        sock.close()
    expect([r.status for r in replies] == [201], replies)
    a = replies[0].json
    expect(a["size"] == len(data) and a["sha256"] == hashlib.sha256(data).hexdigest(), a)
    expect_spool_empty(s, "after the slow upload")


def test_temporary_files_removed_on_every_outcome(s):
    cid = new_candidate(s)
    url = "/api/v1/candidates/%s/attachments" % cid
    body, ctype = multipart([('form-data; name="file"; filename="a.txt"', b"x" * 200000)])
    expect_problem(s.request("POST", url, raw=body[:-10], headers={"Content-Type": ctype}), 400)
    expect_spool_empty(s, "after a malformed body")
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": ctype}, role=None), 401)
    expect_spool_empty(s, "after an unauthenticated upload")
    expect_problem(s.request("POST", url, raw=body, headers={"Content-Type": "text/plain"}), 415)
    expect_spool_empty(s, "after a refused media type")
    expect_problem(s.request("POST", "/api/v1/candidates/can_nope/attachments", raw=body,
                             headers={"Content-Type": ctype}), 404)
    expect_spool_empty(s, "after an unknown candidate")
    expect_problem(upload(s, cid, b"x" * 1000, role="interviewer"), 404)
    expect_spool_empty(s, "after a refused role")
    # The client goes away in the middle of the body.
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
    sock.sendall(upload_head(s, cid, len(body) + 500000, ctype) + body)
    deadline = time.time() + 5
    while not spool_files(s) and time.time() < deadline:
        time.sleep(0.01)
    expect(len(spool_files(s)) == 1, "the body was being written", spool_files(s))
    sock.close()
    expect_spool_empty(s, "after the client left mid-body")
    # Over the limit in chunks: refused at the crossing, the partial file removed.
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        sock.sendall(("POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\nContent-Type: %s\r\n"
                      "Transfer-Encoding: chunked\r\n\r\n" % (url, s.tokens["admin"], ctype)).encode())
        piece = b"z" * (1024 * 1024)
        try:
            for _ in range(11):
                sock.sendall(b"%x\r\n%s\r\n" % (len(piece), piece))
        except (BrokenPipeError, ConnectionResetError):
            pass
        replies = harness.parse_raw_responses(read_all(sock))
    finally:
        sock.close()
    expect([r.status for r in replies] == [413], "413 at the crossing", replies)
    expect_spool_empty(s, "after a body over the limit")
    expect(s.get(url).json["data"] == [], "nothing was recorded")


def test_chunked_and_pipelined_uploads(s):
    """A chunked upload is stored whole; requests pipelined after uploads on the same
    connection are answered after them, in order; Expect: 100-continue works."""
    cid = new_candidate(s)
    one = b"%PDF-one" + os.urandom(300000)
    two = b"%PDF-two" + os.urandom(200000)
    b1, ctype = multipart([('form-data; name="file"; filename="one.pdf"', one)])
    b2, _ = multipart([('form-data; name="file"; filename="two.pdf"', two)])
    chunked = b"".join(b"%x\r\n%s\r\n" % (len(b1[i:i + 70000]), b1[i:i + 70000]) for i in range(0, len(b1), 70000))
    chunked += b"0\r\n\r\n"
    head1 = ("POST /api/v1/candidates/%s/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
             "Content-Type: %s\r\nTransfer-Encoding: chunked\r\n\r\n" % (cid, s.tokens["admin"], ctype)).encode()
    get = ("GET /api/v1/candidates/%s/attachments HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
           "Connection: close\r\n\r\n" % (cid, s.tokens["admin"])).encode()
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        sock.sendall(head1 + chunked + upload_head(s, cid, len(b2), ctype) + b2 + get)
        replies = harness.parse_raw_responses(read_all(sock))
    finally:
        sock.close()
    expect([r.status for r in replies] == [201, 201, 200], replies)
    a1, a2 = replies[0].json, replies[1].json
    expect(a1["sha256"] == hashlib.sha256(one).hexdigest() and a1["filename"] == "one.pdf", a1)
    expect(a2["sha256"] == hashlib.sha256(two).hexdigest() and a2["filename"] == "two.pdf", a2)
    # (Pipelined requests run concurrently; only their answers are ordered.)
    listed = [x["id"] for x in s.get("/api/v1/candidates/%s/attachments" % cid).json["data"]]
    expect(sorted(listed) == sorted([a1["id"], a2["id"]]), "both stored", listed)
    # Expect: 100-continue, then the body.
    sock = socket.create_connection(("127.0.0.1", s.port), timeout=20)
    try:
        sock.sendall(upload_head(s, cid, len(b2), ctype, "Expect: 100-continue\r\nConnection: close\r\n"))
        first = sock.recv(65536)
        expect(first == b"HTTP/1.1 100 Continue\r\n\r\n", "interim 100 before the body", first)
        sock.sendall(b2)
        replies = harness.parse_raw_responses(read_all(sock))
    finally:
        sock.close()
    expect([r.status for r in replies] == [201] and replies[0].json["sha256"] == a2["sha256"], replies)
    expect_spool_empty(s, "after chunked and pipelined uploads")


def test_idempotent_upload(s):
    """Idempotency-Key compares streamed bodies too: a retry with the same file gets the
    same answer, the same key with another file is refused."""
    cid = new_candidate(s)
    url = "/api/v1/candidates/%s/attachments" % cid
    key = {"Idempotency-Key": "upload-%d" % time.time_ns()}
    b1, ctype = multipart([('form-data; name="file"; filename="a.pdf"', b"%PDF-first" + os.urandom(100000))])
    b2, _ = multipart([('form-data; name="file"; filename="a.pdf"', b"%PDF-other" + os.urandom(100000))])
    first = expect_status(s.request("POST", url, raw=b1, headers=dict(key, **{"Content-Type": ctype})), 201)
    again = expect_status(s.request("POST", url, raw=b1, headers=dict(key, **{"Content-Type": ctype})), 201)
    expect(again.json["id"] == first.json["id"] and again.headers.get("idempotent-replayed") == "true", again.headers)
    expect_problem(s.request("POST", url, raw=b2, headers=dict(key, **{"Content-Type": ctype})), 422,
                   "/headers/idempotency-key")
    expect(len(s.get(url).json["data"]) == 1, "one attachment")
    expect_spool_empty(s, "after idempotent retries")


def test_stop_during_upload_removes_the_file(s):
    """SIGTERM while a body is arriving: the server stops in time and leaves no temporary
    file behind; an upload that was complete is answered first."""
    own = harness.Server()
    try:
        own.start()
        cid = expect_status(own.post("/api/v1/candidates", {"first_name": "Stop", "last_name": "Test"}), 201).json["id"]
        body, ctype = multipart([('form-data; name="file"; filename="a.bin"', os.urandom(2 * 1024 * 1024))])
        sock = socket.create_connection(("127.0.0.1", own.port), timeout=10)
        sock.sendall(upload_head(own, cid, len(body), ctype) + body[:len(body) // 2])
        deadline = time.time() + 5
        while not spool_files(own) and time.time() < deadline:
            time.sleep(0.01)
        expect(len(spool_files(own)) == 1, "the body was being written", spool_files(own))
        t0 = time.time()
        rc = own.stop(signal.SIGTERM)
        expect(rc == 0 and time.time() - t0 < 5, "stopped cleanly and in time", rc)
        sock.close()
        expect(spool_files(own) == [], "no temporary body file left after a stop", spool_files(own))
        problems = harness.sanitizer_reports(own.log())
        expect(problems == [], problems[:3])
    finally:
        own.cleanup()


def test_spool_failure_answers_500(s):
    """When the body cannot be written (here DATA/tmp is a file, not a directory) the upload
    is answered 500 with Connection: close, nothing is recorded, and the server goes on."""
    cid = new_candidate(s)
    tmp = os.path.join(s.data, "tmp")
    if os.path.isdir(tmp):
        os.rmdir(tmp)
    with open(tmp, "w") as f:
        f.write("in the way")
    try:
        body, ctype = multipart([('form-data; name="file"; filename="a.pdf"', b"%PDF-" + os.urandom(200000))])
        sock = socket.create_connection(("127.0.0.1", s.port), timeout=10)
        try:
            try:
                sock.sendall(upload_head(s, cid, len(body), ctype) + body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            replies = harness.parse_raw_responses(read_all(sock))
        finally:
            sock.close()
        expect([r.status for r in replies] == [500], replies)
        expect(replies[0].headers.get("connection") == "close", replies[0].headers)
        expect("could not be stored" in replies[0].json["detail"], replies[0].json)
    finally:
        os.unlink(tmp)
    expect(s.get("/api/v1/candidates/%s/attachments" % cid).json["data"] == [], "nothing recorded")
    a = expect_status(upload(s, cid, b"%PDF-after"), 201).json  # DATA/tmp is made again
    expect(a["size"] == 10, a)
    expect_spool_empty(s, "after the failure")


if __name__ == "__main__":
    harness.main()
