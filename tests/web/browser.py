#!/usr/bin/env python3
"""browser.py -- 监督平台 in headless Chromium (issue 10 "Show").

  browser.py PATROLD PATROL OUT E2E_WIRE   (exit 77: no chromium/chromedriver/selenium/zbarimg)

A real `patrold serve --web-listen` on loopback; Debian's chromium driven
by chromedriver (python3-selenium), started here. A page without a session
sends the browser to 登录; the admin logs in, the 总览 figures equal
`audit report --json` for the month, 账户 lists the accounts, 退出 ends the
session (the old page asks for a login again); a reviewer sees its
department only and is refused 账户. The admin adds a device on 终端: its
QR code, screenshot and decoded with zbarimg, is accepted by
`patrol enroll --qr` on a new terminal store, which the device list then
shows as 在用. 事项 sorts by id, last activity, opening and state; a
matter's page shows a correction in effect and the server's rule flag (an
entry E2E_WIRE appends past the terminal's rules); its documents print one
to a page (print media and Chrome's PDF). Screenshots of each page in OUT.
"""
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time

SKIP = 77
PATROLD, PATROL, OUT, WIRE = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
try:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions as EC
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:
    print("SKIP: python3-selenium is not installed")
    sys.exit(SKIP)
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
driver_bin = shutil.which("chromedriver")
if not shutil.which("zbarimg"):
    print("SKIP: zbarimg (zbar-tools) is not installed")
    sys.exit(SKIP)
if not chromium or not driver_bin:
    print("SKIP: chromium or chromedriver is not installed")
    sys.exit(SKIP)

os.makedirs(OUT, exist_ok=True)
TMP = tempfile.mkdtemp(prefix="web_browser_")
DATA = os.path.join(TMP, "data")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)


def run(*args, stdin=None):
    return subprocess.run([PATROLD, "--data", DATA] + list(args), input=stdin,
                          capture_output=True, text=True, env=dict(os.environ, LANG="C"))


assert run("init").returncode == 0
for name, role, dept, pw in [("admin", "admin", None, "admin pass 1"),
                             ("rev1", "reviewer", "SY-CGJ", "review pass 1"),
                             ("rev2", "reviewer", "SY-SCJGJ", "review pass 2")]:
    a = ["user", "add", "--name", name, "--role", role] + (["--department", dept] if dept else [])
    assert run(*a, stdin=pw + "\n").returncode == 0
assert run("device", "add", "--name", "t-cgj", "--department", "SY-CGJ").returncode == 0
assert run("device", "add", "--name", "t-scj", "--department", "SY-SCJGJ").returncode == 0

log = open(os.path.join(TMP, "serve.log"), "w+")
srv = subprocess.Popen([PATROLD, "--data", DATA, "serve", "--listen", "127.0.0.1:0",
                        "--web-listen", "127.0.0.1:0"], stdout=log, stderr=log)
port = None
for _ in range(100):
    time.sleep(0.1)
    log.seek(0)
    m = re.search(r"event=web_listening addr=127\.0\.0\.1:(\d+)", log.read())
    if m:
        port = int(m.group(1))
        break
assert port, "no web listener"
BASE = "https://127.0.0.1:%d" % port

opts = webdriver.ChromeOptions()
opts.binary_location = chromium
# The server certificate is patrold init's own (not for 127.0.0.1).
for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
          "--window-size=1100,900", "--lang=zh-CN", "--no-first-run",
          "--ignore-certificate-errors"):
    opts.add_argument(a)
drv = webdriver.Chrome(service=Service(driver_bin), options=opts)
drv.set_page_load_timeout(20)


def shot(name):
    h = drv.execute_script("return document.documentElement.scrollHeight")
    drv.set_window_size(1100, max(700, min(int(h) + 120, 4000)))
    drv.save_screenshot(os.path.join(OUT, name + ".png"))
    drv.set_window_size(1100, 900)


