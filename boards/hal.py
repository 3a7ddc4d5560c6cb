# Turns a board's data file into bus objects. The only place the runtime touches `machine`.
import asyncio
import sys

import machine


class BoardError(ValueError):
    pass


class Board:
    def __init__(self, name):
        try:
            self.spec = __import__("board_" + name).BOARD
        except ImportError:
            raise BoardError("unknown board '%s' (no board_%s module)" % (name, name))
        self.name = name
        self._buses = {}

    def bus(self, name, rate=None, bytes_per_s=0):
        """The bus called `name` in the board file, made once and shared by its drivers. An I2S
        bus takes its sample rate, a UART its baud rate, from the first driver that asks (I2S
        for a microphone: RX, 32-bit slots, mono; the DMA buffer `ibuf` from the board file).
        A GPIO input is named for what is wired to it ("pir0"). A UART's receive buffer holds
        what its driver's part sends (`bytes_per_s`) through the longest stall of the event loop
        (a TLS handshake: the board's `stall_ms`, default 5 s), at least 256 bytes."""
        if name in self._buses:
            return self._buses[name]
        kind = name.rstrip("0123456789")
        pins = self.spec.get(kind, {}).get(name)
        if pins is None and name in (self.spec.get("gpio") or {}):
            kind, pins = "gpio", self.spec["gpio"][name]  # named for what is wired there
        if pins is None:
            raise BoardError("board %s has no bus '%s'" % (self.name, name))
        if kind == "i2c":
            bus = machine.I2C(pins["id"], scl=machine.Pin(pins["scl"]),
                              sda=machine.Pin(pins["sda"]), freq=pins["freq"])
        elif kind == "i2s":
            bus = machine.I2S(pins["id"], sck=machine.Pin(pins["sck"]),
                              ws=machine.Pin(pins["ws"]), sd=machine.Pin(pins["sd"]),
                              mode=machine.I2S.RX, bits=32, format=machine.I2S.MONO,
                              rate=rate or 48000, ibuf=pins.get("ibuf", 16384))
        elif kind == "gpio":  # a digital input: a PIR's output
            bus = machine.Pin(pins["pin"], machine.Pin.IN,
                              machine.Pin.PULL_DOWN if pins.get("pull") == "down" else -1)
        elif kind == "uart":
            rxbuf = max(256, bytes_per_s * self.spec.get("stall_ms", 5000) // 1000)
            bus = machine.UART(pins["id"], baudrate=rate or pins.get("baudrate", 9600),
                               tx=machine.Pin(pins["tx"]), rx=machine.Pin(pins["rx"]),
                               rxbuf=rxbuf)
        else:
            raise BoardError("bus kind '%s' is not supported yet" % kind)
        self._buses[name] = bus
        return bus

    def sensors(self):
        """The sensors wired on this board, as config entries (used when config.json lists
        none): adding a board is adding a file."""
        out = []
        for s in self.spec.get("sensors", ()):
            s = dict(s)
            s.setdefault("every_s", 5)
            out.append(s)
        return out

    def sensor_power(self, on=True):
        """Switches the sensors' supply when the board has a switch; True if it did."""
        spec = self.spec.get("sensor_power")
        if not spec:
            return False
        level = spec["on"] if on else 1 - spec["on"]
        self._power = machine.Pin(spec["pin"], machine.Pin.OUT, value=level)
        return True

    async def power_up(self, sensors):
        """Switches the sensors' supply on when the board has a switch, then waits as long as
        the slowest part needs before its first command (the drivers' POWER_UP_MS)."""
        if self.sensor_power(True):
            await asyncio.sleep_ms(max([s.power_up_ms for s in sensors] or [0]))

    def watchdog(self, timeout_ms):
        """The hardware watchdog, started; the timeout is capped at what the chip can count
        (RP2040: 8388 ms)."""
        name = "chip_" + self.spec["chip"]
        cap = __import__(name).CHIP["wdt_max_ms"]
        del sys.modules[name]  # one number of the chip's table is needed, once: its RAM goes back
        return machine.WDT(0, timeout=min(timeout_ms, cap) if cap else timeout_ms)

    def led(self):
        """The board's status LED (boards/status_led.py, imported when a command asks)."""
        from status_led import StatusLED

        if not self.spec.get("led"):
            raise BoardError("board %s has no status LED" % self.name)
        return StatusLED(self.spec["led"])

    def reset(self):
        machine.reset()

    def unique_id(self):
        return machine.unique_id()

    def reset_cause(self):
        return machine.reset_cause()
