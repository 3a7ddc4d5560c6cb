# The records of a node's readings and one interval's values. Each record has one source: the
# first sensor in the config that measures it (list the BME280 before the SCD4x, and
# temperature comes from the BME280). Polled sensors' samples are averaged here; listening
# sensors hand over what they computed themselves (levels, counts, occupancy).
from aggregate import Aggregator


def x100(value):
    """A listening sensor's value (dB, a count, a share, a flag) in hundredths: the unit every
    record has in a reading. Once per interval, so a float here costs nothing that matters."""
    if isinstance(value, int):  # bool is an int: True -> 100
        return value * 100
    return int(round(value * 100))


class Interval:
    def __init__(self, sensors):
        self.sensors = sensors
        units = {}
        for s in sensors:
            s.publish = tuple(r for r in s.records if r[0] not in units)
            for name, unit in s.publish:
                units[name] = unit
        self.latest = {}  # newest value of each record, for drivers that compensate
        self.agg = Aggregator(list(units))
        # names of the records a reading can hold, as stored with each spool segment
        self.names = [[n, u] for n, u in units.items()] + \
            [["quality/" + s.id, "/"] for s in sensors]
        self.index = {n[0]: i for i, n in enumerate(self.names)}

    def close(self):
        """[(record index, value in hundredths)] of the interval that ends now; starts the
        next one."""
        values = []
        index = self.index
        for name in self.agg.names:
            mean = self.agg.mean(name)
            if mean is not None:
                values.append((index[name], mean))
        for s in self.sensors:  # levels and counts of the interval, not means of samples
            for name, value in s.interval_values():
                if name in index:
                    values.append((index[name], x100(value)))
        for s in self.sensors:
            q = s.quality()
            if q is not None:
                values.append((index["quality/" + s.id], x100(q)))
            s.new_interval()
        self.agg.reset()
        return values
