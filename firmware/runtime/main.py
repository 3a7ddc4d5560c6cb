# The first-stage loader, run after boot.py on every start; updates never replace it. It reads
# app.json (firmware/updates/slots.py writes it): which application slot boots, and whether that
# one is on trial. A trial's boots are counted; once it has used up its attempts without
# confirming, the loader goes back to the release before it. For a trial it starts the
# hardware watchdog before importing anything, so a release that hangs at import is reset too.
# On an ESP32 a trial may bring a firmware: when ESP-IDF's bootloader has taken that back
# (unconfirmed at a reset), the app goes back with it.
import json
import os
import sys

import machine

_STATE = "app.json"


def _state():
    try:
        with open(_STATE) as f:
            s = json.load(f)
        return s if isinstance(s, dict) else {}
    except (OSError, ValueError):
        return {}


def _save(s):
    with open(_STATE + ".tmp", "w") as f:
        json.dump(s, f)
    os.rename(_STATE + ".tmp", _STATE)  # atomic on littlefs: the old state or the new


s = _state()
running = None  # the app partition ESP-IDF's bootloader started, once a firmware came by air
if s.get("firmware"):
    import esp32

    running = esp32.Partition(esp32.Partition.RUNNING).info()[4]
if s.get("trial") and running and running != s["firmware"]:  # a trial that brought firmware
    if not s.get("attempts"):  # switched, and the power went before set_boot: finish it
        try:
            esp32.Partition(s["firmware"]).set_boot()
            machine.reset()
        except OSError:
            pass
    s["attempts"] = s.get("attempts_max", 3)  # the bootloader took the firmware back
if s.get("trial"):
    if s.get("attempts", 0) >= s.get("attempts_max", 3):
        s = {"active": s.get("previous"), "version": s.get("previous_version", 0),
             "security": s.get("security", 0), "reverted": s.get("version"),
             "seq": s.get("seq"), "timestamp_version": s.get("timestamp_version", 0),
             "firmware": s.get("previous_firmware"),
             "kept": {"slot": s.get("active"), "version": s.get("version")}}  # a retry resumes
    else:
        s["attempts"] = s.get("attempts", 0) + 1
        machine.WDT(0, timeout=8000)  # under every chip's maximum (RP2040: 8388 ms)
    _save(s)
if running and s.get("firmware") and not s.get("trial"):  # the firmware this app needs runs
    if running != s["firmware"]:
        # the app went back after its firmware had been confirmed: the firmware goes too
        esp32.Partition(s["firmware"]).set_boot()
        machine.reset()
    try:
        esp32.Partition.mark_app_valid_cancel_rollback()  # no write when it is valid already
    except OSError:
        pass  # a bootloader without rollback: nothing would take it back anyway
if s.get("active"):  # the slot's modules, and none of the factory lib/ beside them
    sys.path[:] = ["apps/" + s["active"]] + [p for p in sys.path if not p.endswith("lib")]
trial = s.get("trial")
del s, running, _state, _save  # the loader's globals live as long as the node: keep one flag
try:
    import app
except Exception as e:  # a release that cannot even be imported
    sys.print_exception(e)
    if trial:
        machine.reset()  # counted as an attempt at the next boot
    raise
app.main()
