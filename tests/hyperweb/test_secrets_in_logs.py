"""No secret ever reaches a log (issue 11, "Also expected"): one whole scenario with every kind of
secret hyperweb handles (passwords at three login forms, bearer tokens, API keys made in the admin
and by the command, a job's and a schedule's vCenter password, provider tokens and passwords, the
HyperSDK key), including the failure paths that tend to print what they were given; ALL log output
at DEBUG is captured, and every secret is searched for in it (and in what the admin shows of job
events and fetch attempts)."""

from __future__ import annotations

import io
import logging
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client
from rest_framework.test import APIClient

from accounts.roles import set_role
from carbon.models import FetchAttempt, Zone
from carbon.providers import reset_providers
from carbon.services.refresh import refresh_zone
from scheduler.executors.base import BackupError, BackupSpec
from scheduler.executors.hypersdk import HypersdkExecutor
from scheduler.models import JobEvent
from tests.carbon.fakeserver import FakeServer, Reply
from tests.scheduler.hypersdk_server import FakeHypersdk

PASSWORD = "pw-Secret-Horse-93821"
VCENTER_PASSWORD = "vc-Secret-Pass-55120"
POLICY_VCENTER_PASSWORD = "vc-Policy-Secret-77311"
EM_TOKEN = "em-Secret-Token-40417"
WATTTIME_PASSWORD = "wt-Secret-Pass-11873"
HYPERSDK_KEY = "hsdk-Secret-Key-66290"


