# Runs on the MicroPython unix port with the fakes: the occupancy figures.
# - the people counter's error on the noisy reference scenario: the VL53L1X driver against the
#   fake over a school entrance's morning peak (fakes/occupancy/people.py: 40 people, turn-backs, close
#   pairs) with 5 % dropouts and +-30 mm jitter, at 4x speed;
# - the LD2410 parser's throughput over a stream of engineering and basic frames with noise;
# - the heap each driver holds once started.
# Prints "name value" lines.
import asyncio
import gc
import time

import fake_ld2410
import fake_vl53l1x
import machine
import people

import ld2410
import pir
import vl53l1x
from people_counter import Counter


async def count_error():
    length = 200.0
    crossings, truth = people.morning_peak(length_s=length, people=40)
    dev = fake_vl53l1x.Device(crossings=crossings, noise=True, time_scale=0.25)
    machine.I2C.attach(0, 0x29, dev)
    s = vl53l1x.VL53L1X(machine.I2C(0))
    await s.start("short", (8, 16), 20)
    c = Counter()
    zone = 0
    s.set_centre(167)
    s.start_ranging()
    end = crossings[-1].start + crossings[-1].duration + 1.0
    while dev.clock.now() < end:
        await s.wait_ready()
        valid = s.read()
        c.update(zone, valid, s.mm)
        zone ^= 1
        s.set_centre(231 if zone else 167)
    walked = truth["in"] + truth["out"]
    error = abs(c.count_in - truth["in"]) + abs(c.count_out - truth["out"])
    return 100 * error / walked


def frames_per_s():
    stream = bytearray()
    eng = ([10, 20, 30, 40, 0, 0, 0, 0, 0], [0, 0, 50, 60, 0, 0, 0, 0, 0])
    for i in range(200):
        stream += b"\x00\x13"  # a little noise between frames
        stream += fake_ld2410.report(3, 100 + i, 50, 200, 40, 200, eng if i % 2 else None)

    class Buffered:
        def __init__(self, data):
            self.data = data
            self.pos = 0

        def any(self):
            return len(self.data) - self.pos

        def readinto(self, buf, n):
            k = min(n, len(self.data) - self.pos)
            for i in range(k):
                buf[i] = self.data[self.pos + i]
            self.pos += k
            return k

    total = 0
    t0 = time.ticks_us()
    for _ in range(5):
        d = ld2410.LD2410(Buffered(stream))
        while d.poll() or d.uart.any():
            pass
        total += d.frames
    us = time.ticks_diff(time.ticks_us(), t0)
    return total / (us / 1e6)


def held(make):
    gc.collect()
    before = gc.mem_alloc()
    d = make()
    gc.collect()
    return gc.mem_alloc() - before, d


print("occupancy_count_error_pct", asyncio.run(count_error()))
print("ld2410_frames_per_s", frames_per_s())
machine.UART.attach(1, fake_ld2410.Device(visits=[]))
print("driver_heap_bytes_ld2410", held(lambda: ld2410.LD2410(machine.UART(1)))[0])
machine.I2C.attach(0, 0x29, fake_vl53l1x.Device(crossings=[]))
print("driver_heap_bytes_vl53l1x", held(lambda: vl53l1x.VL53L1X(machine.I2C(0)))[0])
pin = machine.Pin(30, machine.Pin.IN)  # made by the board, not the driver
print("driver_heap_bytes_pir", held(lambda: pir.PIR(pin, warmup_s=0))[0])
