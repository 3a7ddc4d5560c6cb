# Power-cut scenarios for the spool (runs under MicroPython): a schedule of appends and
# deliveries on littlefs over the fake flash, the power cut after a given number of flash
# program operations, a reboot on what the flash kept, and a drain of everything left.
import fakeflash
import reading
import spool

NAMES = [["temperature", "Cel"], ["pm25", "ug/m3"]]


def payload(i):
    return bytes(reading.encode(reading.UNIX, 96000000 + i, 0, 1, [(0, 2000 + i), (1, 100 * i)]))


def _drain(sp, delivered):
    while len(sp):
        batch = sp.peek(4)
        if not batch:
            break
        delivered += [(b[0], b[2]) for b in batch]
        sp.ack(batch[-1][3], len(batch))


def run(ops, cut=None, segment_records=3, capacity=1000):
    """ops: "a" appends the next reading, an int n sends (peek + ack) up to n readings.
    Returns a dict: stored {seq: payload} (appends that returned), delivered [(seq, payload)]
    in order, used (program operations before the cut), corrupt, and fresh (the seq the
    rebooted node gives its next reading)."""
    flash = fakeflash.Flash(blocks=128)
    flash.format()
    flash.mount()
    sp = spool.Spool("/flash/q", capacity, segment_records)
    start = flash.writes
    if cut is not None:
        flash.cut_after = start + cut
    stored = {}
    delivered = []
    i = 0
    try:
        for op in ops:
            if op == "a":
                p = payload(i)
                i += 1
                stored[sp.append(NAMES, p)] = p
            else:
                batch = sp.peek(op)
                delivered += [(b[0], b[2]) for b in batch]
                if batch:
                    sp.ack(batch[-1][3], len(batch))
    except OSError:
        pass  # the power went
    used = flash.writes - start
    flash.unmount()
    flash.mount()  # reboot
    sp = spool.Spool("/flash/q", capacity, segment_records)
    _drain(sp, delivered)
    fresh = sp.append(NAMES, payload(999))
    flash.unmount()
    return {"stored": stored, "delivered": delivered, "used": used, "corrupt": sp.corrupt,
            "fresh": fresh, "dropped": sp.dropped}


def check(r):
    """The invariant: every stored reading delivered (duplicates allowed), no sequence number
    ever stands for two different readings, and the next one is new. Returns what is wrong."""
    seen = {}
    for seq, p in r["delivered"]:
        if seen.setdefault(seq, p) != p:
            return "seq %d delivered with two different payloads" % seq
    for seq, p in r["stored"].items():
        if seen.get(seq) != p:
            return "stored reading %d never delivered" % seq
    if r["fresh"] in seen:
        return "seq %d reused after the reboot" % r["fresh"]
    if r["corrupt"]:
        return "%d records damaged on littlefs" % r["corrupt"]
    return None


def serve():
    """A worker for hypothesis on the host: one JSON [ops, cut] per line in, one
    "RESULT <json>" line out (other lines are finalizer noise from dead file handles)."""
    import json
    import sys

    while True:
        line = sys.stdin.readline()
        if not line:
            return
        ops, cut = json.loads(line)
        r = run(ops, cut)
        print("RESULT " + json.dumps({"why": check(r), "used": r["used"],
                                       "stored": len(r["stored"])}))
