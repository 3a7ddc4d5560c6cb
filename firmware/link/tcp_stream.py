# The MQTT client's TCP/TLS stream. Why not asyncio.open_connection's own: its reads wait on the
# TLS object, which select.poll cannot hand to the OS (it has no file descriptor), so every
# wait becomes a loop that asks it once a millisecond -- an idle node on the unix port woke
# ~1,750 times a second. Here a read first takes what TLS already holds and, only when it holds
# nothing, waits on the TCP socket's descriptor, which the OS wakes when bytes arrive. Writes
# still wait on the TLS object: during its handshake only it knows whether it needs to read.
# Functions, not a Stream subclass: a subclass of asyncio's class cost ~2 KB more heap.
import asyncio
import socket
from errno import EINPROGRESS

_io = asyncio.core._io_queue


# async (a generator, as asyncio's own stream methods are)
def readexactly(stream, n):
    r = b""
    while n:
        part = stream.s.read(n)
        if part is None:  # nothing buffered: sleep until the socket has bytes
            yield _io.queue_read(stream.raw)
            continue
        if not part:
            raise EOFError
        r += part
        n -= len(part)
    return r


# async
def open_connection(host, port, ssl=None, server_hostname=None):
    """One asyncio Stream (reader and writer) that also knows its TCP socket (`raw`)."""
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
    stream = asyncio.StreamReader(s)
    stream.raw = raw  # the TCP socket under s (s itself without TLS)
    yield _io.queue_write(raw)  # connected (or failed: the first write says which)
    return stream
