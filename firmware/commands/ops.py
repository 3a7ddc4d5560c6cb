# The operations a signed command can ask for, run one at a time by serve() when the node's
# publisher finds something to do (commands.Commands.work). They act through the node's own
# parts: its board (reset, LED), sensors, config and its release slots.
import asyncio
import json

import health
import store

# what an operation may bring in; all of it goes back to the heap when it is done
MODULES = ("ops", "status_led", "config", "selfcheck", "updater", "release", "slots",
           "trustroot", "envelope", "pss", "firmware_image", "ota_partitions")


async def _reboot(node, args):
    return "restarting"


async def _identify(node, args):
    """Blinks the status LED (a technician finds the node on a street of identical ones)."""
    times = args.get("blinks", 10)
    if not isinstance(times, int) or not 0 < times <= 120:
        raise ValueError("blinks must be 1..120")
    led = node.board.led()
    for _ in range(times):
        led.set(True)
        await asyncio.sleep_ms(250)
        led.set(False)
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


async def _calibrate(node, args):
    """An SCD4x's forced recalibration to a reference CO2 level (`co2_ppm`; the part must have
    measured in that air for 3 minutes first, datasheet 3.8.1), or a microphone's `offset_db`
    from a 94 dB calibrator (kept in calibration.json; the node restarts to use it)."""
    sid = args.get("sensor")
    found = [s for s in node.sensors if s.id == sid]
    if not found:
        raise ValueError("no sensor %r on this node (%s)"
                         % (sid, ", ".join(s.id for s in node.sensors)))
    s = found[0]
    if "co2_ppm" in args:
        return await _recalibrate_co2(s, args["co2_ppm"])
    if "offset_db" in args:
        return _microphone_offset(s, args["offset_db"])
    raise ValueError("calibrate needs co2_ppm (an SCD4x) or offset_db (a microphone)")


async def _recalibrate_co2(s, ppm):
    from sensor_error import SensorError

    # our plausibility bound: outdoor air to a crowded room
    if not isinstance(ppm, int) or not 400 <= ppm <= 5000:
        raise ValueError("co2_ppm must be a whole number 400..5000")
    d = s.driver
    if d is None or not hasattr(d, "forced_recalibration"):
        raise ValueError("%s cannot be recalibrated to a CO2 reference (%s)" % (s.id, s.status))
    s.held = True  # the node's sampling of it pauses; stop, recalibrate, start again
    try:
        while s.sampling:
            await asyncio.sleep_ms(20)
        await d.stop()
        try:
            correction = await d.forced_recalibration(ppm)
        finally:
            if not d.single_shot:
                await d.start_periodic(d.low_power)
    except SensorError as e:
        raise ValueError(str(e))
    finally:
        s.held = False
    return "%s recalibrated to %d ppm (correction %+d ppm)" % (s.id, ppm, correction)


def _microphone_offset(s, offset_db):
    from noise_sensor import CALIBRATION_FILE

    if not hasattr(s, "meter"):
        raise ValueError("%s is not a microphone" % s.id)
    if not isinstance(offset_db, (int, float)) or not -20 <= offset_db <= 20:
        raise ValueError("offset_db must be a number of dB in -20..20")
    try:
        cal = json.loads(store.read_text(CALIBRATION_FILE))
    except (OSError, ValueError):
        cal = {}
    cal[s.id] = {"offset_db": offset_db}
    store.write_atomic(CALIBRATION_FILE, json.dumps(cal))
    return "%s offset_db %.2f saved; restarting" % (s.id, offset_db)


_OPS = {"reboot": _reboot, "identify": _identify, "selftest": _selftest, "config": _config,
        "update": _update, "calibrate": _calibrate}


async def freshness(node):
    """Freeze protection seen from the node: a fresh timestamp from the update service, or
    the reason there is none (expired: a stalled or captured service). The node keeps
    running either way; health says which (release_fresh)."""
    from release import UpdateError
    from updater import Updater

    node.updates = Updater(node)
    try:
        await node.updates.timestamp(health.app_state().get("version", 0))
        node.release_fresh = True
    except (UpdateError, OSError, MemoryError) as e:
        node.release_fresh = False
        node.log.warning("update", "no fresh timestamp: %s" % e)
    finally:
        node.updates = None


async def run(node, op, args):
    """(detail, whether the node restarts now)."""
    fn = _OPS.get(op)
    if fn is None:
        raise ValueError("%s is not supported by this firmware" % op)
    try:
        detail = await fn(node, args)
    except MemoryError:
        raise OSError("out of memory; try again later")
    return detail, "restarting" in str(detail)  # the operation says so


async def serve(node):
    """Runs what was accepted, one at a time, and sends every result (accepted, refused,
    done, failed) on <root>/<id>/cmd/result while the broker is there."""
    cmds = node.commands
    while cmds.todo:
        await _flush(node)  # "accepted" leaves before a long operation starts
        seq, op, args = cmds.todo.pop(0)
        cmds.running = seq
        try:
            detail, restart = await run(node, op, args)
        except (ValueError, KeyError, TypeError, OSError) as e:
            cmds.result(seq, op, "failed", str(e) or repr(e))
            continue
        cmds.done += 1
        cmds.result(seq, op, "done", detail)
        if restart:
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
