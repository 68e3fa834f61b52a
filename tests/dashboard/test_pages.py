"""The dashboard's pages: content, roles, empty states and query counts."""

from __future__ import annotations

import re
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from carbon.models import CarbonReading, Zone
from scheduler.models import BackupJob, BackupPolicy
from tests.dashboard.conftest import PASSWORD, completed_job, make_job

PAGES = ["/", "/zones/DE", "/backups", "/policies", "/savings", "/what-if"]


@pytest.fixture(autouse=True)
def _vms_source_root(settings: Any) -> None:
    # The forms below name VMs under /vms; file-executor paths are checked against the source
    # roots at submission (tests about real files set their own tmp_path roots).
    settings.BACKUP_SOURCE_ROOTS = [Path("/vms")]
    # Backups planned hours ahead use the hypersdk executor (no source file needed); no daemon
    # listens there, and nothing here runs them.
    settings.HYPERSDK_URL = "http://127.0.0.1:9"


# --- login and roles ---------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [*PAGES, "/backups/new", "/policies/new"])
def test_it_sends_anonymous_visitors_to_the_login_page(client: Client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login?next=")


@pytest.mark.parametrize("url", [*PAGES, "/backups/new"])
def test_it_refuses_users_without_a_role(outsider: Client, url: str) -> None:
    assert outsider.get(url).status_code == 403


def test_it_logs_in_with_the_password_and_out_with_a_post(client: Client, viewer_user: Any) -> None:
    page = client.get("/login")
    assert page.status_code == 200 and b'name="password"' in page.content
    response = client.post("/login", {"username": "vera", "password": PASSWORD})
    assert response.status_code == 302 and response["Location"] == "/"
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302
    assert client.get("/").status_code == 302


def test_it_rejects_a_wrong_password_on_the_form(client: Client, viewer_user: Any) -> None:
    response = client.post("/login", {"username": "vera", "password": "nope"})
    assert response.status_code == 200
    assert b"correct username and password" in response.content


def test_it_shows_operator_links_only_to_operators(viewer: Client, operator: Client) -> None:
    assert b'href="/backups/new"' not in viewer.get("/backups").content
    assert b'href="/backups/new"' in operator.get("/backups").content


# --- overview ----------------------------------------------------------------------------------


def test_it_shows_a_tile_per_zone_with_quality_and_simulated_badge(
    viewer: Client, demo_data: None, django_assert_max_num_queries: Any
) -> None:
    with django_assert_max_num_queries(110):
        response = viewer.get("/")
    body = response.content.decode()
    assert body.count('class="card tile') == Zone.objects.filter(active=True).count()
    assert 'data-zone="DE"' in body and "gCO2/kWh" in body
    assert 'class="badge simulated"' in body
    assert "plotly-graph-div" in body  # sparklines
    assert "/static/vendor/plotly/plotly-cartesian.min.js" in body


def test_it_says_no_data_yet_on_an_empty_overview(viewer: Client) -> None:
    body = viewer.get("/").content.decode()
    assert "No data yet for this zone." in body
    assert "No backups finished this month yet: no data yet." in body
    assert "Nothing planned in the next 48 hours." in body


def test_it_shows_this_months_figures_and_planned_backups(viewer: Client, demo_data: None, now: Any) -> None:
    de = Zone.objects.get(code="DE")
    completed_job(de, when=now - timedelta(minutes=10), emitted=2.0, counterfactual=2.5, simulated=True)
    make_job(de, now=now, name="db-01 weekly")
    body = viewer.get("/").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    assert "500 g" in body  # avoided
    assert "(20.0 %)" in body
    assert "1 of 1 runs were accounted on simulated grid data" in body
    assert "db-01 weekly" in body


def test_it_keeps_the_overview_query_count_flat_as_jobs_grow(
    viewer: Client, demo_data: None, now: Any, django_assert_max_num_queries: Any
) -> None:
    de = Zone.objects.get(code="DE")
    viewer.get("/")
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        viewer.get("/")
    for i in range(30):
        make_job(de, now=now, planned_start=now + timedelta(hours=1, minutes=i))
        completed_job(de, when=now - timedelta(minutes=i + 1), emitted=1.0, counterfactual=1.1)
    with CaptureQueriesContext(connection) as many:
        viewer.get("/")
    assert len(many) == len(few)


# --- zone page ---------------------------------------------------------------------------------


def test_it_draws_the_zone_chart_with_threshold_and_backups(
    viewer: Client, demo_data: None, now: Any, django_assert_max_num_queries: Any
) -> None:
    de = Zone.objects.get(code="DE")
    make_job(de, now=now)
    completed_job(de, when=now - timedelta(hours=1), emitted=1.0, counterfactual=1.2)
    with django_assert_max_num_queries(15):
        response = viewer.get("/zones/de")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Germany" in body and "plotly-graph-div" in body
    assert "threshold 200" in body
    assert "planned backups" in body and "finished backups" in body
    assert "/zones/DE/readings.csv?days=7" in body and "/carbon/zones/DE/intensity?" in body
    assert "admin/carbon/zone" not in body  # settings are for admins


def test_it_links_admins_to_the_zone_settings(admin: Client, demo_data: None) -> None:
    zone = Zone.objects.get(code="DE")
    body = admin.get("/zones/DE").content.decode()
    assert f"/admin/carbon/zone/{zone.pk}/change/" in body
    assert "Provider chain" in body


def test_it_answers_404_for_an_unknown_zone(viewer: Client) -> None:
    assert viewer.get("/zones/XX").status_code == 404


def test_it_says_no_data_yet_for_a_zone_without_readings(viewer: Client) -> None:
    body = viewer.get("/zones/FR").content.decode()
    assert "No data yet for this range." in body
    assert "No data yet: no past forecast" in body


def test_it_measures_forecast_accuracy_against_actuals(viewer: Client, now: Any) -> None:
    zone = Zone.objects.get(code="FR")
    start = (now - timedelta(hours=13)).replace(minute=0, second=0)
    for i in range(12):  # MIN_POINTS per lead time (carbon.services.accuracy)
        t = start + timedelta(hours=i)
        common = {"zone": zone, "start": t, "end": t + timedelta(hours=1), "source": "simulated"}
        CarbonReading.objects.create(value=100.0, kind="actual", **common)
        # issued 2 h ahead (error 10) and 30 h ahead (error 30)
        CarbonReading.objects.create(value=110.0, kind="forecast", issued_at=t - timedelta(hours=2), **common)
        CarbonReading.objects.create(value=70.0, kind="forecast", issued_at=t - timedelta(hours=30), **common)
    from carbon.services import forecast_accuracy

    acc = forecast_accuracy(zone, now=now)
    assert acc["points"] == 24
    assert acc["mae"] == pytest.approx(20.0)
    assert acc["mae_6h"] == pytest.approx(10.0)
    assert acc["mae_later"] == pytest.approx(30.0)
    assert acc["percent"] == pytest.approx(20.0)
    assert "off by <strong>20 gCO2/kWh</strong>" in viewer.get("/zones/FR").content.decode()


def test_it_streams_every_reading_as_csv(viewer: Client, demo_data: None) -> None:
    response = viewer.get("/zones/DE/readings.csv?days=1")
    lines = b"".join(response.streaming_content).decode().strip().splitlines()
    assert lines[0] == "time,value,zone"
    assert len(lines) - 1 >= 90  # a day of 15-minute readings


# --- backups -----------------------------------------------------------------------------------


def test_it_lists_backups_with_filters_sorting_and_pages(
    viewer: Client, now: Any, django_assert_max_num_queries: Any
) -> None:
    de, fr = Zone.objects.get(code="DE"), Zone.objects.get(code="FR")
    for i in range(30):
        make_job(de, now=now - timedelta(minutes=i), name=f"de-{i:02d}")
    make_job(fr, now=now, name="fr-only", status=BackupJob.Status.RUNNING, progress={"percent_complete": 42})
    with django_assert_max_num_queries(8):
        body = viewer.get("/backups").content.decode()
    assert "31 backups" in body and "Page 1 of 2" in body
    assert 'value="42"' in body  # live progress bar for the running one
    assert "/static/js/progress.js" in body
    body = viewer.get("/backups?zone=FR").content.decode()
    assert "fr-only" in body and "de-00" not in body
    body = viewer.get("/backups?status=running").content.decode()
    assert "1 backup" in body and "fr-only" in body
    body = viewer.get("/backups?sort=requested_at&zone=DE").content.decode()
    assert body.index("de-29") < body.index("de-28")
    body = viewer.get("/backups?page=2").content.decode()
    assert "Page 2 of 2" in body
    assert 'href="?sort=requested_at"' in body  # the column header sorts (and goes back to page 1)
    assert 'aria-sort="descending"' in body
    since = (now + timedelta(days=1)).date().isoformat()
    assert "No backups match these filters" in viewer.get(f"/backups?since={since}").content.decode()


def test_it_says_no_backups_yet(viewer: Client) -> None:
    assert "No backups yet: no data yet." in viewer.get("/backups").content.decode()


def test_it_reports_progress_as_json(viewer: Client, now: Any) -> None:
    job = make_job(
        None, now=now, status=BackupJob.Status.RUNNING, progress={"percent_complete": 30, "phase": "copy"}
    )
    body = viewer.get(f"/backups/progress?ids={job.pk},missing").json()
    assert body["jobs"][job.pk]["status"] == "running"
    assert body["jobs"][job.pk]["progress"]["percent_complete"] == 30
    assert "missing" not in body["jobs"]


def _submitted(demo_data: None, now: Any) -> BackupJob:
    from scheduler.services import submit_jobs

    outcome = submit_jobs(
        [
            {
                "vm_path": "/vms/web-01.qcow2",
                "name": "web-01",
                "metadata": {
                    "carbon_aware": True,
                    "carbon_zone": "DE",
                    "carbon_max_delay": 12 * 3600 * 10**9,
                    "data_size_gb": 200,
                    "executor": "hypersdk",
                },
            }
        ],
        now=now,
    )
    assert outcome.job_ids, outcome.errors
    return BackupJob.objects.get(pk=outcome.job_ids[0])


def test_it_explains_why_a_backup_was_planned_when(
    viewer: Client, demo_data: None, now: Any, django_assert_max_num_queries: Any, settings: Any
) -> None:
    settings.HYPERSDK_URL = "https://hypersdk.example:8443"
    job = _submitted(demo_data, now)
    with django_assert_max_num_queries(15):
        body = viewer.get(f"/backups/{job.pk}").content.decode()
    assert job.decision["reason"] in body.replace("&#x27;", "'")
    assert "Start now" in body and "Chosen" in body
    assert "forecast at decision time" in body  # the chart's trace
    assert "submitted" in body  # an event
    assert "Cancel backup" not in body  # viewers cannot cancel
    assert "<dt>Target</dt><dd><code>https://hypersdk.example:8443</code>" in body  # where it goes


def test_it_refuses_a_viewers_cancel_and_lets_an_operator_cancel(
    viewer: Client, operator: Client, now: Any
) -> None:
    job = make_job(None, now=now)
    assert viewer.post(f"/backups/{job.pk}/cancel").status_code == 403
    job.refresh_from_db()
    assert job.status == BackupJob.Status.SCHEDULED
    assert "Cancel backup" in operator.get(f"/backups/{job.pk}").content.decode()
    # The button leads to a confirmation page (no JavaScript needed); nothing is cancelled yet.
    confirm = operator.get(f"/backups/{job.pk}/cancel").content.decode()
    assert 'name="confirm" value="yes"' in confirm and "cannot be undone" in confirm
    assert 'name="confirm" value="yes"' in operator.post(f"/backups/{job.pk}/cancel").content.decode()
    job.refresh_from_db()
    assert job.status == BackupJob.Status.SCHEDULED
    response = operator.post(f"/backups/{job.pk}/cancel", {"confirm": "yes"}, follow=True)
    job.refresh_from_db()
    assert job.status == BackupJob.Status.CANCELLED
    assert "Backup cancelled." in response.content.decode()
    assert "nothing left to cancel" in operator.get(f"/backups/{job.pk}/cancel").content.decode()


def test_it_checks_csrf_on_cancel(operator_user: Any, now: Any) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(operator_user)
    job = make_job(None, now=now)
    assert client.post(f"/backups/{job.pk}/cancel", {"confirm": "yes"}).status_code == 403
    job.refresh_from_db()
    assert job.status == BackupJob.Status.SCHEDULED


def test_it_answers_404_for_an_unknown_backup(viewer: Client) -> None:
    assert viewer.get("/backups/nope").status_code == 404


def test_it_shows_the_accounting_of_a_finished_backup(viewer: Client, now: Any) -> None:
    job = completed_job(
        Zone.objects.get(code="DE"), when=now, emitted=1.5, counterfactual=2.0, simulated=True
    )
    body = viewer.get(f"/backups/{job.pk}").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    assert "1.50 kg CO2" in body and "500 g CO2" in body
    assert 'class="badge simulated"' in body


# --- new backup --------------------------------------------------------------------------------


def test_it_refuses_the_new_backup_form_to_viewers(viewer: Client) -> None:
    assert viewer.get("/backups/new").status_code == 403
    assert viewer.post("/backups/new", {"vm_path": "x"}).status_code == 403


def test_it_shows_errors_on_the_fields(operator: Client, settings: Any, tmp_path: Any) -> None:
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    response = operator.post(
        "/backups/new",
        {
            "vm_path": "/etc/passwd",
            "zone": "ZZ",
            "expected_duration_hours": "0",
            "max_delay_hours": "4",
            "executor": "file",
        },
    )
    form = response.context["form"]
    assert response.status_code == 200
    assert "outside the allowed roots" in form.errors["vm_path"][0]
    assert "zone" in form.errors and "expected_duration_hours" in form.errors
    assert 'class="field has-error' in response.content.decode()
    assert BackupJob.objects.count() == 0


def test_it_submits_a_carbon_aware_backup_by_default(
    operator: Client, demo_data: None, settings: Any, tmp_path: Any
) -> None:
    from scheduler.executors.demo import create_demo_vms

    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    vm = create_demo_vms(tmp_path)[0]
    page = operator.get("/backups/new").content.decode()
    assert 'name="carbon_aware"' in page and "checked" in page.split('name="carbon_aware"')[1][:80] + page
    assert "/static/js/backup_new.js" in page and str(vm) in page  # VM suggestions
    response = operator.post(
        "/backups/new",
        {
            "vm_path": str(vm),
            "zone": "DE",
            "data_size_gb": "50",
            "expected_duration_hours": "1",
            "carbon_aware": "on",
            "max_delay_hours": "8",
            "executor": "file",
        },
    )
    job = BackupJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/backups/{job.pk}"
    assert job.carbon_aware and job.zone.code == "DE"
    assert job.latest_start - job.earliest_start == timedelta(hours=8)
    assert job.decision and job.planned_start is not None
    assert job.definition["metadata"]["submitted_from"] == "dashboard"


# --- recurring backups -------------------------------------------------------------------------


def _policy_form(**changes: Any) -> dict[str, Any]:
    data = {
        "name": "Nightly db",
        "schedule": "0 22 * * *",
        "window_start": "22:00",
        "window_hours": "8",
        "zone": "FR",
        "vm_path": "/vms/db-01.raw",
        "expected_duration_hours": "2",
        "carbon_aware": "on",
        "enabled": "on",
    }
    data.update(changes)
    return data


def test_it_creates_a_policy_and_explains_it_in_words(operator: Client) -> None:
    response = operator.post("/policies/new", _policy_form())
    policy = BackupPolicy.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/policies/{policy.pk}"
    assert policy.zone.code == "FR" and policy.window_hours == 8 and policy.carbon_aware
    assert policy.job_template["vm_path"] == "/vms/db-01.raw"
    body = operator.get(f"/policies/{policy.pk}").content.decode()
    assert "Runs at 22:00 UTC, every day." in body
    assert "the window opens at 22:00 UTC and stays open 8 h" in body


def test_it_puts_a_bad_cron_expression_on_its_field(operator: Client) -> None:
    response = operator.post("/policies/new", _policy_form(schedule="every night"))
    assert "not a cron expression" in response.context["form"].errors["schedule"][0]
    assert BackupPolicy.objects.count() == 0


def test_it_edits_enables_disables_and_runs_a_policy(operator: Client, demo_data: None) -> None:
    operator.post("/policies/new", _policy_form())
    policy = BackupPolicy.objects.get()
    operator.post(f"/policies/{policy.pk}", _policy_form(schedule="30 1 * * 1-5", window_hours="4"))
    policy.refresh_from_db()
    assert policy.schedule == "30 1 * * 1-5" and policy.window_hours == 4
    operator.post(f"/policies/{policy.pk}/disable")
    policy.refresh_from_db()
    assert not policy.enabled and policy.next_run_at is None
    operator.post(f"/policies/{policy.pk}/enable")
    policy.refresh_from_db()
    assert policy.enabled and policy.next_run_at is not None
    # "Run now" runs now: not carbon-aware, planned to start at once.
    before = timezone.now()
    response = operator.post(f"/policies/{policy.pk}/run")
    job = BackupJob.objects.get(policy=policy)
    assert response["Location"] == f"/backups/{job.pk}"
    assert not job.carbon_aware and job.zone.code == "FR"
    assert before - timedelta(seconds=1) <= job.planned_start <= timezone.now()
    # "Plan now" creates the carbon-aware job of a firing, planned inside the policy's window.
    response = operator.post(f"/policies/{policy.pk}/plan")
    planned = BackupJob.objects.filter(policy=policy).exclude(pk=job.pk).get()
    assert response["Location"] == f"/backups/{planned.pk}"
    assert planned.carbon_aware and planned.earliest_start <= planned.planned_start <= planned.latest_start


def test_it_lets_viewers_read_but_not_change_policies(viewer: Client, operator: Client) -> None:
    operator.post("/policies/new", _policy_form())
    policy = BackupPolicy.objects.get()
    listing = viewer.get("/policies").content.decode()
    assert "Nightly db" in listing and "at 22:00 UTC, every day" in listing
    assert "Run now" not in listing
    assert "Read only" in viewer.get(f"/policies/{policy.pk}").content.decode()
    assert viewer.post(f"/policies/{policy.pk}", _policy_form(name="x")).status_code == 403
    assert viewer.post(f"/policies/{policy.pk}/disable").status_code == 403
    assert viewer.post(f"/policies/{policy.pk}/run").status_code == 403
    assert viewer.get("/policies/new").status_code == 403
    policy.refresh_from_db()
    assert policy.enabled and policy.name == "Nightly db"


def test_it_says_no_policies_yet(viewer: Client, django_assert_max_num_queries: Any) -> None:
    with django_assert_max_num_queries(4):
        assert "No recurring backups yet." in viewer.get("/policies").content.decode()


def test_it_describes_a_schedule_while_typing(viewer: Client) -> None:
    body = viewer.get("/policies/describe?schedule=*/15+*+*+*+*&window_start=&window_hours=2").json()
    assert body["schedule_text"] == "every 15 minutes, every day"
    assert len(body["next_runs"]) == 3
    assert "stays open 2 h" in body["window_text"]
    assert (
        viewer.get("/policies/describe?schedule=nope").json()["schedule_text"]
        == "not a valid cron expression"
    )


# --- savings and what-if -----------------------------------------------------------------------


def test_it_says_no_savings_yet(viewer: Client) -> None:
    assert "No finished, accounted backups yet: no data yet." in viewer.get("/savings").content.decode()


def test_it_shows_savings_by_month_zone_and_cumulative(
    viewer: Client, now: Any, django_assert_max_num_queries: Any
) -> None:
    de, fr = Zone.objects.get(code="DE"), Zone.objects.get(code="FR")
    completed_job(de, when=now - timedelta(days=40), emitted=2.0, counterfactual=3.0)
    completed_job(fr, when=now - timedelta(days=1), emitted=0.2, counterfactual=0.25, simulated=True)
    make_job(de, now=now, status=BackupJob.Status.FAILED)  # not accounted, not counted
    with django_assert_max_num_queries(8):
        body = viewer.get("/savings").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    assert "2 of 2" not in body and "1 of 2 backups were accounted on simulated grid data" in body
    assert "1.05 kg" in body  # avoided in total
    assert body.count("plotly-graph-div") == 3
    assert (now - timedelta(days=40)).strftime("%Y-%m") in body
    assert 'href="/zones/FR"' in body


def test_it_shows_marginal_signal_savings_apart_from_the_average_ones(
    viewer: Client, now: Any, django_assert_max_num_queries: Any
) -> None:
    de, fr = Zone.objects.get(code="DE"), Zone.objects.get(code="FR")
    completed_job(
        de, when=now - timedelta(days=1), emitted=2.0, counterfactual=3.0, accounting={"signal": "average"}
    )
    completed_job(de, when=now - timedelta(days=2), emitted=0.5, counterfactual=0.5)  # no signal: average
    completed_job(
        fr, when=now - timedelta(days=1), emitted=7.0, counterfactual=11.0, accounting={"signal": "marginal"}
    )
    with django_assert_max_num_queries(8):
        body = viewer.get("/savings").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    figures, marginal = body.split(
        "Marginal emissions (WattTime MOER): a decision signal, not an inventory figure"
    )
    # The headline figures are the two average-signal backups only: 2.5 kg emitted, 1 kg avoided.
    assert "2.50 kg" in figures and "3.50 kg" in figures and ">1.00 kg<" in figures
    assert "backups accounted on an average signal" in figures
    assert "7.00 kg" not in figures and "9.50 kg" not in figures and "5.00 kg" not in figures
    assert "1 backup accounted on a <strong>marginal</strong> signal" in figures
    # The marginal backup's own figures, below, and nothing of the average ones.
    assert "7.00 kg" in marginal and "11.0 kg" in marginal and "4.00 kg" in marginal
    assert "2.50 kg" not in marginal
    assert 'href="/zones/FR"' in marginal and 'href="/zones/FR"' not in figures
    assert body.count("plotly-graph-div") == 3


def test_it_shows_the_what_if_distribution(viewer: Client, demo_data: None) -> None:
    body = viewer.get("/what-if").content.decode()
    assert "median saving" not in body and 'name="flexibility_hours"' in body
    body = viewer.get("/what-if?zone=DE&duration_hours=1&flexibility_hours=6&days=30").content.decode()
    assert "median saving" in body and "middle half of request times" in body
    assert "plotly-graph-div" in body and 'class="badge simulated"' in body


def test_the_what_if_form_offers_exactly_the_choices_the_workers_precompute(viewer: Client) -> None:
    from dashboard.forms import WhatIfForm
    from reports import whatif

    form = WhatIfForm()
    offered = {name: [value for value, _ in form.fields[name].choices] for name in ("duration_hours", "flexibility_hours")}
    assert [float(v) for v in offered["duration_hours"]] == list(whatif.DURATIONS)
    assert [float(v) for v in offered["flexibility_hours"]] == list(whatif.WAITS)
    assert [v for v, _ in form.fields["days"].choices] == [d for d, _ in whatif.WHATIF_DAYS]
    assert (2.0, 4.0, 90) == whatif.DEFAULT_INPUTS == (
        float(form.fields["duration_hours"].initial),
        float(form.fields["flexibility_hours"].initial),
        form.fields["days"].initial,
    )
    same = WhatIfForm({"zone": "DE", "duration_hours": "2.0", "flexibility_hours": "04", "days": "30"})
    assert same.is_valid() and (same.cleaned_data["duration_hours"], same.cleaned_data["flexibility_hours"]) == (2.0, 4.0)
    other = WhatIfForm({"zone": "DE", "duration_hours": "3", "flexibility_hours": "nan", "days": "30"})
    assert not other.is_valid() and set(other.errors) == {"duration_hours", "flexibility_hours"}
    body = viewer.get("/what-if").content.decode()
    assert '<option value="0.5">30 min</option>' in body and '<option value="24">24 h</option>' in body


def test_it_says_no_data_yet_for_a_what_if_without_history(viewer: Client) -> None:
    body = viewer.get("/what-if?zone=SE&duration_hours=1&flexibility_hours=6&days=30").content.decode()
    assert "No data yet" in body


def test_it_replays_the_planner_without_foresight(viewer: Client, now: Any, workers_inline: None) -> None:
    from carbon.services import load_demo_data

    # The replay leaves the model its 15 days of history before the first job (as `backtest` does).
    load_demo_data(days=20, now=now)
    body = viewer.get("/what-if?zone=FR&duration_hours=1&flexibility_hours=6&days=30").content.decode()
    assert "Without foresight" in body
    assert "with perfect foresight. HyperSDK" in body


@pytest.mark.parametrize(
    ("kg", "text"),
    [
        (1234.5, "1.23 t"),
        (999.0, "999 kg"),
        (1.5, "1.50 kg"),
        (11.0, "11.0 kg"),
        (0.5, "500 g"),
        (0.0123, "12.3 g"),
        (0.0000016, "< 0.01 g"),
        (-1e-9, "> -0.01 g"),
    ],
)
def test_it_formats_co2_with_a_suitable_unit(kg: float, text: str) -> None:
    from hyperweb.templatetags.pages import co2

    assert co2(kg) == text.replace(" ", "\xa0")  # a page keeps a value and its unit together


@pytest.mark.parametrize(
    ("value", "text"),
    [(315_000_000, "315 MB"), (314_572_800, "315 MB"), (1_200_000_000, "1.20 GB"), (999, "999 B"), (None, "—")],
)
def test_it_writes_bytes_in_decimal_si_units(value: Any, text: str) -> None:
    from hyperweb.lib.units import data_bytes

    assert data_bytes(value) == text  # 300 MiB is 315 MB, never "300 MB"


@pytest.mark.parametrize(("kwh", "text"), [(0.105, "105 Wh"), (1.25, "1.25 kWh"), (2400.0, "2.40 MWh")])
def test_it_writes_energy_in_wh_kwh_or_mwh(kwh: float, text: str) -> None:
    from hyperweb.lib.units import energy

    assert energy(kwh) == text


def test_it_keeps_marginal_signal_figures_apart_on_the_overview(viewer: Client, now: Any) -> None:
    de, fr = Zone.objects.get(code="DE"), Zone.objects.get(code="FR")
    completed_job(de, when=now, emitted=2.0, counterfactual=3.0, accounting={"signal": "average"})
    completed_job(fr, when=now, emitted=7.0, counterfactual=11.0, accounting={"signal": "marginal"})
    body = viewer.get("/").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    figures, marginal = body.split("accounted on a marginal signal (WattTime MOER)")
    assert "2.00 kg" in figures and "7.00 kg" not in figures
    assert "7.00 kg marginal CO2" in marginal and "4.00 kg avoided" in marginal


def test_it_keeps_a_what_if_answer_until_the_data_it_reads_changes(
    viewer: Client, demo_data: None, monkeypatch: Any, workers_inline: None
) -> None:
    # workers_inline: the replay the page hands to the workers runs at once (django-q2's sync mode).
    from carbon.models import Zone
    from carbon.services import bump_data_version
    from reports import whatif

    calls: list[str] = []
    real = whatif._backtest
    monkeypatch.setattr(whatif, "_backtest", lambda *a, **kw: calls.append("replay") or real(*a, **kw))
    url = "/what-if?zone=DE&duration_hours=1&flexibility_hours=6&days=30"
    first = viewer.get(url).content.decode()
    second = viewer.get(url).content.decode()
    assert calls == ["replay"]  # the second answer was kept, not computed again
    chart_id = re.search(r'<div id="(chart-[0-9a-f]+)" class="plotly-graph-div', first).group(1)
    assert chart_id in second  # the very same chart
    viewer.get(url.replace("days=30", "days=90"))
    assert calls == ["replay"]  # another history: a new distribution, the same replay
    viewer.get(url.replace("flexibility_hours=6", "flexibility_hours=4"))
    assert calls == ["replay", "replay"]  # other inputs: computed
    de = Zone.objects.get(code="DE")
    bump_data_version(de.pk)  # something stored for DE, but nothing in the replayed range changed
    viewer.get(url)
    assert calls == ["replay", "replay"]
    # A reading of the replayed range revised: that answer is computed again.
    reading = (
        CarbonReading.objects.filter(zone=de, kind="actual", end__lte=whatif.period_end(timezone.now()))
        .order_by("-start")
        .first()
    )
    reading.value += 1
    reading.save()
    viewer.get(url)
    assert calls == ["replay", "replay", "replay"]


def test_it_lists_enabled_policies_next_runs_among_the_planned_backups(
    operator: Client, viewer: Client, now: Any
) -> None:
    operator.post("/policies/new", _policy_form(schedule="0 */12 * * *"))
    operator.post("/policies/new", _policy_form(name="Off policy", enabled=""))
    policy = BackupPolicy.objects.get(name="Nightly db")
    de = Zone.objects.get(code="DE")
    job = make_job(de, now=now, name="db-02 one-off")
    body = viewer.get("/").content.decode()
    assert "Nothing planned" not in body
    assert body.count(f'href="/policies/{policy.pk}"') == 4  # every 12 h over the next 48 h
    assert f'href="/backups/{job.pk}"' in body and "db-02 one-off" in body
    assert "Off policy" not in body  # a disabled policy does not fire
    assert "its 8 h window" in body


def test_it_reads_the_upcoming_list_in_two_queries(viewer: Client, operator: Client, now: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from dashboard.views import upcoming

    for i in range(3):
        operator.post("/policies/new", _policy_form(name=f"p{i}"))
        make_job(Zone.objects.get(code="DE"), now=now, name=f"j{i}")
    with CaptureQueriesContext(connection) as queries:
        rows = upcoming(now, now + timedelta(hours=48))
    assert len(queries) == 2
    assert [row.planned_start for row in rows] == sorted(row.planned_start for row in rows)
    assert {row.status for row in rows} >= {"recurring"}


@pytest.mark.django_db(transaction=True)
def test_it_reads_the_overview_in_the_same_number_of_queries_for_any_number_of_zones_and_history(
    viewer_user: Any, now: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from carbon.services import load_demo_data
    from carbon.tiles import warm_overview

    load_demo_data(days=1, now=now)
    client = Client()
    client.force_login(viewer_user)
    assert warm_overview() == Zone.objects.filter(active=True).count() == 12
    with CaptureQueriesContext(connection) as twelve:
        body = client.get("/").content.decode()
    assert body.count('class="card tile') == 12 and body.count("hw-chart") >= 12
    Zone.objects.filter(code__in=["DE", "FR", "GB", "SE", "JP", "AU"]).update(active=False)
    with CaptureQueriesContext(connection) as six:
        body = client.get("/").content.decode()
    assert body.count('class="card tile') == 6
    assert len(six) == len(twelve) <= 12, [q["sql"][:80] for q in twelve]
    Zone.objects.exclude(pk=Zone.objects.filter(active=True).first().pk).update(active=False)
    with CaptureQueriesContext(connection) as one:
        body = client.get("/").content.decode()
    assert body.count('class="card tile') == 1
    assert len(one) == len(twelve), [q["sql"][:80] for q in one]
    # A long history (a year of hourly readings before the demo day, every zone): the same.
    Zone.objects.update(active=True)
    first = now - timedelta(days=366)
    CarbonReading.objects.bulk_create(
        CarbonReading(
            zone=zone,
            start=first + k * timedelta(hours=1),
            end=first + (k + 1) * timedelta(hours=1),
            value=300.0,
            source="csv",
        )
        for zone in Zone.objects.all()
        for k in range(365 * 24)
    )
    assert warm_overview() == 12
    with CaptureQueriesContext(connection) as long:
        body = client.get("/").content.decode()
    assert body.count('class="card tile') == 12
    assert len(long) == len(twelve), [q["sql"][:80] for q in long]


@pytest.mark.django_db(transaction=True)
def test_it_reads_a_stale_overview_in_the_same_few_queries_for_one_zone_or_twelve(
    viewer_user: Any, now: Any
) -> None:
    # Data that stopped three days ago (every provider failing since): each tile falls back to the
    # zone's newest actual (flagged stale), and the page still reads them in a constant number of
    # queries: a fresh overview's 8 (session, user, role, zones, readings, month, jobs, policies)
    # and one for every stale zone's fallback (it was one more query per zone).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from carbon.services import load_demo_data
    from carbon.tiles import warm_overview

    load_demo_data(days=1, now=now - timedelta(days=3))
    client = Client()
    client.force_login(viewer_user)
    assert warm_overview() == 12
    with CaptureQueriesContext(connection) as twelve:
        body = client.get("/").content.decode()
    assert body.count('class="card tile') == 12 and body.count("stale") >= 12
    Zone.objects.exclude(code="DE").update(active=False)
    with CaptureQueriesContext(connection) as one:
        body = client.get("/").content.decode()
    assert body.count('class="card tile') == 1 and "stale" in body
    assert len(one) == len(twelve) <= 9, "\n".join(q["sql"][:150] for q in twelve)


@pytest.mark.django_db(transaction=True)
def test_it_precomputes_every_what_if_choice_and_keeps_it_while_the_data_it_reads_holds(
    viewer_user: Any, now: Any, monkeypatch: Any
) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from carbon.providers.base import Reading
    from carbon.services import load_demo_data, store_readings
    from reports import whatif

    # Fewer choices than the form's, to keep the test short; warm() walks whatever it offers.
    monkeypatch.setattr(whatif, "DURATIONS", (1.0, 2.0))
    monkeypatch.setattr(whatif, "WAITS", (4.0, 6.0))
    load_demo_data(days=20, now=now)
    Zone.objects.exclude(code="FR").update(active=False)
    # What the workers do after each refresh: 4 replays (one per duration and wait, shared by
    # the histories) and 4 x 3 distributions.
    assert whatif.warm(budget_seconds=3600) == 4 + 4 * 3
    client = Client()
    client.force_login(viewer_user)
    for duration in ("1", "2"):
        for wait in ("4", "6"):
            for days in ("30", "90", "365"):
                query = f"zone=FR&duration_hours={duration}&flexibility_hours={wait}&days={days}"
                with CaptureQueriesContext(connection) as queries:
                    body = client.get(f"/what-if?{query}").content.decode()
                assert "median saving" in body and "Without foresight" in body
                assert not [q for q in queries if "carbon_carbonreading" in q["sql"]], query
    fr = Zone.objects.get(code="FR")
    assert whatif.answer(fr, 2, 4, 30)["replay"] == whatif.answer(fr, 2, 4, 365)["replay"] is not None
    # A refresh that stores today's readings changes nothing an answer reads: nothing recomputed.
    today = whatif.period_end(timezone.now())
    late = max(today, now - timedelta(minutes=30))
    store_readings(fr, "simulated", [Reading(late, late + timedelta(minutes=5), 50.0)])
    assert whatif.warm(budget_seconds=3600) == 0
    # A revised reading of yesterday: every answer that reads it is computed again.
    yesterday = today - timedelta(hours=2)
    store_readings(fr, "simulated", [Reading(yesterday, yesterday + timedelta(minutes=15), 999.0)])
    assert whatif.warm(budget_seconds=3600) == 4 + 4 * 3
    # The workers' time per refresh is bounded: past the budget, only the initial inputs.
    store_readings(fr, "simulated", [Reading(yesterday, yesterday + timedelta(minutes=15), 998.0)])
    assert whatif.warm(budget_seconds=0) == 1 + 1


def test_it_steps_the_cumulative_curve_at_each_backup_finish_and_stays_flat_between(
    now: Any, db: None
) -> None:
    from datetime import UTC, datetime

    from reports import charts, queries

    de = Zone.objects.get(code="DE")
    day2 = datetime(2026, 11, 2, 1, 30, tzinfo=UTC)
    completed_job(de, when=day2, emitted=0.2, counterfactual=0.5)
    completed_job(de, when=day2, emitted=0.1, counterfactual=0.1)
    completed_job(de, when=day2 + timedelta(days=3), emitted=0.3, counterfactual=0.4)
    until = datetime(2026, 11, 10, tzinfo=UTC)
    steps = queries.cumulative_steps(queries.accounted_jobs(), until=until)
    assert [when for when, _, _ in steps] == [day2, day2, day2, day2 + timedelta(days=3), until]
    assert steps[0][1:] == (0.0, 0.0)
    assert steps[2][1:] == pytest.approx((0.3, 0.6))  # both 01:30 backups, nothing before
    assert steps[-1][1:] == pytest.approx((0.6, 1.0))  # flat to the end, the totals
    chart = charts.cumulative_chart(steps)
    assert '"shape":"hv"' in chart.replace(" ", "") and "g CO2, cumulative" in chart
    assert '"2026-11-02T01:30:00Z"' in chart


def test_it_shows_durations_in_hours_or_below_an_hour_in_minutes() -> None:
    from hyperweb.templatetags.pages import hours

    assert hours(timedelta(minutes=1)) == "1 min"  # a verification run's expected duration
    assert hours(timedelta(seconds=30)) == "0.5 min"
    assert hours(timedelta(hours=1)) == "1 h"
    assert hours(timedelta(hours=12, minutes=20)) == "12.33 h"
    assert hours(timedelta(hours=100, minutes=30)) == "100.5 h"
    assert hours(None) == "—"


def test_it_counts_the_data_the_backups_read_on_the_overview_not_the_archives_size(
    viewer: Client, now: Any
) -> None:
    de = Zone.objects.get(code="DE")
    # Read 4.194304 MB (the accounting's data_gb, as the ESG report counts it); the fixture's
    # archives are 50 GB each, which the figure must not show.
    completed_job(de, when=now, emitted=2.0, counterfactual=3.0, accounting={"signal": "average", "data_gb": 0.004194304})
    # Not accounted with a data size: its declared size counts.
    completed_job(de, when=now, emitted=1.0, counterfactual=1.0, data_size_gb=0.001)
    body = viewer.get("/").content.decode().replace("\xa0", " ")  # quantities keep their unit on the line
    assert "5.19 MB" in body, "4.19 MB read + 1 MB declared"
    assert "100 GB" not in body


@pytest.mark.parametrize(("operation", "noun"), [("restore", "restore"), ("verify", "verification")])
def test_a_restore_or_verification_run_names_its_operation(
    operator: Client, now: Any, operation: str, noun: str
) -> None:
    backup = make_job(None, now=now, status=BackupJob.Status.COMPLETED, result={"archive_path": "/b/web.tar.gz"})
    run = make_job(None, now=now, operation=operation, subject=backup, result={"files": 3})
    body = operator.get(f"/backups/{run.pk}").content.decode()
    assert f"Cancel {noun}…" in body and "Cancel backup" not in body
    assert f"<summary>{noun.capitalize()} result</summary>" in body and "Backup result" not in body
    confirm = operator.get(f"/backups/{run.pk}/cancel").content.decode()
    assert f"Cancel the {noun}</button>" in confirm and "Cancel the backup" not in confirm
    response = operator.post(f"/backups/{run.pk}/cancel", {"confirm": "yes"}, follow=True)
    assert f"{noun.capitalize()} cancelled." in response.content.decode()


def test_a_get_on_verify_says_what_to_do(operator: Client, now: Any) -> None:
    backup = make_job(None, now=now, status=BackupJob.Status.COMPLETED)
    response = operator.get(f"/backups/{backup.pk}/verify")
    assert response.status_code == 405 and response["Allow"] == "POST"
    body = response.content.decode()
    assert "POST" in body and f"/backups/{backup.pk}" in body, body


@pytest.mark.parametrize("days", [30, 90])
def test_a_what_if_first_view_reads_the_readings_once_for_the_same_answer(
    db: None, now: Any, monkeypatch: Any, days: int
) -> None:
    from django.core.cache import cache

    from carbon import services as carbon_services
    from carbon.services import load_demo_data
    from reports import whatif

    load_demo_data(days=20, now=now)
    fr = Zone.objects.get(code="FR")
    end = whatif.period_end(timezone.now())
    version = carbon_services.data_version(fr.pk)
    # Each part read on its own, as before:
    cache.clear()
    whatif.store().clear()
    fp = whatif._fingerprint(fr, end - timedelta(days=days), end, version)
    distribution = whatif._distribution(fr, end, days, fp, 2, 4)
    replay = whatif._replay(fr, end, whatif._fingerprint(fr, *whatif._replay_range(end), version), 2, 4)
    assert replay is not None
    reads: list[Any] = []
    real = carbon_services.actual_rows
    monkeypatch.setattr(carbon_services, "actual_rows", lambda *a, **kw: reads.append(a) or real(*a, **kw))
    cache.clear()
    whatif.store().clear()
    found = whatif.answer(fr, 2, 4, days)
    assert len(reads) == 1  # one query for both parts
    assert found["replay"] == replay
    assert found["result"] == distribution["result"] and found["simulated"] == distribution["simulated"]
    chart_id = re.compile(r"chart-[0-9a-f]+")
    assert chart_id.sub("", found["chart"]) == chart_id.sub("", distribution["chart"])
    # The replay already kept: the distribution reads its own range only.
    whatif.store().delete(whatif._distribution_key(fr, end, days, fp, 2, 4))
    reads.clear()
    assert whatif.answer(fr, 2, 4, days)["result"] == distribution["result"]
    assert [a[1] for a in reads] == [end - timedelta(days=days)]


def _queued_tasks() -> list[dict[str, Any]]:
    """Every task waiting in django-q2's broker (ORM or Redis), taken off it."""
    from django_q.brokers import get_broker
    from django_q.signing import SignedPackage

    broker, tasks = get_broker(), []
    while found := broker.dequeue():
        for ack, payload in found:
            tasks.append(SignedPackage.loads(payload))
            broker.acknowledge(ack)
    return tasks


def test_a_what_if_first_view_hands_the_replay_to_the_workers_and_reloads_until_it_is_there(
    viewer: Client, now: Any, monkeypatch: Any
) -> None:
    from carbon.services import load_demo_data
    from reports import tasks, whatif

    load_demo_data(days=20, now=now)
    _queued_tasks()
    replays: list[Any] = []
    real = whatif._backtest
    monkeypatch.setattr(whatif, "_backtest", lambda *a, **kw: replays.append(a) or real(*a, **kw))
    url = "/what-if?zone=FR&duration_hours=1&flexibility_hours=6&days=30"
    first = viewer.get(url).content.decode()
    # The distribution is there; the replay is not computed in the request but handed over once.
    assert "median saving" in first and "plotly-graph-div" in first and replays == []
    assert 'id="replay-pending"' in first and "The workers are replaying" in first
    assert '<meta http-equiv="refresh" content="3">' in first
    assert "This page reloads itself until the replay is here" in first
    second = viewer.get(url).content.decode()
    assert 'id="replay-pending"' in second and replays == []
    handed = _queued_tasks()
    assert [(t["func"], t["args"]) for t in handed] == [(whatif.REPLAY_TASK, (Zone.objects.get(code="FR").pk, 1.0, 6.0))]
    # Another history for the same job and wait: the same replay, not handed again.
    viewer.get(url.replace("days=30", "days=90"))
    assert _queued_tasks() == []
    # What a worker does with it; then the page shows the replay and stops reloading.
    assert "% saved" in tasks.compute_replay(*handed[0]["args"]) and len(replays) == 1
    done = viewer.get(url).content.decode()
    assert "Without foresight" in done and "with perfect foresight. HyperSDK" in done
    assert 'id="replay-pending"' not in done and 'http-equiv="refresh"' not in done
    assert tasks.compute_replay(*handed[0]["args"]) and len(replays) == 1  # kept: not computed twice
    assert tasks.compute_replay(999_999, 1.0, 6.0) == "zone 999999 is gone"


def test_a_what_if_page_says_when_the_workers_have_not_answered(viewer: Client, now: Any) -> None:
    from carbon import services as carbon_services
    from carbon.services import load_demo_data
    from reports import whatif

    load_demo_data(days=20, now=now)
    _queued_tasks()
    url = "/what-if?zone=FR&duration_hours=1&flexibility_hours=6&days=30"
    viewer.get(url)
    handed = _queued_tasks()
    assert len(handed) == 1 and handed[0]["func"] == whatif.REPLAY_TASK
    # Handed over three minutes ago and still not there (the workers are stopped or busy).
    fr, store = Zone.objects.get(code="FR"), whatif.store()
    end = whatif.period_end(timezone.now())
    fp = whatif._fingerprint(fr, *whatif._replay_range(end), carbon_services.data_version(fr.pk))
    marker = whatif._replay_key(fr, end, fp, 1.0, 6.0) + ":queued"
    assert store.get(marker) is not None
    store.set(marker, time.time() - 180, timeout=whatif.QUEUED_SECONDS)
    body = viewer.get(url).content.decode()
    assert "they have not finished it yet" in body and "make run" in body
    assert 'http-equiv="refresh"' not in body  # no endless reloading
    assert _queued_tasks() == []  # nor handed again before QUEUED_SECONDS
    store.delete(marker)  # past QUEUED_SECONDS: the next view hands it again
    assert 'id="replay-pending"' in viewer.get(url).content.decode()
    assert [(t["func"], t["args"]) for t in _queued_tasks()] == [(whatif.REPLAY_TASK, handed[0]["args"])]
