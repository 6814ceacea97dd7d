"""A private vtokend and a headless Chromium for the console's browser test.

vtokend runs from a temporary directory with its own configuration and
free loopback ports (chosen by binding port 0; a start that loses the race
for a port is retried).  Every wait is bounded.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

START_TIMEOUT = 60
TRIES = 3


def fail(msg):
    raise AssertionError(msg)


def wait_until(fn, timeout, what, interval=0.2):
    """Calls fn until it returns a true value; fails after timeout seconds."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            v = fn()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - reported when time is up
            last = e
        if time.monotonic() >= deadline:
            fail("timed out after %ss waiting for %s%s" %
                 (timeout, what, " (last error: %r)" % last if last else ""))
        time.sleep(interval)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Vtokend:
    def __init__(self, binary, srcdir, extra_yaml=""):
        self.binary = binary
        self.srcdir = srcdir
        self.extra_yaml = extra_yaml
        self.dir = tempfile.mkdtemp(prefix="vt-browser-")
        self.proc = None
        self.log = os.path.join(self.dir, "vtokend.log")
        self.admin_key = None

    def _config(self):
        data = os.path.join(self.dir, "var")
        conf = os.path.join(self.dir, "vtokend.yaml")
        with open(conf, "w") as f:
            f.write("data_dir: %s\nlog_level: info\n"
                    "usbip:\n  listen: 127.0.0.1:%d\n"
                    "api:\n  listen: 127.0.0.1:%d\n"
                    "ui:\n  dir: %s\n%s" %
                    (data, self.usbip_port, self.api_port,
                     os.path.join(self.srcdir, "src", "ui"), self.extra_yaml))
        return conf, data

    def start(self):
        for attempt in range(TRIES):
            self.usbip_port, self.api_port = free_port(), free_port()
            conf, data = self._config()
            logf = open(self.log, "a")
            self.proc = subprocess.Popen([self.binary, "-c", conf],
                                         stdout=logf, stderr=subprocess.STDOUT,
                                         cwd=self.dir)
            logf.close()
            deadline = time.monotonic() + START_TIMEOUT
            while time.monotonic() < deadline:
                if self.proc.poll() is not None:
                    break
                key = os.path.join(data, "admin.key")
                if os.path.exists(key) and self._healthy():
                    with open(key) as f:
                        self.admin_key = f.read().strip()
                    if self.admin_key:
                        return self
                time.sleep(0.1)
            self.stop()
            sys.stderr.write("vtokend start %d failed:\n%s\n" %
                             (attempt + 1, self.log_tail()))
        fail("vtokend did not start (log: %s)" % self.log)

    def _healthy(self):
        try:
            st, _, _ = self.request("GET", "/healthz", key=None)
            return st == 200
        except OSError:
            return False

    @property
    def base(self):
        return "http://127.0.0.1:%d" % self.api_port

    def request(self, method, path, body=None, key="admin", headers=None):
        """(status, headers, parsed JSON or bytes); never raises on status."""
        if key == "admin":
            key = self.admin_key
        h = dict(headers or {})
        data = None
        if key:
            h["Authorization"] = "Bearer " + key
        if body is not None:
            data = json.dumps(body).encode()
            h["Content-Type"] = "application/json"
        req = urllib.request.Request(self.base + path, data=data,
                                     headers=h, method=method)
        opener = urllib.request.build_opener(NoRedirect)
        try:
            with opener.open(req, timeout=20) as r:
                raw = r.read()
                st, hd = r.status, r.headers
        except urllib.error.HTTPError as e:
            raw, st, hd = e.read(), e.code, e.headers
        ctype = hd.get("Content-Type", "") or ""
        if raw and "json" in ctype:
            return st, hd, json.loads(raw)
        return st, hd, raw

    def api(self, method, path, body=None, key="admin", want=None):
        st, _, js = self.request(method, path, body, key)
        if want is not None and st != want:
            fail("%s %s: %s, wanted %s: %r" % (method, path, st, want, js))
        return js

    def log_tail(self, n=60):
        try:
            with open(self.log, errors="replace") as f:
                return "".join(f.readlines()[-n:])
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def cleanup(self):
        self.stop()
        if os.environ.get("VTD_KEEP"):
            sys.stderr.write("kept %s\n" % self.dir)
        else:
            shutil.rmtree(self.dir, ignore_errors=True)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *a, **kw):
        return None


def browser(tmpdir):
    """Headless Debian Chromium through Debian's chromedriver; fails (not
    skips) with what to install when a piece is missing."""
    missing = [p for p in ("/usr/bin/chromium", "/usr/bin/chromedriver")
               if not os.path.exists(p)]
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing.append("python3-selenium")
    if missing:
        fail("browser test needs %s: run scripts/deps.sh test (Debian "
             "packages chromium chromium-driver python3-selenium)" %
             ", ".join(missing))
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
              "--disable-gpu", "--window-size=1280,800", "--lang=en-US",
              "--no-first-run", "--disable-extensions",
              "--user-data-dir=" + os.path.join(tmpdir, "chromium")):
        opts.add_argument(a)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    svc = Service("/usr/bin/chromedriver",
                  log_path=os.path.join(tmpdir, "chromedriver.log"))
    drv = webdriver.Chrome(service=svc, options=opts)
    drv.set_page_load_timeout(30)
    drv.set_script_timeout(30)
    return drv
