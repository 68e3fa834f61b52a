"""Small demo VM images so that demo backups really read, compress and checksum something.

The content is deterministic (seeded per image) and semi-compressible like a real disk: runs of
zeros (unallocated blocks), repeated text (logs, configs) and random bytes (compressed or
encrypted data), so archives come out at roughly half the image size.
"""

from __future__ import annotations

import os
import random
from pathlib import Path

BLOCK = 64 * 1024
MB = 1024 * 1024

# name -> size in bytes; one VM is a directory with a VMware-style config beside its disk.
DEMO_IMAGES = {
    "web-01.qcow2": 4 * MB,
    "db-01.raw": 8 * MB,
    "mail-01.vmdk": 2 * MB,
}
DEMO_DIR = "app-01"
DEMO_DIR_DISK = ("app-01-disk1.vmdk", 3 * MB)
_VMX = """.encoding = "UTF-8"
config.version = "8"
virtualHW.version = "19"
displayName = "app-01"
guestOS = "debian12-64"
memSize = "2048"
numvcpus = "2"
scsi0.present = "TRUE"
scsi0.virtualDev = "pvscsi"
scsi0:0.present = "TRUE"
scsi0:0.fileName = "app-01-disk1.vmdk"
ethernet0.present = "TRUE"
ethernet0.virtualDev = "vmxnet3"
"""


def _content(name: str, size: int) -> bytes:
    rng = random.Random(name)  # seeded by name: the same image every time, on every machine
    text = (f"hyperweb demo disk {name} ".encode() * (BLOCK // 16))[: BLOCK // 4]
    out = bytearray()
    while len(out) < size:
        kind = rng.random()
        if kind < 0.3:
            out += bytes(BLOCK)
        elif kind < 0.55:
            out += text * 4
        else:
            out += rng.randbytes(BLOCK)
    return bytes(out[:size])


def _write_if_changed(path: Path, data: bytes) -> None:
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return
    temp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    temp.write_bytes(data)
    os.replace(temp, path)


def create_demo_vms(root: Path) -> list[Path]:
    """Write the demo images under `root` (idempotent, well under a second); return their paths.

    Returns three disk image files and one VM directory (config + disk), each a valid `vm_path`
    for the file executor when `root` is inside BACKUP_SOURCE_ROOTS.
    """
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, size in DEMO_IMAGES.items():
        path = root / name
        _write_if_changed(path, _content(name, size))
        paths.append(path)
    vm_dir = root / DEMO_DIR
    vm_dir.mkdir(exist_ok=True)
    _write_if_changed(vm_dir / f"{DEMO_DIR}.vmx", _VMX.encode())
    disk_name, disk_size = DEMO_DIR_DISK
    _write_if_changed(vm_dir / disk_name, _content(disk_name, disk_size))
    paths.append(vm_dir)
    return paths
