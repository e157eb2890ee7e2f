"""uitmp.py -- what patrol ui leaves in its TMPDIR (client/ui/tmp.c: each
launch's patrol-ui.XXXXXX/ with its lock, and the uploads and signatures
waiting there). Used by ui_http.py, ui_crash.py and browser.py."""
import os


def leftovers(uitmp):
    """Every file under uitmp but a launch directory's own lock."""
    found = []
    for d, _, files in os.walk(uitmp):
        for f in files:
            rel = os.path.relpath(os.path.join(d, f), uitmp)
            if not (f == "lock" and os.path.dirname(rel).startswith("patrol-ui.")
                    and os.sep not in os.path.dirname(rel)):
                found.append(rel)
    return found
