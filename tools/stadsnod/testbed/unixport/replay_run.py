# Runs on the MicroPython unix port (not CPython): the real, built driver against recorded bus
# data, printing one SenML pack per reading -- exactly the records and units a node publishes.
# The host side (stadsnod/replay.py) checks the arguments and hands them over in a JSON job file
# named by $STADSNOD_REPLAY_JOB. Exit status: 0 all good, 2 the input had errors.
import json
import os
import sys

import senml
import polled
import sensors
from interval import x100
from sensor_error import SensorError


class InputError(Exception):
    """The recording lacks what the driver asked for. Not an OSError: drivers must not turn it
    into a bus error."""


class ReplayUART:
    """Bytes as captured, all already on the line."""

    def __init__(self, data):
        self.data = data
        self.pos = 0

    def any(self):
        return len(self.data) - self.pos

    def readinto(self, buf, n=-1):
        k = min(len(buf) if n < 0 else n, len(self.data) - self.pos)
        if k <= 0:
            return None
        for i in range(k):
            buf[i] = self.data[self.pos + i]
        self.pos += k
        return k

    def write(self, buf):
        return len(buf)


class ImageI2C:
    """An I2C bus holding one device image: registers (byte runs from a start register) or
    command responses. A value may be a list: one entry per reading."""

    def __init__(self, image):
        self.address = image["address"]
        self.registers = image.get("registers", {})
        self.commands = image.get("commands", {})
        self.reading = 0
        self.command = None

    def _pick(self, value):
        if isinstance(value, list):
            return value[min(self.reading, len(value) - 1)]
        return value

    def _check(self, addr):
        if addr != self.address:
            raise InputError("the driver addressed 0x%02x but the image is of 0x%02x"
                             % (addr, self.address))

    def _register(self, reg):
        for start, value in self.registers.items():
            data = bytes.fromhex(self._pick(value))
            if start <= reg < start + len(data):
                return data[reg - start]
        raise InputError("register 0x%02X is not in the image" % reg)

    def readfrom_mem_into(self, addr, reg, buf):
        self._check(addr)
        for i in range(len(buf)):
            buf[i] = self._register(reg + i)

    def writeto(self, addr, buf, stop=True):
        self._check(addr)
        if len(buf) >= 2 and self.commands:
            self.command = (buf[0] << 8) | buf[1]
        return len(buf)

    def readfrom_into(self, addr, buf, stop=True):
        self._check(addr)
        if self.command is None:
            raise InputError("the driver read before sending a command")
        value = self.commands.get(self.command)
        if value is None:
            raise InputError("command 0x%04x is not in the image" % self.command)
        data = bytes.fromhex(self._pick(value))
        if len(data) < len(buf):
            raise InputError("the response to 0x%04x has %d bytes; the driver reads %d"
                             % (self.command, len(data), len(buf)))
        for i in range(len(buf)):
            buf[i] = data[i]

    def readings(self):
        n = 1
        for table in (self.registers, self.commands):
            for value in table.values():
                if isinstance(value, list):
                    n = max(n, len(value))
        return n


# Drivers a node does not poll like the air-quality ones, with what replay prints of them: the
# LD2410's presence, and its distances for diagnostics (a node never publishes those).
REPLAY_ONLY = {"ld2410": ("ld2410", "LD2410", (("presence", None), ("moving_distance", "m"),
                                               ("stationary_distance", "m"),
                                               ("detection_distance", "m")))}


class Replay:
    def __init__(self, job):
        self.name = job["driver"]
        if self.name in REPLAY_ONLY:
            module, cls, self.publish = REPLAY_ONLY[self.name]
            self.cls = getattr(__import__(module), cls)
        else:
            self.cls = sensors.driver_class(self.name)
            self.publish = sensors.DRIVERS[self.name][2]
        self.bn = senml.base_name(job["pen"], job["device_id"])
        self.errors = 0

    def error(self, msg):
        self.errors += 1
        print("error: " + msg, file=sys.stderr)

    def emit(self, driver, where):
        """The driver's values as the node takes them (x100: hundredths in small ints)."""
        records = []
        for name, unit in self.publish:
            if hasattr(driver, "x100"):
                value = driver.x100(name)
            else:  # the LD2410's report fields, which no node publishes
                value = getattr(driver, name)
                if value is not None and not isinstance(value, bool):
                    value = x100(value)
            if value is None:
                continue
            why = polled.check_range(driver, name, value)
            if why:
                self.error("%s: %s" % (where, why))
                return
            records.append((name, unit, value))
        if records:
            print(senml.encode(self.bn, records, None, True))
        else:
            print("note: %s: no values yet (the sensor marks them not available)" % where,
                  file=sys.stderr)

    def uart(self, data):
        d = self.cls(ReplayUART(data))
        bad = 0
        while True:
            try:
                got = d.poll()
            except SensorError as e:
                self.error(str(e))
                continue
            while bad < d.bad_frames:
                bad += 1
                self.error("bad %s in the frame at byte %d"
                           % (getattr(d, "INTEGRITY", "checksum"), d.bad_at))
            if got:
                self.emit(d, "frame at byte %d" % d.frame_at)
            elif not d.uart.any():
                break
        if d.pending_bytes():
            self.error("truncated frame at byte %d: %d bytes, the input ends"
                       % (d.offset, d.pending_bytes()))
        if not d.frames and not self.errors:
            self.error("no frame found in %d bytes" % len(data))
        noise = d.skipped - bad
        if noise > 0:
            print("note: skipped %d bytes that were not part of a good frame (a capture that "
                  "starts mid-frame skips its first few)" % noise, file=sys.stderr)

    def i2c(self, image):
        bus = ImageI2C(image)
        try:
            d = self.cls(bus, bus.address)
        except (SensorError, InputError) as e:
            self.error(str(e))
            return
        for k in range(bus.readings()):
            bus.reading = k
            try:
                if hasattr(d, "request"):
                    d.request()
                d.read()
            except (SensorError, InputError) as e:
                self.error("reading %d: %s" % (k, e))
                continue
            self.emit(d, "reading %d" % k)


def main():
    with open(os.getenv("STADSNOD_REPLAY_JOB")) as f:
        job = json.load(f)
    r = Replay(job)
    if "uart_hex" in job:
        r.uart(bytes.fromhex(job["uart_hex"]))
    else:
        image = job["image"]
        image["registers"] = {int(k): v for k, v in image.get("registers", {}).items()}
        image["commands"] = {int(k): v for k, v in image.get("commands", {}).items()}
        r.i2c(image)
    sys.exit(2 if r.errors else 0)


main()
