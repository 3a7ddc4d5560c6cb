# What leaves the flash queue, in which order, and when it counts as delivered -- the policy
# that decides what could be lost or sent twice, kept apart from the MQTT client so it can be
# tested alone:
# - fresh first: the newest reading goes ahead of a backlog (fresh data is never starved) and
#   is remembered in `early` (at most EARLY_MAX) so the backlog acknowledges it unsent;
# - hold: a reading of this boot stamped before the clock was set waits for the clock, for up
#   to hold_unsynced_s of uptime, then goes without a time;
# - restamp: an uptime stamp of this boot becomes node time once the clock is known; one of an
#   earlier boot that never saw a clock stays without time; a pack holds readings all with a
#   time or all without;
# - batch: a pack holds up to `batch` readings and about `batch_bytes` of SenML; a MemoryError
#   halves the count, each delivered pack grows it back by one;
# - window: several packs may be in flight (taken, not yet acknowledged); each take() starts
#   after the last one taken, sent() acknowledges the oldest, and rewind() (the connection
#   went) sends whatever was in flight again, from flash;
# - ack: a reading leaves the queue only after sent(), i.e. the broker's PUBACK.
import reading
import senml

EARLY_MAX = 16
# a record's SenML beyond its name and unit, typically ,{"n":"","u":"","t":12.345,"v":1234.56}
_RECORD_TEXT = 36


class Outbox:
    def __init__(self, spool, clock, boot, names, batch, hold_unsynced_s, batch_bytes=4096):
        self.spool = spool
        self.clock = clock
        self.boot = boot
        self.names = names  # [[name, unit], ...] of this boot's readings
        self.batch = batch
        self.batch_now = batch  # smaller while the heap is short
        self.batch_bytes = batch_bytes
        self.hold_s = int(hold_unsynced_s)
        self.fresh = None  # (seq, payload) of the newest reading, until it is sent
        self.early = []  # seqs sent ahead of the backlog and acknowledged
        # packs taken and not yet acknowledged, oldest first: a seq sent early, or the
        # backlog's (position, count, top seq, grow)
        self.flight = []
        self._after = None  # the spool position after the last backlog pack taken

    def __len__(self):
        return len(self.spool)

    def put(self, payload):
        """Queues a reading (on flash before anything else); OSError when the flash refuses."""
        seq = self.spool.append(self.names, payload)
        self.fresh = (seq, payload)
        return seq

    def restamp(self, seq, names, payload):
        """(seq, node time (s, ms) or None, records) of a stored reading."""
        kind, s, ms, boot, values = reading.decode(payload)
        if kind == reading.UNIX:
            t = (s, ms)
        elif kind == reading.MONO and boot == self.boot:
            t = self.clock.at(s, ms)
        else:
            t = None
        return seq, t, [(names[i][0], names[i][1], bool(v) if names[i][0] in senml.BOOLEAN
                         else v) for i, v in values]

    def _holding(self, payload):
        try:
            kind, _s, _ms, boot, _v = reading.decode(payload)
        except (ValueError, TypeError):
            return False  # the batch code counts it as damaged
        return kind == reading.MONO and boot == self.boot and \
            self.clock.uptime()[0] < self.hold_s

    def _early_in_flight(self, seq):
        for t in self.flight:
            if t == seq:
                return True
        return False

    def take(self):
        """The next pack after those in flight: a list of (seq, Unix time or None, records)
        to publish, possibly empty (readings already sent ahead or unreadable: acknowledged
        unsent); None when there is nothing to send now. Each pack taken is acknowledged by
        one sent(), in the order taken."""
        batch = self.spool.peek(self.batch_now, self._after)
        if not batch:
            return None
        if not self.clock.synced and self._holding(batch[0][2]):
            return None  # it will get its real time when the clock is set
        fresh = self.fresh
        if fresh and fresh[0] != batch[0][0] and len(self.early) < EARLY_MAX:
            self.fresh = None  # if this pack is lost, the reading goes with the backlog
            self.flight.append(fresh[0])
            return [self.restamp(fresh[0], self.names, fresh[1])]
        entries = []
        timed = None
        last = 0
        size = 0
        for seq, names, payload, _pos in batch:
            if seq in self.early or self._early_in_flight(seq):
                last += 1  # already sent ahead; acknowledged with this batch
                continue
            try:
                e = self.restamp(seq, names, payload)
            except (ValueError, IndexError, TypeError):
                self.spool.corrupt += 1  # unreadable: acknowledged, never published
                last += 1
                continue
            if timed is None:
                timed = e[1] is not None
            elif timed != (e[1] is not None):
                break  # a pack holds readings all with a time or all without
            size += _text_size(e[2])
            if entries and size > self.batch_bytes:
                break
            entries.append(e)
            last += 1
        self._after = batch[last - 1][3]
        top = batch[last - 1][0]
        self.flight.append((self._after, last, top, bool(entries)))
        if fresh and fresh[0] <= top:
            self.fresh = None  # it goes in this pack (and with the backlog if the pack is lost)
        return entries

    def sent(self):
        """The oldest pack in flight is delivered (PUBACK): its readings leave the queue."""
        t = self.flight.pop(0)
        if not isinstance(t, tuple):
            self.early.append(t)
            return
        position, count, top, grow = t
        if grow and self.batch_now < self.batch:
            self.batch_now += 1
        self.spool.ack(position, count)
        self.early = [s for s in self.early if s > top]
        if self.fresh and self.fresh[0] <= top:
            self.fresh = None
        if not self.flight:
            self._after = None

    def rewind(self):
        """The packs in flight were not acknowledged (the connection went): they go again,
        from flash, with the next take()."""
        self.flight = []
        self._after = None

    def short_of_memory(self):
        """A pack did not fit the heap: smaller ones for now. Returns the new batch size."""
        self.batch_now = max(1, self.batch_now // 2)
        return self.batch_now


def _text_size(records):
    """About how many bytes of SenML a reading's records make (its seq record included)."""
    n = _RECORD_TEXT
    for name, unit, _v in records:
        n += _RECORD_TEXT + len(name) + len(unit or "")
    return n