def make_media(d):
    """A 40x30 PNG and one second of 8 kHz WAV."""
    import struct
    import wave
    import zlib
    rows = b"".join(b"\x00" + b"".join(bytes([(x * 6) % 256, (y * 8) % 256, 128]) for x in range(40))
                    for y in range(30))

    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data))
    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 40, 30, 8, 2, 0, 0, 0)) +
           chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))
    photo = os.path.join(d, "photo.png")
    open(photo, "wb").write(png)
    audio = os.path.join(d, "audio.wav")
    w = wave.open(audio, "wb")
    w.setnchannels(1)
    w.setsampwidth(2)
    w.setframerate(8000)
    w.writeframes(b"".join(struct.pack("<h", int(8000 * ((i // 20) % 2 - 0.5))) for i in range(8000)))
    w.close()
    return photo, audio


def get_raw(url, sid, rng):
    """GET url (of this console) with a session cookie and an optional Range."""
    import http.client
    import ssl
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=10)
    h = {"Cookie": "__Host-pw_s=" + sid}
    if rng:
        h["Range"] = rng
    c.request("GET", u.path + ("?" + u.query if u.query else ""), headers=h)
    r = c.getresponse()
    b = r.read()
    c.close()
    return r.status, r.headers, b


def post_raw(url, sid, form):
    import http.client
    import ssl
    import urllib.parse
    u = urllib.parse.urlsplit(url)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    c = http.client.HTTPSConnection(u.hostname, u.port, context=ctx, timeout=30)
    c.request("POST", u.path, body=urllib.parse.urlencode(form),
              headers={"Cookie": "__Host-pw_s=" + sid,
                       "Content-Type": "application/x-www-form-urlencoded"})
    r = c.getresponse()
    b = r.read()
    c.close()
    return r.status, r.headers, b


def leaves():
    db = sqlite3.connect("file:%s?mode=ro" % os.path.join(DATA, "patrold.db"), uri=True)
    rows = [r[0] for r in db.execute("SELECT data FROM log_leaves ORDER BY idx")]
    db.close()
    return [bytes(r).decode() if isinstance(r, (bytes, memoryview)) else r for r in rows]


def at(path):
    """Wait (up to 10 s) for a navigation to end at path; True if it did."""
    try:
        WebDriverWait(drv, 10).until(lambda d: d.current_url == BASE + path)
        return True
    except Exception:
        return False


def dashboard_equals_report():
    """The 总览 page's figures against audit report --json, all of them."""
    drv.get(BASE + "/")
    month = time.strftime("%Y-%m", time.gmtime(time.time() + 8 * 3600))
    rep = json.loads(run("audit", "report", "--month", month, "--json").stdout)
    cells = drv.find_elements(By.CSS_SELECTOR, "td.num[data-table]")
    shown = {(c.get_attribute("data-table"), c.get_attribute("data-key")): c.text for c in cells}
    check(len(shown) >= 30, "dashboard shows %d figures" % len(shown))
    county = rep["scopes"]["county"]
    bad = [(k, v) for k, v in shown.items()
           if v != ("—" if county[k[0]][k[1]] is None else str(int(county[k[0]][k[1]])))]
    check(not bad, "dashboard differs from audit report --json: %r" % bad[:5])
    probs = json.loads(run("audit", "problems", "--json").stdout)
    t = drv.find_element(By.ID, "problems")
    check(int(t.get_attribute("data-count")) == len(probs) and
          len(t.find_elements(By.CSS_SELECTOR, "tbody tr")) == len(probs),
          "problems as audit problems --json (%d)" % len(probs))
    return shown


def login(name, pw):
    drv.get(BASE + "/login")
    drv.find_element(By.ID, "name").send_keys(name)
    drv.find_element(By.ID, "password").send_keys(pw)
    click_and_wait(By.ID, "login")


def click_and_wait(by, what):
    """Click and wait for the next page to replace this one."""
    old = drv.find_element(By.TAG_NAME, "html")
    drv.find_element(by, what).click()
    WebDriverWait(drv, 10).until(EC.staleness_of(old))


try:
    # A request without a session goes to the login page.
    drv.get(BASE + "/")
    check(drv.current_url == BASE + "/login", "no session: at %s" % drv.current_url)
    check("登录" in drv.title, "login page title %r" % drv.title)
    shot("01-login")
    login("admin", "wrong password")
    check("账户名或密码错误" in drv.find_element(By.ID, "refusal").text, "wrong password shown")
    shot("02-login-refused")

    login("admin", "admin pass 1")
    check(at("/"), "logged in: at %s" % drv.current_url)
    dashboard_equals_report()
    check(len(drv.find_elements(By.CSS_SELECTOR, "svg.chart rect")) == 7, "methods chart: 7 bars")
    # The style sheet applied (the CSP let it in): the header is dark blue.
    bg = drv.execute_script(
        "return getComputedStyle(document.querySelector('header')).backgroundColor")
    check(bg == "rgb(26, 54, 93)", "style sheet applied (header %s)" % bg)
    shot("03-dashboard")

    drv.get(BASE + "/users")
    check("rev1" in drv.page_source and "停用" in drv.page_source, "accounts page")
    shot("04-accounts")

    # 终端: add a device, decode its QR code, enrol a terminal with it.
    drv.get(BASE + "/devices")
    drv.find_element(By.ID, "dev-name").send_keys("巡查终端 7")
    drv.find_element(By.ID, "dev-dept").send_keys("SY-CGJ")
    click_and_wait(By.ID, "dev-add")
    qr_png = os.path.join(OUT, "qr.png")
    drv.find_element(By.ID, "qr").screenshot(qr_png)
    shot("07-device-added")
    z = subprocess.run(["zbarimg", "--raw", "-q", qr_png], capture_output=True, text=True)
    qr = z.stdout.strip()
    check(z.returncode == 0 and qr == drv.find_element(By.ID, "qr-text").text,
          "QR decodes to the text shown: %r" % qr)
    check(re.fullmatch(r"PTE1 https://127\.0\.0\.1:\d+ PT1\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\."
                       r"[A-Za-z0-9_-]+", qr) is not None, "QR text form: %r" % qr)
    store = os.path.join(TMP, "terminal")
    env = dict(os.environ, LANG="C")
    r = subprocess.run([PATROL, "--store", store, "init", "--department", "SY-CGJ",
                        "--device-name", "巡查终端 7"], capture_output=True, text=True, env=env)
    check(r.returncode == 0, "patrol init: %s" % r.stderr)
    r = subprocess.run([PATROL, "--store", store, "enroll", "--qr", qr], capture_output=True,
                       text=True, env=env)
    check(r.returncode == 0 and "enrolled with" in r.stdout, "patrol enroll --qr: %s %s" %
          (r.stdout, r.stderr))
    for bad in ["garbage", qr.replace("PTE1", "PTE2"), qr.replace("https://", "http://"),
                qr + " extra"]:
        r = subprocess.run([PATROL, "--store", store + "2", "enroll", "--qr", bad],
                           capture_output=True, text=True, env=env)
        check(r.returncode == 2 and "enrolment code" in r.stderr, "enroll --qr %r: %d %s" %
              (bad, r.returncode, r.stderr))
    r = subprocess.run([PATROL, "--store", store + "2", "enroll", "--qr", qr],
                       capture_output=True, text=True, env=env)
    check(r.returncode != 0, "the token is for one use")
    drv.get(BASE + "/devices")
    check("巡查终端 7" in drv.page_source and "在用" in drv.page_source, "device is active")
    shot("08-devices")

    # A matter recorded on that terminal and synced: 事项 finds it, its page
    # is a patrol-view leaf, and 总览 counts it as audit report does.
    def pt(*a):
        r = subprocess.run([PATROL, "--store", store] + list(a), capture_output=True, text=True,
                           env=env)
        check(r.returncode == 0, "patrol %s: %s" % (" ".join(a), r.stderr))
        return r.stdout.strip()
    pt("inspector", "add", "--id", "zhangwei", "--name", "张伟", "--cert-no", "32132300100")
    pt("inspector", "add", "--id", "liuna", "--name", "刘娜", "--cert-no", "32132300117")
    subj = pt("subject", "add", "--credit-code", "91350100M000100Y43", "--name", "泗阳县某某便利店")
    matter = pt("matter", "open", "--subject", subj, "--inspector", "zhangwei", "--inspector",
                "liuna", "--domain", "urban_management", "--summary", "店外摆卖 <script>")
    pt("consent", "--matter", matter, "--accept", "--form", "oral")
    today = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600))
    due = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600 + 7 * 86400))
    pt("act", "warning", "--matter", matter, "--minor", "--no-harm", "--no-intent", "--correctable",
       "--content", "告诫：张三 13800000000", "--correction", "将商品移回店内", "--deadline", due,
       "--confidential", "content=privacy")
    doc = pt("document", "issue", "--matter", matter, "--purpose", "督促规范经营", "--content",
             "请落实门前三包责任", "--time", "%s 至 %s" % (today, due), "--personnel", "张伟、刘娜",
             "--doc-no", "泗城管柔〔2026〕17号")
    rv = pt("act", "revisit", "--matter", matter, "--follows", "inspection", "--decision", "现场检查",
            "--due", due, "--content", "回访整改情况")
    # A document delivered, and a correction of the first one's content.
    doc2 = pt("document", "issue", "--matter", matter, "--purpose", "提示依法经营", "--content",
              "请规范店招设置", "--time", today, "--personnel", "张伟", "--doc-no",
              "泗城管柔〔2026〕18号")
    pt("document", "deliver", "--document", doc2, "--method", "in_person", "--recipient", "李四")
    pt("correct", "--entry", doc.rsplit("-", 1)[1], "--field", "content", "--value",
       "请落实门前三包责任，七日内整改", "--reason", "漏写期限", "--inspector", "zhangwei")
    # A second matter, opened after the first, whose method comes before the
    # subject's consent: appended past the terminal's rules, flagged by the
    # server (consent_first). The first matter's evidence comes after it.
    matter2 = pt("matter", "open", "--subject", subj, "--inspector", "zhangwei", "--domain",
                 "urban_management", "--summary", "占道经营")
    r = subprocess.run([WIRE, "--store", store, "--inspector", "zhangwei", "append",
                        "action.guidance", matter2, "content=讲解门前三包规定", "topic=门前三包"],
                       capture_output=True, text=True, env=env)
    check(r.returncode == 0, "e2e_wire append: %s" % r.stderr)
    photo, audio = make_media(TMP)
    pt("evidence", "add", "--matter", matter, "--kind", "photo", "--caption", "现场", photo)
    pt("evidence", "add", "--matter", matter, "--kind", "audio", "--caption", "录音", audio)
    pt("sync")
    drv.get(BASE + "/matters")
    q = drv.find_element(By.NAME, "q")
    q.send_keys(matter)
    click_and_wait(By.ID, "filter")
    links = drv.find_elements(By.CSS_SELECTOR, "#matters a")
    check(len(links) == 1 and links[0].text == matter, "filter finds the matter %s" % matter)
    shot("09-matters")
    sid0 = drv.get_cookie("__Host-pw_s")["value"]
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + 8 * 3600 + 86400))
    for qs, found in [("method=warning&inspector=zhangwei&from=%s&to=%s" % (today, today), True),
                      ("method=revisit&domain=urban_management", True),
                      ("method=guidance", False), ("inspector=nobody", False),
                      ("inspector=zhang", False), ("from=%s" % tomorrow, False),
                      ("list=no_penalty", False)]:
        st, h, b = get_raw(BASE + "/matters?" + qs, sid0, None)
        check(st == 200 and ((">%s</a>" % matter) in b.decode()) == found,
              "filter %s finds it: %s" % (qs, not found))
    st, h, b = get_raw(BASE + "/matters?from=2026-1-1", sid0, None)
    check(st == 400, "a malformed date: %d" % st)
    # Sorting: by id (the default), last activity, opening, state.
    def order(qs):
        st, h, b = get_raw(BASE + "/matters?" + qs, sid0, None)
        return st, re.findall(r'<a href="/matters/(M-[^"]+)">', b.decode())
    for qs, want in [("", sorted([matter, matter2])), ("sort=id", sorted([matter, matter2])),
                     ("sort=activity", [matter, matter2]), ("sort=opened", [matter2, matter]),
                     ("sort=state", [matter2, matter])]:
        st, got = order(qs)
        check(st == 200 and got == want, "sort %r: %d %r, want %r" % (qs, st, got, want))
    for bad in ("sort=newest", "sort=%ff", "sort=" + "x" * 40):
        st, h, b = get_raw(BASE + "/matters?" + bad, sid0, None)
        check(st == 400 and "排序方式不合法" in b.decode(), "%s refused: %d" % (bad, st))
    drv.get(BASE + "/matters")
    from selenium.webdriver.support.ui import Select
    Select(drv.find_element(By.ID, "sort")).select_by_value("opened")
    click_and_wait(By.ID, "filter")
    check([a.text for a in drv.find_elements(By.CSS_SELECTOR, "#matters a")] == [matter2, matter],
          "the sort chosen in the form: newest opening first")
    check("sort=opened" in drv.current_url and
          drv.find_element(By.CSS_SELECTOR, "#sort option[selected]").get_attribute("value") ==
          "opened", "the form keeps the sort")
    shot("17-matters-sorted")
    drv.get(BASE + "/matters?q=" + matter)
    n0 = len(leaves())
    click_and_wait(By.CSS_SELECTOR, "#matters a")
    check(drv.find_element(By.ID, "matter-id").text == matter, "the matter's page")
    # One view, one leaf: the console's, naming the account (audit timeline's
    # own leaf, naming the server's user, is not written beside it).
    new = leaves()[n0:]
    check(len(new) == 1 and new[0].startswith("patrol-view\n%s\nredacted\nweb:admin\n" % matter),
          "one console view is one leaf: %r" % new)
    # Its photo shows and its audio plays (metadata loaded by range requests).
    img = drv.find_element(By.CSS_SELECTOR, "img.preview")
    check(drv.execute_script("return arguments[0].complete && arguments[0].naturalWidth", img) == 40,
          "the photo preview loads")
    au = drv.find_element(By.CSS_SELECTOR, "audio")
    try:
        WebDriverWait(drv, 10).until(lambda d: d.execute_script(
            "return arguments[0].readyState >= 1 && arguments[0].duration > 0", au))
        dur = drv.execute_script("return arguments[0].duration", au)
        check(abs(dur - 1.0) < 0.05, "the audio's duration %s" % dur)
    except Exception:
        check(False, "the audio does not load")
    # The correction in effect on the document's entry, nothing edited.
    check(drv.find_element(By.ID, "tl-corrections").text == "1", "one correction counted")
    corr = drv.find_elements(By.CSS_SELECTOR, "li.correction")
    check(len(corr) == 1 and "漏写期限" in corr[0].text and "七日内整改" in corr[0].text and
          "请落实门前三包责任" in corr[0].text, "the correction shown: %r" % [c.text for c in corr])
    dd = drv.find_elements(By.CSS_SELECTOR, "dd.corrected")
    check(len(dd) == 1 and dd[0].text.startswith("请落实门前三包责任，七日内整改") and
          "原为：请落实门前三包责任" in dd[0].text, "the value in effect: %r" % [d.text for d in dd])
    check(drv.find_element(By.ID, "tl-flags").text == "0", "no flag on this matter")
    if os.environ.get("PATROL_LOCALEDIR"):  # the rules table's labels, in Chinese
        dts = {d.get_attribute("title"): d.text for d in
               drv.find_elements(By.CSS_SELECTOR, "#timeline dt")}
        check(dts.get("doc_no") == "发文字号" and dts.get("method") == "送达方式",
              "fields named by the rules table: %r" % list(dts.items())[:6])
        check(drv.find_element(By.CSS_SELECTOR, "dd.masked").text == "［涉及个人隐私］",
              "the privacy mark in Chinese")
        check(any(d.text == "直接送达" for d in drv.find_elements(By.CSS_SELECTOR, "#timeline dd")),
              "a choice shown by its label")
    # Byte ranges on the audio file, with this browser's session.
    src = au.get_attribute("src")
    sid = drv.get_cookie("__Host-pw_s")["value"]
    want = open(audio, "rb").read()
    for rng, st_want, body_want in [("bytes=0-9", 206, want[:10]), ("bytes=-4", 206, want[-4:]),
                                    ("bytes=10-", 206, want[10:]), (None, 200, want),
                                    ("bytes=%d-" % len(want), 416, None), ("bytes=5-2", 416, None),
                                    ("bytes=0-1,4-5", 416, None), ("bytes=x-y", 416, None)]:
        st, h, b = get_raw(src, sid, rng)
        check(st == st_want and (body_want is None or b == body_want),
              "range %s: %d, %d bytes" % (rng, st, len(b)))
        if st == 416:
            check(h.get("content-range") == "bytes */%d" % len(want), "416 Content-Range")
        if st == 206:
            check((h.get("content-range") or "").endswith("/%d" % len(want)), "206 Content-Range")
    check(h.get("content-type") is not None, "typed")
    st, h, b = get_raw(src, sid, None)
    check(h.get("content-type") == "audio/wav", "audio typed by its bytes: %s" % h.get("content-type"))
    st, h, b = get_raw(src.replace(src[-64:], "0" * 64), sid, None)
    check(st == 404, "a file the matter does not name: %d" % st)
    # The full-process record, its privacy field masked until revealed
    # (a logged action of a supervisor or admin).
    tl = drv.find_element(By.ID, "timeline").text
    check("13800000000" not in tl and len(drv.find_elements(By.CSS_SELECTOR, "dd.masked")) == 1,
          "the privacy field is masked")
    n0 = len(leaves())
    click_and_wait(By.ID, "reveal")
    check("13800000000" in drv.find_element(By.ID, "timeline").text, "revealed on request")
    new = leaves()[n0:]
    check(len(new) == 1 and new[0].startswith("patrol-view\n%s\nrevealed\nweb:admin\n" % matter),
          "one reveal is one leaf: %r" % new)
    check(any(l.startswith("patrol-view\n%s\nrevealed\nweb:admin\n" % matter) for l in leaves()),
          "the reveal is a leaf")
    shot("15-revealed")
    drv.get(BASE + "/matters/" + matter)
    # The archive: what audit export writes, and it verifies offline.
    csrf = drv.find_element(By.CSS_SELECTOR, "form[action$='/export'] input[name=csrf]").get_attribute("value")
    n_before_export = len(leaves())
    st, h, tar = post_raw(BASE + "/matters/%s/export" % matter, sid, {"csrf": csrf})
    check(st == 200 and h.get("content-type") == "application/x-tar" and
          'filename="%s.tar"' % matter in (h.get("content-disposition") or ""), "export: %d" % st)
    new = leaves()[n_before_export:]
    check(len(new) == 1 and new[0].startswith("patrol-export\n%s\nredacted\n" % matter) and
          new[0].split("\n")[4] == "web:admin", "one export is one leaf, naming the account: %r" % new)
    arch = os.path.join(TMP, "export.tar")
    open(arch, "wb").write(tar)
    r = subprocess.run([PATROLD, "audit", "verify-archive", arch], capture_output=True, text=True,
                       env=dict(os.environ, LANG="C"))
    check(r.returncode == 0, "the exported archive verifies: %s %s" % (r.stdout[-300:], r.stderr[-300:]))
    st, h, b = post_raw(BASE + "/matters/%s/export" % matter, sid, {})
    check(st == 403, "export without its token: %d" % st)
    if os.environ.get("PATROL_LOCALEDIR"):  # the catalogue of the build tree
        check(drv.find_element(By.ID, "matter-state").text != "subject accepted flexible "
              "enforcement", "the state in Chinese: %r" % drv.find_element(By.ID, "matter-state").text)
    shot("10-matter")
    check(any(l.startswith("patrol-view\n%s\nredacted\nweb:admin\n" % matter) for l in leaves()),
          "the view is a leaf of the server log")
    # Its documents for printing: one a page, corrected, delivery shown;
    # opening them is one view leaf.
    n0 = len(leaves())
    click_and_wait(By.ID, "documents")
    new = leaves()[n0:]
    check(len(new) == 1 and new[0].startswith("patrol-view\n%s\nredacted\nweb:admin\n" % matter),
          "the documents page is one view leaf: %r" % new)
    secs = drv.find_elements(By.CSS_SELECTOR, "section.document")
    check(len(secs) == 2, "two documents: %d" % len(secs))
    if len(secs) == 2:
        t0, t1 = secs[0].text, secs[1].text
        check("泗城管柔〔2026〕17号" in t0 and "请落实门前三包责任，七日内整改" in t0 and "漏写期限" in t0
              and "未送达" in t0, "the first document, corrected, undelivered: %r" % t0[:300])
        check("泗城管柔〔2026〕18号" in t1 and "李四" in t1 and "未送达" not in t1 and
              "泗阳县某某便利店" in t1 and "32132300100" in t1,
              "the second document, delivered to 李四: %r" % t1[:300])
    shot("18-documents")
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": "print"})
    hidden = drv.execute_script("return ['header', 'footer', '.noprint'].map(s => "
                                "getComputedStyle(document.querySelector(s)).display)")
    check(hidden == ["none", "none", "none"], "print media hides the frame: %r" % hidden)
    shot("19-documents-print")
    drv.execute_cdp_cmd("Emulation.setEmulatedMedia", {"media": ""})
    import base64
    pdf = base64.b64decode(drv.print_page())
    open(os.path.join(OUT, "documents.pdf"), "wb").write(pdf)
    pages = len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf))
    check(pdf.startswith(b"%PDF") and pages == 2, "the documents print as 2 pages: %d" % pages)
    st, h, b = get_raw(BASE + "/matters/%s/documents" % matter2, sid, None)
    check(st == 200 and "没有制发文书" in b.decode(), "a matter without documents: %d" % st)
    st, h, b = get_raw(BASE + "/matters/M-nope-1/documents", sid, None)
    check(st == 404, "documents of an unknown matter: %d" % st)
    # The second matter: its flagged entry on its page.
    drv.get(BASE + "/matters/" + matter2)
    check(drv.find_element(By.ID, "tl-flags").text == "1", "one flag counted")
    fl = drv.find_elements(By.CSS_SELECTOR, "tr.flagged li.flag")
    check(len(fl) == 1 and "consent_first" in fl[0].text, "the flag shown: %r" % [f.text for f in fl])
    flags = json.loads(run("flags", "--matter", matter2, "--json").stdout)
    check([f["rule"] for f in flags] == ["consent_first"], "as patrold flags: %r" % flags)
    shot("20-matter-flagged")
    drv.get(BASE + "/integrity")
    click_and_wait(By.ID, "verify")
    v = json.loads(run("audit", "verify", "--json").stdout)
    check(drv.find_element(By.ID, "verify-result").text == ("通过" if v["ok"] else "未通过"),
          "完整性 shows audit verify's result")
    check(drv.find_element(By.ID, "v-entries").text == str(v["entries"]) and v["entries"] > 0,
          "完整性 entries as audit verify --json (%s)" % v["entries"])
    shot("13-integrity")
    drv.get(BASE + "/followups")
    check(doc in drv.find_element(By.ID, "documents").text, "回访/文书 lists the undelivered %s" % doc)
    check(rv in drv.find_element(By.ID, "revisits").text and due in
          drv.find_element(By.ID, "revisits").text, "回访/文书 lists the revisit %s due %s" % (rv, due))
    shot("14-followups")
    drv.get(BASE + "/reports")
    check(drv.find_elements(By.ID, "download-month"), "报表 page")
    shot("12-reports")
    shown = dashboard_equals_report()
    check(shown.get(("matters", "opened")) == "2", "总览 counts the two matters: %r" %
          shown.get(("matters", "opened")))
    shot("16-dashboard-with-data")
    # 清单: the sample imported from the browser's file picker, then a broken
    # copy refused naming its place, nothing stored.
    sample = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "data",
                          "reference-sample.json")
    n0 = len(leaves())
    drv.get(BASE + "/lists")
    drv.find_element(By.ID, "lists-file").send_keys(os.path.abspath(sample))
    click_and_wait(By.ID, "lists-import")
    check(at("/lists") and drv.find_element(By.ID, "lists-version").text == "1",
          "the sample imported from the browser: version 1")
    new = leaves()[n0:]
    check(len(new) == 2 and new[0].startswith("patrol-lists\n1\n") and
          new[1].startswith("patrol-web-admin\nlists-import\n1\nadmin\n"), "import leaves: %r" % new)
    shot("21-lists")
    d = json.load(open(sample, encoding="utf-8"))
    d["departments"][2]["domains"][0] = "xyz"
    broken = os.path.join(TMP, "broken-lists.json")
    json.dump(d, open(broken, "w", encoding="utf-8"), ensure_ascii=False)
    n0 = len(leaves())
    drv.get(BASE + "/lists")
    drv.find_element(By.ID, "lists-file").send_keys(broken)
    click_and_wait(By.ID, "lists-import")
    ref = drv.find_element(By.ID, "refusal").text
    check("broken-lists.json" in ref and "departments[2].domains[0]" in ref and "未导入" in ref,
          "a broken list file refused naming its place: %r" % ref)
    check(len(leaves()) == n0, "nothing recorded for the refused file")
    shot("22-lists-refused")
    drv.get(BASE + "/lists")
    check(len(drv.find_elements(By.CSS_SELECTOR, "#lists-versions tbody tr")) == 1,
          "still one version")

    drv.find_element(By.ID, "logout").click()
    check(at("/login"), "logout goes to login: %s" % drv.current_url)
    drv.get(BASE + "/users")
    check(drv.current_url == BASE + "/login", "after logout the session is gone")

    login("rev1", "review pass 1")
    check(at("/"), "reviewer logged in")
    check(drv.find_element(By.ID, "scope").text == "SY-CGJ", "reviewer's scope")
    shot("05-dashboard-reviewer")
    drv.get(BASE + "/matters/" + matter)
    check(drv.find_element(By.ID, "matter-id").text == matter, "SY-CGJ's reviewer opens SY-CGJ's matter")
    check(not drv.find_elements(By.ID, "reveal") and "13800000000" not in drv.page_source,
          "a reviewer sees the field masked and no reveal button")
    csrf1 = drv.find_element(By.CSS_SELECTOR, "#logout").find_element(By.XPATH, "..").find_element(
        By.NAME, "csrf").get_attribute("value")
    st, h, b = post_raw(BASE + "/matters/%s/reveal" % matter, drv.get_cookie("__Host-pw_s")["value"],
                        {"csrf": csrf1})
    check(st == 403 and b"13800000000" not in b, "a reviewer's reveal is refused: %d" % st)
    drv.get(BASE + "/users")
    check("只有管理员" in drv.find_element(By.ID, "refusal").text, "reviewer refused accounts")
    shot("06-refused")
    drv.find_element(By.ID, "logout").click()
    check(at("/login"), "reviewer logged out")
    login("rev2", "review pass 2")
    check(at("/"), "second reviewer logged in")
    drv.get(BASE + "/matters/" + matter)
    check("只能查看本部门" in drv.find_element(By.ID, "refusal").text,
          "SY-SCJGJ's reviewer is refused SY-CGJ's matter")
    st, h, b = get_raw(src, drv.get_cookie("__Host-pw_s")["value"], "bytes=0-9")
    check(st == 403, "SY-SCJGJ's reviewer is refused SY-CGJ's audio: %d" % st)
    drv.get(BASE + "/")
    csrf2 = drv.find_element(By.CSS_SELECTOR, "#logout").find_element(By.XPATH, "..").find_element(
        By.NAME, "csrf").get_attribute("value")
    st, h, b = post_raw(BASE + "/matters/%s/export" % matter, drv.get_cookie("__Host-pw_s")["value"],
                        {"csrf": csrf2})
    check(st == 403, "SY-SCJGJ's reviewer is refused SY-CGJ's archive: %d" % st)
    shot("11-other-department")
    drv.get(BASE + "/matters")
    check(not drv.find_elements(By.CSS_SELECTOR, "#matters a"), "SY-SCJGJ's list is empty")
    drv.find_element(By.ID, "logout").click()
    check(at("/login"), "second reviewer logged out")
    logs = [e for e in drv.get_log("browser") if "Content Security Policy" in e.get("message", "")]
    check(not logs, "CSP violations: %r" % logs[:3])
except Exception as e:  # a missing element: report it and keep the screenshot
    failures.append(repr(e))
    print("FAIL:", repr(e))
    drv.save_screenshot(os.path.join(OUT, "failed.png"))
finally:
    drv.quit()
    srv.terminate()
    try:
        srv.wait(15)
        # A clean exit (under the sanitizers: no leak, no error report).
        check(srv.returncode == 0, "serve exited %s" % srv.returncode)
    except subprocess.TimeoutExpired:
        srv.kill()
        check(False, "serve did not stop on SIGTERM")
    shutil.rmtree(TMP, ignore_errors=True)

if failures:
    print("%d failure(s)" % len(failures))
    sys.exit(1)
print("ok: web_browser (screenshots in %s)" % OUT)
