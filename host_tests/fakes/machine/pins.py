# GPIO pins, and the pin rules of the board's chip: what the real port refuses, the fake refuses.
import simworld


class Pin:
    IN = 0
    OUT = 1
    OPEN_DRAIN = 2
    PULL_UP = 1
    PULL_DOWN = 2
    IRQ_RISING = 1
    IRQ_FALLING = 2

    _sources = {}

    def __init__(self, id, mode=-1, pull=-1, value=None):
        self.id = id
        self.mode = mode
        self.pull = pull
        self._value = 0 if value is None else value
        self._irq = None
        self._trigger = 0
        self._watch = None
        # a fake part driving this pin (a PIR's output): tests attach one, the world names one
        self._source = Pin._sources.get(id) or simworld.gpio_source(id)

    @classmethod
    def attach(cls, id, source):
        cls._sources[id] = source

    def init(self, mode=-1, pull=-1, value=None):
        self.mode = mode
        if value is not None:
            self._value = value

    def value(self, v=None):
        if v is None:
            if self._source is not None:
                self.drive(self._source.level())
            return self._value
        self.drive(v)

    def __call__(self, v=None):
        return self.value(v)

    def on(self):
        self.value(1)

    def off(self):
        self.value(0)

    def irq(self, handler=None, trigger=3):
        self._irq = handler
        self._trigger = trigger
        if handler and self._source is not None and self._watch is None:
            # the part changes the level on its own; an edge calls the handler as the
            # port's interrupt would (soft IRQ: between tasks)
            import asyncio

            async def watch():
                while True:
                    self.drive(self._source.level())
                    await asyncio.sleep_ms(5)

            self._watch = asyncio.create_task(watch())

    def drive(self, v):
        """What the outside world (or an output) does to the pin; fires the IRQ on an edge."""
        v = 1 if v else 0
        old = self._value
        self._value = v
        if self.mode == Pin.OUT and old != v:
            simworld.note_output(self.id, v)
        if self._irq and old != v:
            if (v and self._trigger & Pin.IRQ_RISING) or (not v and self._trigger & Pin.IRQ_FALLING):
                self._irq(self)


def pin_id(p):
    return getattr(p, "id", p)


def check_pins(kind, id, outputs=(), inputs=()):
    """What the board's real port would refuse (ValueError), per the chip's capability table
    (boards/chip_<chip>.py; the simulated world names the chip)."""
    name = simworld.world().get("chip", "host")
    chip = __import__("chip_" + name).CHIP
    if id not in chip["ids"][kind]:
        raise ValueError("%s(%s) does not exist on %s" % (kind.upper(), id, name))
    for sig, p in outputs + inputs:
        pin = pin_id(p)
        if pin is None:
            continue
        if pin not in chip["gpio"] or pin in chip["flash"]:
            raise ValueError("invalid pin %s for %s %s" % (pin, kind, sig))
        if (sig, p) in outputs and pin in chip["input_only"]:
            raise ValueError("pin %s is input-only (%s %s)" % (pin, kind, sig))
        fixed = chip.get("pins", {}).get("%s%d.%s" % (kind, id, sig))
        if fixed is not None and pin not in fixed:
            raise ValueError("pin %s cannot be %s%d %s" % (pin, kind, id, sig))
    if kind == "i2s" and chip.get("i2s_ws_is_sck_plus_1"):
        ws, sck = dict(outputs).get("ws"), dict(outputs).get("sck")
        if pin_id(ws) != pin_id(sck) + 1:
            raise ValueError("I2S ws must be sck + 1")