class Everything(logging.Handler):
    """Every record any logger emits, formatted with its traceback."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def logs() -> Iterator[Everything]:
    handler = Everything()
    root = logging.getLogger()
    named = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)]
    saved = [(root, root.level)] + [(lg, lg.level) for lg in named if isinstance(lg, logging.Logger)]
    root.addHandler(handler)
    for logger, _ in saved:
        logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        for logger, level in saved:
            logger.setLevel(level)


@pytest.mark.django_db
def test_no_secret_of_a_whole_scenario_reaches_the_logs(logs: Everything, settings, tmp_path: Path) -> None:
    settings.BACKUP_SOURCE_ROOTS = [tmp_path]
    settings.BACKUP_PLAN_REFRESH = False
    (tmp_path / "web.img").write_bytes(b"disk")
    secrets = [PASSWORD, VCENTER_PASSWORD, POLICY_VCENTER_PASSWORD, EM_TOKEN, WATTTIME_PASSWORD, HYPERSDK_KEY]

    get_user_model().objects.create_superuser("root-admin", password=PASSWORD)
    operator = get_user_model().objects.create_user("op-user", password=PASSWORD)
    set_role(operator, "operator")

    # Logins: wrong, then right, at the API, the dashboard and the Django admin.
    api = APIClient()
    assert api.post("/api/login", {"username": "op-user", "password": PASSWORD + "x"}, format="json").status_code == 401
    login = api.post("/api/login", {"username": "op-user", "password": PASSWORD}, format="json")
    token = login.json()["token"]
    secrets.append(token)
    assert Client().post("/login", {"username": "op-user", "password": PASSWORD + "y"}).status_code == 200
    assert Client().post("/login", {"username": "op-user", "password": PASSWORD}).status_code == 302
    browser = Client()
    browser.post("/admin/login/", {"username": "root-admin", "password": PASSWORD + "z"})
    assert browser.post("/admin/login/?next=/admin/", {"username": "root-admin", "password": PASSWORD}).status_code == 302

    # API keys: one made in the admin (shown once in its page), one by the command.
    page = browser.post("/admin/accounts/apikey/add/", {"name": "from-admin", "user": operator.pk}).content.decode()
    admin_key = re.search(r'value="(hwk_[^"]+)"', page).group(1)
    out = io.StringIO()
    call_command("apikey", "create", "--user", "op-user", "--name", "from-command", stdout=out, stderr=io.StringIO())
    command_key = out.getvalue().strip()
    secrets += [admin_key, command_key]
    keyed = APIClient()
    keyed.credentials(HTTP_X_API_KEY=admin_key)
    assert keyed.get("/status").status_code == 200
    wrong = APIClient()
    wrong.credentials(HTTP_X_API_KEY=command_key[:-2] + "zz")  # a near miss: logged as a failure?
    assert wrong.get("/status").status_code == 401
    bearer = APIClient()
    bearer.credentials(HTTP_AUTHORIZATION=f"Bearer {token}")

    # A job and a schedule with vCenter passwords, accepted and refused.
    vcenter = {"host": "vc.example", "username": "backup", "password": VCENTER_PASSWORD}
    accepted = bearer.post("/jobs/submit", {"vm_path": "web.img", "vcenter": vcenter}, format="json")
    assert accepted.status_code == 200, accepted.content
    refused = bearer.post(
        "/jobs/submit",
        {"vm_path": "web.img", "vcenter": vcenter, "metadata": {"carbon_zone": "NOPE"}},
        format="json",
    )
    assert refused.status_code in (200, 400)
    job_id = accepted.json()["job_ids"][0]
    for url in (f"/jobs/{job_id}", f"/jobs/logs/{job_id}", "/jobs"):
        assert VCENTER_PASSWORD not in bearer.get(url).content.decode()
    schedule = {
        "name": "nightly",
        "schedule": "0 22 * * *",
        "zone": "DE",
        "job_template": {"vm_path": "web.img", "vcenter": {**vcenter, "password": POLICY_VCENTER_PASSWORD}},
    }
    assert bearer.post("/schedules", schedule, format="json").status_code in (200, 201)
    assert keyed.post("/api/logout").status_code == 403  # (a key is not a token: refused, not echoed)
    assert bearer.post("/api/logout").status_code == 200

    # Provider tokens and passwords, on the failure paths (refused, server errors).
    with FakeServer() as server:
        server.route(r"/v3/.*", Reply(401, json={"error": f"bad token {EM_TOKEN}? no: invalid"}), Reply(500, body="boom"))
        server.route(r"/login", Reply(403, body="forbidden"))
        server.route(r"/v3/forecast.*|/v3/signal-index.*", Reply(500, body="down"))
        settings.ELECTRICITYMAPS_TOKEN = EM_TOKEN
        settings.ELECTRICITYMAPS_BASE_URL = server.url + "/v3"
        settings.WATTTIME_USERNAME = "wt-user"
        settings.WATTTIME_PASSWORD = WATTTIME_PASSWORD
        settings.WATTTIME_BASE_URL = server.url
        settings.CARBON_HTTP_RETRIES = 0
        settings.CARBON_ZONE_PROVIDERS = {"DE": ["electricitymaps"], "US-CAL-CISO": ["watttime"]}
        reset_providers()
        try:
            for code in ("DE", "US-CAL-CISO"):
                zone = Zone.objects.get(code=code)
                zone.providers = ""
                zone.save()
                refresh_zone(zone, force=True)
        finally:
            reset_providers()
        assert server.requests_to(r"/v3/.*"), "the Electricity Maps token was never used"
        assert server.requests_to(r"/login"), "the WattTime password was never used"

    # The HyperSDK key, refused by the daemon and then accepted.
    with FakeHypersdk(api_key="another-key") as daemon:
        spec = BackupSpec(job_id="j1", source="/dc/vm/web", target_dir="/x", name="web", format="ova", compress=True, options={})
        executor = HypersdkExecutor(daemon.url, HYPERSDK_KEY, poll_interval=0.0, http_timeout=5.0)
        logging.getLogger("test").info("executor: %r", executor)
        with pytest.raises(BackupError):
            executor.run(spec, report=lambda p: None, should_cancel=lambda: False, source_roots=[], target_root=Path("/"))

    text = "\n".join(logs.lines)
    assert len(logs.lines) > 20, text  # the scenario did log (logins, fetch failures, jobs...)
    # ...including the failures that name what failed (where a careless message would put a secret)
    assert re.search(r"electricitymaps.*(401|refused|unauthori)", text, re.I), text
    assert re.search(r"watttime.*(403|refused|login)", text, re.I), text
    assert re.search(r"hypersdk.*(401|key|refused|unauthori)", text, re.I), text
    shown = text + "\n".join(JobEvent.objects.values_list("message", flat=True))
    shown += "\n".join(str(a.error) for a in FetchAttempt.objects.all())
    leaked = [secret for secret in secrets if secret in shown]
    assert leaked == [], f"secrets in the logs: {leaked}"
