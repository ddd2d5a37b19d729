"""VGGSound CSV rows → local 10 s clips (yt-dlp Python API + an ffmpeg cut).

The CSV is as released: no header, ``youtube_id,start_s,label,split``; it is read by the one VGGSound row
reader of the toolkit (:func:`avatar_bench.vggsound.read_rows`: line by line, so an unterminated quote spoils one
row, a BOM is ignored, inf/1e308 starts and over-long lines are reasons, not crashes). Ids may begin with ``-``
(``---g-f_I2yQ``): yt-dlp is always handed a full URL (a bare ``-abc`` could be taken for an option), ffmpeg gets
absolute paths as list arguments (never a shell string). Network errors are retried with exponential back-off;
unavailable, private or otherwise refused videos become rejected records with their reason, and the transient
ones (:data:`RETRYABLE`) are tried again by the next run.

Reason codes: ``malformed_row``, ``bad_id``, ``bad_split``, ``duplicate_id`` (reading); ``unavailable``,
``private``, ``age_restricted``, ``geo_blocked``, ``download_failed`` (download); ``cut_failed`` (ffmpeg).
"""

from __future__ import annotations

import logging
import os
import random
import shutil
import string
import subprocess
import tempfile
import time
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, as_completed, wait
from dataclasses import dataclass
from pathlib import Path

from avatar_bench import naming
from avatar_bench.io import atomic_path
from avatar_bench.vggsound import RowProblem, read_rows
from pipeline.config import StrictConfig, require
from pipeline.errors import PipelineError, Rejected
from pipeline.records import VideoRecord

log = logging.getLogger(__name__)

_RETRYABLE_STATUS = {408, 425, 429, 500, 502, 503, 504}
RETRYABLE = frozenset({"download_failed", "cut_failed"})  # transient: a rerun downloads these again
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")


@dataclass(slots=True, kw_only=True)
class DownloadConfig(StrictConfig):
    """How VGGSound clips are fetched and cut."""

    url_template: str = "https://www.youtube.com/watch?v={id}"  # tests point it at a local server
    format: str = "bv*[height<=720]+ba/b[height<=720]/bv*+ba/b"  # <=720p is plenty for >=360p frames
    clip_s: float = 10.0  # VGGSound clips are 10 s from start_s
    retries: int = 3  # extra attempts after a network error
    backoff_s: float = 2.0  # first wait; doubles each attempt (with jitter)
    socket_timeout_s: float = 30.0
    workers: int = 4  # parallel downloads (I/O bound: threads)
    crf: int = 18  # re-encode quality: the cut is frame-accurate, not keyframe-aligned
    preset: str = "veryfast"

    def validate(self) -> None:
        check_url_template(self.url_template)
        require(self.clip_s > 0, "download.clip_s", "a positive length in seconds", self.clip_s)
        for name in ("retries", "backoff_s"):
            require(getattr(self, name) >= 0, f"download.{name}", "0 or more", getattr(self, name))
        require(self.socket_timeout_s > 0, "download.socket_timeout_s", "a positive timeout", self.socket_timeout_s)
        require(self.workers >= 1, "download.workers", "at least 1", self.workers)
        require(0 <= self.crf <= 51, "download.crf", "0..51 (x264)", self.crf)
        require(self.preset in X264_PRESETS, "download.preset", f"one of {X264_PRESETS}", self.preset)


def check_url_template(template: str) -> None:
    """A download URL template must hold ``{id}`` (and no other field): else every row would fetch one URL."""
    try:
        fields = [f for _, f, _, _ in string.Formatter().parse(template) if f is not None]
    except ValueError as exc:  # "{id" or a stray "}"
        raise PipelineError(f"setting download.url_template: expected a URL with {{id}}, got {template!r} ({exc}; "
                            "write a literal brace as {{ or }})") from None
    other = sorted({f for f in fields if f != "id"})
    if other:
        raise PipelineError(f"setting download.url_template: only {{id}} can be filled in, got "
                            f"{', '.join('{' + f + '}' for f in other)} in {template!r}")
    if "id" not in fields:
        raise PipelineError(f"setting download.url_template: expected {{id}} in the URL (where the YouTube id "
                            f"goes), got {template!r}: every row would download the same video")


