# The outbox policy (firmware/storage/outbox.py) over a real spool on the host's file system:
# fresh first, the early list, holding readings until the clock is set, re-stamping, batch
# halving on MemoryError, packs by bytes, several packs in flight, and that nothing leaves the
# queue before sent(). Runs under
# MicroPython and again under CPython (host_tests/test_shared_cpython.py).
import os

import reading
import senml
from outbox import EARLY_MAX, Outbox
from spool import Spool

NAMES = [["temperature", "Cel"], ["quality/bme280_0x76", "/"]]
BOOT = 7
_n = [0]


class _Clock:
    """Unsynced until set(); node time = base + uptime since the base, as link/clock.py, with
    uptime in ms for the tests' convenience."""

    def __init__(self):
        self.synced = False
        self.mono = 0
        self.base = 0  # node time at mono 0, in ms

    def uptime(self):
        return self.mono // 1000, self.mono % 1000

    def set(self, s):
        self.synced = True
        self.base = s * 1000 - self.mono

    def at(self, s, ms):
        if not self.synced:
            return None
        t = self.base + s * 1000 + ms
        return t // 1000, t % 1000


def _rmtree(path):
    try:
        names = os.listdir(path)
    except OSError:
        return
    for n in names:
        os.remove(path + "/" + n)
    os.rmdir(path)


def _outbox(batch=8, hold_s=120, clock=None):
    _n[0] += 1
    folder = "/tmp/stadsnod-outbox-%d-%d" % (os.getpid() if hasattr(os, "getpid") else 0, _n[0])
    _rmtree(folder)
    clock = clock or _Clock()
    return Outbox(Spool(folder, 1000, 16), clock, BOOT, NAMES, batch, hold_s), folder


T0 = 1795790341 - 1704067200  # node time (seconds since clock.EPOCH) of Unix 1795790341


def _unix(i, t=T0):
    return reading.encode(reading.UNIX, t + i, 0, BOOT, [(0, 2000 + 100 * i), (1, 100)])


def _backlog(n, batch):
    """An outbox with readings 1..n queued while the clock was set, drained as a backlog (the
    newest not sent ahead)."""
    ob, folder = _outbox(batch=batch)
    ob.clock.set(T0 - 341)
    for i in range(n):
        ob.put(_unix(i))
    ob.fresh = None
    return ob, folder


