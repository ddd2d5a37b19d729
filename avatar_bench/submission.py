"""Submissions (DESIGN §4): one heatmap per annotated frame, values in [0, 1], any resolution.

Accepted layouts::

    DIR/<key>.npy | DIR/<key>.png       a directory (keys with a '/' are files in a per-video folder)
    SUB.zip  with members <key>.npy|png  (a single top-level folder inside the zip is ignored)
    SUB.npz  (numpy.savez / savez_compressed; the array names are the keys)

    key = "<image id>"  or  "<video name>/<frame_index>"  (the frame index may be zero-padded)

``.npy``: a 2-D float16/32/64 or bool array. ``.png``: single channel, 8-bit (value/255) or 16-bit
(value/65535) or 1-bit. Every problem is found before anything is scored and reported together, each with
the frame or file it concerns (:class:`SubmissionError`); heatmaps are decoded one at a time, never all held.
"""

from __future__ import annotations

import io
import logging
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import numpy as np

from avatar_bench.errors import SubmissionError
from avatar_bench.format import AvatarDataset
from avatar_bench.heatmap import BadHeatmap, as_float, check_heatmap, read_errors, read_heatmap, value_problem
from avatar_bench.io import atomic_path
from avatar_bench.keys import KeyIndex, key_name, resolve_keys
from avatar_bench.submission_io import DirSource, Entry, Limits, ZipSource, open_source

log = logging.getLogger(__name__)

__all__ = ["Limits", "Submission", "SubmissionError", "check_heatmap", "open_submission", "scan_submission",
           "write_submission"]


def _strip_single_root(entries: list[Entry], video_names: Mapping[str, int]) -> list[Entry]:
    # `zip -r sub.zip sub/` puts every member under "sub/"; that folder is not part of the keys.
    roots = {e.name.split("/", 1)[0] for e in entries}
    if len(roots) != 1 or not all("/" in e.name for e in entries) or next(iter(roots)) in video_names:
        return entries
    cut = len(next(iter(roots))) + 1
    log.info("ignoring the archive's top-level folder %r", next(iter(roots)))
    return [Entry(name=e.name, key=e.key[cut:], kind=e.kind, size=e.size) for e in entries]


class Submission(Mapping[int, np.ndarray]):
    """A lazy, read-only mapping image id -> heatmap (float array in [0, 1]); decodes on each access."""

    def __init__(self, source: DirSource | ZipSource, entries: Mapping[int, Entry], keys: KeyIndex,
                 limits: Limits):
        self.source = source
        self.entries = dict(entries)
        self.limits = limits
        self._keys = keys

    @property
    def path(self) -> Path:
        return self.source.path

    def label(self, image_id: int) -> str:
        """How messages name a frame: ``<video>/<frame_index> (image <id>) (<file>)``."""
        return f"{self._keys.label(image_id)} ({self.entries[image_id].name})"

    def load(self, image_id: int) -> np.ndarray:
        """Decode and check one heatmap; raises :class:`BadHeatmap` with the reason."""
        entry = self.entries[image_id]
        if entry.size == 0:
            raise BadHeatmap("empty file (0 bytes)")
        with read_errors(entry.kind), self.source.open(entry) as fh:
            arr = read_heatmap(fh, entry.kind, self.limits)
        why = value_problem(arr)
        if why:
            raise BadHeatmap(why)
        return as_float(arr)

    def __getitem__(self, image_id: int) -> np.ndarray:
        try:
            return self.load(image_id)
        except BadHeatmap as exc:
            raise SubmissionError(f"frame {self.label(image_id)}: {exc}") from None

    def __iter__(self) -> Iterator[int]:
        return iter(self.entries)

    def __len__(self) -> int:
        return len(self.entries)

    def content_problems(self, image_ids: Iterable[int] | None = None) -> list[str]:
        """Decode every heatmap once (keeping none) and list what is wrong with each."""
        out = []
        for image_id in self.entries if image_ids is None else image_ids:
            try:
                self.load(image_id)
            except BadHeatmap as exc:
                out.append(f"frame {self.label(image_id)}: {exc}")
        return out


def _wanted(gt: AvatarDataset, scenarios: Iterable[str] | None) -> set[int]:
    chosen = set(scenarios) if scenarios else None
    return {im.id for im in gt.images if chosen is None or im.scenario in chosen}


