# Runs on the MicroPython unix port with the fakes: the spool's exhaustive power-cut run over a
# longer scenario than the test's (appends across many segments, sends, a queue emptied and
# refilled), then the outbox's scenarios (packs in flight and their acks, lost connections, a
# full queue dropping its oldest, config updates: fakes/flash/outbox_cuts.py), a cut at every
# flash program operation of each. Prints "points lost".
import outbox_cuts
import powercut

OPS = (["a"] * 7 + [3] + ["a"] * 5 + [10] + ["a"] * 9 + [2, 2] + ["a"] * 4 + [20] + ["a"] * 3)


def main():
    clean = powercut.run(OPS)
    assert powercut.check(clean) is None, powercut.check(clean)
    points = clean["used"] + 1
    lost = 0
    for cut in range(points):
        r = powercut.run(OPS, cut)
        seen = set(seq for seq, _p in r["delivered"])
        lost += len([s for s in r["stored"] if s not in seen])
        why = powercut.check(r)
        if why and "never delivered" not in why:
            print("error", cut, why)
    for name, ops, capacity in outbox_cuts.SCENARIOS:
        for seg in outbox_cuts.SEGMENT_RECORDS:
            clean = outbox_cuts.run(ops, None, capacity, seg)
            assert outbox_cuts.check(clean) is None, (name, seg, outbox_cuts.check(clean))
            for cut in range(clean["used"] + 1):
                r = outbox_cuts.run(ops, cut, capacity, seg)
                lost += outbox_cuts.lost(r)
                why = outbox_cuts.check(r)
                if why:
                    print("error", name, seg, cut, why)
            points += clean["used"] + 1
    print("%d %d" % (points, lost))


main()
