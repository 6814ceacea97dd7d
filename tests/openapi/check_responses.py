#!/usr/bin/env python3
"""check_responses: every recorded API response against docs/openapi.json.

  check_responses.py [--keep] DOC DIR

DIR holds the recordings of tests/lib/vt_http.c (VT_HTTP_RECORD=FILE:
one JSON object a line, {"method", "path", "query", "request_body",
"status", "content_type", "body", "body_omitted"}), one *.jsonl file per
test.
Each response is matched to its operation the way src/server/api/api.c
routes (segments split at "/", empty ones dropped, then percent-decoded;
a {param} is one segment):

  - the web console's paths ("/", "/ui", "/ui/...": static files, see
    src/server/api/api_ui.c) are not the API's and are left out;
  - a path of no operation must be 404 and a known path with a method it
    does not have 405, each with components/responses NoSuchPath or
    MethodNotAllowed;
  - the status must be one the operation documents;
  - the content type must be one of the response's (parameters aside),
    and a response without content must have no body;
  - an application/json body must validate against the response's schema
    (Draft 2020-12, $refs resolved in the document); other types
    (text/plain, text/event-stream, the image) are checked by type only;
  - a request body the server accepted (2xx) must validate against the
    operation's requestBody schema.

Fails listing every mismatch.  Exits 77 (ctest shows the test skipped)
when there is no recorded response at all, as when only tests that make
no API request were run.  Afterwards the files are moved to DIR/checked/
(unless --keep), so that recordings are never checked twice: a run
without the integration tests finds none and is skipped rather than
passing on an earlier run's.

Needs python3-jsonschema (Debian 12: 4.10; newer ones work too).
"""
import glob
import json
import os
import sys
import urllib.parse

import jsonschema

DRAFT = "https://json-schema.org/draft/2020-12/schema"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")
MAX_SEGMENTS = 5        # api.c's API_MAX_SEGMENTS
MAX_PATH = 512          # and API_MAX_PATH


def esc(s):
    return s.replace("~", "~0").replace("/", "~1")


def resolve(doc, ref):
    node = doc
    for part in ref[2:].split("/"):
        node = node[part.replace("~1", "/").replace("~0", "~")]
    return node


def is_console(path):
    """The web console's files ("/", "/ui", "/ui/..."), not the API."""
    return path in ("/", "/ui") or path.startswith("/ui/")


def segments(path):
    """The decoded segments of a raw path as api.c splits it, or None."""
    if not path.startswith("/") or len(path) >= MAX_PATH:
        return None
    out = []
    for seg in path[1:].split("/"):
        if seg == "":
            continue
        try:
            dec = urllib.parse.unquote(seg, errors="strict")
        except UnicodeDecodeError:
            dec = urllib.parse.unquote_to_bytes(seg).decode("latin-1")
        if "\0" in dec or dec == ".." or len(out) == MAX_SEGMENTS:
            return None
        out.append(dec)
    return out


