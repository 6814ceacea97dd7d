#!/usr/bin/env python3
"""ctl_mock_server: a canned vtokend REST API (docs/API.md) for testing
vtokenctl without the real server, plus the small checks the shell test
needs.  Lists are paged as vtokend pages them (?after=CURSOR&limit=N,
"next" the cursor of the page after, or null); which lists are long, and
how a paged list misbehaves, is part of STATE.  GET /v1/events is the
audit log as Server-Sent Events, as vtokend sends it (chunked, a comment
first and as keep-alive), with events split across writes, CRLF and LF
line ends and multi-line data; how its streams end or fail is STATE's
"events".  The agent calls (docs/AGENT.md: the policies, releases, the
rollout, /v1/agents and VM_A's facts) keep what PUT, POST and DELETE
send and check the bodies as the server would.

  serve --log LOG --port-file F --key KEY [--tls-cert C --tls-key K]
        [--lifetime S]
      Listens on 127.0.0.1, a free port (written to F once listening).
      Every request is appended to LOG as one JSON line: method, path,
      headers (lower-case names), body.  Answers from canned objects, with
      the API's error documents; needs "Authorization: Bearer KEY".
      /_mock/state (POST, no auth) changes the scenario; see STATE.  Exits
      by itself after --lifetime seconds (default 300) or when its parent
      (the test) is gone, so a lost mock never lingers.
  expect LOG METHOD PATH [BODY_JSON]   the last request was this one
  count LOG                            prints how many requests LOG holds
  auth LOG KEY                         every API request carried the key
  jsonfile FILE EXPR                   EXPR (Python, d = the document) holds
  aligned FILE                         a table's columns line up
  paths LOG                            prints "METHOD PATH" per request
  image FILE                           writes the canned token image
  set URL NAME=VALUE                   POST /_mock/state
  after LOG PATH                       prints the after= of each GET PATH
  lastids LOG                          prints the Last-Event-ID ("-" for
                                       none) of each GET /v1/events
  tty CMD ARG...                       runs CMD with stdout on a pty
"""
import argparse
import base64
import hashlib
import json
import os
import pty
import re
import socket
import ssl
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

TOKEN_A = {
    "id": "9F2C4A1B3D5E6F70", "name": "build-license", "busid": "1-3",
    "size": 4194304, "writable": False, "created": "2026-11-26T21:00:00Z",
    "public_key": "q1O8mQ2y0bF3lQ0rVb3uR5W2yTqv5rYb3n0P1Jw4cXk=",
    "vm": None, "vm_name": None, "session": None, "revoked": False,
}
TOKEN_B = {
    "id": "0123456789ABCDEF", "name": "ci-license", "busid": "1-4",
    "size": 16777216, "writable": True, "created": "2026-11-26T21:05:00Z",
    "public_key": "cHVibGljLWtleS1iLTAxMjM0NTY3ODlhYmNkZWY=",
    "vm": "1A2B3C4D5E6F7081", "vm_name": "ci-1",
    "session": {"peer": "127.0.0.2:41000", "since": "2026-11-26T21:10:00Z",
                "bytes_in": 0, "bytes_out": 1048576},
    "revoked": False,
}
VM_A = {
    "id": "1A2B3C4D5E6F7081", "name": "ci-1",
    "addresses": ["127.0.0.2/32", "10.0.0.0/8"],
    "created": "2026-11-26T21:01:00Z", "tokens": ["0123456789ABCDEF"],
}
SESSION_B = {
    "token": "0123456789ABCDEF", "vm": "1A2B3C4D5E6F7081", "node": "node-a",
    "peer": "127.0.0.2:41000", "since": "2026-11-26T21:10:00Z",
    "bytes_in": 2048, "bytes_out": 1048576, "token_name": "ci-license",
    "vm_name": "ci-1", "busid": "1-4", "urbs": 42,
}
# Another node's session: no live counter ("urbs") from here.
SESSION_C = {
    "token": "00000000000000C3", "vm": "1A2B3C4D5E6F7081", "node": "node-b",
    "peer": "127.0.0.3:41001", "since": "2026-11-26T21:11:00Z",
    "bytes_in": 512, "bytes_out": 0, "token_name": "lab-license",
    "vm_name": "ci-1", "busid": "2-1",
}
NODES = [
    {"name": "node-a", "usbip": "127.0.0.1:3240", "api": "127.0.0.1:3241",
     "version": "0.1.0", "started": "2026-11-26T20:00:00Z",
     "heartbeat": "2026-11-26T21:12:00Z", "heartbeat_age_s": 2,
     "sessions": 1, "state": "up", "self": True},
    {"name": "node-b", "usbip": "10.0.0.2:3240", "api": "10.0.0.2:3241",
     "version": "0.1.0", "started": "2026-11-26T20:00:05Z",
     "heartbeat": "2026-11-26T21:10:30Z", "heartbeat_age_s": 92,
     "sessions": 1, "state": "lost", "self": False},
]
# Agent management (docs/AGENT.md): VM_A's facts, the policies, the
# releases and the rollout.  The policies, releases and rollout change
# with the requests (PUT, POST, DELETE), as the server's would.
FACTS_A = {
    "hostname": "ci-1.example", "os": "Debian GNU/Linux 12 (bookworm)",
    "kernel": "6.1.0-27-amd64", "machine_id": "0123456789abcdef" * 2,
    "dmi_vendor": "QEMU", "dmi_product": "Standard PC (i440FX + PIIX, 1996)",
    "dmi_uuid": "", "agent_version": "0.9.0", "uptime": 93784,
    "reported": "2026-12-03T10:00:00Z", "peer": "127.0.0.2:52000",
}
POLICY_FIELDS = {"interval", "grace", "action", "command"}
POLICY_ACTIONS = ["log", "lock-sessions", "isolate-network", "poweroff",
                  "command"]
