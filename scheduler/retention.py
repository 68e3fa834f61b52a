"""Which backups a retention rule keeps: keep the last N and/or grandfather-father-son counts.

Pure logic (no ORM), as restic's `forget --keep-*` and Borg's `prune` define it:

- `last` N keeps the N newest backups;
- `daily`/`weekly`/`monthly` N walk the backups newest first and keep the newest backup of each
  of the N most recent days / ISO weeks / months that have one (UTC calendar);
- a backup is kept if any count keeps it; the reasons are all listed;
- a rule with no count at all keeps everything (pruning needs an explicit rule); a count of 0
  keeps nothing by itself.

Two guards override the rule: a backup being restored or verified (`busy`) is kept, and when
the rule would delete every verified backup of the group, the newest verified one is kept: the
only verified copy is never deleted.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime


@dataclass(frozen=True)
class Rule:
    last: int | None = None
    daily: int | None = None
    weekly: int | None = None
    monthly: int | None = None

    @property
    def keeps_everything(self) -> bool:
        return self.last is None and self.daily is None and self.weekly is None and self.monthly is None

    def describe(self) -> str:
        parts = [
            f"{label} {count}"
            for label, count in (
                ("last", self.last),
                ("daily", self.daily),
                ("weekly", self.weekly),
                ("monthly", self.monthly),
            )
            if count is not None
        ]
        return "keep " + ", ".join(parts) if parts else "keep everything (no rule)"


@dataclass(frozen=True)
class Candidate:
    id: str
    at: datetime  # when the backup completed (aware)
    verified: bool = False
    busy: bool = False  # a restore or verification of it is waiting or running


@dataclass
class Selection:
    keep: dict[str, list[str]] = field(default_factory=dict)  # id -> why, newest first
    delete: list[str] = field(default_factory=list)  # newest first


def _day(at: datetime) -> Hashable:
    return at.astimezone(UTC).date()


def _week(at: datetime) -> Hashable:
    year, week, _ = at.astimezone(UTC).isocalendar()
    return (year, week)


def _month(at: datetime) -> Hashable:
    utc = at.astimezone(UTC)
    return (utc.year, utc.month)


BUCKETS: tuple[tuple[str, Callable[[datetime], Hashable]], ...] = (
    ("daily", _day),
    ("weekly", _week),
    ("monthly", _month),
)


def select(candidates: Iterable[Candidate], rule: Rule) -> Selection:
    """Split `candidates` into kept (with reasons) and deleted, by `rule` and the two guards."""
    ordered = sorted(candidates, key=lambda c: (c.at, c.id), reverse=True)
    reasons: dict[str, list[str]] = {c.id: [] for c in ordered}
    if rule.keeps_everything:
        for c in ordered:
            reasons[c.id].append("no retention rule")
    else:
        for c in ordered[: rule.last or 0]:
            reasons[c.id].append("last")
        for label, bucket_of in BUCKETS:
            count = getattr(rule, label)
            if not count:
                continue
            seen: set[Hashable] = set()
            for c in ordered:
                bucket = bucket_of(c.at)
                if bucket in seen:
                    continue
                seen.add(bucket)
                reasons[c.id].append(label)
                if len(seen) == count:
                    break
    for c in ordered:
        if c.busy and not reasons[c.id]:
            reasons[c.id].append("being restored or verified")
    verified = [c for c in ordered if c.verified]
    if verified and not any(reasons[c.id] for c in verified):
        reasons[verified[0].id].append("only verified copy")
    selection = Selection()
    for c in ordered:
        if reasons[c.id]:
            selection.keep[c.id] = reasons[c.id]
        else:
            selection.delete.append(c.id)
    return selection
