# The flash store-and-forward queue (firmware/storage/spool.py) on littlefs over the fake flash,
# under MicroPython: order, acknowledgement, segments, capacity, restart, and power cuts at every
# flash program operation of a representative scenario.
import fakeflash
import powercut
import reading
import spool

NAMES = powercut.NAMES


def _spool(flash=None, **kw):
    if flash is None:
        flash = fakeflash.Flash(blocks=128)
        flash.format()
        flash.mount()
    return flash, spool.Spool("/flash/q", **kw)


def test_readings_leave_in_order_and_only_when_acknowledged():
    flash, sp = _spool(segment_records=4)
    seqs = [sp.append(NAMES, powercut.payload(i)) for i in range(10)]
    assert seqs == list(range(1, 11)) and len(sp) == 10
    batch = sp.peek(3)
    assert [b[0] for b in batch] == [1, 2, 3] and batch[0][1] == NAMES
    assert [b[0] for b in sp.peek(3)] == [1, 2, 3]  # peeking is not sending
    sp.ack(batch[-1][3], 3)
    batch = sp.peek(6)  # across a segment boundary
    assert [b[0] for b in batch] == [4, 5, 6, 7, 8, 9] and len(sp) == 7
    sp.ack(batch[-1][3], 6)
    assert [b[0] for b in sp.peek(9)] == [10]
    assert reading.decode(batch[0][2])[4] == [(0, 2003), (1, 300)]


def test_restart_keeps_position_and_sequence():
    flash, sp = _spool(segment_records=4)
    for i in range(9):
        sp.append(NAMES, powercut.payload(i))
    batch = sp.peek(5)
    sp.ack(batch[-1][3], 5)
    flash.unmount()
    flash.mount()
    flash, sp = _spool(flash, segment_records=4)
    assert len(sp) == 4 and [b[0] for b in sp.peek(9)] == [6, 7, 8, 9]
    assert sp.append(NAMES, powercut.payload(9)) == 10
    import os
    assert sorted(os.listdir("/flash/q")) == ["00000002.seg", "00000003.seg", "ack"]


def test_full_queue_drops_the_oldest_and_counts_it():
    flash, sp = _spool(capacity=8, segment_records=4)
    for i in range(14):
        sp.append(NAMES, powercut.payload(i))
    assert sp.dropped == 8 and len(sp) == 6
    assert [b[0] for b in sp.peek(20)] == [9, 10, 11, 12, 13, 14]
    flash.unmount()
    flash.mount()
    flash, sp = _spool(flash, capacity=8, segment_records=4)
    assert sp.dropped == 8 and len(sp) == 6  # the count survives a reboot


def test_new_record_names_start_a_new_segment():
    flash, sp = _spool()
    sp.append(NAMES, powercut.payload(0))
    other = [["co2", "ppm"]]
    sp.append(other, powercut.payload(1))
    assert [b[1] for b in sp.peek(5)] == [NAMES, other]


def test_every_power_cut_point_loses_nothing():
    # A representative scenario: appends across segment boundaries, sends in between, one
    # send that empties the queue, more appends.
    ops = ["a", "a", "a", 2, "a", "a", "a", "a", 3, "a", 10, "a", "a", 1, "a"]
    clean = powercut.run(ops)
    assert powercut.check(clean) is None, powercut.check(clean)
    points = clean["used"]
    assert points > 40, points
    failures = []
    for cut in range(points + 1):
        r = powercut.run(ops, cut)
        why = powercut.check(r)
        if why:
            failures.append((cut, why))
    assert not failures, failures[:3]
    print("power_cut_points_tested", points + 1)
