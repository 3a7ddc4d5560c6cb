# The on-device self-test a technician runs at the lamp post (stadsnod selftest): every
# configured sensor present and plausible, clock, free heap, filesystem space, Wi-Fi, and the
# broker reached with the node's own certificate. Prints one JSON line: SELFTEST [[check, ok,
# detail], ...]. Nothing is published.
import asyncio
import gc
import json
import os

import config as configmod
import sensors
import store
from clock import Clock
from hal import Board
from log import Log
from mqtt import MQTTClient
from net import Net
from tls_identity import tls_context

MIN_FREE_HEAP = 16 * 1024
MIN_FREE_FLASH = 256 * 1024  # the spool's first hours, and room for an update


async def _checks(out):
    def say(name, ok, detail):
        out.append([name, ok, detail])

    try:
        cfg = configmod.parse(store.read_text(configmod.CONFIG_FILE))
        say("config", True, "device %s, board %s" % (cfg["device_id"], cfg["board"]))
    except (OSError, configmod.ConfigError) as e:
        say("config", False, str(e))
        return
    board = Board(cfg["board"])
    log = Log(level="error")
    latest = {}
    for spec in cfg["sensors"] or board.sensors():
        s = sensors.make(spec, board, log)
        await s.sample(_Sink(), latest)
        if s.status == "warming up":
            say("sensor " + s.id, True, "present, warming up")
        else:
            values = ", ".join("%s %.1f" % (n, latest[n] / 100) for n, _u in s.records if n in latest)
            say("sensor " + s.id, s.status == "ok", values if s.status == "ok" else s.status)
    net = Net(cfg["wifi"]["ssid"], cfg["wifi"]["psk"], log)
    try:
        await net.up(timeout_ms=15000)
        say("wifi", True, "%s, %s dBm" % (cfg["wifi"]["ssid"], net.rssi()))
    except Exception as e:
        say("wifi", False, str(e))
        return
    clock = Clock()
    try:
        await clock.sync(cfg["ntp"]["host"], cfg["ntp"]["port"])
        say("clock", True, "set from %s" % cfg["ntp"]["host"])
    except Exception as e:
        say("clock", False, "%s (certificates cannot be checked without the time)" % e)
    b = cfg["broker"]
    try:
        c = MQTTClient(cfg["device_id"], b["host"], b["port"], ssl=tls_context(cfg),
                       server_hostname=b["server_hostname"], keepalive=b["keepalive_s"])
        await c.connect()
        await c.disconnect()
        say("broker", True, "%s:%d accepted this node's certificate" % (b["host"], b["port"]))
    except Exception as e:
        say("broker", False, "%s:%d: %s" % (b["host"], b["port"], e))
    gc.collect()
    free = gc.mem_free()
    say("heap", free >= MIN_FREE_HEAP, "%d bytes free" % free)
    st = os.statvfs(".")
    flash = st[0] * st[3]
    say("filesystem", flash >= MIN_FREE_FLASH, "%d bytes free" % flash)


class _Sink:
    def add(self, name, value):
        pass


def main():
    out = []
    asyncio.run(_checks(out))
    print("SELFTEST " + json.dumps(out))