AGENT = {"default": {"interval": 30, "grace": 90, "action": "log"},
         "vm_policy": {}, "releases": [], "rollout": None}
AGENTS = [
    {"vm": "1A2B3C4D5E6F7081", "vm_name": "ci-1", "version": "0.9.0",
     "target": "0.9.1", "reported": "2026-12-03T10:00:00Z",
     "update": {"version": "0.9.1", "result": "refused",
                "reason": "bad signature", "time": "2026-12-03T09:59:00Z"}},
    {"vm": "00000000000000B2", "vm_name": None, "version": "0.9.1",
     "target": None, "reported": "2026-12-03T09:00:00Z", "update": None},
]
# "tokens=many": 2,500 tokens, busids 1-1 .. 1-2500 (the cursor).
MANY_TOKENS = [dict(TOKEN_A, id="%016X" % (0xA000 + i), name="bulk-%04d" % i,
                    busid="1-%d" % i) for i in range(1, 2501)]
# "vms=many": 1,001 VMs in name order; the 1,000th name, page 1's cursor,
# needs percent-encoding in the query.
MANY_VMS = [dict(VM_A, id="%016X" % (0xB000 + i), name="vm-%04d" % i,
                 tokens=[]) for i in range(1, 1002)]
MANY_VMS[999]["name"] = "vm-1000 &x=1+%"
PAGE_MAX = 1000
ACTIONS = ["token.create", "vm.add", "assign", "attach", "detach",
           "revoke", "token.delete", "auth.ok"]
# The raw token image: 1 MiB of a pattern that does not repeat per sector.
IMAGE = (bytes(range(251)) * 4178)[:1 << 20]
# What /_mock/state can change.  tokens: "two" (TOKEN_A, TOKEN_B), "many"
# (MANY_TOKENS), and the paged list's faults: "repeat" (page 2 names the
# cursor it was asked with), "empty" (a page without tokens but with a
# cursor), "fail" (page 2 answers 503 store_unavailable), "nonext" (no
# "next" member at all: one page).  vms: "one" (VM_A) or "many".
# grow: 1 adds a record to the audit log (up to 12) per GET /v1/audit and
# every GROW_EVERY seconds of an open event stream.  events: "ok" (every
# record after Last-Event-ID, then live ones, the stream held open);
# "cut" (the connections of a reconnecting client, counted from the
# "set": 1. three records, half of the next and a reset; 2. 503; 3. three
# records and a clean end; 4. from two records before Last-Event-ID
# (repeats), four records, half of the next and a reset; 5. as "ok");
# "forbidden" (403), "unavailable" (503), "json" (200 with a JSON
# document), "huge" (an event over 1 MiB), "badjson" (data that is not a
# record).
STATE = {"verify": "ok", "grow": 0, "tokens": "two", "vms": "one",
         "events": "ok", "events_conn": 0}
GROW_EVERY = 0.2
KEEPALIVE_EVERY = 0.5
STREAM_MAX_S = 60
LOCK = threading.Lock()


def audit_record(seq, prev):
    rec = {"seq": seq, "time": "2026-11-26T21:%02d:00Z" % (seq % 60),
           "actor": "api:admin", "action": ACTIONS[seq % len(ACTIONS)],
           "subject": "token:9F2C4A1B3D5E6F70",
           "detail": {"vm": "1A2B3C4D5E6F7081"} if seq % 2 else {}}
    canon = json.dumps(rec, sort_keys=True, separators=(",", ":"))
    rec["prev_hash"] = prev
    rec["hash"] = hashlib.sha256(bytes.fromhex(prev) +
                                 canon.encode()).hexdigest()
    return rec