def scan_submission(path: str | os.PathLike, gt: AvatarDataset, *, scenarios: Iterable[str] | None = None,
                    limits: Limits | None = None) -> tuple[Submission, list[str]]:
    """List a submission and check its structure (safety, keys, missing/extra frames) without decoding.

    Returns the lazy :class:`Submission` over the frames that resolved and the list of problems found.
    """
    limits = limits or Limits()
    wanted = _wanted(gt, scenarios)
    source = open_source(path)
    entries, problems = source.scan(limits, len(wanted))
    keys = KeyIndex(gt)
    if isinstance(source, ZipSource):
        entries = _strip_single_root(entries, keys.video_ids)
    by_name = {e.name: e for e in entries}
    index, key_problems = resolve_keys(((e.key, e.name) for e in entries), keys, wanted)
    sub = Submission(source, {i: by_name[name] for i, name in index.items()}, keys, limits)
    return sub, problems + key_problems


def raise_problems(path: object, problems: list[str]) -> None:
    """Raise one :class:`SubmissionError` listing ``problems`` (if any)."""
    if problems:
        raise SubmissionError(f"{path}: {len(problems)} problem(s) in the submission; nothing was scored",
                              problems)


def open_submission(path: str | os.PathLike, gt: AvatarDataset, *, scenarios: Iterable[str] | None = None,
                    check_content: bool = True, limits: Limits | None = None) -> Submission:
    """Validate a submission against ``gt`` and return it as a lazy mapping image id -> float heatmap.

    Args:
        path: a directory, ``.zip`` or ``.npz`` of heatmaps.
        gt: the ground truth whose frames the submission must cover.
        scenarios: only these scenarios' frames are required (default: all).
        check_content: decode every heatmap once (keeping none) to check dtype, dims, NaN/inf and range.
        limits: safety limits (zip bombs, sizes).

    Raises:
        SubmissionError: listing every problem, each with the frame or file it concerns.
    """
    sub, problems = scan_submission(path, gt, scenarios=scenarios, limits=limits)
    if check_content:
        problems += sub.content_problems()
    raise_problems(path, problems)
    return sub


# ---------------------------------------------------------------------------------------------- writing
def _encode(arr: np.ndarray, fmt: str) -> bytes:
    buf = io.BytesIO()
    if fmt == "npy":
        np.lib.format.write_array(buf, arr, allow_pickle=False)
    else:
        from PIL import Image

        Image.fromarray(np.round(arr.astype(np.float64) * 255).astype(np.uint8)).save(buf, format="PNG")
    return buf.getvalue()


def _items(heatmaps: Mapping, fmt: str, validate: bool, problems: list[str]) -> Iterator[tuple[str, bytes]]:
    seen: set[str] = set()
    for key, arr in heatmaps.items():
        try:
            name = key_name(key)
        except ValueError as exc:
            problems.append(str(exc))
            continue
        arr = np.asarray(arr)
        why = check_heatmap(arr) if validate else None
        if why or name in seen:
            problems.append(f"key {key!r}: {why or 'given twice'}")
            continue
        seen.add(name)
        yield f"{name}.{fmt}", _encode(arr, fmt)


def write_submission(path: str | os.PathLike, heatmaps: Mapping[int | str, np.ndarray], *, fmt: str = "npy",
                     compress: bool | None = None, validate: bool = True) -> Path:
    """Write heatmaps as a ``.npz`` (path ends in .npz), a ``.zip``, or a directory of ``<key>.<fmt>`` files.

    Streams: each heatmap is encoded and written before the next is requested, so a lazy mapping of any size
    fits in memory. The output appears atomically (temporary file or folder, then a rename).

    Args:
        path: output path; a directory must not exist yet or be empty.
        heatmaps: image id or "<video name>/<frame_index>" -> 2-D float array in [0, 1].
        fmt: "npy" (exact) or "png" (8-bit; not for .npz).
        compress: deflate the archive (default: yes for .zip, no for .npz).
        validate: refuse bad heatmaps (NaN, range, dims, dtype) and bad keys; False writes them as given.

    Raises:
        SubmissionError: listing every bad key/heatmap (nothing is written then).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if fmt not in ("npy", "png") or (suffix == ".npz" and fmt != "npy"):
        raise ValueError(f"expected fmt 'npy' (or 'png' outside .npz), got {fmt!r} for {path.name}")
    problems: list[str] = []
    if suffix in (".npz", ".zip"):
        method = zipfile.ZIP_DEFLATED if (suffix == ".zip" if compress is None else compress) else zipfile.ZIP_STORED
        with atomic_path(path) as tmp:
            with zipfile.ZipFile(tmp, "w", compression=method, allowZip64=True) as zf:
                for name, data in _items(heatmaps, fmt, validate, problems):
                    zf.writestr(name, data)
            raise_problems(path, problems)
        return path
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise SubmissionError(f"{path}: exists and is not an empty directory; refusing to mix with old files")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    try:
        for name, data in _items(heatmaps, fmt, validate, problems):
            (tmp_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp_dir / name).write_bytes(data)
        raise_problems(path, problems)
        os.replace(tmp_dir, path)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    return path
