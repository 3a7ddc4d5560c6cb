# Power cuts through the whole way out of the node's queue (runs under MicroPython): the
# outbox over the spool on littlefs over the fake flash, with packs in flight and their
# PUBACKs, lost connections (rewind), a queue so small it drops its oldest, and config updates
# (store.write_atomic) between them. The power goes after a given number of flash program
# operations; the node reboots on what the flash kept and drains everything left.
import fakeflash
import outbox
import spool
import store
from powercut import NAMES, payload

CONFIGS = ['{"interval_s": 60, "v": %d}' % i for i in range(40)]


class Clock:
    synced = True

    def uptime(self):
        return 1000, 0

    def at(self, s, ms):
        return s, ms


def _outbox(capacity, segment_records, boot):
    return outbox.Outbox(spool.Spool("/flash/q", capacity, segment_records), Clock(), boot,
                         NAMES, 4, 0, 256)


def _publish(ob, delivered):
    """One take(): what it hands out reaches the broker."""
    entries = ob.take()
    if entries is None:
        return False
    for seq, t, records in entries:
        delivered.append((seq, t, tuple(records)))
    return True


def run(ops, cut=None, capacity=1000, segment_records=3):
    """ops: "a" queues the next reading, "p" publishes a pack (taken, in flight), "s" is the
    oldest pack's PUBACK, "r" a lost connection (what is in flight goes again), "c" a config
    update. Returns stored {seq: payload}, delivered [(seq, time, records)], used (program
    operations before the cut), dropped, corrupt, fresh, config (after the reboot), configs
    (every config text written or being written)."""
    flash = fakeflash.Flash(blocks=128)
    flash.format()
    flash.mount()
    store.write_atomic("/flash/config.json", CONFIGS[0])
    ob = _outbox(capacity, segment_records, 1)
    start = flash.writes
    if cut is not None:
        flash.cut_after = start + cut
    stored = {}
    delivered = []
    written = [CONFIGS[0]]
    i = 0
    try:
        for op in ops:
            if op == "a":
                p = payload(i)
                i += 1
                stored[ob.put(p)] = p
            elif op == "p":
                _publish(ob, delivered)
            elif op == "s" and ob.flight:
                ob.sent()
            elif op == "r":
                ob.rewind()
            elif op == "c":
                written.append(CONFIGS[len(written) % len(CONFIGS)])
                store.write_atomic("/flash/config.json", written[-1])
    except OSError:
        pass  # the power went
    used = flash.writes - start
    flash.unmount()
    flash.mount()  # reboot
    config = store.read_text("/flash/config.json")
    ob = _outbox(capacity, segment_records, 2)
    while _publish(ob, delivered):
        ob.sent()
    fresh = ob.put(payload(999))
    sp = ob.spool
    flash.unmount()
    return {"stored": stored, "delivered": delivered, "used": used, "corrupt": sp.corrupt,
            "fresh": fresh, "dropped": sp.dropped, "config": config, "configs": written}


def lost(r):
    """Stored readings never delivered beyond those the full queue counted as dropped."""
    seen = set(seq for seq, _t, _r in r["delivered"])
    return max(0, len([s for s in r["stored"] if s not in seen]) - r["dropped"])


def check(r):
    """Every stored reading delivered or counted as dropped by the full queue, no seq
    standing for two readings, the next seq new, the config one that was
    written whole. Returns what is wrong."""
    seen = {}
    for seq, t, records in r["delivered"]:
        if seen.setdefault(seq, (t, records)) != (t, records):
            return "seq %d delivered as two different readings" % seq
    missing = [seq for seq in r["stored"] if seq not in seen]
    if len(missing) > r["dropped"]:
        return "%d stored readings never delivered (%d dropped by a full queue): %r" % (
            len(missing), r["dropped"], missing[:8])
    if r["fresh"] in seen:
        return "seq %d reused after the reboot" % r["fresh"]
    if r["corrupt"]:
        return "%d records damaged on littlefs" % r["corrupt"]
    if r["config"] not in r["configs"]:
        return "config.json after the reboot is none of the configs written: %r" % r["config"]
    return None


# The exhaustive scenarios: each is run with a cut at every program operation it makes, for
# every segment size below.
SCENARIOS = (
    # a backlog that rolls over segments, drained with three packs in flight and their acks
    ("drain", ["a"] * 14 + ["p", "p", "p", "s", "a", "p", "s", "s", "p", "s", "s"] + ["a"] * 3
     + ["p", "p", "s", "s"], 1000),
    # lost connections: packs in flight go again, some acknowledged first
    ("rewind", ["a"] * 9 + ["p", "p", "s", "r", "p", "p", "p", "r", "a", "p", "s", "s", "s"]
     + ["a"] * 4 + ["p", "r", "p", "s", "s"], 1000),
    # a queue of 8 full: the oldest go while packs are in flight
    ("full", ["a"] * 6 + ["p", "p"] + ["a"] * 9 + ["s", "s", "p", "s"] + ["a"] * 5
     + ["p", "p", "s", "s", "s"], 8),
    # config updates between appends and sends
    ("config", ["a", "c", "a", "a", "p", "c", "s", "a", "c", "a", "p", "p", "c", "s", "s", "c"]
     + ["a"] * 4 + ["c", "p", "s", "c"], 1000),
    # all of it at once, in a queue of 10
    ("mixed", ["a"] * 5 + ["p", "c", "p", "a", "a", "s", "r", "a", "a", "a", "p", "p", "p", "c"]
     + ["a"] * 6 + ["s", "s", "r", "p", "s", "a", "c", "p", "p", "s", "s"], 10),
)
# segment sizes each scenario runs with: the rollovers fall at different writes
SEGMENT_RECORDS = (2, 3, 5)
