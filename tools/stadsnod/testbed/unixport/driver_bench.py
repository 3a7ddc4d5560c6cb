# Runs on the MicroPython unix port with the fakes: per driver, the GC heap the driver holds
# once started, and the heap one read cycle allocates (bus transfers, CRC/checksum checks and
# decoding into raw fields) with and without the x100 value getters the node calls after it.
# The fake buses' own allocation is measured separately and taken off (machine.fake_alloc):
# a board's I2C and UART allocate nothing. Prints "driver held per_read" lines.
import asyncio
import gc
import time

import envmodel
import fake_bme280
import fake_pms5003
import fake_scd4x
import fake_sen5x
import fake_sps30
import machine

import sensors

CYCLES = 20
ENV = envmodel.Environment({"fixed": {"temperature": 20.0, "pressure": 100000.0,
                                      "humidity": 50.0, "co2": 600.0, "pm1": 3.0, "pm25": 6.0,
                                      "pm4": 7.0, "pm10": 9.0, "voc_index": 100.0,
                                      "nox_index": 1.0}})


def held(make):
    """Heap freed when the started driver is dropped = what it holds."""
    d = make()
    gc.collect()
    before = gc.mem_alloc()
    del d
    gc.collect()
    return before - gc.mem_alloc()


def per_read(d, prepare, wait_ms, names=()):
    """Heap one read cycle allocates -- the read and every getter the node calls after it
    (values are computed there for some parts) -- with the fake buses' own heap taken off."""
    worst = 0
    for _ in range(CYCLES):
        prepare()
        gc.collect()
        gc.disable()
        try:
            a = gc.mem_alloc()
            f = machine.fake_alloc()
            if hasattr(d, "request"):
                d.request()
            time.sleep_ms(wait_ms)
            if hasattr(d, "read"):
                d.read()
            else:
                assert d.poll(), "no frame"
            for n in names:
                d.x100(n)
            spent = (gc.mem_alloc() - a) - (machine.fake_alloc() - f)
        finally:
            gc.enable()
        worst = max(worst, spent)
    return worst


def started(name, bus, *args, **kw):
    d = sensors.driver_class(name)(bus, *args, **kw)
    if hasattr(d, "start"):
        asyncio.run(d.start())
    return d


def main():
    i2c = machine.I2C(0)
    machine.I2C.attach(0, 0x76, fake_bme280.Device(ENV))
    machine.I2C.attach(0, 0x77, fake_bme280.Device(ENV, chip_id=0x58))
    scd = fake_scd4x.Device(ENV, time_scale=0.01)
    machine.I2C.attach(0, 0x62, scd)
    sps = fake_sps30.Device(ENV, time_scale=0.01)
    sen = fake_sen5x.Device(ENV, time_scale=0.01)
    pms = fake_pms5003.Device(ENV, time_scale=0.02, start_mid_frame=False)
    machine.UART.attach(1, pms)
    uart = machine.UART(1)

    def scd_ready():
        scd._data = (600, 26000, 30000)

    def pms_frame():
        pms.asleep = True  # only the frame we feed
        pms.queue = bytearray()
        pms.feed(pms.make_frame())
        time.sleep_ms(40)  # 32 bytes at 9600 baud

    cases = (
        ("bme280", lambda: started("bme280", i2c, 0x76), None, 10),
        ("bmp280", lambda: started("bmp280", i2c, 0x77), None, 10),
        ("scd4x", lambda: started("scd4x", i2c, 0x62), scd_ready, 1),
        ("sps30", lambda: started("sps30", i2c, 0x69), None, 1),
        ("sen5x", lambda: started("sen5x", i2c, 0x69), None, 20),
        ("pms5003", lambda: started("pms5003", uart), pms_frame, 0),
    )
    for name, make, prepare, wait in cases:
        if name == "sps30":
            machine.I2C.attach(0, 0x69, sps)
        elif name == "sen5x":
            machine.I2C.attach(0, 0x69, sen)
        h = held(make)
        d = make()
        names = tuple(n for n, _u in sensors.DRIVERS[name][2])
        r = per_read(d, prepare or (lambda: None), wait)
        g = per_read(d, prepare or (lambda: None), wait, names)
        print("%s %d %d %d" % (name, h, r, g))


main()
