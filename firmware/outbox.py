# Messages waiting for the broker. Bounded: when full the oldest goes and is counted, so a long
# outage costs the oldest data, never the node's memory. (Flash-backed store-and-forward is the
# next layer, see issue "Nothing lost".)


class Outbox:
    def __init__(self, size=32):
        self.size = size
        self.items = []
        self.dropped = 0

    def __len__(self):
        return len(self.items)

    def put(self, topic, payload):
        if len(self.items) >= self.size:
            self.items.pop(0)
            self.dropped += 1
        self.items.append((topic, payload))

    def peek(self):
        return self.items[0] if self.items else None

    def done(self):
        self.items.pop(0)
