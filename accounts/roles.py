"""Roles: viewer < operator < admin, kept as Django groups (a superuser is always an admin).

A user's role is the highest of the groups they belong to; a user in none of them is an
"outsider": authenticated, but refused everywhere except /health. The API's permission classes
(accounts.api.permissions) and the dashboard ask `has_role(user, ...)`, never the groups directly.
"""

from __future__ import annotations

from typing import TypeAlias

from django.contrib.auth.models import AnonymousUser, Group, Permission, User

VIEWER = "viewer"
OPERATOR = "operator"
ADMIN = "admin"
ROLES: tuple[str, ...] = (VIEWER, OPERATOR, ADMIN)  # ascending privilege
_RANK = {name: rank for rank, name in enumerate(ROLES)}
_CACHE_ATTR = "_hyperweb_role"

# Whom a request is for (request.user; AUTH_USER_MODEL is Django's User): a stored user or the
# anonymous one.
Someone: TypeAlias = User | AnonymousUser


def signed_in(user: Someone | None) -> User | None:
    """`user` if signed in (a stored user), else None: what a row's created_by or owner keeps."""
    return user if isinstance(user, User) else None


def role_of(user: Someone | None) -> str | None:
    """The user's highest role, or None (anonymous, inactive, or in no role group).

    The answer is cached on the user object, so asking several times in one request costs one query.
    """
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        return None
    if hasattr(user, _CACHE_ATTR):
        return getattr(user, _CACHE_ATTR)
    if user.is_superuser:
        role: str | None = ADMIN
    else:
        names = set(user.groups.filter(name__in=ROLES).values_list("name", flat=True))
        role = max(names, key=_RANK.__getitem__) if names else None
    setattr(user, _CACHE_ATTR, role)
    return role


def has_role(user: Someone | None, role: str) -> bool:
    """True when the user holds `role` or a higher one."""
    if role not in _RANK:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    actual = role_of(user)
    return actual is not None and _RANK[actual] >= _RANK[role]


def ensure_roles() -> None:
    """Create the three role groups (idempotent); the admin group gets every model permission
    so that an admin who is also staff can use the Django admin without being a superuser."""
    for name in ROLES:
        Group.objects.get_or_create(name=name)
    admin = Group.objects.get(name=ADMIN)
    admin.permissions.set(Permission.objects.all())


def set_role(user: User, role: str | None) -> None:
    """Put the user in exactly one role group (None removes every role). Admins are made staff
    (the Django admin is theirs); anyone else loses staff status unless a superuser."""
    if role is not None and role not in _RANK:
        raise ValueError(f"unknown role {role!r} (known: {', '.join(ROLES)})")
    user.groups.remove(*Group.objects.filter(name__in=ROLES))
    if role is not None:
        user.groups.add(Group.objects.get_or_create(name=role)[0])
    staff = role == ADMIN or user.is_superuser
    if user.is_staff != staff:
        user.is_staff = staff
        user.save(update_fields=["is_staff"])
    if hasattr(user, _CACHE_ATTR):
        delattr(user, _CACHE_ATTR)
