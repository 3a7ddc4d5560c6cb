# The MQTT client's TCP/TLS stream. Why not asyncio.open_connection's own: its reads wait on the
# TLS object, which select.poll cannot hand to the OS (it has no file descriptor), so every
# wait becomes a loop that asks it once a millisecond -- an idle node on the unix port woke
# ~1,750 times a second. Here a read first takes what TLS already holds and, only when it holds
# nothing, waits on the TCP socket's descriptor, which the OS wakes when bytes arrive. Writes
# still wait on the TLS object: during its handshake only it knows whether it needs to read.
import asyncio
import socket
from errno import EINPROGRESS

_io = asyncio.core._io_queue


class Stream(asyncio.StreamReader):
    def __init__(self, s, raw):
        super().__init__(s)
        self.raw = raw  # the TCP socket under s (s itself without TLS)

    # async (a generator, as asyncio's own stream methods are)
    def readexactly(self, n):
        r = b""
        while n:
            part = self.s.read(n)
            if part is None:  # nothing buffered: sleep until the socket has bytes
                yield _io.queue_read(self.raw)
                continue
            if not part:
                raise EOFError
            r += part
            n -= len(part)
        return r


# async
def open_connection(host, port, ssl=None, server_hostname=None):
    """(reader, writer), one Stream, as asyncio.open_connection gives."""
    ai = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)[0]
    raw = socket.socket(ai[0], ai[1], ai[2])
    raw.setblocking(False)
    try:
        raw.connect(ai[-1])
    except OSError as e:
        if e.errno != EINPROGRESS:
            raw.close()
            raise
    s = raw
    if ssl:
        s = ssl.wrap_socket(raw, server_hostname=server_hostname or host,
                            do_handshake_on_connect=False)
        s.setblocking(False)
    stream = Stream(s, raw)
    yield _io.queue_write(raw)  # connected (or failed: the first write says which)
    return stream, stream
