"""The throwaway city of `make demo`, the tests and the bench: the real PKI hierarchy,
registry, bundles and `broker config`, with a passphrase that is no secret."""

from __future__ import annotations

from pathlib import Path

from ..cityit.city import City
from ..core.paths import ToolError
from ..technician.provision import identity_files


class DemoCity(City):
    """A throwaway city PKI for `make demo`, the tests and the bench: the real hierarchy,
    registry, bundles and `broker config`, with a passphrase that is no secret."""

    SECRET = b"stadsnod demo passphrase: not a secret"

    def __init__(self, folder: Path, secret: bytes | None = None) -> None:
        super().__init__(folder, secret or self.SECRET)

    @classmethod
    def create(cls, folder: Path) -> DemoCity:
        return cls.init(folder, "127.0.0.1", 8883, "stadsnod", secret=cls.SECRET)

    def device(self, device_id: str, certs_dir: Path) -> None:
        """Issues (or, for a known device, rotates) an identity and writes it as a node keeps
        it, going through the sealed bundle as a technician's tool would."""
        bundles = self.dir / "bundles"
        try:
            path = self.issue([device_id], bundles, progress=lambda _m: None)[0]
        except ToolError:
            path = self.rotate(device_id, bundles)
            self.confirm_rotation(device_id)
        self._install(path, certs_dir)

    def identity(self, device_id: str, certs_dir: Path) -> None:
        """The device's identity as a node keeps it: from the bundle city IT already issued
        (`stadsnod device issue`: a RabbitMQ broker knows only devices issued before its
        configuration was written), else a new one."""
        from provisioning.registry import RegistryError

        path = self.dir / "bundles" / f"{device_id}.bundle"
        try:
            usable = self.registry.get(device_id)["state"] not in ("revoked", "retired")
        except RegistryError:
            usable = False
        if usable and path.exists():
            self._install(path, certs_dir)
        else:
            self.device(device_id, certs_dir)

    def _install(self, bundle: Path, certs_dir: Path) -> None:
        from provisioning.bundle import open_bundle

        contents = open_bundle(bundle.read_bytes(), self.bundle_key(),
                               (self.dir / "bundle-signing.pub.pem").read_bytes())
        certs_dir.mkdir(parents=True, exist_ok=True)
        for name, data in identity_files(contents).items():
            (certs_dir / name).write_bytes(data)
