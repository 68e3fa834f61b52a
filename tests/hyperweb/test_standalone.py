"""The repository stands alone: it carries its data files and refers to nothing beside it.

`.ci/run` also runs this file (with the other data-file tests) in a fresh clone of the repository
in an empty temporary folder, so a file that only exists on a developer's machine fails there.
"""

from __future__ import annotations

import gzip
import hashlib
import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
GRID = ROOT / "data" / "grid"
# A path to the team's design-notes folder beside the checkout, however it is written. Built from
# pieces so this file does not match itself.
FOLDER = "shared"
OUTSIDE = re.compile(rf"(\.\./|/work/){FOLDER}\b|\b{FOLDER}/(data|DESIGN|CONTRACT|PROVIDERS|STYLE)")


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True).stdout
    return [ROOT / name for name in out.decode().split("\0") if name]


# The design notes by file name (contract, design, ...): a clone does not have them, so a docstring or doc
# that cites one must state the fact or point to a doc inside the repository instead.
NOTES = re.compile(r"\b(" + "|".join(("CONTRACT", "DESIGN", "PROVIDERS", "STYLE")) + r")\.md\b")


def test_it_cites_no_design_note_the_repository_does_not_carry():
    files = tracked_files()
    carried = {path.name for path in files}
    offenders = []
    for path in files:
        if not path.is_file() or path.suffix not in (".py", ".md", ".html", ".txt", ".toml", ".sh", ".yaml", ".yml"):
            continue
        for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
            for match in NOTES.finditer(line):
                if match.group(0) not in carried:
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def test_it_finds_no_tracked_file_that_refers_to_a_folder_beside_the_repository():
    files = tracked_files()
    assert len(files) > 100 and ROOT / "manage.py" in files  # really the repository's listing
    offenders = []
    for path in files:
        if not path.is_file():
            continue
        data = path.read_bytes()
        if b"\0" in data[:8192]:
            continue  # binary (the gzip data files)
        for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
            if OUTSIDE.search(line):
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()[:100]}")
    assert offenders == []


def test_it_tracks_the_grid_files_the_tests_and_examples_use_with_their_source():
    files = set(tracked_files())
    for name in ("de_2020_ci.csv.gz", "fr_2020_ci.csv.gz", "README.md"):
        assert GRID / name in files, f"data/grid/{name} is not tracked"
    readme = (GRID / "README.md").read_text()
    assert "Let's Wait Awhile" in readme and "dos-group/lets-wait-awhile" in readme and "ENTSO-E" in readme


def test_it_keeps_the_grid_files_byte_for_byte_as_published():
    # The README lists each uncompressed file's SHA-256; the copies must still match it.
    readme = (GRID / "README.md").read_text()
    listed = dict((name, digest) for digest, name in re.findall(r"^([0-9a-f]{64})  (\S+)$", readme, re.M))
    assert set(listed) == {"de_2020_ci.csv", "fr_2020_ci.csv"}
    for name, digest in listed.items():
        raw = gzip.decompress((GRID / f"{name}.gz").read_bytes())
        assert hashlib.sha256(raw).hexdigest() == digest
        assert raw.startswith(b"Time,Carbon Intensity\n")
