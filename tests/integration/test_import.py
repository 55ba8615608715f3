"""CSV import of candidates, through POST /api/v1/imports and `talentd import candidates`:
header recognition and explicit mapping, dedupe by email (against stored candidates and
within the file), merging, rejected rows with line numbers and reasons, the stored summary,
reruns that merge instead of duplicating, the progress bar, and an export round trip."""

import glob
import os
import pty
import select
import subprocess
import tempfile
import time

import harness
from harness import expect, expect_problem, expect_status

CSV = (
    "First Name,Last Name,E-mail,Phone,Tags,LinkedIn,Location,Source,Favourite colour\r\n"
    "Ana,Silva,ana.silva@example.test,+1 415 555 0100,python; go,https://linkedin.com/in/anasilva,Lisbon,referral,blue\r\n"
    "Ben,Okafor,\"ben@example.test; ben.okafor@work.test\",,design,,\"Lagos,\nNigeria\",,\r\n"
    "Cleo,Bad,not-an-email,,,,,,\r\n"
    ",Nofirst,nofirst@example.test,,,,,,\r\n"
    ",,,,,,,,\r\n"
    "Ana,Silva-Duplicate,ANA.SILVA@example.test,,rust,,Porto,,\r\n"
    "\"Dan\"x,Quote,dan@example.test,,,,,,\r\n"
    "Eve,Extra,eve@example.test,,,,,,,surplus\r\n"
    "Fay,Fine,fay@example.test,,,,,,\r\n"
)


def post_csv(s, text, query="", role="admin", ctype="text/csv"):
    data = text.encode() if isinstance(text, str) else text
    return s.request("POST", "/api/v1/imports" + query, raw=data, headers={"Content-Type": ctype}, role=role)


def rows_by_line(summary):
    return {r["line"]: r for r in summary["rows"]}


def test_import_summary_counts_and_reasons(s):
    r = expect_status(post_csv(s, CSV), 201)
    imp = r.json
    expect(r.headers.get("location") == "/api/v1/imports/" + imp["id"], r.headers)
    expect((imp["created"], imp["merged"], imp["rejected"]) == (3, 1, 4), "counts", imp)
    rows = rows_by_line(imp)
    expect(sorted(rows) == [2, 3, 5, 6, 8, 9, 10, 11], "one entry per non-empty row, by line", sorted(rows))
    expect(rows[2]["status"] == "created" and rows[3]["status"] == "created" and rows[11]["status"] == "created")
    expect(rows[8]["status"] == "merged" and rows[8]["candidate_id"] == rows[2]["candidate_id"], "same file dedupe")
    for line in (5, 6, 9, 10):
        expect(rows[line]["status"] == "rejected" and rows[line]["reason"], "rejected with a reason", rows[line])
    expect("emails/0" in rows[5]["reason"] and 'column "E-mail"' in rows[5]["reason"], rows[5])
    expect("first_name" in rows[6]["reason"] and "required" in rows[6]["reason"], rows[6])
    expect("closing quote" in rows[9]["reason"], rows[9])
    expect("more fields" in rows[10]["reason"], rows[10])
    cols = {c["column"]: c["field"] for c in imp["columns"]}
    expect(cols == {"First Name": "first_name", "Last Name": "last_name", "E-mail": "emails", "Phone": "phones",
                    "Tags": "tags", "LinkedIn": "links", "Location": "location", "Source": "source",
                    "Favourite colour": None}, "columns recognised", cols)
    ana = expect_status(s.get("/api/v1/candidates/" + rows[2]["candidate_id"]), 200).json
    expect(ana["first_name"] == "Ana" and ana["last_name"] == "Silva", "merge keeps stored values", ana)
    expect(ana["emails"] == ["ana.silva@example.test"], ana["emails"])
    expect(sorted(ana["tags"]) == ["go", "python", "rust"], "merge unites tags", ana["tags"])
    expect(ana["location"] == "Lisbon" and ana["source"] == "referral", ana)
    expect(ana["links"] == ["https://linkedin.com/in/anasilva"] and len(ana["phones"]) == 1, ana)
    ben = expect_status(s.get("/api/v1/candidates/" + rows[3]["candidate_id"]), 200).json
    expect(ben["emails"] == ["ben@example.test", "ben.okafor@work.test"], ben["emails"])
    expect(ben["location"] == "Lagos,\nNigeria", "embedded newline kept", ben["location"])
    # Refused rows left nothing behind.
    for email in ("nofirst@example.test", "dan@example.test", "eve@example.test"):
        found = s.get("/api/v1/candidates?q=" + email.split("@")[0]).json["data"]
        expect(not any(email in c["emails"] for c in found), "no candidate for a rejected row", email)
    # The summary is stored.
    got = expect_status(s.get("/api/v1/imports/" + imp["id"]), 200).json
    expect(got == imp, "GET returns the stored summary")
    listed = expect_status(s.get("/api/v1/imports"), 200).json["data"]
    entry = [x for x in listed if x["id"] == imp["id"]]
    expect(entry and entry[0]["created"] == 3 and "rows" not in entry[0], listed)


