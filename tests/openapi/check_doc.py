#!/usr/bin/env python3
"""check_doc: docs/openapi.json against the OpenAPI 3.1 schema and the code.

  check_doc.py meta DOC [META_SCHEMA...]
      DOC against the OpenAPI 3.1 JSON Schema (the OAI's
      https://spec.openapis.org/oas/3.1/schema/2022-10-07; README.md says
      where it comes from), the first of META_SCHEMA... that exists;
      exits 77 (skipped) when none does.
  check_doc.py code DOC SOURCE_DIR
      Every Schema Object is a valid JSON Schema (Draft 2020-12), every
      $ref resolves, operationIds are unique, path parameters are declared;
      the paths and methods are exactly the route table of
      src/server/api/api.c, and each operation's x-vtoken-permission and
      x-vtoken-roles are the route's permission and the roles that have it
      (src/server/control/control_key.c).

Needs python3-jsonschema (Debian 12: 4.10; newer ones work too).
"""
import hashlib
import json
import os
import re
import sys

import jsonschema

SKIP = 77
META_ID = "https://spec.openapis.org/oas/3.1/schema/2022-10-07"
DRAFT = "https://json-schema.org/draft/2020-12/schema"
METHODS = ("get", "put", "post", "delete", "options", "head", "patch",
           "trace")


def load_json(path):
    def no_dups(pairs):
        seen = {}
        for k, v in pairs:
            if k in seen:
                raise ValueError("%s: duplicate key %r" % (path, k))
            seen[k] = v
        return seen
    with open(path, encoding="utf-8") as f:
        return json.load(f, object_pairs_hook=no_dups)


def errors_of(validator, instance):
    out = []
    for e in sorted(validator.iter_errors(instance),
                    key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in e.absolute_path) or "(root)"
        out.append("%s: %s" % (where, e.message[:300]))
    return out


