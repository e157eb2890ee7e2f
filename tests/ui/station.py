"""station.py -- what the ui tests need of the collection server: a
patrold started in a private directory with the sample reference data, a
device token, and a terminal store enrolled with it (standard library
only). Used by ui_sync.py and browser.py.
"""
import atexit
import ctypes
import os
import re
import signal
import subprocess
import time

REFERENCE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                         "reference-sample.json")


def _die_with_parent():
    """In the child before exec: SIGTERM when the test process dies
    (prctl PR_SET_PDEATHSIG)."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)
    except (OSError, AttributeError):
        pass


class Station:
    def __init__(self, patrold, data, env):
        self.patrold, self.data, self.env = patrold, data, env
        self.proc = None
        self.port = 0
        self.srv("init", "--name", "ui test station")
        self.srv("lists", "import", REFERENCE)

    def srv(self, *args, stdin=None):
        r = subprocess.run([self.patrold, "--data", self.data, *args], env=self.env,
                           input=stdin, capture_output=True, text=True, timeout=60)
        if r.returncode != 0:
            raise RuntimeError(f"patrold {' '.join(args)}: {r.returncode} {r.stderr}")
        return r.stdout

    def token(self, name, department="SY-CGJ"):
        return self.srv("device", "add", "--name", name, "--department", department).strip()

    def serve(self, port=0):
        """Start serving on 127.0.0.1:port (0: a free one); the port is kept."""
        log = os.path.join(self.data, "serve.log")
        self.logf = open(log, "w")
        self.proc = subprocess.Popen([self.patrold, "--data", self.data, "serve", "--listen",
                                      f"127.0.0.1:{port}"], env=self.env, stdout=self.logf,
                                     stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        # Whatever way the test ends (sys.exit in its setup included; killed
        # by ctest's timeout: the parent-death signal), the server it
        # started does not outlive it.
        atexit.register(self.stop)
        for _ in range(200):
            m = re.search(r"event=listening addr=127\.0\.0\.1:(\d+)", open(log).read())
            if m:
                self.port = int(m.group(1))
                return f"https://127.0.0.1:{self.port}"
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        raise RuntimeError(f"patrold serve did not listen: {open(log).read()}")

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None
