#!/usr/bin/python3
"""browser.console: the web console (src/ui/) in headless Chromium against a
real vtokend (docs/CONSOLE.md, "Tests").

usage: test_console.py VTOKEND VT_USBIP_HOLD SOURCE_DIR SCREENSHOT_DIR

Signs in, creates tokens and a VM, assigns, watches a USB/IP import by
vt-usbip-hold appear on the Sessions page without a reload, revokes it from
the page (the client's connection closes), filters and verifies the audit
log, raises a copied_token alarm with bad agent signatures and acknowledges
it, checks what an auditor is (not) offered and that the server refuses it
anyway, that wrong and revoked keys land on the sign-in page, and the
security headers.  Screenshots of every page at 1280x800 and 390x844 go to
SCREENSHOT_DIR.
"""
import base64
import os
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from console_fixture import Vtokend, browser, fail, wait_until  # noqa: E402

WAIT = 20          # seconds for anything the page does
SIZES = {"desktop": (1280, 800), "narrow": (390, 844)}
ALARM_COUNT = 3


def By():
    from selenium.webdriver.common.by import By as b
    return b


class Console:
    """The page, through Selenium, with bounded waits."""

    def __init__(self, drv, vtd, shots):
        self.d = drv
        self.vtd = vtd
        self.shots = shots
        self.by = By()

    def css(self, sel):
        return self.d.find_elements(self.by.CSS_SELECTOR, sel)

    def one(self, sel, timeout=WAIT):
        return wait_until(lambda: next(iter(
            [e for e in self.css(sel) if e.is_displayed()]), None),
            timeout, "element %s" % sel)

    def gone(self, sel, timeout=WAIT):
        wait_until(lambda: not self.css(sel), timeout, "%s to go" % sel)

    def text(self, sel, want, timeout=WAIT):
        return wait_until(lambda: any(want in e.text for e in self.css(sel)),
                          timeout, "%r in %s" % (want, sel))

    def type(self, sel, value):
        e = self.one(sel)
        e.clear()
        e.send_keys(value)
        return e

    def click(self, sel):
        self.one(sel).click()

    def idle(self, timeout=WAIT):
        wait_until(lambda: self.d.execute_script(
            "return document.getElementById('progress').hidden"),
            timeout, "requests to finish")

    def go(self, page):
        self.click("#nav-" + page)
        self.one("#page-" + page)
        self.idle()

    def sign_in(self, key):
        self.d.get(self.vtd.base + "/ui/")
        self.type("#signin input[type=password]", key)
        self.click("#signin-btn")

    def sign_out(self):
        self.click("#signout")
        self.one("#signin")

    def size(self, name):
        w, h = SIZES[name]
        self.d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
            "width": w, "height": h, "deviceScaleFactor": 1,
            "mobile": name == "narrow"})

    def shoot(self, name):
        """Both sizes of what is on screen now, then back to desktop."""
        for s in SIZES:
            self.size(s)
            self.d.execute_script("window.scrollTo(0, 0)")
            time.sleep(0.3)
            self.d.save_screenshot(os.path.join(
                self.shots, "%s-%s.png" % (name, s)))
        self.size("desktop")

    def row(self, table_id, attr, value):
        return self.one("#%s tr[data-%s='%s']" % (table_id, attr, value))

    def fetch_status(self, method, path):
        """A request made by the page's own JavaScript with its stored key."""
        return self.d.execute_async_script("""
            const done = arguments[arguments.length - 1];
            fetch(arguments[1], {method: arguments[0], headers: {
              Authorization: 'Bearer ' + sessionStorage.getItem('vtoken.key')}})
              .then(r => done(r.status), e => done('error ' + e));
        """, method, path)


