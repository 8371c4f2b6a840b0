"""One conftest for the whole suite: test data, users, clients, a clean queue and a real worker."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from config.env import load_dotenv
from nstsite import embedded

ROOT = Path(__file__).resolve().parent.parent
TESTDATA = Path(os.environ.get("NSTSITE_TESTDATA", ROOT.parent / "shared" / "testdata"))
ARTIFACTS = Path(os.environ.get("NSTSITE_TEST_ARTIFACTS", ROOT / "test-artifacts"))
QUEUES = ("style", "style-slow", "gatys-vgg19", "faces")
PASSWORD = "a-Strong-pass-4-tests"
BURST_WORKER = "pytest-burst-worker"
# How long a test waits for a state (a job running, a page showing a result) before it fails. A bound
# for a busy machine ten times slower than a quiet one, never a timing assertion: a passing test
# returns as soon as the state is reached, so only a failing one ever waits this long.
PATIENCE = float(os.environ.get("NSTSITE_TEST_PATIENCE", 600))
PATIENCE_MS = int(PATIENCE * 1000)  # the same, for Playwright's waits on a job's result
BROWSER_STEP_MS = 60_000  # one click, fill or page load: seconds on a quiet machine, far less than this


def pytest_configure(config: pytest.Config) -> None:
    """Start this test process's own embedded PostgreSQL and Redis, then load the settings (which start nothing).

    The services live under var/test/, apart from `make run`'s data, unless DATABASE_URL/REDIS_URL name
    others. Under pytest-xdist (`make test` runs two processes) each worker gets its own pair under
    var/test/<worker id>: tests stop and restart the suite's Redis and empty its queues, so they must
    not share one. The controller runs no test and starts nothing. pytest.ini names no settings module
    on purpose: pytest-django would import the settings before this hook; it sets Django up right
    after it instead (its documented pytest_configure route).
    """
    load_dotenv()
    worker = getattr(config, "workerinput", {}).get("workerid", "")  # "gw0"…; set before this hook runs
    if worker:
        # Two workers on two cores: one intra-op thread each (torch and onnxruntime read it), as CI's
        # stress run uses, instead of four threads fighting over two cores.
        os.environ.setdefault("OMP_NUM_THREADS", "1")
    elif config.getoption("dist", "no") != "no":
        # The xdist controller: it must not set Django up either, or its workers would inherit
        # DJANGO_SETTINGS_MODULE and pytest-django would load the settings before this hook.
        return
    embedded.configure_environment(embedded.var_dir() / "test" / worker)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.conf import settings

    settings.INSTALLED_APPS  # noqa: B018 - loads the settings now, so pytest-django sets Django up


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files with a ``slow`` or ``browser`` test run first (in their usual order; the rest follow in theirs).

    pytest-xdist hands out whole files in this order, so the long scenarios start at once on both
    workers instead of keeping one busy alone at the end.
    """
    slow_files = {item.path for item in items if item.get_closest_marker("slow") or item.get_closest_marker("browser")}
    items.sort(key=lambda item: item.path not in slow_files)


