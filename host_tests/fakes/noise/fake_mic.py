# A fake I2S MEMS microphone (ICS-43434 / INMP441): 24-bit two's complement samples, MSB first,
# left-justified in 32-bit slots, at the rate the I2S controller clocks it. The sound it hears is
# a scene: a steady tone, a programme of tones and bursts (tests), or a street (the demo). Levels
# are dB SPL at the membrane; the microphone's sensitivity (dBFS at 94 dB SPL, sine peak) and
# its self-noise turn them into counts, as the datasheets specify.
import math
import struct

from fakedev import Faultable

FULL = (1 << 23) - 1
# The "canary" scene repeats these 64 samples: values no sound would produce by chance, for
# the privacy test to look for in everything that leaves the node or stays on it.
CANARY = [(((i + 1) * 2654435761 >> 8) & 0x7FFFFF) - 0x400000 for i in range(64)]


def rms_counts(spl_db, sensitivity_dbfs=-26.0):
    """RMS counts of a sound at spl_db: a 94 dB sine peaks at 10^(S/20) of full scale."""
    return FULL * 10 ** ((spl_db - 94 + sensitivity_dbfs) / 20) / math.sqrt(2)


class Device(Faultable):
    """scene: "tone" (freq, level_db), "programme" (steps: [(seconds, freq, level_db)], silence
    where level_db is None), "street" (day_s: seconds per simulated day, seed) or "canary".
    Faults: unplugged (the data line reads 0), stuck (all ones), garbage (random bits),
    nack (no clock: the controller delivers nothing)."""

    def __init__(self, env=None, scene="tone", freq=1000.0, level_db=94.0, steps=(),
                 day_s=240.0, start_hour=5.0, seed=7, sensitivity_dbfs=-26.0, dc=-1800,
                 self_noise_db=29.0, **_ignored):
        self.scene = scene
        self.freq = freq
        self.level_db = level_db
        self.steps = [tuple(s) for s in steps]
        self.day_s = day_s
        self.start_hour = start_hour
        self.sens = sensitivity_dbfs
        self.dc = dc
        self.n = 0  # samples delivered (or skipped by an overrun): the scene's clock
        self._rand = (seed & 0xFFFF) or 1
        self._lp = 0
        # uniform noise from _rnd() has an rms of 32768 / sqrt(3) = 18919
        self._noise_gain = int(rms_counts(self_noise_db, sensitivity_dbfs) / 18919 * 4096) \
            if self_noise_db is not None else 0
        self._gain = 0
        self.fault_key = None

    # -- the sound
    def _rnd(self):
        # xorshift on 16 bits (7, 9, 8; period 65535): every intermediate stays a small int on a
        # 32-bit VM, where a 31-bit LCG state would be a heap long int per sample
        x = self._rand
        x ^= (x << 7) & 0xFFFF
        x ^= x >> 9
        x ^= (x << 8) & 0xFFFF
        self._rand = x
        return x - 32768

    def street_level(self, t):
        """dB SPL at time t (s): a day of traffic compressed into day_s, and passing vehicles
        (one every ~4 s by day, rarer at night) that rise ~12 dB over the background."""
        hour = (self.start_hour + 24 * t / self.day_s) % 24
        # background by hour: quiet night, morning and evening rush
        if hour < 5:
            base = 42
        elif hour < 7:
            base = 42 + (hour - 5) * 11
        elif hour < 9:
            base = 64
        elif hour < 16:
            base = 60
        elif hour < 18:
            base = 64
        elif hour < 23:
            base = 64 - (hour - 18) * 4
        else:
            base = 44 - (hour - 23) * 2
        gap = 4.0 if 6 <= hour < 22 else 20.0
        phase = (t % gap) / gap
        bump = 12 * math.exp(-((phase - 0.5) * gap / 0.8) ** 2)  # a vehicle passes
        return base + bump

    def _block_gain(self, t):
        level = self.street_level(t)
        # white noise through a one-pole low-pass has an rms of about 7151 (road noise
        # is mostly low-frequency); scale it to the level's rms counts
        return int(rms_counts(level, self.sens) / 7151 * 4096)

    def _tone(self, t):
        if self.scene == "tone":
            return self.freq, self.level_db
        for seconds, freq, level in self.steps:
            if t < seconds:
                return freq, level
            t -= seconds
        return self.freq, None

    def fill(self, buf, bits, rate):
        width = bits // 8
        count = len(buf) // width
        fault = self.fault
        if fault == "nack":
            return 0
        if fault in ("unplugged", "stuck", "garbage"):
            for i in range(len(buf)):
                buf[i] = 0 if fault == "unplugged" else (0xFF if fault == "stuck" else
                                                          self._rnd() & 0xFF)
            self.n += count
            return count * width
        for i in range(count):
            n = self.n + i
            if self.scene == "canary":
                struct.pack_into("<i", buf, i * width, CANARY[n % 64] << 8)
                continue
            if self.scene == "street":
                if n % 256 == 0:
                    self._gain = self._block_gain(n / rate)
                self._lp += (self._rnd() - self._lp) >> 2
                s = (self._lp * self._gain) >> 12
            else:
                freq, level = self._tone(n / rate)
                s = 0
                if level is not None:
                    s = int(rms_counts(level, self.sens) * math.sqrt(2)
                            * math.sin(2 * math.pi * freq * n / rate))
            if self._noise_gain:
                s += (self._rnd() * self._noise_gain) >> 12
            s += self.dc
            s = FULL if s > FULL else (-FULL - 1 if s < -FULL - 1 else s)
            struct.pack_into("<i", buf, i * width, s << 8)
        self.n += count
        return count * width

    def skip(self, frames):
        """Samples the controller dropped (DMA overrun): the scene's time moves on."""
        self.n += frames