def read_vggsound_csv(path: str | os.PathLike) -> Iterator[VideoRecord]:
    """Records of a VGGSound CSV (read by :func:`avatar_bench.vggsound.read_rows`); bad rows come out rejected.

    A bad row gets the key ``csv-line-<n>`` and the reader's reason (``malformed_row``, ``bad_id``,
    ``bad_split``); a repeated clip id gets ``<video_id>#line<n>`` (``duplicate_id``), so no row is lost and no
    key collides.
    """
    seen: set[str] = set()
    for row in read_rows(path):
        if isinstance(row, RowProblem):
            record = VideoRecord(video_id=f"csv-line-{row.line:06d}", source="vggsound")
            record.reject(row.reason, row.detail)
            yield record
            continue
        record = VideoRecord(video_id=row.name, source="vggsound", label=row.label, split=row.split,
                             start_s=float(row.start_s))
        if row.name in seen:
            record.video_id = f"{row.name}#line{row.line}"
            record.reject("duplicate_id", f"line {row.line}: clip {row.name} already listed earlier in the CSV")
        seen.add(row.name)
        yield record


def prepare_vggsound(csv_path: str | os.PathLike, videos_dir: str | os.PathLike, config: DownloadConfig | None = None,
                     skip: set[str] | frozenset[str] = frozenset(), fetch: bool = True) -> Iterator[VideoRecord]:
    """Read a VGGSound CSV and download its clips (``config.workers`` at a time), yielding every record.

    Args:
        csv_path: the CSV (no header).
        videos_dir: where ``<video_id>.mp4`` clips go.
        config: download settings.
        skip: ids already recorded by an earlier run (not yielded again).
        fetch: download here; ``False``: ok rows come out without a ``path``, for :func:`fetch_clips` later
            (chunk by chunk, on other machines).

    Yields:
        One :class:`VideoRecord` per CSV row (ok with its local path, or rejected with a reason), in
        completion order.
    """
    rows = (r for r in read_vggsound_csv(csv_path) if r.video_id not in skip)
    if not fetch:
        yield from rows
        return
    bad: list[VideoRecord] = []

    def good_rows() -> Iterator[VideoRecord]:
        for record in rows:
            if record.ok:
                yield record
            else:
                bad.append(record)

    for record in fetch_clips(good_rows(), videos_dir, config):
        yield from bad
        bad.clear()
        yield record
    yield from bad


def fetch_clips(records: Iterable[VideoRecord], videos_dir: str | os.PathLike,
                config: DownloadConfig | None = None) -> Iterator[VideoRecord]:
    """Download and cut the clips of ok CSV records (``config.workers`` at a time, a bounded queue: a 70k-row
    CSV is not queued at once); yield each record with its ``path`` or rejected with a reason, as they finish."""
    config = config or DownloadConfig()
    with ThreadPoolExecutor(max_workers=max(1, config.workers)) as pool:
        pending = set()
        for record in records:
            pending.add(pool.submit(download_clip, record, videos_dir, config))
            if len(pending) >= 2 * max(1, config.workers):
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                yield from (f.result() for f in done)
        for future in as_completed(pending):
            yield future.result()


def download_clip(record: VideoRecord, videos_dir: str | os.PathLike, config: DownloadConfig) -> VideoRecord:
    """Fetch and cut one clip to ``<videos_dir>/<video_id>.mp4``; an existing clip is kept as it is.

    Returns the record with ``path`` set (status ok) or rejected with a reason code.
    """
    final = (Path(videos_dir) / naming.clip_file_name(record.video_id)).resolve()
    if final.exists() and final.stat().st_size > 0:
        record.path = str(final)
        return record
    final.parent.mkdir(parents=True, exist_ok=True)
    url = config.url_template.format(id=naming.split_clip_name(record.video_id)[0])
    with tempfile.TemporaryDirectory(prefix=".dl-", dir=final.parent) as tmp:
        try:
            full = _fetch_with_retries(url, Path(tmp), record.video_id, config)
            _cut(full, final, float(record.start_s or 0.0), config, record.video_id)
        except Rejected as exc:
            record.reject(exc.reason, exc.detail)
            return record
    record.path = str(final)
    return record


