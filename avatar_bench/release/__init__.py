"""The released AVATAR benchmark (``mipal/AVATAR``) as an input: import it to AVATAR-COCO, score on it directly.

See docs/release.md. The public entry points:

- :func:`import_release` (``avatar-data import-release``): the metadata folder -> an AVATAR-COCO dataset;
- :func:`load_gt` (``avatar-eval --gt``): an AVATAR-COCO file, or a release folder converted in memory and
  cached by content hash;
- :func:`release_key`: the release's submission key of a frame, ``<folder>/<frame:05d>``.
"""

from avatar_bench.release.cache import cache_dir, load_gt, load_release
from avatar_bench.release.importer import IMPORT_VERSION, SOURCE, ImportResult, import_release
from avatar_bench.release.problems import Problem
from avatar_bench.release.tasks import parse_task_map

__all__ = ["IMPORT_VERSION", "KEYS", "SOURCE", "ImportResult", "Problem", "cache_dir", "import_release", "load_gt",
           "load_release", "parse_task_map", "release_key", "submission_keys"]

KEYS = ("auto", "id", "release")


def release_key(dataset, image) -> str:
    """The release's key of a frame, ``<video name>/<frame:05d>`` (what ``avatar-eval`` reads as a name key)."""
    from avatar_bench.naming import RELEASE_DIGITS, frame_id

    return frame_id(dataset.video_by_id[image.video_id].name, image.frame_index, RELEASE_DIGITS)


def submission_keys(dataset, heatmaps: dict, keys: str = "auto") -> dict:
    """Heatmaps keyed by image id re-keyed for a submission: ``"id"`` as they are, ``"release"`` by
    :func:`release_key`, ``"auto"`` the release's way for an imported release (``info.source``), else by id."""
    if keys not in KEYS:
        raise ValueError(f"expected keys in {KEYS}, got {keys!r}")
    if keys == "auto":
        keys = "release" if dataset.info.get("source") == SOURCE else "id"
    if keys == "id":
        return heatmaps
    return {release_key(dataset, dataset.image_by_id[i]): h for i, h in heatmaps.items()}