@pytest.fixture(scope="session")
def testdata() -> Path:
    """The shared real-image test data (``$NSTSITE_TESTDATA``, default ``../shared/testdata``)."""
    if not TESTDATA.is_dir():
        pytest.skip(f"test data folder {TESTDATA} is absent (set NSTSITE_TESTDATA)")
    return TESTDATA


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _media_root(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    """Every test that touches Django gets its own empty MEDIA_ROOT."""
    if "settings" in request.fixturenames or request.node.get_closest_marker("django_db"):
        settings = request.getfixturevalue("settings")
        settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _clean_cache(request: pytest.FixtureRequest) -> None:
    """Throttle counters live in the shared cache: start each DB test from zero."""
    if request.node.get_closest_marker("django_db"):
        from django.core.cache import cache

        cache.clear()


@pytest.fixture
def user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("alice", "alice@example.com", PASSWORD)


@pytest.fixture
def other_user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("mallory", "mallory@example.com", PASSWORD)


@pytest.fixture
def staff_user(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("stella", "stella@example.com", PASSWORD, is_staff=True)


@pytest.fixture
def api_client():  # type: ignore[no-untyped-def]
    from rest_framework.test import APIClient

    return APIClient()


@pytest.fixture
def user_api(api_client, user):  # type: ignore[no-untyped-def]
    api_client.force_authenticate(user)
    return api_client


@pytest.fixture
def queues() -> Iterator[dict[str, object]]:
    """The real RQ queues on the test Redis, emptied before and after the test."""
    import django_rq
    from rq.job import Job
    from rq.registry import FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry

    def _empty() -> None:
        for name in QUEUES:
            queue = django_rq.get_queue(name)
            queue.empty()
            for registry in (FailedJobRegistry, FinishedJobRegistry, StartedJobRegistry):
                reg = registry(queue=queue)
                for job_id in reg.get_job_ids(cleanup=False) if registry is StartedJobRegistry else reg.get_job_ids():
                    queue.connection.delete(Job.key_for(job_id))
                queue.connection.delete(reg.key)

    from nstsite.capabilities import withdraw

    _empty()
    advertise_burst_worker()
    yield {name: django_rq.get_queue(name) for name in QUEUES}
    withdraw(BURST_WORKER)
    _empty()


def advertise_burst_worker(*, gatys_flops: float | None = None) -> None:
    """Advertise the burst worker that ``run_worker`` starts later, with this process's real capabilities.

    The web tier accepts Gatys only when a live worker can run it, and estimates with the throughput
    that worker advertises. ``gatys_flops`` replaces the measured figure for every loss network, so a
    test's expectation and the service's estimate read one number whatever this CPU's speed. The
    record lives as long as the test (``queues`` withdraws it), never racing a TTL on a slow machine.
    """
    import dataclasses

    from nstsite.capabilities import advertise
    from nstsite.worker import capabilities_of

    record = capabilities_of(BURST_WORKER, list(QUEUES))
    if gatys_flops is not None:
        networks = {name: {**info, "flops": gatys_flops} for name, info in record.loss_networks.items()}
        record = dataclasses.replace(record, loss_networks=networks)
    advertise(record, ttl=24 * 3600)


@pytest.fixture
def no_live_workers() -> Iterator[None]:
    """No worker capability record in Redis (as if every worker had stopped; a killed one's expires later)."""
    import django_rq

    from nstsite.capabilities import KEY_PREFIX

    redis = django_rq.get_connection("style")
    for key in redis.scan_iter(match=KEY_PREFIX + "*"):
        redis.delete(key)
    yield
    for key in redis.scan_iter(match=KEY_PREFIX + "*"):
        redis.delete(key)


@pytest.fixture
def run_worker(queues: dict[str, object]) -> Callable[..., int]:
    """Run a real nstsite worker in burst mode on the given queues; returns jobs processed."""
    import django_rq
    from rq.registry import FailedJobRegistry, FinishedJobRegistry

    from nstsite.worker import WarmWorker

    def _done(names: tuple[str, ...]) -> int:
        return sum(
            registry(queue=django_rq.get_queue(n)).count
            for n in names
            for registry in (FinishedJobRegistry, FailedJobRegistry)
        )

    def _run(*names: str) -> int:
        # "style" means the style workers as `make run` starts them: quick and slow (Gatys, labs) work.
        style = ("style", "style-slow", "gatys-vgg19")
        names = tuple(q for n in names or QUEUES for q in (style if n == "style" else (n,)))
        names = tuple(dict.fromkeys(names))
        before = _done(names)
        worker = WarmWorker([django_rq.get_queue(n) for n in names], connection=django_rq.get_connection(names[0]))
        worker.work(burst=True)
        return _done(names) - before

    return _run


CHROMIUM = os.environ.get("NSTSITE_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser():  # type: ignore[no-untyped-def]
    """Headless Debian Chromium driven by Playwright (its own browser download cannot work here)."""
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} is absent: install Debian's chromium package (make test does, as root)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop; Django must allow ORM calls from the test thread.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"],
        )  # fmt: skip
        yield instance
        instance.close()


@pytest.fixture
def page(browser, live_server):  # type: ignore[no-untyped-def]
    """A fresh browser page whose relative URLs go to the live test server."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(BROWSER_STEP_MS)
    page = context.new_page()
    yield page
    context.close()


def log_in(page, username: str, password: str = PASSWORD) -> None:  # type: ignore[no-untyped-def]
    page.goto("/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("main button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


@pytest.fixture
def live_worker(transactional_db, settings, queues):  # type: ignore[no-untyped-def]
    """A real worker process on both queues, using the test database and media folder.

    For browser tests: the page under test enqueues jobs and this worker runs them, as in `make run`.
    """
    import subprocess
    import sys

    from django.db import connection

    database_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/" + connection.settings_dict["NAME"]
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        # VGG19 only (its weights are a download); Gatys on mobilenet-v2, the default, uses real weights.
        "STYLE_GATYS_RANDOM_WEIGHTS": "true" if settings.STYLE_GATYS_RANDOM_WEIGHTS else "false",
        "WORKER_WARMUP": "true",
        "FACES_DETECT_ON_UPLOAD": "true" if settings.FACES_DETECT_ON_UPLOAD else "false",
    }
    log = ARTIFACTS / f"worker-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}.log"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = f"live-worker-{os.getpid()}-{secrets.token_hex(3)}"
    with log.open("w") as output:
        process = subprocess.Popen(
            [sys.executable, str(ROOT / "manage.py"), "rqworker", *QUEUES,
             "--worker-class", "nstsite.worker.WarmWorker", "--name", name],
            env=env, stdout=output, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_until_advertised(process, name)
        yield process
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def wait_until_advertised(process, name: str, seconds: float = PATIENCE) -> None:  # type: ignore[no-untyped-def]
    """Wait until the worker ``process`` has started and advertised its capabilities (pages ask for them)."""
    import time

    from nstsite.capabilities import live

    deadline = time.monotonic() + seconds
    while not any(w.worker == name for w in live()):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError("the worker did not start; see its log in test-artifacts/")
        time.sleep(0.2)