def test_rerun_merges_instead_of_duplicating(s):
    first = expect_status(post_csv(s, CSV.replace("example.test", "rerun.test")), 201).json
    again = expect_status(post_csv(s, CSV.replace("example.test", "rerun.test")), 201).json
    expect((again["created"], again["merged"], again["rejected"]) == (0, 4, 4), "rerun merges", again)
    a, b = rows_by_line(first), rows_by_line(again)
    for line in (2, 3, 8, 11):
        expect(a[line]["candidate_id"] == b[line]["candidate_id"], "same candidate on rerun", line)
    found = s.get("/api/v1/candidates?q=Fay").json["data"]
    expect(len([c for c in found if "fay@rerun.test" in c["emails"]]) == 1, "no duplicate", found)


def test_merge_into_existing_candidate(s):
    existing = expect_status(s.post("/api/v1/candidates", {"first_name": "Gus", "last_name": "Original",
                                                           "emails": ["gus@example.test"], "tags": ["alumni"]}),
                             201).json
    text = "email,first_name,last_name,phone,tags,city\ngus@example.test,Gustav,Changed,+44 20 7946 0958,java,Leeds\n"
    imp = expect_status(post_csv(s, text), 201).json
    expect((imp["created"], imp["merged"]) == (0, 1) and imp["rows"][0]["candidate_id"] == existing["id"], imp)
    gus = s.get("/api/v1/candidates/" + existing["id"]).json
    expect(gus["first_name"] == "Gus" and gus["last_name"] == "Original", "existing values win", gus)
    expect(sorted(gus["tags"]) == ["alumni", "java"] and gus["location"] == "Leeds" and len(gus["phones"]) == 1, gus)


def test_explicit_mapping_and_semicolons(s):
    text = "\ufeffVorname;Nachname;E-Mail privat;Schlagworte;Ignoriert\nHans;Meier;hans@example.test;a;b\n"
    q = "?map=Vorname:first_name&map=Nachname:last_name&map=E-Mail%20privat:emails&map=Schlagworte:tags" \
        "&map=Ignoriert:"
    imp = expect_status(post_csv(s, text, q), 201).json
    expect(imp["created"] == 1, imp)
    cols = {c["column"]: c["field"] for c in imp["columns"]}
    expect(cols == {"Vorname": "first_name", "Nachname": "last_name", "E-Mail privat": "emails",
                    "Schlagworte": "tags", "Ignoriert": None}, cols)
    hans = s.get("/api/v1/candidates/" + imp["rows"][0]["candidate_id"]).json
    expect(hans["emails"] == ["hans@example.test"] and hans["tags"] == ["a"], hans)
    # A full name column splits at the last space.
    imp = expect_status(post_csv(s, "Full Name,Email\nMaria de la Cruz,maria@example.test\n"), 201).json
    m = s.get("/api/v1/candidates/" + imp["rows"][0]["candidate_id"]).json
    expect((m["first_name"], m["last_name"]) == ("Maria de la", "Cruz"), m)


