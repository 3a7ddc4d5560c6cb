# The node's command task: runs what commands.py accepted, one at a time, and sends every
# result (accepted, refused, done, failed) on <root>/<id>/cmd/result when the broker is there.
# Operations act through the node's own parts: its board (reset, LED), sensors and config.
# Not yet here: calibrate (answered as unsupported by this firmware, never faked).
import asyncio
import json

import health
import store


async def serve(node):
    cmds = node.commands
    while True:
        await asyncio.sleep_ms(100)
        while cmds.todo:
            await _flush(node)  # "accepted" leaves before a long operation starts
            seq, op, args = cmds.todo.pop(0)
            cmds.running = seq
            try:
                detail = await _run(node, op, args)
            except (ValueError, KeyError, TypeError, OSError) as e:
                cmds.result(seq, op, "failed", str(e) or repr(e))
                continue
            cmds.done += 1
            cmds.result(seq, op, "done", detail)
            if op in _RESTARTS and not detail.startswith("already"):
                await _flush(node)
                node.board.reset()  # after the result has left, or is at least on its way
        await _flush(node)


async def _flush(node):
    cmds = node.commands
    while cmds.results and node.link.connected:
        try:
            await node.link.mqtt.publish(node.link.result_topic, cmds.results[0], qos=1)
        except (OSError, MemoryError, Exception) as e:  # kept for the next connection
            node.log.warning("cmd", "result not sent: %r" % e)
            return
        cmds.results.pop(0)


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
    return health.selftest(node)


async def _update(node, args):
    """Fetches, checks and stages the release; the node restarts into its trial."""
    from release import UpdateError

    version = args.get("release")
    if not isinstance(version, int) or version < 1:
        raise ValueError("update needs a release number")
    try:
        return await node.updates.install(version, node.commands.running)
    except UpdateError as e:
        raise ValueError(str(e))


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


def inbound(node, topic, msg, retained):
    """The link's messages: update pieces to the updater, everything else is a command."""
    if topic == node.link.data_in_topic:
        node.updates.on_data(msg)
    else:
        node.commands.on_message(topic, msg, retained)


async def _run(node, op, args):
    fn = _OPS.get(op)
    if fn is None:
        raise ValueError("%s is not supported by this firmware" % op)
    return await fn(node, args)