def _fetch_with_retries(url: str, tmp: Path, video_id: str, config: DownloadConfig) -> Path:
    attempt = 0
    while True:
        try:
            return _fetch(url, tmp, config)
        except Exception as exc:  # noqa: BLE001 - yt-dlp raises many types; classified below
            reason = classify_download_error(exc)
            if reason is not None:
                raise Rejected(reason, f"video {video_id}: {url} could not be downloaded: {_first_line(exc)}") from exc
            if attempt >= config.retries:
                raise Rejected("download_failed", f"video {video_id}: network error after {attempt + 1} attempts: "
                                                  f"{_first_line(exc)}") from exc
            wait = config.backoff_s * 2**attempt * (1 + 0.25 * random.random())  # noqa: S311 - jitter, not crypto
            log.info("video %s: network error (%s); retry %d in %.1f s", video_id, _first_line(exc), attempt + 1, wait)
            time.sleep(wait)
            attempt += 1
            for leftover in tmp.iterdir():  # a partial file must not be resumed from a bad state
                leftover.unlink()


def _fetch(url: str, tmp: Path, config: DownloadConfig) -> Path:
    import yt_dlp

    opts = {
        "outtmpl": {"default": str(tmp / "full.%(ext)s")}, "format": config.format, "noplaylist": True,
        "quiet": True, "no_warnings": True, "noprogress": True, "logger": _YtdlpLog(),
        "retries": 0, "fragment_retries": 0, "extractor_retries": 0,  # retries are ours, on network errors only
        "socket_timeout": config.socket_timeout_s, "cachedir": False, "overwrites": True,
        "merge_output_format": "mp4",
    }
    with yt_dlp.YoutubeDL(opts) as ydl:
        info = ydl.extract_info(url, download=True)
    files = [d.get("filepath") for d in (info or {}).get("requested_downloads", []) if d.get("filepath")]
    files = files or [str(p) for p in tmp.glob("full.*")]
    if not files or not os.path.exists(files[0]):
        raise RuntimeError(f"yt-dlp reported no file for {url}")
    return Path(files[0])


def classify_download_error(exc: BaseException) -> str | None:
    """Reason code of a failed download, or None when it is a network error worth retrying."""
    from yt_dlp.networking.exceptions import HTTPError, TransportError
    from yt_dlp.utils import ContentTooShortError

    chain = _chain(exc)
    text = " ".join(str(e) for e in chain).lower()
    for e in chain:
        if isinstance(e, HTTPError):
            return None if e.status in _RETRYABLE_STATUS else ("unavailable" if e.status in (404, 410)
                                                               else "download_failed")
    if "private video" in text:
        return "private"
    if "sign in to confirm your age" in text or "age-restricted" in text:
        return "age_restricted"
    if "not available in your country" in text or "geo restrict" in text:
        return "geo_blocked"
    if any(s in text for s in ("video unavailable", "has been removed", "video is not available", "http error 404",
                               "http error 410", "account associated with this video has been terminated")):
        return "unavailable"
    if any(isinstance(e, (TransportError, ContentTooShortError, TimeoutError, ConnectionError)) for e in chain):
        return None
    if any(s in text for s in ("timed out", "connection reset", "connection refused", "temporary failure",
                               "http error 5", "http error 429", "bytes read")):
        return None
    return "download_failed"


def _chain(exc: BaseException) -> list[BaseException]:
    out, seen = [], set()
    stack: list[BaseException | None] = [exc]
    while stack:
        e = stack.pop()
        if e is None or id(e) in seen:
            continue
        seen.add(id(e))
        out.append(e)
        info = getattr(e, "exc_info", None)
        stack += [e.__cause__, e.__context__, getattr(e, "cause", None),
                  info[1] if isinstance(info, tuple) and len(info) > 1 else None]
    return [e for e in out if isinstance(e, BaseException)]


def _cut(src: Path, dst: Path, start_s: float, config: DownloadConfig, video_id: str) -> None:
    """Cut ``[start_s, start_s + clip_s)`` with a frame-accurate re-encode (H.264 + AAC), atomically."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        from avatar_bench.errors import MissingDependencyError

        raise MissingDependencyError("ffmpeg (system package)", "pipeline")
    with atomic_path(dst) as tmp:  # a failed or interrupted cut leaves nothing behind
        cmd = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y", "-ss", f"{start_s:.3f}", "-i", str(src),
               "-t", f"{config.clip_s:.3f}", "-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset",
               config.preset, "-crf", str(config.crf), "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "128k",
               "-movflags", "+faststart", "-f", "mp4", str(tmp)]
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace", check=False)
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
            raise Rejected("cut_failed", f"video {video_id}: ffmpeg could not cut the download: {tail}")


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


class _YtdlpLog:
    """Route yt-dlp's messages to logging (it prints to the terminal otherwise)."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.debug("yt-dlp warning: %s", msg)

    def error(self, msg: str) -> None:
        log.debug("yt-dlp error: %s", msg)
