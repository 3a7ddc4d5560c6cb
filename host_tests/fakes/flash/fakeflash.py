# A fake NOR flash for littlefs (vfs.VfsLfs2), held in RAM, that can lose power: after a set
# number of program operations the next one is torn (only its first half lands) and every later
# one fails, as if the supply had gone. "Rebooting" is mounting the same blocks again; file
# objects left open from before the reboot belong to a dead power domain and can touch the
# blocks no more (their finalizers run later, during a collection, and must not allocate).
import vfs

_EIO = 5


class PowerCut(OSError):
    pass


class _Port:
    """What one mount sees of the flash; goes dead at the next mount."""

    def __init__(self, flash, gen):
        self.flash = flash
        self.gen = gen

    def readblocks(self, block, buf, offset=0):
        self.flash.readblocks(block, buf, offset)  # reading changes nothing

    def writeblocks(self, block, buf, offset=0):
        if self.gen == self.flash.gen:  # a stale handle's writes go nowhere
            self.flash.writeblocks(block, buf, offset)

    def ioctl(self, op, arg):
        if self.gen != self.flash.gen and op == 6:
            return 0  # nor do its erases
        return self.flash.ioctl(op, arg)


class Flash:
    def __init__(self, blocks=64, block_size=512):
        self.block_size = block_size
        self.data = bytearray(b"\xff" * (blocks * block_size))
        self.blocks = blocks
        self.writes = 0
        self.cut_after = None  # program operations allowed before the power goes
        self.gen = 0

    def readblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        data = self.data
        for i in range(len(buf)):  # no slice: this may run inside a finalizer
            buf[i] = data[start + i]

    def writeblocks(self, block, buf, offset=0):
        start = block * self.block_size + offset
        if self.cut_after is not None and self.writes >= self.cut_after:
            if self.writes == self.cut_after:
                half = len(buf) // 2
                self.data[start:start + half] = buf[:half]
            self.writes += 1
            raise PowerCut(_EIO)
        self.data[start:start + len(buf)] = buf
        self.writes += 1

    def ioctl(self, op, arg):
        if op == 4:
            return self.blocks
        if op == 5:
            return self.block_size
        if op == 6:  # erase
            if self.cut_after is not None and self.writes >= self.cut_after:
                raise PowerCut(_EIO)
            start = arg * self.block_size
            self.data[start:start + self.block_size] = b"\xff" * self.block_size
            return 0
        return 0

    def format(self):
        vfs.VfsLfs2.mkfs(self)

    def mount(self, where="/flash"):
        self.cut_after = None
        self.gen += 1
        fs = vfs.VfsLfs2(_Port(self, self.gen))
        vfs.mount(fs, where)
        return fs

    def unmount(self, where="/flash"):
        try:
            vfs.umount(where)
        except OSError:
            pass
