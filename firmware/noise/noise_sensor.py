# A microphone in the node (the sensor_base contract): where polled.Sensor reads a part every few
# seconds, this listens all the time -- one block (5 ms) at a time, yielding to the other tasks
# between blocks -- and hands the node the interval's levels. Only levels leave: the samples live
# in the meter's one block and are overwritten by the next.
import json

from time import ticks_diff, ticks_ms

from i2s_mic import I2SMicrophone
from noise import NoiseMeter
from sensor_base import SensorBase
from sensor_error import SensorError

RATES = (16000, 32000, 44100, 48000)
RECORDS = (("LAeq", "dB"), ("LAFmax", "dB"), ("LAFmin", "dB"), ("LASmax", "dB"),
           ("LA10", "dB"), ("LA50", "dB"), ("LA90", "dB"), ("LZeq", "dB"))


CALIBRATION_FILE = "calibration.json"  # {sensor id: {"offset_db": dB}}: the calibrate command's


def calibrated_offset(sensor_id, configured):
    """The offset a calibrator found for this microphone (a signed calibrate command), else
    the config's."""
    try:
        with open(CALIBRATION_FILE) as f:
            return float(json.load(f)[sensor_id]["offset_db"])
    except (OSError, ValueError, KeyError, TypeError):
        return configured


class NoiseSensor(SensorBase):
    # every_ms 1000: for the watchdog, it beats every block, or every retry

    def __init__(self, spec, board, log):
        opts = spec.get("options", {})
        self.rate = opts.get("rate", 48000)
        if self.rate not in RATES:
            raise ValueError("%s: rate must be one of %s Hz, got %s"
                             % (spec["driver"], ", ".join(str(r) for r in RATES), self.rate))
        super().__init__(spec, log, RECORDS)
        self.board = board
        self.kernel = "bytecode" if opts.get("bytecode") else "viper"
        self.meter = NoiseMeter(self.rate, self.rate // 200, opts.get("sensitivity_dbfs", -26.0),
                                calibrated_offset(self.id, opts.get("offset_db", 0.0)),
                                self.kernel)
        self.blocks = 0  # this interval
        self.since = ticks_ms()
        self._quality = None

    def _open(self):
        # a microphone opened again (put back) goes through its start-up discard
        bus = self.board.bus(self.spec["bus"], rate=self.rate)
        self.driver = I2SMicrophone(bus, self.rate, self.meter.block, self.kernel)

    def _mic(self):
        if self.driver is None:
            self._open()
        return self.driver

    def _heard(self, n):
        self.meter.process(n)
        self.blocks += 1

    def _listen_once(self):
        self._heard(self._mic().read(self.meter.samples))

    async def _listen(self, watchdog):
        """Each block is waited for through the I2S stream, so the scheduler runs the other
        tasks while the DMA fills it (SensorBase.run is the task)."""
        while True:
            watchdog.beat(self.id)
            self._heard(await self._mic().read_async(self.meter.samples))

    async def sample(self, agg, latest):
        """A one-second measurement (the self-test's): LAeq into `latest` (in hundredths, as
        every value there)."""
        self.new_interval()
        self.meter.interval()
        try:
            for _ in range(200):
                self._listen_once()
        except (SensorError, ValueError, OSError) as e:
            self._failed(str(e))
            return
        self._check()
        r = self.meter.interval()
        if r and self.status == "ok":
            for name, value in r:
                latest[name] = int(round(value * 100))

    def _check(self):
        if self.blocks and self.meter.silent * 10 > self.blocks * 9:
            self._failed("no signal from the microphone (unplugged, or its clock stopped)")
        elif self.driver is not None:
            self.status = "ok"

    def interval_values(self):
        """The interval's levels [(name, dB)], or () when the microphone gave nothing usable."""
        self._check()
        due = ticks_diff(ticks_ms(), self.since) // 5
        self._quality = None if due <= 0 else min(1.0, (self.blocks - self.meter.silent) / due)
        r = self.meter.interval()
        return r if r and self.status == "ok" else ()

    def quality(self):
        """Share of the interval that was measured (0..1): blocks heard over blocks due (a
        busy node that lets the microphone's DMA buffer overflow measures less)."""
        return self._quality

    def new_interval(self):
        self.blocks = 0
        self.since = ticks_ms()
