"""The API description stays true to the code: every route is documented with its method,
the committed schemas/openapi.json is the document the server serves, and every body
schema a route names exists."""

import json
import os

import harness
from harness import expect, expect_status


def routes(s):
    out = s.cli("routes", "--data", s.data)
    return [tuple(line.split(" ", 1)) for line in out.splitlines() if line.strip()]


def test_every_route_is_documented(s):
    doc = expect_status(s.get("/api/v1/openapi.json", role=None), 200).json
    missing = []
    for method, pattern in routes(s):
        ops = doc["paths"].get(pattern)
        if ops is None or method.lower() not in ops:
            missing.append("%s %s" % (method, pattern))
    expect(not missing, "routes missing from the OpenAPI document", missing)


def test_documented_paths_exist(s):
    doc = expect_status(s.get("/api/v1/openapi.json", role=None), 200).json
    known = {(m.lower(), p) for m, p in routes(s)}
    extra = []
    for path, ops in doc["paths"].items():
        for method in ops:
            if method in ("get", "post", "put", "patch", "delete") and (method, path) not in known:
                extra.append("%s %s" % (method.upper(), path))
    expect(not extra, "documented operations the server does not have", extra)


def test_committed_document_is_current(s):
    served = expect_status(s.get("/api/v1/openapi.json", role=None), 200).json
    with open(os.path.join(harness.SOURCE, "schemas", "openapi.json")) as f:
        committed = json.load(f)
    expect(served == committed, "schemas/openapi.json is stale: run `make openapi` and commit it")


def test_body_schema_refs_resolve(s):
    doc = expect_status(s.get("/api/v1/openapi.json", role=None), 200).json
    schemas = doc["components"]["schemas"]
    text = json.dumps(doc)
    import re
    for ref in set(re.findall(r'"#/components/schemas/([A-Za-z0-9_]+)"', text)):
        expect(ref in schemas, "dangling $ref", ref)


def enable_bundled(s):
    """The published document describes the bundled plugins too: serve it with them enabled."""
    root = os.path.join(harness.SOURCE, "plugins")
    for name in sorted(os.listdir(root)):
        if os.path.exists(os.path.join(root, name, "plugin.json")):
            s.cli("plugin", "enable", name, "--data", s.data)


if __name__ == "__main__":
    harness.main(users=False, prepare=enable_bundled)