class Checker:
    def __init__(self, doc):
        self.doc = doc
        self.validators = {}
        self.templates = []
        for path in doc["paths"]:
            segs = [s for s in path.split("/") if s]
            self.templates.append((path, segs))
        # Literal segments win over {param}, as api.c's table order has it.
        self.templates.sort(key=lambda t: [s.startswith("{")
                                           for s in t[1]])
        self.seen = set()

    def match(self, raw_path):
        segs = segments(raw_path)
        if segs is None:
            return None
        for path, tsegs in self.templates:
            if len(tsegs) == len(segs) and all(
                    t.startswith("{") or t == s for t, s in zip(tsegs,
                                                                segs)):
                return path
        return None

    def validator(self, pointer):
        v = self.validators.get(pointer)
        if v is None:
            root = dict(self.doc)
            root["$schema"] = DRAFT
            root["$ref"] = pointer
            cls = jsonschema.validators.validator_for(root)
            v = self.validators[pointer] = cls(root)
        return v

    def response(self, pointer):
        """(pointer, Response Object), following $refs."""
        node = resolve(self.doc, pointer)
        while "$ref" in node:
            pointer = node["$ref"]
            node = resolve(self.doc, pointer)
        return pointer, node

    def check(self, rec):
        """A list of what is wrong with one recorded response."""
        if is_console(rec["path"]):
            return []
        method = rec["method"].lower()
        status = str(rec["status"])
        path = self.match(rec["path"])
        if path is None:
            rp = "#/components/responses/NoSuchPath"
            if status != "404":
                return ["no such path in the document, but status %s "
                        "(404 expected)" % status]
        elif method not in self.doc["paths"][path]:
            rp = "#/components/responses/MethodNotAllowed"
            if status != "405":
                return ["%s has no %s, but status %s (405 expected)" % (
                    path, method.upper(), status)]
        else:
            op = "#/paths/%s/%s" % (esc(path), method)
            self.seen.add((method.upper() + " " + path, status))
            responses = resolve(self.doc, op + "/responses")
            if status not in responses:
                return ["%s %s: status %s is not documented (only %s)" % (
                    method.upper(), path, status,
                    ", ".join(sorted(responses)))]
            rp = "%s/responses/%s" % (op, status)
            if status.startswith("2"):
                errs = self.check_request(rec, op)
                if errs:
                    return errs
        rp, resp = self.response(rp)
        return self.check_body(rec, rp, resp)

    def check_request(self, rec, op):
        """A request the server accepted must fit the requestBody."""
        body = rec.get("request_body")
        content = resolve(self.doc, op).get("requestBody", {}).get(
            "content", {})
        if body is None or "application/json" not in content:
            return []
        try:
            value = json.loads(body)
        except ValueError as e:
            return ["accepted a request body that is not JSON: %s" % e]
        pointer = op + "/requestBody/content/application~1json/schema"
        errs = self.errors(pointer, value)
        return ["accepted a request body its schema refuses: " + errs[0]] + \
            errs[1:] if errs else []

    def errors(self, pointer, value):
        errs = []
        for e in sorted(self.validator(pointer).iter_errors(value),
                        key=lambda e: list(e.absolute_path)):
            where = "/".join(str(p) for p in e.absolute_path) or "(root)"
            errs.append("%s: %s" % (where, e.message[:300]))
            for sub in sorted(e.context or [],
                              key=lambda s: list(s.absolute_path))[:6]:
                w = "/".join(str(p) for p in sub.absolute_path)
                errs.append("    (%s: %s)" % (w or "(root)",
                                               sub.message[:200]))
        if errs:
            errs[0] += " (schema %s)" % pointer
        return errs

    def check_body(self, rec, rp, resp):
        content = resp.get("content", {})
        body = rec.get("body")
        ctype = rec.get("content_type") or ""
        base = ctype.split(";")[0].strip().lower()
        if rec["method"].upper() == "HEAD":
            return []          # no body, whatever the status
        if not content:
            if body:
                return ["no body documented, but %d bytes came (%s)" % (
                    len(body), ctype or "no content type")]
            return []
        bases = {k.split(";")[0].strip().lower(): k for k in content}
        if base not in bases:
            return ["content type %r, documented: %s" % (
                ctype, ", ".join(sorted(content)))]
        key = bases[base]
        if base != "application/json" or "schema" not in content[key]:
            return []
        if body is None:
            return []          # too large to record; the type matched
        try:
            value = json.loads(body)
        except ValueError as e:
            return ["the body is not JSON: %s" % e]
        return self.errors("%s/content/%s/schema" % (rp, esc(key)), value)


def main(argv):
    keep = "--keep" in argv
    args = [a for a in argv[1:] if a != "--keep"]
    if len(args) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    doc_path, rec_dir = args
    with open(doc_path, encoding="utf-8") as f:
        doc = json.load(f)
    checker = Checker(doc)
    files = sorted(glob.glob(os.path.join(rec_dir, "*.jsonl")))
    total = bad = skipped = omitted = 0
    for fn in files:
        with open(fn, encoding="utf-8") as f:
            for lineno, line in enumerate(f, 1):
                if not line.strip():
                    continue
                where = "%s:%d" % (os.path.basename(fn), lineno)
                try:
                    rec = json.loads(line)
                except ValueError as e:
                    print("%s: not a JSON line: %s" % (where, e))
                    bad += 1
                    continue
                if not rec.get("status"):
                    skipped += 1     # no response (connection failed)
                    continue
                total += 1
                if rec.get("body_omitted"):
                    omitted += 1
                errs = checker.check(rec)
                if errs:
                    bad += 1
                    q = "?" + rec["query"] if rec.get("query") else ""
                    print("%s: %s %s%s -> %s: %s" % (
                        where, rec["method"], rec["path"], q,
                        rec["status"], errs[0]))
                    for e in errs[1:]:
                        print("    " + e)
    if not keep and files:
        done = os.path.join(rec_dir, "checked")
        os.makedirs(done, exist_ok=True)
        for fn in files:
            os.replace(fn, os.path.join(done, os.path.basename(fn)))
        print("check_responses: the recordings are now in %s" % done)
    ops = {"%s %s" % (m.upper(), p) for p, item in doc["paths"].items()
           for m in item if m in METHODS}
    unseen = sorted(ops - {s[0] for s in checker.seen})
    if unseen:
        print("check_responses: operations no test called: %s" %
              ", ".join(unseen))
    print("check_responses: %d responses in %d files (%d without a "
          "recorded body, %d without a response), %d operations of %d "
          "seen: %d mismatches" % (total, len(files), omitted, skipped,
                                   len(ops) - len(unseen), len(ops), bad))
    if total == 0:
        print("check_responses: no recorded responses in %s: run the "
              "integration tests (ctest -R integration), which record "
              "them with VT_HTTP_RECORD); skipped" % rec_dir)
        return 77
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
