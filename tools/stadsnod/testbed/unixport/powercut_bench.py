# Runs on the MicroPython unix port with the fakes: the spool's exhaustive power-cut run over a
# longer scenario than the test's (appends across many segments, sends, a queue emptied and
# refilled), a cut at every flash program operation. Prints "points lost".
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
    print("%d %d" % (points, lost))


main()
