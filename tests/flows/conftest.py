import pytest

from tests.flows.services import PrefectStack
from tests.review import services as ls_services


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """The session's Label Studio (shared with tests/review; see tests/review/services.py)."""
    service = ls_services.acquire(tmp_path_factory)
    yield service
    ls_services.release()


@pytest.fixture(scope="session")
def prefect_server(tmp_path_factory):
    """A real Prefect server (its own PREFECT_HOME and AVATAR_WORK_DIR), spawned once per session; call
    ``wait_healthy()`` before the first request."""
    ls_services.start_reaper(tmp_path_factory.getbasetemp())  # before the first service starts
    stack = PrefectStack(tmp_path_factory.mktemp("prefect"))
    stack.spawn_server()
    try:
        yield stack
    finally:
        stack.stop()


@pytest.fixture(scope="session")
def prefect_stack(request, prefect_server):
    """The server + process pool + `prefect deploy --all` + a worker, with Label Studio in the worker's env."""
    prefect_server.connect(request.getfixturevalue("label_studio"))  # Label Studio starts while the server boots
    prefect_server.start()
    yield prefect_server
    prefect_server.stop_worker()
