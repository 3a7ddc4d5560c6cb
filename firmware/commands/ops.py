# The operations a signed command can ask for (commands/operations.py runs them, one at a
# time). They act through the node's own parts: its board (reset, LED), sensors, config and
# its release slots. Not yet here: calibrate (answered as unsupported, never faked).
import asyncio
import json

import store

# what an operation may bring in; all of it goes back to the heap when it is done
MODULES = ("ops", "config", "selfcheck", "updater", "release", "slots", "trustroot", "envelope",
           "pss")


async def _reboot(node, args):
    return "rebooting"


async def _identify(node, args):
    """Blinks the status LED (a technician finds the node on a street of identical ones)."""
    times = args.get("blinks", 10)
    if not isinstance(times, int) or not 0 < times <= 120:
        raise ValueError("blinks must be 1..120")
    for _ in range(times):
        node.board.led(True)
        await asyncio.sleep_ms(250)
        node.board.led(False)
        await asyncio.sleep_ms(250)
    return "blinked %d times" % times


async def _selftest(node, args):
    import selfcheck

    return selfcheck.run(node)


async def _update(node, args):
    """Fetches, checks and stages the release; the node restarts into its trial."""
    from release import UpdateError
    from updater import Updater

    version = args.get("release")
    if not isinstance(version, int) or version < 1:
        raise ValueError("update needs a release number")
    node.updates = Updater(node)
    try:
        return await node.updates.install(version, node.commands.running)
    except UpdateError as e:
        raise ValueError(str(e))
    finally:
        node.release_fresh = node.updates.fresh
        node.updates = None


async def _config(node, args):
    """A whole signed config document, newer than the running one: validated by the schema,
    the old one kept as config.prev.json, the new one written atomically; the node restarts."""
    import config as configmod

    doc = args.get("config")
    cfg = configmod.validate(doc)  # ConfigError (a ValueError) names the field
    if cfg["device_id"] != node.id:
        raise ValueError("config is for device %s" % cfg["device_id"])
    if cfg["config_version"] <= node.cfg["config_version"]:
        raise ValueError("config version %d is not newer than %d"
                         % (cfg["config_version"], node.cfg["config_version"]))
    old = store.read_text(configmod.CONFIG_FILE)
    store.write_atomic("config.prev.json", old)
    store.write_atomic(configmod.CONFIG_FILE, json.dumps(doc))
    return "config v%d saved; restarting" % cfg["config_version"]


_OPS = {"reboot": _reboot, "identify": _identify, "selftest": _selftest, "config": _config,
        "update": _update}
_RESTARTS = ("reboot", "config", "update")


async def run(node, op, args):
    """(detail, whether the node restarts now)."""
    fn = _OPS.get(op)
    if fn is None:
        raise ValueError("%s is not supported by this firmware" % op)
    try:
        detail = await fn(node, args)
    except MemoryError:
        raise OSError("out of memory; try again later")
    return detail, op in _RESTARTS and not str(detail).startswith("already")
