# The application's A/B slots on littlefs and the pointer file that says which one boots.
#
#   app.json      {"active": "a" | "b" | null (the factory lib/), "version": int,
#                  "previous": slot or null, "previous_version": int,
#                  "trial": bool, "attempts": int, "attempts_max": int,
#                  "security": int (raised only on confirm), "trial_security": int,
#                  "staging": {"slot", "version"} while a release downloads,
#                  "reverted": version of a trial the loader gave up on, "kept": its slot
#                  (whole and verified: installing it again fetches nothing twice),
#                  "firmware": ESP32 app partition the active slot needs (after a firmware
#                  update), "previous_firmware": the one its fallback needs}
#   apps/<slot>/  one release's modules (.mpy), and release.sns (its signed manifest)
#
# Every change of app.json is a whole new file renamed over the old one (littlefs renames
# atomically), so a power cut leaves the old state or the new one; a slot that is being
# written is never the one that boots. The first-stage loader
# (main.py, never replaced by an update) reads the same file: it counts a trial's boots and
# goes back to `previous` when a trial has used up its attempts without confirming.
import json
import os

import store
from health import APP_STATE, app_state

APPS = "apps"


def state():
    """app.json as a dict ({} before any release: the factory lib/ runs, version 0)."""
    return app_state()


def save(s):
    store.write_atomic(APP_STATE, json.dumps(s))


def slot_dir(slot):
    return APPS + "/" + slot


def _rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        p = path + "/" + n
        try:
            os.remove(p)
        except OSError:
            _rmtree(p)
    os.rmdir(path)


def begin(s, version):
    """The slot a release `version` is staged in: not the active one. (The other may hold the
    previous release, but only a trial ever goes back to it, and nothing installs during a
    trial.) Resumes a staging of the same version."""
    st = s.get("staging") or s.get("kept")
    if st and st["version"] == version:
        return st["slot"]
    slot = "b" if s.get("active") == "a" else "a"
    _rmtree(slot_dir(slot))
    os.mkdir(slot_dir(slot))
    s["staging"] = {"slot": slot, "version": version}
    save(s)
    return slot


def switch(s, version, security, attempts_max, seq=None, firmware=None):
    """The staged slot, verified, boots next as a trial; the running one is its fallback.
    `seq`: the command that asked for it (its results name it). `firmware`: (the partition
    label of a firmware staged with it, the running one's); each slot records the firmware it
    needs, so the loader takes the app back when the bootloader takes a firmware back."""
    st = s.get("staging") or s["kept"]
    new = {"active": st["slot"], "version": version, "previous": s.get("active"),
           "previous_version": s.get("version", 0), "trial": True, "attempts": 0,
           "attempts_max": attempts_max, "security": s.get("security", 0),
           "trial_security": security, "seq": seq,
           "timestamp_version": s.get("timestamp_version", 0)}
    if firmware:
        new["firmware"], new["previous_firmware"] = firmware
    elif s.get("firmware"):
        new["firmware"] = new["previous_firmware"] = s["firmware"]
    save(new)
    return new


def confirm(s):
    """The trial is good: it stays, and the security counter rises to the release's (from
    now on nothing below it installs)."""
    s["trial"] = False
    s["attempts"] = 0
    s["security"] = max(s.get("security", 0), s.pop("trial_security", 0))
    save(s)
    return s
