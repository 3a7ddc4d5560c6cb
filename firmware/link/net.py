# Brings the station interface up and keeps an eye on it. On a host the fake `network` module
# stands in for the radio.
import asyncio

import network


class NetError(Exception):
    pass


class Net:
    def __init__(self, ssid, psk, log):
        self.ssid = ssid
        self.psk = psk
        self.log = log
        self.wlan = network.WLAN(network.STA_IF)
        self.joins = 0
        self._lock = asyncio.Lock()  # the link and the clock may both ask for the network

    def isconnected(self):
        return self.wlan.isconnected()

    def rssi(self):
        """Signal strength in dBm while joined, else None."""
        if not self.wlan.isconnected():
            return None
        try:
            return self.wlan.status("rssi")
        except (OSError, ValueError):
            return None

    async def up(self, timeout_ms=15000):
        async with self._lock:
            if not self.wlan.isconnected():
                await self._join(timeout_ms)

    async def _join(self, timeout_ms):
        self.wlan.active(True)
        self.log.info("net", "joining %s" % self.ssid)
        self.wlan.connect(self.ssid, self.psk)
        waited = 0
        while not self.wlan.isconnected():
            status = self.wlan.status()
            if status == network.STAT_WRONG_PASSWORD:
                raise NetError("Wi-Fi %s refused the passphrase" % self.ssid)
            if status == network.STAT_NO_AP_FOUND:
                raise NetError("Wi-Fi %s not found" % self.ssid)
            if waited >= timeout_ms:
                self.wlan.disconnect()
                raise NetError("Wi-Fi %s: no link after %d ms" % (self.ssid, timeout_ms))
            await asyncio.sleep_ms(100)
            waited += 100
        self.joins += 1
        self.log.info("net", "joined %s as %s" % (self.ssid, self.wlan.ifconfig()[0]))
