"""One settings object read from the environment: paths, service URLs, tokens (never logged)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from avatar_bench.paths import avatar_home


@dataclass(frozen=True)
class Settings:
    """Where things live and how services are reached.

    Environment variables:
        AVATAR_HOME: model cache and default work dir root (default: ``$XDG_CACHE_HOME/avatar``).
        AVATAR_WORK_DIR: pipeline outputs (default: ``./work``).
        LABEL_STUDIO_URL: Label Studio base URL (default ``http://127.0.0.1:8080``).
        LABEL_STUDIO_API_KEY: personal access token; else read from LABEL_STUDIO_TOKEN_FILE.
        LABEL_STUDIO_TOKEN_FILE: file holding the token (written 0600 by scripts/labelstudio.sh).
    """

    home: Path = field(default_factory=avatar_home)
    work_dir: Path = field(default_factory=lambda: Path(os.environ.get("AVATAR_WORK_DIR", "work")))
    label_studio_url: str = field(default_factory=lambda: os.environ.get("LABEL_STUDIO_URL",
                                                                         "http://127.0.0.1:8080"))
    label_studio_token_file: Path | None = field(
        default_factory=lambda: Path(p) if (p := os.environ.get("LABEL_STUDIO_TOKEN_FILE")) else None)

    @property
    def models_dir(self) -> Path:
        return self.home / "models"

    def label_studio_token(self) -> str | None:
        """The token from LABEL_STUDIO_API_KEY or LABEL_STUDIO_TOKEN_FILE; ``None`` when neither is set.

        Raises:
            PipelineError: the one set is malformed or the file is readable by others (:mod:`pipeline.credentials`).
        """
        from pipeline.credentials import check_token, read_token_file

        token = os.environ.get("LABEL_STUDIO_API_KEY")
        if token:
            return check_token(token, "LABEL_STUDIO_API_KEY")
        if self.label_studio_token_file:
            return read_token_file(self.label_studio_token_file)
        return None

    def __repr__(self) -> str:  # never print the token, nor credentials someone put in the URL
        from pipeline.credentials import redact_url

        return (f"Settings(home={str(self.home)!r}, work_dir={str(self.work_dir)!r}, "
                f"label_studio_url={redact_url(self.label_studio_url)!r})")


def get_settings() -> Settings:
    return Settings()
