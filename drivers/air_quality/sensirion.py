# Sensirion's I2C command protocol, shared by the SCD4x, SPS30 and SEN5x drivers: a 16-bit
# command word, then 2-byte data words each followed by a CRC-8 (polynomial 0x31, init 0xFF;
# "Checksum Calculation" in each datasheet, example CRC(0xBEEF) = 0x92).
# Buffers are made once; a command and its read move bytes without allocating.
import asyncio

from micropython import const

from sensor_error import ChecksumError, SensorError, bus_error

_POLY = const(0x31)


def crc8(buf, start=0, end=2):
    """CRC-8 of buf[start:end] without slicing (a slice would allocate)."""
    crc = 0xFF
    for i in range(start, end):
        crc ^= buf[i]
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


class SensirionI2C:
    def __init__(self, i2c, address, sizes, name):
        """sizes: the response lengths (in words) the driver reads; their views are made here
        so no read allocates."""
        self.NAME = name
        self.i2c = i2c
        self.address = address
        self._tx = bytearray(8)  # command word + up to two argument words with their CRCs
        tx = memoryview(self._tx)
        self._tx_by_args = (tx[:2], tx[:5], tx[:8])
        self._rx = bytearray(3 * max(sizes))
        rx = memoryview(self._rx)
        self._rx_views = {n: rx[:3 * n] for n in sizes}
        self.last_cmd = 0
        self.probe()

    def probe(self):
        """Presence check: the device must ACK its address (what I2C.scan does)."""
        try:
            self.i2c.writeto(self.address, b"")
        except OSError as e:
            raise bus_error(self.NAME, self.address, e)

    def _fail(self, e):
        raise bus_error(self.NAME, self.address, e)

    def send(self, cmd, nargs=0, a0=0, a1=0):
        """Writes a command word and 0..2 argument words, each with its CRC."""
        t = self._tx
        t[0] = cmd >> 8
        t[1] = cmd & 0xFF
        if nargs:
            t[2] = a0 >> 8
            t[3] = a0 & 0xFF
            t[4] = crc8(t, 2, 4)
        if nargs > 1:
            t[5] = a1 >> 8
            t[6] = a1 & 0xFF
            t[7] = crc8(t, 5, 7)
        self.last_cmd = cmd
        try:
            self.i2c.writeto(self.address, self._tx_by_args[nargs])
        except OSError as e:
            self._fail(e)

    def receive(self, words):
        """Reads `words` words of the last command's response and checks every CRC."""
        view = self._rx_views[words]
        try:
            self.i2c.readfrom_into(self.address, view)
        except OSError as e:
            self._fail(e)
        rx = self._rx
        for i in range(words):
            if crc8(rx, 3 * i, 3 * i + 2) != rx[3 * i + 2]:
                raise ChecksumError("%s at 0x%02x: CRC error in word %d of the response to 0x%04x"
                                    % (self.NAME, self.address, i, self.last_cmd))

    async def command(self, cmd, wait_ms, nargs=0, a0=0, a1=0):
        """Sends a command and waits its execution time (without blocking the loop)."""
        self.send(cmd, nargs, a0, a1)
        await asyncio.sleep_ms(wait_ms)

    async def query(self, cmd, wait_ms, words):
        self.send(cmd)
        await asyncio.sleep_ms(wait_ms)
        self.receive(words)

    async def wait_ready(self, ready, limit_ms, step_ms=100):
        """Polls `ready` (the driver's data-ready query) until it says yes, at most limit_ms."""
        for _ in range(limit_ms // step_ms):
            if await ready():
                return
            await asyncio.sleep_ms(step_ms)
        raise SensorError("%s at 0x%02x: no data for %d s" % (self.NAME, self.address,
                                                              limit_ms // 1000))

    def word(self, i):
        """Word i of the last response (big-endian)."""
        return (self._rx[3 * i] << 8) | self._rx[3 * i + 1]

    def data_into(self, dst, words):
        """Copies the data bytes of the last response into dst, dropping the CRC bytes."""
        rx = self._rx
        for i in range(words):
            dst[2 * i] = rx[3 * i]
            dst[2 * i + 1] = rx[3 * i + 1]

    def text(self, words):
        """The last response as ASCII, up to its first NUL (serial numbers, product names)."""
        out = bytearray()
        for i in range(words):
            for b in (self._rx[3 * i], self._rx[3 * i + 1]):
                if b == 0:
                    return out.decode()
                out.append(b)
        return out.decode()

    def refuse(self, what, state):
        raise SensorError("%s at 0x%02x: %s is not allowed while %s" % (self.NAME, self.address,
                                                                         what, state))
