"""Attachments: multipart upload to a candidate, content-addressed storage (one file per
content), byte-identical download with safe headers, hostile file names, served media
types, and who may upload, list and download."""

import glob
import hashlib
import os
import socket
import sqlite3

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


if __name__ == "__main__":
    harness.main()