def check_headers(vtd):
    csp_parts = ["default-src 'none'", "script-src 'self'", "style-src 'self'",
                 "frame-ancestors 'none'", "base-uri 'none'"]
    for path, ctype in (("/ui/", "text/html"), ("/ui/js/main.js", "javascript"),
                        ("/ui/css/console.css", "text/css")):
        st, h, _ = vtd.request("GET", path, key=None)
        if st != 200:
            fail("GET %s: %s" % (path, st))
        csp = h.get("Content-Security-Policy", "")
        for p in csp_parts:
            if p not in csp:
                fail("%s: CSP %r lacks %r" % (path, csp, p))
        if "unsafe-inline" in csp or "unsafe-eval" in csp:
            fail("%s: CSP allows inline code: %r" % (path, csp))
        want = {"X-Content-Type-Options": "nosniff",
                "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
                "Cache-Control": "no-cache"}
        for k, v in want.items():
            if (h.get(k) or "").lower() != v.lower():
                fail("%s: %s is %r, wanted %r" % (path, k, h.get(k), v))
        if ctype not in (h.get("Content-Type") or ""):
            fail("%s: Content-Type %r" % (path, h.get("Content-Type")))
        etag = h.get("ETag")
        if not etag:
            fail("%s: no ETag" % path)
        st, _, _ = vtd.request("GET", path, key=None,
                               headers={"If-None-Match": etag})
        if st != 304:
            fail("%s with If-None-Match: %s, wanted 304" % (path, st))
    st, h, _ = vtd.request("GET", "/", key=None)
    if st != 302 or not (h.get("Location") or "").endswith("/ui/"):
        fail("GET /: %s to %r, wanted 302 to /ui/" % (st, h.get("Location")))
    st, _, _ = vtd.request("GET", "/ui/../var/admin.key", key=None)
    if st == 200:
        fail("/ui/ served a file outside ui.dir")


def bad_agent(vtd, token):
    """One agent verify with a wrong signature (an auth.fail record)."""
    ch = vtd.api("POST", "/v1/agent/challenge", {"token": token}, key=None,
                 want=200)
    st, _, js = vtd.request("POST", "/v1/agent/verify", {
        "token": token, "nonce": ch["nonce"],
        "signature": base64.b64encode(b"\x01" * 64).decode()}, key=None)
    if st != 403:
        fail("bad verify answered %s %r, wanted 403" % (st, js))


