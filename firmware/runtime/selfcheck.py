# The running node's own checks, for the `selftest` command and a new release's trial: each
# sensor (warming up counts as well), the clock, heap and flash. Imported when asked, then
# dropped (the technician's boot-time self-test is runtime/selftest.py).
import gc
import os

MIN_FREE_HEAP = 16384
MIN_FREE_FLASH = 65536


def run(node):
    """What the running node can say about itself: each sensor (warming up counts as well),
    the clock, heap and flash."""
    checks = []
    for s in node.sensors:
        for part in s.sources or (s,):
            checks.append([part.id, part.status in ("ok", "warming up"), part.status])
    checks.append(["clock", node.clock.synced, "synchronised" if node.clock.synced else "unset"])
    gc.collect()
    free = gc.mem_free()
    checks.append(["heap", free >= MIN_FREE_HEAP, "%d bytes free" % free])
    st = os.statvfs(".")
    flash = st[0] * st[3]
    checks.append(["filesystem", flash >= MIN_FREE_FLASH, "%d bytes free" % flash])
    return {"passed": all(c[1] for c in checks), "checks": checks}