def test_refused_files(s):
    expect_problem(post_csv(s, ""), 422)
    r = expect_problem(post_csv(s, "email,phone\nx@example.test,1\n"), 422)
    expect("first names" in r.json["detail"], r.json)
    expect_problem(post_csv(s, "first_name\nA\n", "?map=Nope:emails"), 422, "/mapping/Nope")
    expect_problem(post_csv(s, "first_name,x\nA,1\n", "?map=x:salary"), 422, "/mapping/x")
    expect_problem(post_csv(s, "first_name,x/y\nA,1\n", "?map=x/y:custom_fields.undefined"), 422, "/mapping/x~1y")
    expect_problem(post_csv(s, "first_name\nA\n", "?map=nocolon"), 400, "/query/map")
    expect_problem(post_csv(s, "first_name\nA\n", ctype="application/json"), 415)
    expect_problem(post_csv(s, "first_name\nA\n", ctype="text/csv; charset=latin1"), 415)
    expect_problem(post_csv(s, "\"first_name\nA\n"), 422)
    expect_problem(post_csv(s, "first_name\nA\n", role="hiring_manager"), 403)
    expect_problem(post_csv(s, "first_name\nA\n", role="interviewer"), 403)
    expect_problem(s.get("/api/v1/imports", role="interviewer"), 403)
    expect_problem(s.get("/api/v1/imports/imp_nope"), 404)
    # Rows that are not UTF-8 are rejected one by one.
    imp = expect_status(post_csv(s, b"first_name,email\nJos\xe9,jose@example.test\nOk,ok8@example.test\n"), 201).json
    expect(imp["rejected"] == 1 and "UTF-8" in imp["rows"][0]["reason"] and imp["created"] == 1, imp)


def test_custom_field_columns(s):
    expect_status(s.post("/api/v1/custom-fields", {"entity": "candidate", "key": "years", "label": "Years of experience",
                                                   "type": "number"}), 201)
    expect_status(s.post("/api/v1/custom-fields", {"entity": "candidate", "key": "remote", "type": "boolean"}), 201)
    text = ("first_name,email,Years of experience,remote\n"
            "Ivy,ivy@example.test,7,yes\n"
            "Jon,jon@example.test,seven,no\n")
    imp = expect_status(post_csv(s, text), 201).json
    rows = rows_by_line(imp)
    ivy = s.get("/api/v1/candidates/" + rows[2]["candidate_id"]).json
    expect(ivy["custom_fields"] == {"years": 7, "remote": True}, ivy["custom_fields"])
    expect(rows[3]["status"] == "rejected" and "custom_fields/years" in rows[3]["reason"]
           and 'column "Years of experience"' in rows[3]["reason"], rows[3])


def test_cli_import_with_progress_bar(s):
    path = os.path.join(s.data, "people.csv")
    with open(path, "w") as f:
        f.write("first_name,last_name,email\n")
        for i in range(1200):
            f.write("Cli%d,Person,cli%d@example.test\n" % (i, i))
        f.write("Broken,Row,not-an-email\n")
    out = s.cli("import", "candidates", path, "--data", s.data)
    expect("1200 created, 0 merged, 1 rejected" in out, out)
    expect("line 1202: emails/0" in out, "rejected line reported", out)
    # On a terminal, a progress bar is drawn on stderr; the rerun merges every row.
    master, slave = pty.openpty()
    p = subprocess.Popen([harness.BIN, "import", "candidates", path, "--data", s.data], stdout=subprocess.PIPE,
                         stderr=slave, text=True)
    os.close(slave)
    err = b""
    while True:
        ready, _, _ = select.select([master], [], [], 60)
        if not ready:
            break
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        err += chunk
    stdout = p.stdout.read()
    p.wait(60)
    os.close(master)
    expect(p.returncode == 0, "exit code", p.returncode, err)
    expect("0 created, 1200 merged, 1 rejected" in stdout, stdout)
    expect(b"\r[" in err and b"100%" in err and b"1201/1201 rows" in err, "progress bar", err[-300:])
    # The summary is stored like an API import.
    imports = s.get("/api/v1/imports?limit=100").json["data"]
    expect(any(x["merged"] == 1200 and x["created_by"] is None for x in imports), imports)
    # Errors: no file, missing file, a file without a first-name column.
    p = subprocess.run([harness.BIN, "import", "candidates", "--data", s.data], capture_output=True, text=True)
    expect(p.returncode == 2, p.stderr)
    p = subprocess.run([harness.BIN, "import", "candidates", path + ".missing", "--data", s.data],
                       capture_output=True, text=True)
    expect(p.returncode == 1 and "cannot open" in p.stderr, p.stderr)
    bad = os.path.join(s.data, "bad.csv")
    with open(bad, "w") as f:
        f.write("email\nx@example.test\n")
    p = subprocess.run([harness.BIN, "import", "candidates", bad, "--data", s.data], capture_output=True, text=True)
    expect(p.returncode == 1 and "first names" in p.stderr, p.stderr)


