"""`manage.py backup submit|list|show|cancel|plan|restore|verify|prune`: backups from a terminal.

Errors are one line on stderr and exit status 2. `plan` shows what would happen, storing nothing.
"""

from __future__ import annotations

import json
from argparse import ArgumentParser
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from carbon.services import UnknownZone, get_zone
from hyperweb.lib import units
from hyperweb.lib.durations import HELP as DURATION_HELP
from hyperweb.lib.durations import parse_hours
from scheduler.models import BackupJob
from scheduler.services import cancel_jobs, format_ts, job_to_hypersdk_json, submit_jobs
from scheduler.services.definitions import InvalidDefinition, parse_definition
from scheduler.services.execution import execute_job
from scheduler.services.jobs import build_job
from scheduler.services.lifecycle import LifecycleRefused, request_restore, request_verification
from scheduler.services.planning import preview_plan
from scheduler.services.retention import prune


def hours(text: str) -> float:
    """A duration in hyperweb's grammar (hyperweb.lib.durations; a bare number is hours), in hours."""
    try:
        return parse_hours(text)
    except ValueError as exc:
        raise CommandError(str(exc), returncode=2) from None


class Command(BaseCommand):
    help = "Submit, list, show, cancel backups, or plan one without submitting it."

    def add_arguments(self, parser: ArgumentParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        for name in ("submit", "plan"):
            p = sub.add_parser(name, help=f"{name} one backup")
            p.add_argument("vm_path", help="VM disk image or directory (inside BACKUP_SOURCE_ROOTS)")
            p.add_argument("--name", default="")
            p.add_argument("--id", default=None, help="job id (default: a new UUID)")
            p.add_argument("--zone", default=None, help="grid zone; with a zone the job is carbon-aware")
            p.add_argument("--now", action="store_true", help="not carbon-aware: run at once")
            p.add_argument(
                "--max-delay", default="4h", help=f"how long the start may wait (default 4h): {DURATION_HELP}"
            )
            p.add_argument("--duration", default=None, help=f"expected duration: {DURATION_HELP}")
            p.add_argument("--threshold", type=float, default=None, help="gCO2/kWh: run now if at or below")
            p.add_argument("--not-before", default=None, help="ISO time before which it must not start")
            p.add_argument("--output-dir", default=None)
            p.add_argument("--executor", default=None)
            p.add_argument("--json", action="store_true")
        p = sub.add_parser("list", help="list jobs, newest first")
        p.add_argument("--status", action="append", default=[], help="filter (repeatable)")
        p.add_argument("--limit", type=int, default=50)
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("show", help="show one job")
        p.add_argument("job_id")
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("cancel", help="cancel waiting or running jobs")
        p.add_argument("job_ids", nargs="+")
        p = sub.add_parser("restore", help="restore a completed backup into BACKUP_RESTORE_ROOT")
        p.add_argument("job_id", help="the backup to restore")
        p.add_argument("--to", dest="target", default=None, help="folder inside BACKUP_RESTORE_ROOT")
        p.add_argument("--overwrite", action="store_true", help="replace files that already exist there")
        p.add_argument("--defer", action="store_true", help="wait for a clean window instead of now")
        p.add_argument("--wait", action="store_true", help="run it in this process and wait for the end")
        p = sub.add_parser("prune", help="delete archives by retention (see --dry-run)")
        p.add_argument(
            "--dry-run", action="store_true", help="print what would be kept and deleted, delete nothing"
        )
        p.add_argument("--json", action="store_true")
        p = sub.add_parser("verify", help="verify a completed backup's archive against its manifest")
        p.add_argument("job_id")
        p.add_argument("--defer", action="store_true", help="plan it into a clean window instead of now")
        p.add_argument("--wait", action="store_true", help="run it in this process and wait for the end")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        getattr(self, f"_{action}")(**options)

    # -- actions ------------------------------------------------------------------------------

    def _definition(self, options: dict[str, Any]) -> dict[str, Any]:
        metadata: dict[str, Any] = {}
        if options["zone"] and not options["now"]:
            metadata.update(
                carbon_aware=True,
                carbon_zone=options["zone"],
                carbon_max_delay=int(hours(options["max_delay"]) * 3600 * 1e9),
            )
        elif options["zone"]:
            metadata["carbon_zone"] = options["zone"]
        if options["threshold"] is not None:
            metadata["carbon_max_intensity"] = options["threshold"]
        if options["duration"]:
            metadata["expected_duration_hours"] = hours(options["duration"])
        if options["not_before"]:
            metadata["not_before"] = options["not_before"]
        if options["executor"]:
            metadata["executor"] = options["executor"]
        definition: dict[str, Any] = {"vm_path": options["vm_path"], "metadata": metadata}
        for key in ("name", "id", "output_dir"):
            if options[key]:
                definition[key] = options[key]
        return definition

    def _submit(self, **options: Any) -> None:
        outcome = submit_jobs([self._definition(options)])
        if outcome.errors:
            raise CommandError(outcome.errors[0].split(": ", 1)[-1], returncode=2)
        job = BackupJob.objects.get(pk=outcome.job_ids[0])
        if options["json"]:
            self.stdout.write(json.dumps(job_to_hypersdk_json(job), indent=2))
            return
        self.stdout.write(f"{job.id} {job.status} planned {_ts(job.planned_start)}")
        if job.decision:
            self.stdout.write(f"  {job.decision.get('reason', '')}")

    def _plan(self, **options: Any) -> None:
        now = timezone.now()
        try:
            parsed = parse_definition(self._definition(options), now=now)
            zone = get_zone(parsed.zone_code) if parsed.zone_code else None
        except (InvalidDefinition, UnknownZone) as exc:
            raise CommandError(str(exc), returncode=2) from None
        job = build_job(parsed, None, now=now, zone=zone)
        if not job.carbon_aware:
            start = job.earliest_start
            data = {
                "start": _ts(start),
                "strategy": "immediate",
                "reason": "not carbon-aware: would run at once",
            }
        else:
            assert zone is not None  # a carbon-aware job names its zone (parse_definition)
            data = preview_plan(zone, [job], now=now)[job.id]
        if options["json"]:
            self.stdout.write(json.dumps(data, indent=2, default=str))
            return
        self.stdout.write(f"would start {data['start']} ({data['strategy']})")
        self.stdout.write(f"  {data['reason']}")
        self.stdout.write("nothing was submitted")

    def _list(self, *, status: list[str], limit: int, json: bool, **_: Any) -> None:
        query = BackupJob.objects.select_related("zone").order_by("-requested_at", "-pk")
        if status:
            query = query.filter(status__in=status)
        jobs = list(query[: max(1, limit)])
        if json:
            self.stdout.write(_dumps([job_to_hypersdk_json(job) for job in jobs]))
            return
        for job in jobs:
            zone = job.zone.code if job.zone else "-"
            self.stdout.write(
                f"{job.id}  {job.status:<9}  {zone:<10}  planned {_ts(job.planned_start)}  {job.name or job.vm_path}"
            )
        if not jobs:
            self.stdout.write("no jobs")

    def _show(self, *, job_id: str, json: bool, **_: Any) -> None:
        job = BackupJob.objects.select_related("zone").filter(pk=job_id).first()
        if job is None:
            raise CommandError(f"no job {job_id!r}", returncode=2)
        data = job_to_hypersdk_json(job)
        if json:
            self.stdout.write(_dumps(data))
            return
        for key in (
            "id",
            "status",
            "state",
            "zone",
            "requested_at",
            "planned_start",
            "started_at",
            "completed_at",
        ):
            self.stdout.write(f"{key:>14}: {data.get(key)}")
        if job.target:
            self.stdout.write(f"{'target':>14}: {job.target}")
        if job.decision:
            self.stdout.write(f"{'reason':>14}: {job.decision.get('reason')}")
        if job.error:
            self.stdout.write(f"{'error':>14}: {job.error}")
        if job.operation != BackupJob.Operation.BACKUP:
            self.stdout.write(f"{'operation':>14}: {job.operation} of backup {job.subject_id}")
        if job.result:
            self.stdout.write(f"{'archive':>14}: {job.result.get('archive_path')}")
        if "integrity" in data:
            integrity = data["integrity"]
            state = integrity["state"].upper() if integrity["state"] == "damaged" else integrity["state"]
            checked = f" (checked {integrity['verified_at']})" if integrity["verified_at"] else ""
            self.stdout.write(f"{'integrity':>14}: {state}{checked}")
            if integrity["detail"]:
                self.stdout.write(f"{'damage':>14}: {integrity['detail']}")
            if integrity["pruned_at"]:
                self.stdout.write(f"{'pruned':>14}: {integrity['pruned_at']} (archive deleted by retention)")
        if job.data_size_gb or job.bytes_written:
            read = f"{units.data_gb(job.data_size_gb)} read" if job.data_size_gb else "size not given"
            written = (
                f", {units.data_bytes(job.bytes_written)} written (archive)" if job.bytes_written else ""
            )
            self.stdout.write(f"{'data':>14}: {read}{written}")
        if job.energy_kwh is not None:
            self.stdout.write(f"{'energy':>14}: {units.energy(job.energy_kwh)}")
        if job.emissions_kg is not None:
            self.stdout.write(
                f"{'emissions':>14}: {units.co2(job.emissions_kg)} CO2 "
                f"(saving {units.co2(job.saving_kg or 0)} vs starting when requested)"
            )
        for event in job.events.order_by("timestamp", "pk"):
            self.stdout.write(f"  {_ts(event.timestamp)} {event.level:<7} {event.message}")

    def _cancel(self, *, job_ids: list[str], **_: Any) -> None:
        outcome = cancel_jobs(job_ids)
        for job_id in outcome.cancelled:
            self.stdout.write(f"{job_id} cancelled")
        if outcome.failed:
            raise CommandError(
                "; ".join(f"{job_id}: {outcome.errors[job_id]}" for job_id in outcome.failed), returncode=2
            )

    def _restore(
        self, *, job_id: str, target: str | None, overwrite: bool, defer: bool, wait: bool, **_: Any
    ) -> None:
        backup = self._backup(job_id)
        try:
            run = request_restore(backup, target=target, overwrite=overwrite, defer=defer)
        except LifecycleRefused as exc:
            raise CommandError(f"{exc.field}: {exc}" if exc.field else str(exc), returncode=2) from None
        self.stdout.write(
            f"restore {run.pk} of {backup.pk} into {run.definition['restore_to']}: {run.status}"
        )
        self._follow(run.pk, wait)

    def _verify(self, *, job_id: str, defer: bool, wait: bool, **_: Any) -> None:
        backup = self._backup(job_id)
        try:
            run, created = request_verification(backup, defer=defer)
        except LifecycleRefused as exc:
            raise CommandError(str(exc), returncode=2) from None
        self.stdout.write(
            f"verification {run.pk} of {backup.pk}: {run.status}" + ("" if created else " (already asked)")
        )
        self._follow(run.pk, wait)
        if wait:
            backup.refresh_from_db()
            self.stdout.write(f"integrity: {backup.integrity or 'unverified'}")
            if backup.is_damaged:
                raise CommandError(f"{backup.pk} is damaged: {backup.integrity_detail}", returncode=1)

    def _prune(self, *, dry_run: bool, json: bool, **_: Any) -> None:
        outcome = prune(dry_run=dry_run)
        if json:
            data = {
                "dry_run": dry_run,
                "groups": [
                    {
                        "group": g.label,
                        "rule": g.rule.describe(),
                        "rule_from": g.rule_source,
                        "keep": [
                            {"id": r.backup.pk, "completed_at": _ts(r.backup.completed_at), "why": r.reasons}
                            for r in g.kept
                        ],
                        "delete": [
                            {"id": r.backup.pk, "completed_at": _ts(r.backup.completed_at)} for r in g.deleted
                        ],
                    }
                    for g in outcome.groups
                ],
                "deleted": outcome.deleted,
                "skipped": outcome.skipped,
            }
            self.stdout.write(_dumps(data))
            return
        for group in outcome.groups:
            self.stdout.write(f"{group.label}: {group.rule.describe()} ({group.rule_source})")
            for row in group.rows:
                verdict = f"keep    ({', '.join(row.reasons)})" if row.keep else "delete"
                if not row.keep and not dry_run:
                    verdict = (
                        "deleted"
                        if row.backup.pk in outcome.deleted
                        else f"kept    ({outcome.skipped.get(row.backup.pk)})"
                    )
                self.stdout.write(
                    f"  {verdict:<40} {row.backup.pk}  {_ts(row.backup.completed_at)}  {row.backup.integrity or 'unverified'}"
                )
        if not outcome.groups:
            self.stdout.write("no archives")
        total = sum(len(g.deleted) for g in outcome.groups)
        if dry_run:
            self.stdout.write(f"dry run: {total} archive(s) would be deleted; nothing was deleted")
        else:
            self.stdout.write(f"{len(outcome.deleted)} archive(s) deleted")

    def _backup(self, job_id: str) -> BackupJob:
        backup = BackupJob.objects.select_related("zone").filter(pk=job_id).first()
        if backup is None:
            raise CommandError(f"no job {job_id!r}", returncode=2)
        return backup

    def _follow(self, run_id: str, wait: bool) -> None:
        """With --wait, run it here (the claim makes a worker's copy of the same run a no-op)."""
        if not wait:
            return

        outcome = execute_job(run_id)
        run = BackupJob.objects.get(pk=run_id)
        for event in run.events.order_by("timestamp", "pk"):
            self.stdout.write(f"  {_ts(event.timestamp)} {event.level:<7} {event.message}")
        if run.status != BackupJob.Status.COMPLETED:
            raise CommandError(f"{run.operation} {run_id} {outcome}: {run.error}", returncode=1)


def _ts(value: datetime | None) -> str:
    return format_ts(value) or "-"


def _dumps(data: Any) -> str:
    return json.dumps(data, indent=2, default=str)
