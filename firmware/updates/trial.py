# The trial of a freshly installed release (Toit Artemis's rule, the strongest in the field): it
# stays only once it has reached the city's broker, verified a fresh timestamp from the update
# service and passed its self-test, all within updates.trial_s. Otherwise the node restarts; the
# first-stage loader (main.py) counts each boot of a trial and, after updates.attempts, goes
# back to the release that ran before. A crash at import or a hang (the loader starts the
# watchdog first) ends the same way. The security counter rises only on confirm.
import asyncio

from time import ticks_add, ticks_diff, ticks_ms

import selfcheck
import slots
from commands import drop
from release import UpdateError
from updater import Updater

# dropped when the trial is over
_MODULES = ("trial", "selfcheck", "updater", "release", "slots", "trustroot", "envelope", "pss",
            "firmware_image", "ota_partitions")


def _report_revert(node, s):
    if s.get("reverted"):
        node.commands.result(s.get("seq"), "update", "reverted",
                             "v%d did not confirm; running v%d" % (s["reverted"],
                                                                   s.get("version", 0)))
        s.pop("reverted")
        slots.save(s)


def confirm(s):
    """The trial stays: its firmware first (ESP-IDF stops the bootloader taking it back), then
    app.json. A cut between the two boots one more trial, which confirms again; the other
    order would leave the bootloader to take back a firmware app.json calls confirmed."""
    if s.get("firmware") != s.get("previous_firmware"):
        import firmware_image

        firmware_image.confirm()
    slots.confirm(s)


async def watch(node):
    s = slots.state()
    _report_revert(node, s)
    if not s.get("trial"):
        drop(_MODULES)
        return
    deadline = ticks_add(ticks_ms(), int(node.cfg["updates"]["trial_s"] * 1000))
    node.log.info("update", "v%d on trial (attempt %d of %d)"
                  % (s["version"], s.get("attempts", 0), s.get("attempts_max", 0)))
    node.updates = Updater(node)  # the timestamp comes from the update service
    try:
        while ticks_diff(deadline, ticks_ms()) > 0:
            await asyncio.sleep_ms(1000)
            if not node.link.connected:
                continue
            try:
                await node.updates.timestamp(s["version"])
            except (UpdateError, OSError) as e:
                node.log.warning("update", "trial: %s" % e)
                continue
            node.release_fresh = True
            if selfcheck.run(node)["passed"]:
                confirm(s)
                node.log.info("update", "v%d confirmed" % s["version"])
                node.commands.result(s.get("seq"), "update", "confirmed", "v%d" % s["version"])
                return
    finally:
        node.updates = None
        drop(_MODULES)
    node.log.error("update", "v%d not confirmed within %d s; restarting"
                   % (s["version"], node.cfg["updates"]["trial_s"]))
    node.board.reset()