def _mono(ms, boot, value):
    return reading.encode(reading.MONO, ms // 1000, ms % 1000, boot, [(0, value)])


def _seqs(entries):
    return [e[0] for e in entries]


def test_the_newest_reading_goes_ahead_of_a_backlog_and_is_not_sent_twice():
    ob, folder = _outbox()
    ob.clock.set(T0 - 341)
    for i in range(5):
        ob.put(_unix(i))  # offline: a backlog builds up
    ob.put(_unix(5))  # the newest
    pack = ob.take()
    assert _seqs(pack) == [6], pack
    ob.sent()
    pack = ob.take()
    assert _seqs(pack) == [1, 2, 3, 4, 5], pack  # 6 is acknowledged with the batch, unsent
    ob.sent()
    assert len(ob) == 0 and ob.early == [] and ob.take() is None
    _rmtree(folder)


def test_the_early_list_is_bounded_then_the_backlog_goes_first():
    ob, folder = _outbox(batch=2)
    ob.clock.set(T0 - 341)
    ob.put(_unix(0))
    for i in range(EARLY_MAX):
        ob.put(_unix(i + 1))
        assert _seqs(ob.take()) == [i + 2]
        ob.sent()
    ob.put(_unix(99))
    assert _seqs(ob.take()) == [1], "with the early list full the oldest goes first"
    ob.sent()
    assert len(ob.early) == EARLY_MAX - 1  # seq 2 was acknowledged with that batch
    _rmtree(folder)


def test_readings_of_this_boot_wait_for_the_clock_then_go_restamped():
    ob, folder = _outbox(hold_s=120)
    c = ob.clock
    c.mono = 5000
    ob.put(_mono(5250, BOOT, 2150))
    c.mono = 60000
    assert ob.take() is None  # held: the clock may come
    c.set(T0)  # at mono 60000
    pack = ob.take()
    seq, t, records = pack[0]
    assert t == (T0 - 55, 250), t  # stamped where it was taken, 54.75 s before the sync
    assert records == [("temperature", "Cel", 2150)]  # hundredths, as stored
    _rmtree(folder)


def test_after_the_hold_a_reading_goes_without_time_and_a_pack_never_mixes():
    ob, folder = _outbox(hold_s=10)
    c = ob.clock
    ob.put(_mono(100, BOOT, 100))
    ob.put(_mono(200, BOOT - 1, 200))  # an earlier boot
    ob.fresh = None  # the backlog path, not fresh-first
    c.mono = 10001
    pack = ob.take()
    assert [e[1] for e in pack] == [None, None]
    ob.sent()
    c.set(T0)
    ob.put(_mono(300, BOOT - 1, 300))  # never saw a clock
    ob.put(_unix(0))
    ob.fresh = None  # the backlog path, not fresh-first
    pack = ob.take()
    assert [e[1] for e in pack] == [None], pack  # the timed one waits for the next pack
    ob.sent()
    assert [e[1] for e in ob.take()] == [(T0, 0)]
    _rmtree(folder)


def test_nothing_leaves_before_sent_and_a_restart_keeps_the_rest():
    ob, folder = _backlog(7, batch=3)
    first = _seqs(ob.take())
    ob.rewind()  # a failed publish: the connection went, nothing acknowledged
    assert first == [1, 2, 3] and _seqs(ob.take()) == first  # the same pack again
    ob.sent()
    assert len(ob) == 4
    again = Outbox(Spool(folder, 1000, 16), ob.clock, BOOT + 1, NAMES, 3, 120)
    assert _seqs(again.take()) == [4, 5, 6]
    _rmtree(folder)


def test_a_memory_error_halves_the_batch_and_each_delivery_grows_it_back():
    ob, folder = _backlog(20, batch=8)
    assert ob.short_of_memory() == 4 and ob.short_of_memory() == 2
    assert _seqs(ob.take()) == [1, 2]
    ob.sent()
    assert ob.batch_now == 3 and _seqs(ob.take()) == [3, 4, 5]
    ob.sent()
    for _ in range(3):
        ob.short_of_memory()
    assert ob.batch_now == 1  # never below one
    _rmtree(folder)


def test_an_unreadable_record_is_acknowledged_and_counted_never_published():
    ob, folder = _outbox()
    ob.clock.set(T0 - 341)
    ob.put(_unix(0))
    ob.put(b"\x01\x02")  # CRC-valid on flash, not a reading
    ob.put(_unix(2))
    ob.fresh = None
    assert _seqs(ob.take()) == [1, 3] and ob.spool.corrupt == 1
    ob.sent()
    assert len(ob) == 0
    _rmtree(folder)


def test_packs_in_flight_follow_each_other_and_leave_in_order():
    ob, folder = _backlog(8, batch=3)
    packs = [_seqs(ob.take()) for _ in range(3)]
    assert packs == [[1, 2, 3], [4, 5, 6], [7, 8]], packs  # each after the last one taken
    assert ob.take() is None and len(ob) == 8  # all in flight, none acknowledged yet
    ob.sent()
    assert len(ob) == 5
    ob.put(_unix(8))  # arrives while two packs are in flight: it follows them
    ob.fresh = None
    assert _seqs(ob.take()) == [9]
    for _ in range(3):
        ob.sent()
    assert len(ob) == 0 and ob.take() is None
    _rmtree(folder)


def test_a_lost_connection_sends_what_was_in_flight_again_and_nothing_else():
    ob, folder = _backlog(6, batch=2)
    ob.take()
    ob.take()
    ob.sent()  # [1, 2] acknowledged; [3, 4] in flight when the connection goes
    ob.rewind()
    assert _seqs(ob.take()) == [3, 4] and _seqs(ob.take()) == [5, 6]
    _rmtree(folder)


def test_an_early_reading_in_flight_is_not_packed_again_by_the_backlog():
    ob, folder = _outbox(batch=8)
    ob.clock.set(T0 - 341)
    for i in range(4):
        ob.put(_unix(i))
    assert _seqs(ob.take()) == [4]  # the newest, ahead of the backlog
    assert _seqs(ob.take()) == [1, 2, 3]  # 4 is in flight already: acknowledged with these
    ob.sent()
    ob.sent()
    assert len(ob) == 0 and ob.take() is None
    _rmtree(folder)


def test_packs_are_sized_by_their_text_not_only_their_count():
    names = [["r%02d" % i, "Cel"] for i in range(20)]  # a kit with twenty records a reading
    _n[0] += 1
    folder = "/tmp/stadsnod-outbox-wide-%d" % _n[0]
    _rmtree(folder)
    clock = _Clock()
    clock.set(T0 - 341)
    ob = Outbox(Spool(folder, 1000, 16), clock, BOOT, names, 50, 120, 2048)
    values = [(i, 100 * i) for i in range(20)]
    for i in range(10):
        ob.put(reading.encode(reading.UNIX, T0 + i, 0, BOOT, values))
    ob.fresh = None
    pack = ob.take()
    text = senml.encode_readings("urn:dev:test:", pack)
    one = len(senml.encode_readings("urn:dev:test:", pack[:1]))
    # as many as fit the budget: the pack within it, one more reading would not be
    assert len(text) <= 2048 < len(text) + one + one, (len(pack), len(text), one)
    _rmtree(folder)
