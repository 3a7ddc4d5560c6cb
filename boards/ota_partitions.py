# The ESP32's OTA app partitions (MicroPython's esp32.Partition): the one place besides the
# first-stage loader that touches them. A board without them (a Pico W, an ESP32 firmware built
# without an OTA partition table) answers with OSError, and takes app updates only.
try:
    import esp32
except ImportError:
    esp32 = None


def _need():
    if esp32 is None:
        raise OSError("this board has no OTA app partitions")


def running_label():
    _need()
    return esp32.Partition(esp32.Partition.RUNNING).info()[4]


def next_update():
    """The app partition that is not running (OSError without an OTA partition table)."""
    _need()
    return esp32.Partition(esp32.Partition.RUNNING).get_next_update()


def by_label(label):
    _need()
    return esp32.Partition(label)


def label(part):
    return part.info()[4]


def mark_valid():
    """The running firmware stays: the bootloader will not take it back. OSError when the
    bootloader was built without rollback (nothing would take a bad firmware back)."""
    _need()
    esp32.Partition.mark_app_valid_cancel_rollback()
