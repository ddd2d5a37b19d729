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
def prefect_stack(request, tmp_path_factory):
    """Prefect server + process pool + `prefect deploy --all` + a worker, once per session."""
    base = tmp_path_factory.mktemp("prefect")
    ls_services.start_reaper(tmp_path_factory.getbasetemp())  # before the first service starts
    stack = PrefectStack(base)
    stack.spawn_server()  # boots while Label Studio starts
    try:
        stack.connect(request.getfixturevalue("label_studio"))
        stack.start()
        yield stack
    finally:
        stack.stop()