def check_meta(doc_path, candidates):
    meta_path = next((p for p in candidates if p and os.path.isfile(p)),
                     None)
    doc = load_json(doc_path)
    if meta_path is None:
        print("check_doc: the OpenAPI 3.1 schema (oas-3.1-schema-2022-10-07"
              ".json) is not at any of: %s; skipped" % ", ".join(
                  p for p in candidates if p))
        return SKIP
    meta = load_json(meta_path)
    if meta.get("$id") != META_ID:
        print("check_doc: %s: $id %r, not %s" % (meta_path, meta.get("$id"),
                                                 META_ID))
        return 1
    with open(meta_path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    print("check_doc: the OpenAPI 3.1 schema: %s (sha256 %s)" % (meta_path,
                                                                 digest))
    cls = jsonschema.validators.validator_for(meta)
    cls.check_schema(meta)
    errs = errors_of(cls(meta), doc)
    for e in errs:
        print("%s: %s" % (doc_path, e))
    print("check_doc: %s against %s (%s): %s" % (
        doc_path, meta.get("$id"), cls.__name__,
        "%d errors" % len(errs) if errs else "valid"))
    return 1 if errs else 0


# ---- the document against itself ----

def walk_refs(node, where, out):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "$ref" and isinstance(v, str):
                out.append((where, v))
            else:
                walk_refs(v, where + "/" + k, out)
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk_refs(v, "%s/%d" % (where, i), out)


def resolve(doc, ref):
    if not ref.startswith("#/"):
        raise KeyError("not a local reference")
    node = doc
    for part in ref[2:].split("/"):
        part = part.replace("~1", "/").replace("~0", "~")
        node = node[part] if isinstance(node, dict) else node[int(part)]
    return node


def deref(doc, node):
    while isinstance(node, dict) and "$ref" in node:
        node = resolve(doc, node["$ref"])
    return node


def schema_objects(doc):
    """(where, schema) of every Schema Object in the document."""
    comp = doc.get("components", {})
    for name, s in comp.get("schemas", {}).items():
        yield "#/components/schemas/" + name, s
    for kind in ("responses", "parameters", "requestBodies", "headers"):
        for name, o in comp.get(kind, {}).items():
            yield from media_schemas("#/components/%s/%s" % (kind, name), o)
    for path, item in doc.get("paths", {}).items():
        for method, o in item.items():
            if method not in METHODS:
                continue
            w = "#/paths/%s/%s" % (path.replace("/", "~1"), method)
            for i, p in enumerate(o.get("parameters", [])):
                yield from media_schemas("%s/parameters/%d" % (w, i), p)
            if "requestBody" in o:
                yield from media_schemas(w + "/requestBody",
                                         o["requestBody"])
            for status, r in o.get("responses", {}).items():
                yield from media_schemas("%s/responses/%s" % (w, status), r)


def media_schemas(where, o):
    if not isinstance(o, dict) or "$ref" in o:
        return
    if "schema" in o:
        yield where + "/schema", o["schema"]
    for mt, m in o.get("content", {}).items():
        if "schema" in m:
            yield "%s/content/%s/schema" % (where, mt), m["schema"]
    for h, hv in o.get("headers", {}).items():
        yield from media_schemas("%s/headers/%s" % (where, h), hv)


def c_routes(src):
    """[(method, path template, perm or None)] of api.c's route table."""
    with open(os.path.join(src, "include/vtoken/vtapi.h")) as f:
        defs = dict(re.findall(r'#define\s+(VTAPI_\w+)\s+"([^"]*)"',
                               f.read()))
    with open(os.path.join(src, "src/server/api/api.c")) as f:
        text = f.read()
    m = re.search(r"api_routes\[\]\s*=\s*\{(.*?)\n\};", text, re.S)
    if m is None:
        raise SystemExit("check_doc: no api_routes[] table in api.c")
    # Comments out, string literals kept (a pattern holds "/*").
    table = re.sub(r'("(?:\\.|[^"\\])*")|/\*.*?\*/',
                   lambda c: c.group(1) or " ", m.group(1), flags=re.S)
    routes = []
    for meth, pat, perm, fn in re.findall(
            r"\{\s*EVHTTP_REQ_(\w+)\s*,\s*(.*?)\s*,\s*(0|PERM_\w+)\s*,"
            r"\s*(\w+)\s*\}", table, re.S):
        path = ""
        for tok in re.findall(r'"[^"]*"|\w+', pat):
            if tok.startswith('"'):
                path += tok[1:-1]
            elif tok in defs:
                path += defs[tok]
            else:
                raise SystemExit("check_doc: api.c route %s: unknown %s"
                                 % (fn, tok))
        routes.append((meth.lower(), path,
                       None if perm == "0" else perm[5:].lower()))
    if len(routes) != table.count("EVHTTP_REQ_"):
        raise SystemExit("check_doc: could not read every route of api.c")
    return routes


def c_roles(src):
    """{role: set of permissions (lower-case, without PERM_)}."""
    with open(os.path.join(src, "src/server/control/control_key.h")) as f:
        perms = [p[5:].lower() for p in
                 re.findall(r"^\s*(PERM_\w+)\s*=", f.read(), re.M)]
    with open(os.path.join(src, "src/server/control/control_key.c")) as f:
        text = f.read()
    m = re.search(r"roles\[\]\s*=\s*\{(.*?)\n\s*\};", text, re.S)
    if m is None or not perms:
        raise SystemExit("check_doc: no roles[] table in control_key.c")
    roles = {}
    for role, expr in re.findall(r'\{\s*"(\w+)"\s*,\s*([^}]*)\}',
                                 m.group(1)):
        if expr.strip() == "~0u":
            roles[role] = set(perms)
        else:
            roles[role] = {p[5:].lower() for p in
                           re.findall(r"PERM_\w+", expr)}
    return roles


def template_of(path):
    """/v1/tokens/{id} -> /v1/tokens/*, as api.c writes it."""
    return re.sub(r"\{[^}/]+\}", "*", path)


def check_code(doc_path, src):
    doc = load_json(doc_path)
    errs = []

    refs = []
    walk_refs(doc, "#", refs)
    for where, ref in refs:
        try:
            resolve(doc, ref)
        except (KeyError, IndexError, ValueError, TypeError):
            errs.append("%s: $ref %s does not resolve" % (where, ref))

    validator = jsonschema.validators.validator_for({"$schema": DRAFT})
    nschemas = 0
    for where, s in schema_objects(doc):
        nschemas += 1
        try:
            validator.check_schema(s)
        except jsonschema.exceptions.SchemaError as e:
            errs.append("%s: not a valid JSON Schema: %s" % (where,
                                                               e.message))

    seen_ids = {}
    doc_ops = {}
    for path, item in doc.get("paths", {}).items():
        names = set(re.findall(r"\{([^}/]+)\}", path))
        for method, o in item.items():
            if method not in METHODS:
                continue
            where = "%s %s" % (method.upper(), path)
            oid = o.get("operationId")
            if oid is None:
                errs.append("%s: no operationId" % where)
            elif oid in seen_ids:
                errs.append("%s: operationId %s also on %s" % (
                    where, oid, seen_ids[oid]))
            else:
                seen_ids[oid] = where
            declared = {deref(doc, p).get("name") for p in
                        o.get("parameters", []) + item.get("parameters", [])
                        if deref(doc, p).get("in") == "path"}
            if declared != names:
                errs.append("%s: path parameters %s, declared %s" % (
                    where, sorted(names), sorted(declared)))
            if not o.get("responses"):
                errs.append("%s: no responses" % where)
            doc_ops[(method, template_of(path))] = (where, o)

    roles = c_roles(src)
    order = list(roles)
    code_ops = set()
    for method, tmpl, perm in c_routes(src):
        code_ops.add((method, tmpl))
        if (method, tmpl) not in doc_ops:
            errs.append("api.c routes %s %s: not in %s" % (
                method.upper(), tmpl, doc_path))
            continue
        where, o = doc_ops[(method, tmpl)]
        want_roles = [r for r in order if perm is None or perm in roles[r]]
        if perm is None:
            want_roles = []
        if o.get("x-vtoken-permission", "absent") != perm:
            errs.append("%s: x-vtoken-permission %r, api.c says %r" % (
                where, o.get("x-vtoken-permission", "absent"), perm))
        if o.get("x-vtoken-roles") != want_roles:
            errs.append("%s: x-vtoken-roles %r, the code gives %r" % (
                where, o.get("x-vtoken-roles"), want_roles))
        sec = o.get("security", doc.get("security"))
        if (perm is None) != (sec == []):
            errs.append("%s: security %r, but the route %s a key" % (
                where, sec, "needs no" if perm is None else "needs"))
        if perm is not None and "401" not in o.get("responses", {}):
            errs.append("%s: needs a key, but documents no 401" % where)
        if perm is not None and "403" not in o.get("responses", {}):
            errs.append("%s: needs a key, but documents no 403" % where)
    for key, (where, o) in sorted(doc_ops.items()):
        if key not in code_ops:
            errs.append("%s: no such route in api.c" % where)

    for e in errs:
        print("%s: %s" % (doc_path, e))
    print("check_doc: %d operations, %d schemas, %d $refs, %d routes in "
          "api.c: %s" % (len(doc_ops), nschemas, len(refs), len(code_ops),
                         "%d errors" % len(errs) if errs else "consistent"))
    return 1 if errs else 0


def main(argv):
    if len(argv) >= 3 and argv[1] == "meta":
        return check_meta(argv[2], argv[3:])
    if len(argv) == 4 and argv[1] == "code":
        return check_code(argv[2], argv[3])
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
