"""Roles: viewer < operator < admin, as groups; superusers are admins."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser, Group, Permission

from accounts.roles import ADMIN, OPERATOR, VIEWER, ensure_roles, has_role, role_of, set_role


@pytest.mark.django_db
def test_it_creates_the_role_groups_on_migrate():
    assert set(Group.objects.values_list("name", flat=True)) >= {VIEWER, OPERATOR, ADMIN}
    assert Group.objects.get(name=ADMIN).permissions.count() == Permission.objects.count()


@pytest.mark.django_db
def test_it_creates_the_groups_idempotently():
    ensure_roles()
    ensure_roles()
    assert Group.objects.filter(name__in=[VIEWER, OPERATOR, ADMIN]).count() == 3


@pytest.mark.django_db
def test_it_ranks_roles(admin_user, operator_user, viewer_user, outsider_user):
    assert [role_of(u) for u in (admin_user, operator_user, viewer_user, outsider_user)] == [
        ADMIN,
        OPERATOR,
        VIEWER,
        None,
    ]
    assert has_role(operator_user, VIEWER) and has_role(operator_user, OPERATOR)
    assert not has_role(operator_user, ADMIN)
    assert not has_role(viewer_user, OPERATOR)
    assert not has_role(outsider_user, VIEWER)
    assert not has_role(AnonymousUser(), VIEWER)


@pytest.mark.django_db
def test_it_takes_the_highest_of_several_groups(django_user_model):
    user = django_user_model.objects.create_user("multi")
    user.groups.add(Group.objects.get(name=VIEWER), Group.objects.get(name=ADMIN))
    assert role_of(user) == ADMIN


@pytest.mark.django_db
def test_it_asks_the_database_once_per_user_object(viewer_user, django_assert_num_queries):
    with django_assert_num_queries(1):
        for _ in range(3):
            role_of(viewer_user)


@pytest.mark.django_db
def test_it_gives_inactive_users_no_role(viewer_user):
    viewer_user.is_active = False
    assert role_of(viewer_user) is None


@pytest.mark.django_db
def test_it_changes_a_role(viewer_user):
    set_role(viewer_user, OPERATOR)
    assert role_of(viewer_user) == OPERATOR
    set_role(viewer_user, None)
    assert role_of(viewer_user) is None
    with pytest.raises(ValueError):
        set_role(viewer_user, "wizard")


@pytest.mark.django_db
def test_it_makes_admins_staff_and_others_not(viewer_user):
    set_role(viewer_user, ADMIN)
    assert viewer_user.is_staff and role_of(viewer_user) == ADMIN
    set_role(viewer_user, VIEWER)
    viewer_user.refresh_from_db()
    assert not viewer_user.is_staff