class Hold:
    """vt-usbip-hold in the background, its stdout lines collected."""

    def __init__(self, path, host, port, busid, seconds):
        self.p = subprocess.Popen([path, host, str(port), busid, str(seconds)],
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        self.lines = []
        self.t = threading.Thread(target=self._read, daemon=True)
        self.t.start()

    def _read(self):
        for line in self.p.stdout:
            self.lines.append(line.strip())

    def err(self):
        return self.p.stderr.read() if self.p.poll() is not None else ""

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait(5)


def steps(c, vtd, hold_path):
    d = c.d

    yield "security headers"
    check_headers(vtd)

    yield "a wrong key gets the sign-in page with a message"
    c.sign_in("vtk_this_is_not_a_key")
    c.text("#signin-msg", "refused")
    c.shoot("signin")

    yield "sign in as admin"
    c.sign_in(vtd.admin_key)
    c.one("#page-overview")
    c.one("#count-tokens")
    if d.execute_script("return document.cookie") != "":
        fail("the console set a cookie")
    if vtd.admin_key in d.current_url:
        fail("the key is in the URL")

    yield "create tokens (one and many)"
    c.go("tokens")
    c.one("#tokens-list .empty")
    c.type("#token-create-form input[name=name]", "ui-token-1")
    c.click("#token-create")
    c.text("#token-create-form + .out", "created")
    tr = c.row("tokens-list", "token", "ui-token-1")
    line = tr.find_element(c.by.CSS_SELECTOR, ".attach-line").text
    want = "usbip --tcp-port %d attach -r 127.0.0.1 -b 1-1" % vtd.usbip_port
    if line != want:
        fail("attach line %r, wanted %r" % (line, want))
    c.type("#token-bulk-form input[name=prefix]", "lab")
    c.type("#token-bulk-form input[name=count]", "4")
    c.click("#token-bulk")
    c.row("tokens-list", "token", "lab-0004")
    c.type("#token-search", "lab-0003")
    c.one("#token-search").submit()
    wait_until(lambda: len(c.css("#tokens-list tbody tr")) == 1, WAIT,
               "the search to leave one row")
    c.type("#token-search", "")
    c.one("#token-search").submit()
    c.row("tokens-list", "token", "ui-token-1")

    yield "add a VM: a bad address is refused next to the field"
    c.go("vms")
    c.type("#vm-name", "ui-vm")
    c.type("#vm-addresses", "300.1.2.3")
    c.click("#vm-add")
    c.text("#vm-addresses-err", "")
    wait_until(lambda: c.one("#vm-addresses-err").text.strip(), WAIT,
               "an error next to the addresses field")
    c.type("#vm-addresses", "127.0.0.1")
    c.click("#vm-add")
    tr = c.row("vms-list", "vm", "ui-vm")
    if "127.0.0.1/32" not in tr.text:
        fail("VM row %r lacks 127.0.0.1/32" % tr.text)

    yield "assign the token to the VM"
    c.go("tokens")
    tr = c.row("tokens-list", "token", "ui-token-1")
    inp = tr.find_element(c.by.CSS_SELECTOR, "form.assign input")
    inp.send_keys("ui-vm")
    tr.find_element(c.by.CSS_SELECTOR, "[data-action=assign]").click()
    wait_until(lambda: "ui-vm" in c.row("tokens-list", "token",
                                        "ui-token-1").text, WAIT,
               "the token row to show its VM")
    c.shoot("tokens")

    yield "an import appears on the Sessions page without a reload"
    c.go("sessions")
    c.one("#sessions-list .empty")
    d.execute_script("window.__noReload = 1")
    hold = Hold(hold_path, "127.0.0.1", vtd.usbip_port, "1-1", 60)
    try:
        wait_until(lambda: "attached" in hold.lines or hold.p.poll() is not None,
                   30, "vt-usbip-hold to attach")
        if "attached" not in hold.lines:
            fail("vt-usbip-hold: %r %s" % (hold.lines, hold.err()))
        tr = c.row("sessions-list", "token", "ui-token-1")
        if "ui-vm" not in tr.text or "127.0.0.1" not in tr.text:
            fail("session row %r" % tr.text)
        if d.execute_script("return window.__noReload") != 1:
            fail("the Sessions page was reloaded")
        c.shoot("sessions")

        yield "revoke from the page ends the client's connection"
        tr.find_element(c.by.CSS_SELECTOR, "[data-action=revoke]").click()
        wait_until(lambda: hold.p.poll() is not None, 30,
                   "vt-usbip-hold to see its connection closed")
        if hold.p.returncode != 0 or "closed" not in hold.lines:
            fail("vt-usbip-hold exited %s with %r %s" %
                 (hold.p.returncode, hold.lines, hold.err()))
        c.one("#sessions-list .empty")
        if d.execute_script("return window.__noReload") != 1:
            fail("the Sessions page was reloaded")
    finally:
        hold.stop()

    yield "filter the audit log, a record's detail, verify the chain"
    c.go("audit")
    c.one("#audit-list tbody tr")
    c.one("#audit-action")
    from selenium.webdriver.support.ui import Select
    Select(c.one("#audit-action")).select_by_value("revoke")
    c.click("#audit-apply")
    c.idle()
    wait_until(lambda: c.css("#audit-list tbody tr") and all(
        r.get_attribute("data-action") == "revoke"
        for r in c.css("#audit-list tbody tr")), WAIT, "only revoke records")
    Select(c.one("#audit-action")).select_by_value("")
    c.type("#audit-token", "ui-token-1")
    c.click("#audit-apply")
    c.idle()
    wait_until(lambda: {r.get_attribute("data-action")
                        for r in c.css("#audit-list tbody tr")} >=
               {"token.create", "assign", "attach", "revoke", "detach"},
               WAIT, "the token's create, assign, attach, revoke, detach")
    c.css("#audit-list tbody tr[data-action=attach] button")[0].click()
    c.text("#audit-detail", "attach")
    c.click("#audit-verify")
    c.text("#audit-verify-result", "intact")
    c.shoot("audit")

    yield "bad agent verifies raise copied_token; acknowledge it"
    vtd.api("POST", "/v1/assignments", {"token": "ui-token-1", "vm": "ui-vm"},
            want=201)
    c.go("alarms")
    c.one("#alarms-firing .empty")
    tid = vtd.api("GET", "/v1/tokens/ui-token-1", want=200)["id"]
    for _ in range(ALARM_COUNT + 1):
        bad_agent(vtd, tid)  # the agent names its token by id
    tr = c.row("alarms-firing", "rule", "copied_token")
    if "critical" not in tr.text:
        fail("alarm row %r" % tr.text)
    tr.find_element(c.by.CSS_SELECTOR, "[data-action=ack]").click()
    wait_until(lambda: "acknowledged by" in c.row(
        "alarms-firing", "rule", "copied_token").text, WAIT,
        "the alarm to show who acknowledged it")
    c.shoot("alarms")

    yield "keys: create one, the secret shown once"
    c.go("keys")
    c.type("#key-name", "ui-auditor")
    from selenium.webdriver.support.ui import Select as S
    S(c.one("#key-role")).select_by_value("auditor")
    c.type("#key-expires", "1d")
    c.click("#key-create")
    secret = c.one("#key-secret").get_attribute("value")
    if not secret.startswith("vtk_"):
        fail("key secret %r" % secret)
    c.row("keys-list", "key", "ui-auditor")
    c.shoot("keys")

    yield "overview counts and recent events"
    c.go("overview")
    c.text("#count-tokens", "5")
    c.text("#count-firing-alarms", "1")
    c.one("#recent-events li")
    c.shoot("overview")
    c.go("vms")
    c.text("#vms-list tr[data-vm='ui-vm']", "bad signature")
    c.shoot("vms")

    yield "agents: each VM's agent, the default policy, facts on demand"
    vtd.api("PUT", "/v1/policy", {"interval": 20, "grace": 60,
                                  "action": "lock-sessions"}, want=200)
    c.go("agents")
    c.text("#agents-policy", "lock-sessions")
    tr = c.row("agents-list", "vm", "ui-vm")
    tr.find_element(c.by.CSS_SELECTOR, "[data-action=facts]").click()
    wait_until(lambda: "No facts reported yet" in c.row(
        "agents-list", "vm", "ui-vm").text, WAIT, "the VM's facts")
    c.shoot("agents")

    yield "an auditor is offered no change and the server refuses one"
    c.sign_out()
    c.sign_in(secret)
    c.one("#page-overview")
    if c.css("#nav-keys"):
        fail("the auditor is offered the Keys page")
    c.go("tokens")
    c.row("tokens-list", "token", "ui-token-1")
    for sel in ("[data-action=revoke]", "[data-action=delete]",
                "[data-action=assign]", "#token-create-form"):
        if c.css(sel):
            fail("the auditor is offered %s" % sel)
    c.go("sessions")
    c.go("vms")
    if c.css("#vm-add-form") or c.css("[data-action=remove]"):
        fail("the auditor is offered VM changes")
    c.go("alarms")
    c.row("alarms-firing", "rule", "copied_token")
    if c.css("[data-action=ack]"):
        fail("the auditor is offered acknowledge")
    st = c.fetch_status("DELETE", "/v1/assignments/ui-token-1")
    if st != 403:
        fail("the auditor's forced revoke answered %r, wanted 403" % st)
    st = c.fetch_status("DELETE", "/v1/tokens/ui-token-1")
    if st != 403:
        fail("the auditor's forced delete answered %r, wanted 403" % st)
    c.go("tokens")
    c.shoot("auditor-tokens")

    yield "a revoked key returns to the sign-in page with a message"
    keys = vtd.api("GET", "/v1/keys", want=200)["keys"]
    kid = [k["id"] for k in keys if k["name"] == "ui-auditor"][0]
    vtd.api("DELETE", "/v1/keys/" + kid, want=204)
    c.click("#nav-vms")
    c.one("#signin")
    c.text("#signin-msg", "refused")
    if d.execute_script("return sessionStorage.getItem('vtoken.key')"):
        fail("the refused key is still stored")

    yield "sign out clears the key"
    c.sign_in(vtd.admin_key)
    c.one("#page-overview")
    c.sign_out()
    if d.execute_script("return sessionStorage.getItem('vtoken.key')"):
        fail("sign-out left the key in sessionStorage")

    yield "no Content-Security-Policy violation in the browser log"
    bad = [e["message"] for e in d.get_log("browser")
           if "Content Security Policy" in e["message"]
           or "Uncaught" in e["message"]]
    if bad:
        fail("browser log: %s" % "\n".join(bad))


def main():
    if len(sys.argv) != 5:
        sys.stderr.write(__doc__.split("\n\n")[1] + "\n")
        return 2
    vtokend, hold, srcdir, shots = sys.argv[1:]
    os.makedirs(shots, exist_ok=True)
    if not os.access(hold, os.X_OK):
        fail("no vt-usbip-hold at %s" % hold)
    tmp = tempfile.mkdtemp(prefix="vt-chromium-")
    vtd = Vtokend(vtokend, srcdir, "alarms:\n  copied_token: {count: %d, "
                  "window: 300}\n" % ALARM_COUNT).start()
    drv = None
    step = "start"
    t0 = time.monotonic()
    try:
        drv = browser(tmp)
        c = Console(drv, vtd, shots)
        for step in steps(c, vtd, hold):
            print("... %s (%.1fs)" % (step, time.monotonic() - t0), flush=True)
        print("browser.console: all steps passed in %.1fs" %
              (time.monotonic() - t0))
        return 0
    except Exception:
        print("FAILED at step: %s" % step, flush=True)
        if drv is not None:
            try:
                drv.save_screenshot(os.path.join(shots, "FAILED.png"))
                for e in drv.get_log("browser"):
                    print("browser:", e["message"])
            except Exception as e:  # noqa: BLE001
                print("no screenshot: %r" % e)
        print("vtokend log:\n" + vtd.log_tail())
        raise
    finally:
        if drv is not None:
            drv.quit()
        vtd.cleanup()
        subprocess.run(["rm", "-rf", tmp], check=False)


if __name__ == "__main__":
    sys.exit(main())
