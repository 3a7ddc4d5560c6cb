# Runs on the MicroPython unix port (not CPython): the node's own microphone driver and noise
# meter (the built .mpy) over a recording, printing one SenML pack per interval. The host side
# (stadsnod/noise.py) has turned the WAV file's first channel into I2S slots -- 32-bit words,
# sample in the top bits -- exactly what the driver reads from the I2S peripheral.
# Job (JSON, named by $STADSNOD_NOISE_JOB): slots (file), rate, sensitivity, offset, interval,
# start (Unix seconds of the first sample), kernel, name.
import json
import os
import sys

import senml
from i2s_mic import I2SMicrophone
from noise import NoiseMeter
from noise_sensor import RECORDS


class FileI2S:
    """The recording in place of the I2S peripheral: readinto returns 0 at its end."""

    def __init__(self, f):
        self.f = f

    def readinto(self, buf):
        return self.f.readinto(buf) or 0

    def deinit(self):
        self.f.close()


class End(Exception):
    pass


def main():
    with open(os.getenv("STADSNOD_NOISE_JOB")) as f:
        job = json.load(f)
    rate = job["rate"]
    bn = "urn:dev:ops:stadsnod-analyze-%s:" % job["name"]
    units = dict(RECORDS)
    f = open(job["slots"], "rb")
    mic = I2SMicrophone(FileI2S(f), rate, kernel=job["kernel"], discard_ms=0)
    meter = NoiseMeter(rate, mic.block, job["sensitivity"], job["offset"], job["kernel"])
    per_interval = int(job["interval"] * rate / mic.block + 0.5)
    # the filter settles over the first 0.1 s; intervals start after it
    settle = meter.settling_blocks()
    for _ in range(settle):
        meter.process(mic.read(meter.samples))
    total = job["blocks"] - settle
    done = 0
    # time in integers, as on a node (a float32 VM would step Unix seconds by 128 s):
    # ms since the node's epoch, from the sample count
    start_ms = job["start_ms"]
    samples = settle * mic.block
    while done < total:
        t_ms = start_ms + samples * 1000 // rate
        count = min(per_interval, total - done)
        for _ in range(count):
            meter.process(mic.read(meter.samples))
        done += count
        records = meter.interval()
        if records and count * 2 >= per_interval:  # a tail under half an interval is left out
            bt = (t_ms // 1000, t_ms % 1000)
            print(senml.encode(bn, [(n, units[n], v) for n, v in records], bt))
        samples += count * mic.block
        sys.stderr.write("progress %d %d\n" % (done, total))
    if meter.clipped:
        sys.stderr.write("warning: %d samples overloaded the filter (clipped)\n" % meter.clipped)


main()