def test_cli_explicit_mapping(s):
    path = os.path.join(s.data, "mapped.csv")
    with open(path, "w") as f:
        f.write("Vorname,Nachname,E-Mail privat:alt,Notiz\n")
        f.write("Mapped,Person,mapped.person@example.test,ignore me\n")
    out = s.cli("import", "candidates", path, "--data", s.data, "--map", "Vorname:first_name",
                "--map", "Nachname:last_name", "--map", "E-Mail privat:alt:emails", "--map", "Notiz:")
    expect("1 created, 0 merged, 0 rejected" in out, out)
    found = s.get("/api/v1/candidates?q=mapped.person").json["data"]
    expect(len(found) == 1 and found[0]["first_name"] == "Mapped" and found[0]["last_name"] == "Person"
           and found[0]["emails"] == ["mapped.person@example.test"], found)
    p = subprocess.run([harness.BIN, "import", "candidates", path, "--data", s.data, "--map", "nocolon"],
                       capture_output=True, text=True)
    expect(p.returncode == 2 and "HEADER:FIELD" in p.stderr, p.stderr)


def test_export_round_trip_merges(s):
    export = expect_status(s.get("/api/v1/candidates/export?format=csv"), 200)
    text = export.raw.decode()
    lines = [l for l in text.splitlines() if l.strip()]
    expect(len(lines) > 10, "exported", len(lines))
    imp = expect_status(post_csv(s, export.raw), 201).json
    expect(imp["created"] == 0 and imp["rejected"] == 0, "every exported candidate merges back", imp["created"],
           [r for r in imp["rows"] if r["status"] != "merged"][:5])
    cols = {c["column"]: c["field"] for c in imp["columns"]}
    expect(cols["id"] is None and cols["emails"] == "emails" and cols["custom_fields"] == "custom_fields", cols)


def metric(s, name):
    for line in expect_status(s.get("/metrics", role=None), 200).raw.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return 0.0


def spool_empty(s):
    deadline = time.time() + 3
    while glob.glob(os.path.join(s.data, "tmp", "*")) and time.time() < deadline:
        time.sleep(0.02)
    return glob.glob(os.path.join(s.data, "tmp", "*")) == []


def test_big_file_is_streamed_to_disk(s):
    """A 6 MiB CSV goes to a temporary file as it arrives (the server never holds more than a
    small buffer of it), is imported from there, and the file is removed."""
    lines = ["first_name,last_name,email,notes"]
    filler = "x" * 2200
    for i in range(3000):
        lines.append("Big%d,Stream,big%d@stream.test,%s" % (i, i, filler))
    text = "\n".join(lines) + "\n"
    expect(len(text) > 6 * 1024 * 1024, "a big file", len(text))
    before = metric(s, "td_http_upload_spooled_bytes_total")
    imp = expect_status(post_csv(s, text), 201).json
    expect((imp["created"], imp["merged"], imp["rejected"]) == (3000, 0, 0), "every row imported",
           imp["created"], imp["rejected"])
    written = metric(s, "td_http_upload_spooled_bytes_total") - before
    # (/metrics prints counters with 6 significant digits.)
    expect(written >= 0.999 * len(text), "the file went to disk", written, len(text))
    peak = metric(s, "td_http_upload_memory_peak_bytes")
    expect(0 < peak <= 512 * 1024, "a small buffer of it in memory at once", peak)
    expect(spool_empty(s), "no temporary file left")
    found = s.get("/api/v1/candidates?q=big2999").json["data"]
    expect(any("big2999@stream.test" in c["emails"] for c in found), "the last row is there", found)
    # Refused after the body was received: the file goes too.
    expect_problem(post_csv(s, text.encode(), ctype="application/json"), 415)
    expect_problem(post_csv(s, text.encode(), role="interviewer"), 403)
    expect(spool_empty(s), "no temporary file left after refusals")


if __name__ == "__main__":
    harness.main()
