"""Reading archives back: verification and restore throughput against plain hashing of the archive.

    .venv/bin/python benchmarks/bench_lifecycle.py [--mb 64] [--rounds 5]

No Django: a VM folder of `--mb` MB (half random bytes, half the demo VMs' kind of half-compressible
content) is backed up once by the file executor (gzip level 6, as the default) into a temporary
folder; then, in interleaved rounds:

- baseline: SHA-256 of the archive file alone (what any verification must at least do);
- verify: scheduler.executors.archive.check_archive (archive SHA-256 + gunzip + each member's
  SHA-256 against the manifest, one pass);
- restore: restore_archive into a fresh folder (verification pass, then extraction with hashing,
  fsync and rename of every file);
- backup: the file executor writing the same folder again (for scale: what making it cost).

Prints the median seconds, MB/s of source data and the ratio to the baseline.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import runinfo  # noqa: E402  (benchmarks/, on sys.path when run as a script)

from scheduler.executors.archive import check_archive, restore_archive  # noqa: E402
from scheduler.executors.base import BackupSpec  # noqa: E402
from scheduler.executors.demo import _content  # noqa: E402
from scheduler.executors.file import FileExecutor  # noqa: E402


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    runinfo.begin()
    work = runinfo.scratch("hw-bench-lifecycle-")
    try:
        vm = work / "vms" / "vm1"
        vm.mkdir(parents=True)
        half = args.mb * (1 << 20) // 2
        (vm / "random.img").write_bytes(os.urandom(half))
        (vm / "demo.qcow2").write_bytes(_content("demo.qcow2", half))
        result = FileExecutor().run(
            BackupSpec(job_id="bench", source="vm1", target_dir=None, name="vm1"),
            report=lambda p: None,
            should_cancel=lambda: False,
            source_roots=[work / "vms"],
            target_root=work / "backups",
        )
        archive, manifest = Path(result.archive_path), Path(result.manifest_path)
        times: dict[str, list[float]] = {
            "baseline (sha256 of the archive)": [],
            "verify": [],
            "restore": [],
            "backup": [],
        }
        for n in range(args.rounds):
            started = time.perf_counter()
            sha256_file(archive)
            times["baseline (sha256 of the archive)"].append(time.perf_counter() - started)
            started = time.perf_counter()
            assert check_archive(archive, manifest).ok
            times["verify"].append(time.perf_counter() - started)
            dest = work / "restores" / str(n)
            started = time.perf_counter()
            restore_archive(archive, manifest, dest)
            times["restore"].append(time.perf_counter() - started)
            shutil.rmtree(dest)
            started = time.perf_counter()
            again = FileExecutor().run(
                BackupSpec(job_id=f"again-{n}", source="vm1", target_dir="again", name="vm1"),
                report=lambda p: None,
                should_cancel=lambda: False,
                source_roots=[work / "vms"],
                target_root=work / "backups",
            )
            times["backup"].append(time.perf_counter() - started)
            Path(again.archive_path).unlink()
            Path(again.manifest_path).unlink()
        source_mb = result.total_bytes / 1e6
        print(
            f"source {source_mb:.1f} MB, archive {result.archive_bytes / 1e6:.1f} MB, "
            f"{args.rounds} interleaved rounds, medians:"
        )
        base = statistics.median(times["baseline (sha256 of the archive)"])
        for name, values in times.items():
            median = statistics.median(values)
            print(
                f"  {name:<34} {median:7.3f} s  {source_mb / median:7.1f} MB/s of source  x{median / base:5.2f}"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
