import itertools

import pytest

from tests.review import services
from tests.review.dummies import CATEGORIES

_projects = itertools.count()


@pytest.fixture(scope="session")
def label_studio(tmp_path_factory):
    """A real Label Studio for the session (see tests/review/services.py)."""
    service = services.acquire(tmp_path_factory)
    yield service
    services.release()


@pytest.fixture
def review_config(label_studio):
    """A fresh project per test (its own title), the dummy categories, the session's document root."""
    from pipeline.review import ReviewConfig

    return ReviewConfig(project=f"test project {next(_projects)}", categories=list(CATEGORIES),
                        document_root=label_studio.env["LOCAL_FILES_DOCUMENT_ROOT"], chunk_size=4)
