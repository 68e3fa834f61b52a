"""POST /jobs/{id}/restore and /jobs/{id}/verify: who may, bad input, and the run they start."""

from __future__ import annotations

import pytest

from scheduler.models import BackupJob
from scheduler.services.execution import execute_job
from tests.scheduler.lifecycle import files_under, make_backup

pytestmark = pytest.mark.django_db


def test_it_restores_through_the_api(roots, operator_api) -> None:
    backup = make_backup(roots)
    response = operator_api.post(f"/jobs/{backup.pk}/restore", {"target": "api"}, format="json")
    assert response.status_code == 202, response.json()
    body = response.json()
    assert body["operation"] == "restore" and body["subject"] == backup.pk
    assert execute_job(body["id"]) == "completed"
    assert files_under(roots["restores"] / "api") == files_under(roots["vms"])
    shown = operator_api.get(f"/jobs/{backup.pk}").json()
    assert shown["integrity"]["state"] == "verified" and shown["integrity"]["restorable"] is True


def test_it_refuses_viewers_outsiders_and_anonymous_callers(
    roots, viewer_api, outsider_api, anon_api
) -> None:
    backup = make_backup(roots)
    for client, status in ((viewer_api, 403), (outsider_api, 403), (anon_api, 401)):
        for action in ("restore", "verify"):
            response = client.post(f"/jobs/{backup.pk}/{action}", {}, format="json")
            assert response.status_code == status, (action, response.json())
    assert not BackupJob.objects.exclude(operation="backup").exists()


def test_it_answers_400_naming_the_field_for_a_folder_outside_the_root(roots, operator_api) -> None:
    backup = make_backup(roots)
    for target in ("../../etc", "/tmp"):
        response = operator_api.post(f"/jobs/{backup.pk}/restore", {"target": target}, format="json")
        assert response.status_code == 400
        assert response.json()["error"].startswith("target: ")
        assert "target" in response.json()["fields"]
    response = operator_api.post(f"/jobs/{backup.pk}/restore", {"overwrite": "maybe"}, format="json")
    assert response.status_code == 400 and "overwrite" in response.json()["error"]


def test_it_answers_409_when_files_exist_and_overwrite_is_not_asked(roots, operator_api) -> None:
    backup = make_backup(roots)
    (roots["restores"] / "busy" / "web01").mkdir(parents=True)
    (roots["restores"] / "busy" / "web01" / "vm.xml").write_text("keep me")
    response = operator_api.post(f"/jobs/{backup.pk}/restore", {"target": "busy"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"].startswith("overwrite: 1 file(s) already exist")
    response = operator_api.post(
        f"/jobs/{backup.pk}/restore", {"target": "busy", "overwrite": True}, format="json"
    )
    assert response.status_code == 202


def test_it_answers_404_for_an_unknown_job_and_409_for_a_run_that_is_not_a_backup(
    roots, operator_api
) -> None:
    assert operator_api.post("/jobs/nope/restore", {}, format="json").status_code == 404
    backup = make_backup(roots)
    run = operator_api.post(f"/jobs/{backup.pk}/verify", {}, format="json").json()
    response = operator_api.post(f"/jobs/{run['id']}/restore", {}, format="json")
    assert response.status_code == 409 and "not a backup" in response.json()["error"]


def test_it_documents_restore_and_verify_in_the_openapi_schema(client) -> None:
    import yaml

    schema = yaml.safe_load(client.get("/openapi.yaml").content)
    restore = schema["paths"]["/jobs/{job_id}/restore"]["post"]
    assert set(restore["responses"]) >= {"202", "400", "401", "403", "404", "409"}
    body = restore["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(schema["components"]["schemas"][body]["properties"]) == {"target", "overwrite", "defer"}
    assert "/jobs/{job_id}/verify" in schema["paths"]
