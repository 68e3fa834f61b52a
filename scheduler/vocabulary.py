"""The backup vocabulary that is not a model field: disk formats and HyperSDK export methods.

Defined once here, the lowest layer that needs them (the HyperSDK executor), and imported by the
definition validator, the API schema and serializers, and GET /capabilities. Job states, operations
and integrity verdicts are model fields: their one definition is ``BackupJob.Status``,
``BackupJob.Operation`` and ``BackupJob.Integrity`` (scheduler.models); risk levels are
``scheduler.uncertainty.RISK_LEVELS``. Pure constants, no Django.
"""

from __future__ import annotations

__all__ = ["BACKUP_FORMATS", "EXPORT_METHODS"]

# JobDefinition.format (`POST /jobs/submit`, docs/API.md): the disk formats a HyperSDK daemon writes.
BACKUP_FORMATS = ("qcow2", "raw", "vmdk", "ova", "ovf")
# JobDefinition.export_method: how a HyperSDK daemon exports a VM.
EXPORT_METHODS = ("ctl", "govc", "ovftool", "web")
