"""A thin wrapper over ``label-studio-sdk`` 2.x: every call names what it did, and failures become PipelineError.

Label Studio being down, a bad token or a refused request all raise :class:`PipelineError` with the URL and the
operation (``Label Studio at http://127.0.0.1:8080: importing 100 tasks into project 3 failed: connection
refused``), so the CLI prints one line and the Prefect task fails with a readable message. The token is never
part of a message or a log line.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from pipeline.errors import PipelineError
from pipeline.settings import Settings, get_settings

log = logging.getLogger(__name__)
T = TypeVar("T")


TOKEN_HINT = ("expired or revoked? `python3 scripts/labelstudio.py token --reset` stores a new one "
              "(or set LABEL_STUDIO_API_KEY / LABEL_STUDIO_TOKEN_FILE)")


class ServiceUnavailable(PipelineError):
    """Label Studio could not be reached (down, restarting, network): the only failure worth a retry."""


def find_token(settings: Settings) -> str:
    """The personal access token: LABEL_STUDIO_API_KEY, LABEL_STUDIO_TOKEN_FILE, or the service script's file.

    Raises:
        PipelineError: none is set, or the one found is malformed (two lines, a carriage return, non-ASCII,
            not UTF-8, a file readable by others); the message names the source, never the token.
    """
    from pipeline.credentials import read_token_file

    token = settings.label_studio_token()
    if token:
        return token
    from pipeline.layout import WorkDir

    default = WorkDir(settings.work_dir).labelstudio_token  # where scripts/labelstudio.py stores it
    if default.exists():
        return read_token_file(default)
    raise PipelineError("no Label Studio token: set LABEL_STUDIO_API_KEY or LABEL_STUDIO_TOKEN_FILE, or start the "
                        "service with `python3 scripts/labelstudio.py start` (it stores one under the work dir)")


class LabelStudioClient:
    """Label Studio operations the review step needs, with errors turned into :class:`PipelineError`.

    The URL must be a plain base URL (no ``user:password@``, no ``?token=``) and the token one printable line:
    both are checked here, before anything is sent, so a bad one is named as such instead of surfacing as
    "cannot reach the server". Every message is scrubbed of the token.
    """

    def __init__(self, url: str, token: str, timeout_s: float = 120.0):
        from label_studio_sdk.client import LabelStudio  # heavy: imported where used
        from label_studio_sdk.core.api_error import ApiError

        from pipeline.credentials import check_service_url, check_token

        self.url = check_service_url(url)
        self._token = check_token(token, "the Label Studio token")
        try:
            self.sdk = LabelStudio(base_url=self.url, api_key=self._token, timeout=timeout_s)
        except ApiError as exc:  # the SDK checks a JWT's expiry itself, before any request
            raise PipelineError(f"Label Studio at {self.url}: the token was refused before any request: "
                                f"{self._body(exc)}; {TOKEN_HINT}") from None

    @classmethod
    def from_settings(cls, settings: Settings | None = None, timeout_s: float = 120.0) -> LabelStudioClient:
        settings = settings or get_settings()
        return cls(settings.label_studio_url, find_token(settings), timeout_s)

    def _body(self, exc: Any) -> str:
        from pipeline.credentials import scrub

        body = exc.body if isinstance(exc.body, str) else json.dumps(exc.body, default=str)
        return scrub((body or "")[:300], self._token)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run one SDK call; connection problems and HTTP errors become a PipelineError naming ``what``."""
        import httpx
        from label_studio_sdk.core.api_error import ApiError

        from pipeline.credentials import scrub

        try:
            return fn(*args, **kwargs)
        except (httpx.NetworkError, httpx.TimeoutException, httpx.RemoteProtocolError) as exc:  # down or dropped
            reason = scrub(str(exc) or type(exc).__name__, self._token)
            raise ServiceUnavailable(f"Label Studio at {self.url}: {what} failed: cannot reach the server ({reason}); "
                                     "is it running? (`python3 scripts/labelstudio.py status`)") from None
        except httpx.HTTPError as exc:  # a request that cannot be sent, or an answer that cannot be read
            raise PipelineError(f"Label Studio at {self.url}: {what} failed: {type(exc).__name__}: "
                                f"{scrub(str(exc), self._token)}") from None
        except ApiError as exc:
            hint = f" (the token was refused: {TOKEN_HINT})" if exc.status_code in (401, 403) else ""
            raise PipelineError(f"Label Studio at {self.url}: {what} failed: HTTP {exc.status_code}{hint}: "
                                f"{self._body(exc)}") from None

    # ------------------------------------------------------------------ projects and storage
    def check(self) -> str:
        """The e-mail of the token's user (proves the server answers and the token works)."""
        return self.call("checking the token (whoami)", self.sdk.users.whoami).email

    def find_project(self, title: str) -> int | None:
        """Id of the project with exactly this title (the oldest if a race ever made two), else None."""
        found = self.call(f"listing projects titled {title!r}", lambda: list(self.sdk.projects.list(title=title)))
        ids = [int(p.id) for p in found if p.title == title]
        return min(ids) if ids else None

    def ensure_project(self, title: str, label_config: str, static_config: str | None = None) -> int:
        """Id of the project with this title; created when absent, its labeling config updated when it differs.

        Args:
            static_config: the same config with every category list written out: used instead of
                ``label_config`` for a project made before per-task label lists (its config names no
                ``$mask_labels``), whose earlier tasks carry no lists of their own.
        """
        project_id = self.find_project(title)
        if project_id is None:
            project = self.call(f"creating project {title!r}", self.sdk.projects.create, title=title,
                                label_config=label_config)
            log.info("created Label Studio project %r (id %s)", title, project.id)
            return int(project.id)
        current = self.call(f"reading project {project_id}", self.sdk.projects.get, id=project_id)
        if static_config is not None and "$mask_labels" not in (current.label_config or ""):
            label_config = static_config  # keep its tasks labelable: they carry no per-task lists
        if (current.label_config or "").strip() != label_config.strip():
            self.call(f"updating the labeling config of project {project_id}", self.sdk.projects.update,
                      id=project_id, label_config=label_config)
        return project_id

    def ensure_local_storage(self, project_id: int, path: Path) -> int:
        """A local-files import storage for ``path`` (needed before ``/data/local-files/?d=`` URLs serve)."""
        path = str(Path(path).resolve())
        existing = self.call(f"listing local storages of project {project_id}", self.sdk.import_storage.local.list,
                             project=project_id)
        for storage in existing:
            if storage.path is not None and str(Path(storage.path)) == path:
                return int(storage.id)
        storage = self.call(f"creating a local-files storage for {path} in project {project_id}",
                            self.sdk.import_storage.local.create, project=project_id, path=path, use_blob_urls=True,
                            title=f"frames {Path(path).name}")
        return int(storage.id)

    # ------------------------------------------------------------------ tasks
    def existing_tasks(self, project_id: int, key: str = "frame_id") -> dict[str, int]:
        """``{data[key]: task id}`` of every task of the project (paged)."""
        def fetch() -> dict[str, int]:
            out: dict[str, int] = {}
            for task in self.sdk.tasks.list(project=project_id, page_size=500, fields="task_only"):
                value = (task.data or {}).get(key)
                if value is not None:
                    out.setdefault(str(value), int(task.id))
            return out

        return self.call(f"listing the tasks of project {project_id}", fetch)

    def started_tasks(self, project_id: int) -> set[int]:
        """Ids of the tasks someone has started: annotated, skipped, or with a draft (paged)."""
        def fetch() -> set[int]:
            return {int(t.id) for t in self.sdk.tasks.list(project=project_id, page_size=500, fields="task_only")
                    if (t.total_annotations or 0) + (t.cancelled_annotations or 0) > 0 or t.drafts}

        return self.call(f"listing the annotated tasks of project {project_id}", fetch)

    def replace_task(self, task_id: int, task: dict[str, Any]) -> None:
        """Give an existing task new ``data`` and make ``task["predictions"]`` its only predictions."""
        self.call(f"updating task {task_id}", self.sdk.tasks.update, id=str(task_id), data=task["data"])
        for old in self.call(f"listing the predictions of task {task_id}", self.sdk.predictions.list, task=task_id):
            self.call(f"deleting prediction {old.id} of task {task_id}", self.sdk.predictions.delete, id=old.id)
        for pred in task.get("predictions") or []:
            self.call(f"adding a prediction to task {task_id}", self.sdk.predictions.create, task=task_id, **pred)

    def import_tasks(self, project_id: int, tasks: list[dict[str, Any]]) -> list[int]:
        """Import tasks (data + predictions) in one request; return their ids in order."""
        resp = self.call(f"importing {len(tasks)} tasks into project {project_id}", self.sdk.projects.import_tasks,
                         id=project_id, request=tasks, return_task_ids=True)
        return [int(t) for t in (resp.task_ids or [])]

    def export_json(self, project_id: int) -> list[dict[str, Any]]:
        """Every annotated task of the project, as Label Studio's JSON export (brush RLE kept exactly)."""
        def fetch() -> list[dict[str, Any]]:
            chunks = self.sdk.projects.exports.download_sync(id=project_id, export_type="JSON",
                                                              download_all_tasks=False)
            return json.loads(b"".join(chunks) or b"[]")

        return self.call(f"exporting project {project_id} as JSON", fetch)

    def user_emails(self) -> dict[int, str]:
        """``{user id: e-mail}`` (the JSON export names annotators by id only)."""
        users = self.call("listing users", self.sdk.users.list)
        return {int(u.id): u.email or str(u.id) for u in users}

    def progress(self, project_id: int) -> dict[str, int]:
        """Task counts of a project: total, annotated (finished), with predictions."""
        p = self.call(f"reading project {project_id}", self.sdk.projects.get, id=project_id)
        return {"tasks": int(p.task_number or 0), "annotated": int(p.num_tasks_with_annotations or 0),
                "skipped": int(getattr(p, "skipped_annotations_number", 0) or 0)}
