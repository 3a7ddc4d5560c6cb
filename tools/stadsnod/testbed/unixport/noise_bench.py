# Runs on the MicroPython unix port with the fakes: the noise path's speed and memory.
# Realtime factor: seconds of 48 kHz street sound (prepared beforehand as I2S slots, so the fake
# microphone's own cost is not counted) taken through the driver's slot conversion, the
# A-weighting and the level statistics per second of CPU, for the viper kernels and for their
# bytecode twins. Heap: what the microphone driver and the meter hold. Allocation: bytes per
# block through the fake I2S (its own allocation taken off). Prints "name value" lines.
import gc
import time

import fake_mic
import machine

from i2s_mic import I2SMicrophone
from noise import NoiseMeter

RATE = 48000
BLOCK = RATE // 200


def prepared(seconds):
    dev = fake_mic.Device(scene="street", start_hour=8.0)
    slots = bytearray(4 * RATE * seconds)
    dev.fill(slots, 32, RATE)
    mv = memoryview(slots)
    return slots, [mv[4 * BLOCK * k:4 * BLOCK * (k + 1)] for k in range(len(slots) // (4 * BLOCK))]


def realtime_factor(kernel, views, repeat):
    conv = __import__("i2s_slots" if kernel == "viper" else "i2s_slots_bc").to_samples
    meter = NoiseMeter(RATE, BLOCK, -26.0, 0.0, kernel)
    samples = meter.samples
    nbytes = 4 * BLOCK
    gc.collect()
    t0 = time.ticks_us()
    for _ in range(repeat):
        for v in views:
            conv(v, nbytes, samples, 0)
            meter.process(BLOCK)
    us = time.ticks_diff(time.ticks_us(), t0)
    return repeat * len(views) * BLOCK / RATE / (us / 1e6)


def held():
    machine.I2S.realtime = False
    machine.I2S.attach(0, fake_mic.Device(scene="street"))
    i2s = machine.I2S(0, sck=machine.Pin(10), ws=machine.Pin(11), sd=machine.Pin(12),
                      rate=RATE, bits=32)
    gc.collect()
    before = gc.mem_alloc()
    mic = I2SMicrophone(i2s, RATE)
    meter = NoiseMeter(RATE, mic.block)
    gc.collect()
    grown = gc.mem_alloc() - before
    return grown, mic, meter


def alloc_per_block(mic, meter, blocks=200):
    samples = meter.samples
    for _ in range(40):  # past the start-up discard and the filter's settling
        meter.process(mic.read(samples))
    gc.collect()
    gc.disable()
    try:
        a = gc.mem_alloc()
        f = machine.fake_alloc()
        for _ in range(blocks):
            meter.process(mic.read(samples))
        spent = (gc.mem_alloc() - a) - (machine.fake_alloc() - f)
    finally:
        gc.enable()
    return spent / blocks


slots, views = prepared(2)
print("noise_realtime_factor_48k", realtime_factor("viper", views, 5))
print("noise_realtime_factor_48k_bytecode", realtime_factor("bytecode", views, 1))
grown, mic, meter = held()
print("noise_heap_bytes", grown)
print("noise_alloc_per_block_bytes", alloc_per_block(mic, meter))
