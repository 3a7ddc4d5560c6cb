# Occupancy drivers against their fakes, under MicroPython: the PIR on a fake GPIO (module
# timings from ../shared/reference/sensors.md: AM312 hold ~2 s / block ~2 s, EKMC without a
# hold timer, settling after power-up), the VL53L1X on the fake I2C (register map and the
# power-on configuration block of ST's ultra-lite driver; model id 0xEACC) counting people
# through a doorway with ST UM2600's two-zone method.
import asyncio

import fake_pir
import fake_vl53l1x
import machine
import people

import pir
import vl53l1x
from devtest import raises_async
from people_counter import Counter
from sensor_error import SensorError


class _Level:
    """A GPIO source the test sets by hand."""

    def __init__(self):
        self.v = 0
        self.fault = None

    def level(self):
        return self.v


def _pin(source, n=20):
    machine.Pin.attach(n, source)
    return machine.Pin(n, machine.Pin.IN)


async def _watch(p, ms):
    """The node's task: wait for an edge or 20 ms, judge; for `ms`."""
    for _ in range(ms // 20):
        await p.wait(20)


async def test_pir_debounce_hold_and_retrigger():
    src = _Level()
    p = pir.PIR(_pin(src), hold_s=0.3, warmup_s=0, debounce_ms=40)
    watcher = asyncio.create_task(_watch(p, 120))  # the node's task runs through the glitch
    await asyncio.sleep_ms(30)
    src.v = 1
    await asyncio.sleep_ms(15)
    src.v = 0  # a 15 ms glitch: seen (an edge each way), but not motion
    await watcher
    assert not p.present and p.edges <= 2, p.edges  # (2 unless the host stalled 15 ms)
    src.v = 1
    await _watch(p, 80)
    assert p.present
    src.v = 0
    await _watch(p, 160)
    assert p.present  # held
    src.v = 1  # motion again within the hold: retriggered
    await _watch(p, 80)
    src.v = 0
    await _watch(p, 240)
    assert p.present  # 0.3 s from the last motion, not from the first
    await _watch(p, 200)
    assert not p.present


async def test_pir_interrupt_is_judged_at_the_edge_not_the_next_tick():
    # the fake pin fires its handler on an edge; the edge task judges the level at once,
    # while the tick (wait) is still sleeping
    src = _Level()
    p = pir.PIR(_pin(src, 21), hold_s=1, warmup_s=0, debounce_ms=0)
    seen = []

    async def later():
        await asyncio.sleep_ms(30)
        src.v = 1
        await asyncio.sleep_ms(20)
        seen.append((p.edges, p.present))

    asyncio.create_task(later())
    await p.wait(500)
    assert seen == [(1, True)], seen
    p.close()


async def test_pir_ticks_allocate_nothing():
    # 10 Hz ticks for a second as the node runs them (sleep_ms, update): no task, coroutine
    # or exception per tick (it was a wait_for task and a TimeoutError every 100 ms)
    import gc

    src = _Level()
    p = pir.PIR(_pin(src, 22), hold_s=0, warmup_s=0, debounce_ms=0)
    p.watch()
    await asyncio.sleep_ms(1)
    gc.collect()
    gc.disable()
    before = gc.mem_alloc()
    for _ in range(10):
        await asyncio.sleep_ms(100)
        p.update()
    spent = gc.mem_alloc() - before
    gc.enable()
    p.close()
    assert spent == 0, spent


async def test_pir_warm_up_pulses_are_ignored():
    # an HC-SR501 pulses at random while it settles (60 s, here 0.3 s at time_scale 0.005)
    dev = fake_pir.Device(module="hc-sr501", visits=[], time_scale=0.005)
    p = pir.PIR(_pin(dev, 22), hold_s=0.05, warmup_s=0.35, debounce_ms=0)
    seen = []
    for _ in range(15):
        await p.wait(20)
        seen.append(p.present)
    assert p.edges > 2 and not any(seen), (p.edges, seen)


async def test_pir_modules_with_and_without_hold_timer():
    # someone walks in from 1 s to 2 s of the scene (time_scale 0.1: 100 ms to 200 ms)
    for module in ("am312", "ekmc"):
        dev = fake_pir.Device(module=module, visits=[(1.0, 2.0, 2.0, True)], time_scale=0.1)
        dev.settle = 0
        p = pir.PIR(_pin(dev, 23), hold_s=0.1, warmup_s=0, debounce_ms=10)
        trace = []
        for _ in range(80):
            await p.wait(10)
            trace.append(p.present)
        assert not trace[0] and True in trace and not trace[-1], (module, trace)


# -- VL53L1X
def _tof(crossings=(), noise=False, time_scale=1.0, addr=0x29):
    dev = fake_vl53l1x.Device(crossings=list(crossings), noise=noise, time_scale=time_scale)
    machine.I2C.attach(0, addr, dev)
    return dev, vl53l1x.VL53L1X(machine.I2C(0), addr)


# ST's published power-on configuration (ultra-lite driver STSW-IMG009,
# VL51L1X_DEFAULT_CONFIGURATION), registers 0x2D..0x87, eight to a row from 0x2D
ST_DEFAULT_CONFIGURATION = (
    0x00, 0x00, 0x00, 0x01, 0x02, 0x00, 0x02, 0x08,  # 0x2D
    0x00, 0x08, 0x10, 0x01, 0x01, 0x00, 0x00, 0x00,  # 0x35
    0x00, 0xFF, 0x00, 0x0F, 0x00, 0x00, 0x00, 0x00,  # 0x3D
    0x00, 0x20, 0x0B, 0x00, 0x00, 0x02, 0x0A, 0x21,  # 0x45
    0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x00, 0xC8,  # 0x4D
    0x00, 0x00, 0x38, 0xFF, 0x01, 0x00, 0x08, 0x00,  # 0x55
    0x00, 0x01, 0xCC, 0x0F, 0x01, 0xF1, 0x0D, 0x01,  # 0x5D
    0x68, 0x00, 0x80, 0x08, 0xB8, 0x00, 0x00, 0x00,  # 0x65
    0x00, 0x0F, 0x89, 0x00, 0x00, 0x00, 0x00, 0x00,  # 0x6D
    0x00, 0x00, 0x01, 0x0F, 0x0D, 0x0E, 0x0E, 0x00,  # 0x75
    0x00, 0x02, 0xC7, 0xFF, 0x9B, 0x00, 0x00, 0x00,  # 0x7D
    0x01, 0x00, 0x00)  # 0x85..0x87


async def test_vl53l1x_start_writes_the_documented_configuration():
    dev, s = _tof()
    await s.start("short", (8, 16), 33)
    assert dev.blocks[0] == (0x2D, bytes(ST_DEFAULT_CONFIGURATION))  # one write, first
    assert [dev.regs[r] for r in (0x4B, 0x60, 0x63, 0x69, 0x78, 0x79, 0x7A, 0x7B)] == \
        [0x14, 0x07, 0x05, 0x38, 0x07, 0x05, 0x06, 0x06]  # short distance mode
    assert dev.regs[0x0008] == 0x09 and dev.regs[0x000B] == 0x00  # VHV, after the warm-up
    # ST's table, short mode, 33 ms: TIMEOUT_MACROP_A = 0x00D6, _B = 0x006E
    assert [dev.regs[r] for r in (0x5E, 0x5F, 0x61, 0x62)] == [0x00, 0xD6, 0x00, 0x6E]
    assert dev.regs[0x80] == 0xF7  # 8 wide, 16 high: (16 - 1) << 4 | (8 - 1)
    period = (dev.regs[0x6C] << 24) | (dev.regs[0x6D] << 16) | (dev.regs[0x6E] << 8) | \
        dev.regs[0x6F]
    assert period == int(33 * fake_vl53l1x.OSC * 1.075)
    s.set_distance_mode("long")  # the budget follows the mode: long, 33 ms = 0x0060, 0x006E
    assert [dev.regs[r] for r in (0x4B, 0x60, 0x63, 0x69)] == [0x0A, 0x0F, 0x0D, 0xB8]
    assert [dev.regs[r] for r in (0x5E, 0x5F, 0x61, 0x62)] == [0x00, 0x60, 0x00, 0x6E]
    s.start_ranging()
    await s.wait_ready(200)
    assert dev.refused is None and dev.budget_ms() == 33


async def test_vl53l1x_budget_must_fit_the_period_and_the_mode():
    dev, s = _tof()
    await s.start("short", (8, 16), 100, budget_ms=50)
    assert dev.budget_ms() == 50
    for call, args, words in ((s.set_timing_budget, (200,), "longer than the 100 ms period"),
                              (s.set_timing_budget, (40,), "must be one of"),
                              (s.set_intermeasurement, (20,), "shorter than the 50 ms")):
        try:
            call(*args)
            raise AssertionError("accepted %r" % (args,))
        except ValueError as e:
            assert words in str(e), str(e)
    s.set_timing_budget(15)  # short mode only
    try:
        s.set_distance_mode("long")
        raise AssertionError("long mode accepted a 15 ms budget")
    except ValueError as e:
        assert "15 ms" in str(e)


async def test_vl53l1x_fake_refuses_a_part_set_up_without_vhv_or_budget():
    # what a driver that skips ST's steps would meet: no result, and the fake says why
    dev, s = _tof()
    await s.start("short", (8, 16), 33)
    s.write8(0x004B, 0x0A)  # long-mode PHASECAL written without the budget's registers
    s.start_ranging()
    assert dev.refused and "timing budget" in dev.refused, dev.refused
    try:
        await s.wait_ready(100)
        raise AssertionError("a result without a timing budget")
    except SensorError:
        pass
    dev2, s2 = _tof(addr=0x30)
    await s2.start("short", (8, 16), 33)
    s2.stop()
    s2.write8(0x0008, 0x00)
    s2.start_ranging()
    assert dev2.refused and "VHV" in dev2.refused, dev2.refused


async def test_vl53l1x_ranges_at_the_longer_of_budget_and_period():
    dev, s = _tof()
    await s.start("short", (8, 16), 200, budget_ms=200)
    assert abs(dev._period_s() - 0.2) < 1e-6
    s.set_timing_budget(50)
    assert abs(dev._period_s() - 0.2) < 0.001  # the period, now the longer


async def test_vl53l1x_identity_and_bus_faults():
    dev, s = _tof()
    dev.regs[0x010F] = 0xEE
    await raises_async(s.start(), "model id 0xeecc")
    dev, s = _tof()
    dev.fault = "nack"
    await raises_async(s.start(), "no answer")


async def test_vl53l1x_ranges_the_zone_under_its_roi():
    walker = people.Crossing(0.0, inward=True, duration_s=100.0)  # stands in zone A
    dev, s = _tof([walker])
    await s.start()
    for centre, want in ((167, 500), (231, 2100)):
        s.set_centre(centre)
        s.start_ranging()
        await s.wait_ready()
        assert s.read() and s.mm == want, (centre, s.status, s.mm)
        s.stop()


async def _count(dev, s, seconds, counter):
    await s.start("short", (8, 16), 20)
    zone = 0
    s.set_centre(167)
    s.start_ranging()
    t_end = dev.clock.now() + seconds
    while dev.clock.now() < t_end:
        await s.wait_ready()
        valid = s.read()
        counter.update(zone, valid, s.mm)
        zone ^= 1
        s.set_centre(231 if zone else 167)
    return counter


async def test_doorway_counts_are_exact_in_clean_conditions():
    # 4 in, 2 out, 2 turn back (one each way), 20 s of scene at 4x speed
    C = people.Crossing
    scene = [C(1.0, True), C(3.5, True), C(5.5, False), C(7.5, True, turn_back=True),
             C(9.5, True), C(11.5, False), C(13.5, False, turn_back=True), C(15.5, True)]
    dev, s = _tof(scene, time_scale=0.25)
    c = await _count(dev, s, 18.0, Counter())
    assert (c.count_in, c.count_out, c.turned_back) == (4, 2, 2), \
        (c.count_in, c.count_out, c.turned_back)


async def test_dropouts_are_tolerated():
    # 5 % of rangings fail ("signal fail") and distances jitter +-30 mm
    C = people.Crossing
    scene = [C(1.0 + 2.5 * i, i % 3 != 2) for i in range(6)]
    dev, s = _tof(scene, noise=True, time_scale=0.25)
    c = await _count(dev, s, 16.0, Counter())
    assert (c.count_in, c.count_out) == (4, 2), (c.count_in, c.count_out)


def test_presence_fusion_any_and_both():
    import occupancy

    class _Src:
        def __init__(self, id, present, status="ok"):
            self.id, self.present, self.status = id, present, status

    class _Log:
        def warning(self, *a):
            pass

    pir_s, radar = _Src("pir", False), _Src("ld2410", True)
    any_ = occupancy.Presence([pir_s, radar], "any", _Log())
    both = occupancy.Presence([pir_s, radar], "both", _Log())
    assert any_.fused() and not both.fused()  # someone sitting still: the PIR misses them
    pir_s.present = True
    assert both.fused()
    pir_s.status = "warming up"  # a sensor not working is left out, not a veto
    pir_s.present = False
    assert both.fused() and any_.fused()
    radar.status = "LD2410: reports stopped"
    assert not any_.fused()  # nothing working: nobody can be seen