AUDIT = []


def audit_append():
    prev = AUDIT[-1]["hash"] if AUDIT else "0" * 64
    AUDIT.append(audit_record(len(AUDIT) + 1, prev))


for _ in range(5):
    audit_append()


def error(status, code, message, **extra):
    err = {"code": code, "message": message}
    err.update(extra)
    return status, {"error": err}


def find(objs, key, kind):
    for o in objs:
        if key in (o["id"], o["name"]):
            return 200, o
    return error(404, "not_found", "no %s named '%s'" % (kind, key))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "vtokend-mock/1"

    def log_message(self, fmt, *args):
        pass

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_GET(self):
        self.dispatch()

    def do_POST(self):
        self.dispatch()

    def do_DELETE(self):
        self.dispatch()

    def do_PUT(self):
        self.dispatch()

    def do_PATCH(self):
        self.dispatch()

    def record(self, body):
        entry = {"method": self.command, "path": self.path,
                 "headers": {k.lower(): v for k, v in self.headers.items()},
                 "body": body.decode("utf-8", "replace")}
        with LOCK:
            with open(self.server.log, "a") as f:
                f.write(json.dumps(entry) + "\n")

    def dispatch(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n > 0 else b""
        self.record(body)
        if self.path.startswith("/_mock/"):
            with LOCK:
                STATE.update(json.loads(body))
                STATE["events_conn"] = 0
            return self.reply(200, {"ok": True})
        want = "Bearer " + self.server.key
        if self.headers.get("Authorization") != want:
            return self.reply(*error(401, "unauthorized",
                                     "missing or wrong API key"))
        url = urlsplit(self.path)
        parts = [unquote(p) for p in url.path.split("/")[1:]]
        try:
            doc = json.loads(body) if body else None
        except ValueError:
            return self.reply(*error(400, "bad_request", "malformed JSON"))
        route = self.route(self.command, parts, parse_qs(url.query), doc)
        if route is not None:
            self.reply(*route)

    def route(self, method, parts, query, doc):
        if parts[:1] != ["v1"] or len(parts) < 2:
            return error(404, "not_found", "no such path")
        res = parts[1]
        if res == "tokens":
            return self.tokens(method, parts[2:], query, doc)
        if res == "vms":
            return self.vms(method, parts[2:], query, doc)
        if res == "assignments":
            return self.assignments(method, parts[2:], doc)
        if res == "sessions" and len(parts) == 2 and method == "GET":
            return 200, {"sessions": [SESSION_B, SESSION_C]}
        if res == "nodes" and len(parts) == 2 and method == "GET":
            return 200, {"nodes": NODES}
        if res == "audit":
            return self.audit(method, parts[2:], query)
        if res == "events" and len(parts) == 2 and method == "GET":
            return self.events(query)
        if res == "policy" and len(parts) == 2:
            return self.policy(method, None, doc)
        if res == "agents" and len(parts) == 2 and method == "GET":
            return 200, {"agents": AGENTS, "next": None}
        if res == "agent" and parts[2:3] == ["releases"]:
            return self.releases(method, parts[3:], doc)
        if res == "agent" and parts[2:] == ["rollout"]:
            return self.rollout(method, doc)
        return error(404, "not_found", "no such path")

    def policy(self, method, vm, doc):
        """GET/PUT the default (vm None) or GET/PUT/DELETE vm's own."""
        with LOCK:
            own = AGENT["vm_policy"].get(vm["id"]) if vm else None
            if method == "GET":
                if vm is None:
                    return 200, AGENT["default"]
                src = "vm" if own else "default"
                return 200, dict(own or AGENT["default"], source=src)
            if method == "DELETE" and vm is not None:
                AGENT["vm_policy"].pop(vm["id"], None)
                return 204, None
            if method != "PUT":
                return error(405, "method_not_allowed", "wrong method")
            bad = policy_check(doc)
            if bad:
                return error(400, "bad_request", bad)
            if vm is None:
                AGENT["default"] = doc
                return 200, doc
            AGENT["vm_policy"][vm["id"]] = doc
            return 200, dict(doc, source="vm")

    def releases(self, method, rest, doc):
        with LOCK:
            rels = AGENT["releases"]
            if not rest and method == "GET":
                return 200, {"releases": rels, "next": None}
            if not rest and method == "POST":
                return self.release_add(doc)
            if len(rest) == 1 and method == "DELETE":
                if rest[0] not in [r["version"] for r in rels]:
                    return error(404, "not_found",
                                 "no release '%s'" % rest[0])
                ro = AGENT["rollout"]
                if ro and ro["version"] == rest[0]:
                    return error(409, "conflict", "a rollout targets "
                                 "release '%s'" % rest[0])
                AGENT["releases"] = [r for r in rels
                                     if r["version"] != rest[0]]
                return 204, None
        return error(405, "method_not_allowed", "wrong method")

    def release_add(self, doc):
        if not isinstance(doc, dict) or \
                set(doc) != {"version", "sha256", "signature", "artifact"}:
            return error(400, "bad_request", "version, sha256, signature "
                         "and artifact are required")
        try:
            data = base64.b64decode(doc["artifact"], validate=True)
            sig = base64.b64decode(doc["signature"], validate=True)
        except (ValueError, TypeError):
            return error(400, "bad_request", "artifact and signature: "
                         "base64")
        if len(sig) != 64:
            return error(400, "bad_request", "signature: 64 bytes")
        if hashlib.sha256(data).hexdigest() != doc["sha256"]:
            return error(400, "bad_request", "sha256 is not the artifact's")
        if not re.fullmatch(r"[0-9A-Za-z.+~-]{1,64}", doc["version"]):
            return error(400, "bad_request", "version: 1-64 of "
                         "[0-9A-Za-z.+~-]")
        if doc["version"] in [r["version"] for r in AGENT["releases"]]:
            return error(409, "conflict",
                         "release '%s' exists" % doc["version"])
        rel = {"version": doc["version"], "size": len(data),
               "sha256": doc["sha256"], "signature": doc["signature"],
               "created": "2026-12-03T11:00:00Z"}
        AGENT["releases"].append(rel)
        return 201, rel

    def rollout(self, method, doc):
        with LOCK:
            if method == "GET":
                if AGENT["rollout"] is None:    # as vtokend answers
                    return error(404, "not_found", "no rollout")
                return 200, AGENT["rollout"]
            if method == "DELETE":
                AGENT["rollout"] = None
                return 204, None
            if method != "PUT":
                return error(405, "method_not_allowed", "wrong method")
            if not isinstance(doc, dict) or "version" not in doc or \
                    not set(doc) <= {"version", "vms", "percent"}:
                return error(400, "bad_request", "version is required")
            if doc["version"] not in [r["version"]
                                      for r in AGENT["releases"]]:
                return error(404, "not_found",
                             "no release '%s'" % doc["version"])
            pct = doc.get("percent", 100)
            if not isinstance(pct, int) or not 1 <= pct <= 100:
                return error(400, "bad_request", "percent: 1..100")
            vms = doc.get("vms")
            if vms is not None:
                if not isinstance(vms, list) or not vms:
                    return error(400, "bad_request", "vms: a list")
                ids = []
                for v in vms:
                    status, vm = find([VM_A], v, "vm")
                    if status != 200:
                        return status, vm
                    ids.append(vm["id"])
                vms = ids
            AGENT["rollout"] = {"version": doc["version"], "vms": vms,
                                "percent": pct}
            return 200, AGENT["rollout"]

    def tokens(self, method, rest, query, doc):
        if not rest:
            if method == "GET":
                return self.token_list(query)
            if method != "POST":
                return error(405, "method_not_allowed", "use GET or POST")
            if isinstance(doc, dict) and ("count" in doc or "prefix" in doc):
                return self.token_bulk(doc)
            if not isinstance(doc, dict) or "name" not in doc:
                return error(400, "bad_request", "name is required")
            if doc["name"] == "dup":
                return error(409, "conflict", "a token named 'dup' exists")
            tok = dict(TOKEN_A, name=doc["name"],
                       writable=bool(doc.get("writable", False)))
            if isinstance(doc.get("size"), int):
                tok["size"] = doc["size"]
            return 201, tok
        key = rest[0]
        if len(rest) == 2 and rest[1] == "image" and method == "GET":
            return self.image(key)
        if len(rest) != 1:
            return error(404, "not_found", "no such path")
        special = self.special(key)
        if special is not False:
            return special
        status, tok = find([TOKEN_A, TOKEN_B], key, "token")
        if method == "GET" or status != 200:
            return status, tok
        if method == "DELETE":
            return 204, None
        return error(405, "method_not_allowed", "use GET or DELETE")

    def token_list(self, query):
        mode = STATE["tokens"]
        if mode == "two":
            return 200, {"tokens": [TOKEN_A, TOKEN_B], "next": None}
        if mode == "nonext":
            return 200, {"tokens": [TOKEN_A, TOKEN_B]}
        status, page = paged("tokens", MANY_TOKENS, "busid", query)
        if status != 200 or not page["next"] or "after" not in query:
            return status, page
        if mode == "repeat":
            page["next"] = query["after"][0]
        elif mode == "empty":
            page["tokens"] = []
        elif mode == "fail":
            return error(503, "store_unavailable",
                         "the store cannot be reached")
        return status, page

    def token_bulk(self, doc):
        """{"prefix", "count"} as vtokend takes it: 201 with them all."""
        if "name" in doc:
            return error(400, "bad_request", "name goes with one token, "
                         "count and prefix with many")
        count, prefix = doc.get("count"), doc.get("prefix")
        if not isinstance(count, int) or not 1 <= count <= 10000:
            return error(400, "bad_request",
                         "count: an integer from 1 to 10000 is required")
        if not isinstance(prefix, str):
            return error(400, "bad_request", "prefix: a string is required")
        if prefix == "dup":
            return error(409, "conflict", "a token named dup-0001 exists")
        toks = [dict(TOKEN_A, id="%016X" % (0xC000 + i),
                     name="%s-%04d" % (prefix, i), busid="3-%d" % i,
                     writable=bool(doc.get("writable", False)))
                for i in range(1, count + 1)]
        return 201, {"tokens": toks, "count": count}

    def special(self, key):
        """Misbehaving answers, by token name; False for a normal name."""
        if key == "huge":               # over the cap, with a length
            return 200, b'"' + b"x" * (17 << 20) + b'"'
        if key == "huge-stream":        # over the cap, no length
            self.stream(200, "application/json", b"1," * (1 << 19), 17,
                        b"1]")
            return None
        if key == "garbage":
            return 200, b"this is not JSON"
        if key == "bad-gateway":
            return 502, b"upstream broke"
        if key == "evil":               # terminal escapes in a name
            return 200, dict(TOKEN_A, name="evil\u001b]0;pwned\u0007x\u009b")
        return False

    def image(self, key):
        if key == "huge":
            self.stream(200, "application/octet-stream", IMAGE, 129, b"")
            return None
        status, tok = find([TOKEN_A, TOKEN_B], key, "token")
        if status != 200:
            return status, tok
        return 200, IMAGE

    def vms(self, method, rest, query, doc):
        if not rest:
            if method == "GET" and STATE["vms"] == "many":
                return paged("vms", MANY_VMS, "name", query)
            if method == "GET":
                return 200, {"vms": [VM_A], "next": None}
            if method != "POST":
                return error(405, "method_not_allowed", "use GET or POST")
            if not isinstance(doc, dict) or not doc.get("addresses"):
                return error(400, "bad_request", "addresses are required")
            if "bad" in doc["addresses"]:
                return error(400, "bad_request", "invalid CIDR 'bad'")
            return 201, dict(VM_A, name=doc["name"],
                             addresses=doc["addresses"], tokens=[])
        status, vm = find([VM_A], rest[0], "vm")
        if status == 200 and rest[1:] == ["policy"]:
            return self.policy(method, vm, doc)
        if status == 200 and len(rest) == 1 and method == "GET":
            with LOCK:
                own = AGENT["vm_policy"].get(vm["id"])
                pol = dict(own or AGENT["default"],
                           source="vm" if own else "default")
            return 200, dict(vm, facts=FACTS_A, policy=pol)
        if len(rest) != 1 or method == "GET" or status != 200:
            return status, vm
        if method == "DELETE":
            return 204, None
        if method == "PATCH":
            return self.vm_patch(vm, doc)
        return error(405, "method_not_allowed", "use GET, PATCH or DELETE")

    def vm_patch(self, vm, doc):
        if not isinstance(doc, dict) or set(doc) != {"addresses"} or \
                not doc["addresses"]:
            return error(400, "bad_request", "addresses are required")
        if "bad" in doc["addresses"]:
            return error(400, "bad_request", "invalid CIDR 'bad'")
        return 200, dict(vm, addresses=doc["addresses"])

    def assignments(self, method, rest, doc):
        if not rest and method == "POST":
            status, tok = find([TOKEN_A, TOKEN_B], doc.get("token"), "token")
            if status != 200:
                return status, tok
            status, vm = find([VM_A], doc.get("vm"), "vm")
            if status != 200:
                return status, vm
            if tok["vm"] is not None:
                return error(409, "conflict",
                             "token '%s' is already assigned" % tok["name"])
            return 201, {"token": tok["id"], "token_name": tok["name"],
                         "vm": vm["id"], "vm_name": vm["name"],
                         "created": "2026-11-26T21:20:00Z"}
        if len(rest) == 1 and method == "DELETE":
            status, tok = find([TOKEN_A, TOKEN_B], rest[0], "token")
            if status != 200:
                return status, tok
            if tok["vm"] is None:
                return error(404, "not_found",
                             "token '%s' is not assigned" % tok["name"])
            return 204, None
        return error(405, "method_not_allowed", "wrong method")

    def audit(self, method, rest, query):
        if method != "GET":
            return error(405, "method_not_allowed", "use GET")
        if rest == ["verify"]:
            if STATE["verify"] == "broken":
                return error(409, "audit_broken",
                             "hash mismatch at record 3", seq=3)
            return 200, {"ok": True, "records": len(AUDIT),
                         "last_hash": AUDIT[-1]["hash"]}
        if rest:
            return error(404, "not_found", "no such path")
        try:
            after = int(query.get("after", ["0"])[0])
            limit = int(query.get("limit", ["100"])[0])
        except ValueError:
            return error(400, "bad_request", "after and limit are numbers")
        if not 1 <= limit <= 1000 or after < 0:
            return error(400, "bad_request", "limit is 1..1000")
        with LOCK:
            if STATE["grow"] and len(AUDIT) < 12:
                audit_append()
            recs = [r for r in AUDIT if r["seq"] > after][:limit]
            return 200, {"records": recs, "last_seq": len(AUDIT)}

    def events(self, query):
        """GET /v1/events: answers or streams as STATE["events"] says."""
        with LOCK:
            mode = STATE["events"]
            STATE["events_conn"] += 1
            conn = STATE["events_conn"]
        if query.get("token") == ["missing"]:
            return error(404, "not_found", 'no token "missing"')
        if mode == "forbidden":
            return error(403, "forbidden",
                         "role orchestrator may not GET /v1/events")
        if mode == "unavailable" or (mode == "cut" and conn == 2):
            return error(503, "store_unavailable",
                         "the store cannot be reached")
        if mode == "json":
            return 200, {"records": []}
        last = self.headers.get("Last-Event-ID")
        if last is None:
            last = query.get("after", [None])[0]
        try:
            after = int(last) if last is not None else None
        except ValueError:
            return error(400, "bad_request", "Last-Event-ID: a seq")
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.close_connection = True
        self.chunk(b": vtoken events\n\n")
        if mode == "huge":
            self.chunk(b"id: 1\ndata: ")
            for _ in range(9):
                self.chunk(b"x" * (128 << 10))
            return None
        if mode == "badjson":
            self.chunk(b"id: 1\nevent: assign\ndata: not json\n\n")
            return None
        if after is None:
            after = len(AUDIT)
        if mode == "cut" and conn in (1, 3, 4):
            self.stream_cut(conn, after)
        else:
            self.stream_live(after)
        return None

    def stream_cut(self, conn, after):
        """A stream that ends early (STATE "cut", connections 1, 3, 4)."""
        start = after - 2 if conn == 4 else after
        with LOCK:
            recs = [r for r in AUDIT if r["seq"] > start]
        n = 4 if conn == 4 else 3
        for rec in recs[:n]:
            self.send_event(rec)
        if conn == 3:               # a clean end: the last chunk
            self.chunk(b": bye\n\n")
            self.wfile.write(b"0\r\n\r\n")
            return
        if len(recs) > n:           # half an event, then a reset
            ev = sse_event(recs[n])
            self.chunk(ev[:len(ev) // 2])
        self.connection.shutdown(socket.SHUT_RDWR)

    def stream_live(self, after):
        """Every record after after, then new ones (grow) as they come,
        with keep-alive comments, until the client goes (a failed write)
        or STREAM_MAX_S pass."""
        sent, start = after, time.monotonic()
        grown = keepalive = start
        while time.monotonic() - start < STREAM_MAX_S:
            now = time.monotonic()
            with LOCK:
                if STATE["grow"] and len(AUDIT) < 12 and \
                        now - grown >= GROW_EVERY:
                    audit_append()
                    grown = now
                recs = [r for r in AUDIT if r["seq"] > sent]
            for rec in recs:
                self.send_event(rec)
                sent = rec["seq"]
            if now - keepalive >= KEEPALIVE_EVERY:
                self.chunk(b": keep-alive\n\n")
                keepalive = now
            time.sleep(0.05)
        self.wfile.write(b"0\r\n\r\n")

    def send_event(self, rec):
        """One event in two writes, so that the client reads it in
        pieces."""
        ev = sse_event(rec)
        cut = len(ev) // 3 + rec["seq"] % 7
        self.chunk(ev[:cut])
        time.sleep(0.005)
        self.chunk(ev[cut:])

    def chunk(self, data):
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def reply(self, status, doc):
        if doc is None:
            data, ctype = b"", None
        elif isinstance(doc, bytes):
            data = doc
            ctype = ("application/octet-stream" if doc is IMAGE
                     else "application/json" if status < 300
                     else "text/plain")
        else:
            data, ctype = json.dumps(doc).encode(), "application/json"
        self.send_response(status)
        if ctype:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def stream(self, status, ctype, chunk, count, tail):
        """Sends chunk count times and tail, with no length: the client
        can only find out how big the body is by counting."""
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        for _ in range(count):
            self.wfile.write(chunk)
        self.wfile.write(tail)


def sse_event(rec):
    """rec as vtokend's event (id, event, data), with some variety:
    CRLF line ends for even seqs, the data over several lines (indented
    JSON) for every third, an unknown field and a comment for every
    fifth."""
    seq = rec["seq"]
    data = json.dumps(rec, indent=1) if seq % 3 == 0 else json.dumps(rec)
    lines = ["id: %d" % seq, "event: %s" % rec["action"]]
    if seq % 5 == 0:
        lines += ["retry: 1000", ": a comment", "x-unknown: field"]
    lines += ["data: " + line for line in data.split("\n")]
    eol = "\r\n" if seq % 2 == 0 else "\n"
    return (eol.join(lines) + eol + eol).encode()


def policy_check(doc):
    """Why doc is not a whole policy (docs/AGENT.md), or None."""
    if not isinstance(doc, dict) or not set(doc) <= POLICY_FIELDS:
        return "a policy has interval, grace, action and command only"
    iv, gr = doc.get("interval"), doc.get("grace")
    if not isinstance(iv, int) or not 5 <= iv <= 3600:
        return "interval: 5..3600"
    if not isinstance(gr, int) or not 10 <= gr <= 86400 or gr <= iv:
        return "grace: 10..86400, more than interval"
    if doc.get("action") not in POLICY_ACTIONS:
        return "action: one of " + ", ".join(POLICY_ACTIONS)
    if (doc["action"] == "command") != ("command" in doc):
        return "command goes with the action command, and only with it"
    cmd = doc.get("command", "x")
    if not isinstance(cmd, str) or not 1 <= len(cmd.encode()) <= 1024:
        return "command: 1..1024 bytes"
    return None


def paged(key, objs, field, query):
    """The page of objs (in their order) after the one whose field is
    ?after=, at most ?limit= (default and most PAGE_MAX) long, as vtokend
    answers: {key: [...], "next": field of the last, or null}."""
    try:
        limit = int(query.get("limit", [str(PAGE_MAX)])[0])
    except ValueError:
        return error(400, "bad_request", "limit: a number")
    if not 1 <= limit <= PAGE_MAX:
        return error(400, "bad_request", "limit: 1..%d" % PAGE_MAX)
    start = 0
    if "after" in query:
        names = [o[field] for o in objs]
        if query["after"][0] not in names:
            return error(400, "bad_request", "after: no such %s" % field)
        start = names.index(query["after"][0]) + 1
    page = objs[start:start + limit]
    more = start + limit < len(objs)
    return 200, {key: page, "next": page[-1][field] if more else None}


def serve(a):
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.log = a.log
    srv.key = a.key
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    tmp = a.port_file + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(tmp, a.port_file)
    threading.Thread(target=watchdog, args=(srv, a.lifetime),
                     daemon=True).start()
    srv.serve_forever()


def watchdog(srv, lifetime):
    """Stops the server after lifetime seconds, or as soon as the test
    that started it is gone (this process was reparented)."""
    parent = os.getppid()
    end = time.monotonic() + lifetime
    while time.monotonic() < end and os.getppid() == parent:
        time.sleep(0.2)
    srv.shutdown()


def load_log(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def api_requests(log):
    return [r for r in log if not r["path"].startswith("/_mock/")]


def cmd_expect(a):
    log = api_requests(load_log(a.log))
    if not log:
        sys.exit("expect: no request logged")
    last = log[-1]
    got = (last["method"], last["path"])
    if got != (a.method, a.path):
        sys.exit("expect: last request %s %s, want %s %s" %
                 (got + (a.method, a.path)))
    if a.body is not None:
        want = json.loads(a.body)
        try:
            body = json.loads(last["body"])
        except ValueError:
            sys.exit("expect: body is not JSON: %r" % last["body"])
        if body != want:
            sys.exit("expect: body %s, want %s" % (json.dumps(body),
                                                   json.dumps(want)))
        ctype = last["headers"].get("content-type", "")
        if not ctype.startswith("application/json"):
            sys.exit("expect: Content-Type %r" % ctype)


def cmd_auth(a):
    log = api_requests(load_log(a.log))
    bad = [r for r in log
           if r["headers"].get("authorization") != "Bearer " + a.key]
    # The wrong-key test sends another key on purpose; it is marked.
    bad = [r for r in bad if "wrong-key" not in r["path"]]
    if not log or bad:
        sys.exit("auth: %d of %d requests lack the bearer key: %s" %
                 (len(bad), len(log), [r["path"] for r in bad][:5]))


def cmd_jsonfile(a):
    with open(a.file) as f:
        d = json.load(f)
    # In parentheses, so that an expression may span lines.
    if not eval("(" + a.expr + ")", {"d": d}):
        sys.exit("jsonfile: %s is false for %s" % (a.expr, json.dumps(d)))


def cmd_aligned(a):
    """Columns are two spaces apart at least; a header of two words
    ("HEARTBEAT AGE") has one space inside."""
    with open(a.file) as f:
        lines = [line.rstrip("\n") for line in f if line.strip()]
    head = lines[0]
    starts = [i for i, c in enumerate(head)
              if c != " " and (i == 0 or head[i - 2:i] == "  ")]
    for line in lines[1:]:
        for s in starts[1:]:
            if len(line) <= s or line[s] == " " or line[s - 1] != " ":
                sys.exit("aligned: column at %d broken in %r" % (s, line))


def cmd_after(a):
    """The after= values of the GETs of PATH, in order ("-" for none)."""
    for r in api_requests(load_log(a.log)):
        url = urlsplit(r["path"])
        if r["method"] == "GET" and url.path == a.path:
            print(parse_qs(url.query).get("after", ["-"])[0])


def cmd_lastids(a):
    """The Last-Event-ID of each GET /v1/events, in order ("-": none)."""
    for r in api_requests(load_log(a.log)):
        if r["method"] == "GET" and urlsplit(r["path"]).path == "/v1/events":
            print(r["headers"].get("last-event-id", "-"))


def cmd_set(a):
    name, _, value = a.assignment.partition("=")
    val = int(value) if value.isdigit() else value
    req = urllib.request.Request(a.url + "/_mock/state", method="POST",
                                 data=json.dumps({name: val}).encode())
    urllib.request.urlopen(req, timeout=10).read()


def cmd_tty(a):
    master, slave = pty.openpty()
    try:
        p = subprocess.run(a.argv, stdin=subprocess.DEVNULL, stdout=slave,
                           stderr=subprocess.PIPE, timeout=20)
    finally:
        os.close(slave)
        os.close(master)
    sys.stderr.buffer.write(p.stderr)
    sys.exit(p.returncode)


def main():
    ap = argparse.ArgumentParser()
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("serve")
    p.add_argument("--log", required=True)
    p.add_argument("--port-file", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--tls-cert")
    p.add_argument("--tls-key")
    p.add_argument("--lifetime", type=float, default=300)
    p.set_defaults(fn=serve)
    p = sub.add_parser("expect")
    p.add_argument("log")
    p.add_argument("method")
    p.add_argument("path")
    p.add_argument("body", nargs="?")
    p.set_defaults(fn=cmd_expect)
    p = sub.add_parser("count")
    p.add_argument("log")
    p.set_defaults(fn=lambda a: print(len(api_requests(load_log(a.log)))
                                      if os.path.exists(a.log) else 0))
    p = sub.add_parser("auth")
    p.add_argument("log")
    p.add_argument("key")
    p.set_defaults(fn=cmd_auth)
    p = sub.add_parser("jsonfile")
    p.add_argument("file")
    p.add_argument("expr")
    p.set_defaults(fn=cmd_jsonfile)
    p = sub.add_parser("aligned")
    p.add_argument("file")
    p.set_defaults(fn=cmd_aligned)
    p = sub.add_parser("paths")
    p.add_argument("log")
    p.set_defaults(fn=lambda a: [print(r["method"], r["path"]) for r in
                                 api_requests(load_log(a.log))])
    p = sub.add_parser("after")
    p.add_argument("log")
    p.add_argument("path")
    p.set_defaults(fn=cmd_after)
    p = sub.add_parser("lastids")
    p.add_argument("log")
    p.set_defaults(fn=cmd_lastids)
    p = sub.add_parser("image")
    p.add_argument("file")
    p.set_defaults(fn=lambda a: open(a.file, "wb").write(IMAGE))
    p = sub.add_parser("set")
    p.add_argument("url")
    p.add_argument("assignment")
    p.set_defaults(fn=cmd_set)
    p = sub.add_parser("tty")
    p.add_argument("argv", nargs=argparse.REMAINDER)
    p.set_defaults(fn=cmd_tty)
    a = ap.parse_args()
    a.fn(a)


if __name__ == "__main__":
    main()
