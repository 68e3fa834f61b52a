"""Role permissions: viewer reads, operator also writes jobs/schedules, admin also manages zones,
users and keys. Use them as `permission_classes = [IsOperator]` (or per method, see ReadViewerWriteOperator).

An anonymous caller is refused with 401 and an authenticated caller without the role with 403
(DRF decides which from whether anyone authenticated).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request

from accounts.roles import ADMIN, OPERATOR, VIEWER, has_role

if TYPE_CHECKING:
    # Not at run time: DRF imports these classes while rest_framework.views is still loading.
    from rest_framework.views import APIView


class _HasRole(BasePermission):
    role = VIEWER
    message = "this needs the viewer role"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, self.role)


class IsViewer(_HasRole):
    role = VIEWER
    message = "this needs the viewer role (or higher)"


class IsOperator(_HasRole):
    role = OPERATOR
    message = "this needs the operator role (or admin)"


class IsAdmin(_HasRole):
    role = ADMIN
    message = "this needs the admin role"


class ReadViewerWriteOperator(BasePermission):
    """GET/HEAD/OPTIONS for viewers, everything else for operators (e.g. /schedules/{id})."""

    message = "this needs the operator role (or admin)"

    def has_permission(self, request: Request, view: APIView) -> bool:
        return has_role(request.user, VIEWER if request.method in SAFE_METHODS else OPERATOR)


class CarbonPublicRead(BasePermission):
    """Viewers, or anyone when settings.CARBON_PUBLIC_READ is on (read-only carbon endpoints only)."""

    message = IsViewer.message

    def has_permission(self, request: Request, view: APIView) -> bool:
        if settings.CARBON_PUBLIC_READ:
            return True
        return has_role(request.user, VIEWER)
