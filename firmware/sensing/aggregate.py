# Per-interval statistics of each record, in fixed storage: no growing lists, nothing allocated
# per sample. What leaves the node is the interval mean (plus how many samples made it).


class Aggregator:
    def __init__(self, names):
        self.names = tuple(names)
        n = len(self.names)
        self._index = {name: i for i, name in enumerate(self.names)}
        self.count = [0] * n
        self.total = [0.0] * n
        self.low = [0.0] * n
        self.high = [0.0] * n

    def add(self, name, value):
        i = self._index[name]
        if self.count[i]:
            if value < self.low[i]:
                self.low[i] = value
            if value > self.high[i]:
                self.high[i] = value
        else:
            self.low[i] = self.high[i] = value
        self.count[i] += 1
        self.total[i] += value

    def mean(self, name):
        i = self._index[name]
        return self.total[i] / self.count[i] if self.count[i] else None

    def samples(self, name):
        return self.count[self._index[name]]

    def reset(self):
        for i in range(len(self.names)):
            self.count[i] = 0
            self.total[i] = 0.0
