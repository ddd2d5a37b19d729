"""The release's folder layout: which video folders and frame files there are, and where the images lie.

::

    METADATA_DIR/<youtube_id>_<start:05d>/<frame:05d>.json    one file per annotated frame
    METADATA_DIR/<youtube_id>_<start:05d>/<frame:05d>.jpg     its image, beside it ...
    FRAMES_DIR/<youtube_id>_<start:05d>/<frame:05d>.jpg       ... or in a parallel tree (default ../frames)

Every folder is listed once with ``os.scandir`` (no per-file ``stat``). Hidden files are ignored.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from avatar_bench.errors import ReleaseError
from avatar_bench.naming import split_clip_name, split_frame_file
from avatar_bench.release.problems import Problem

IMAGE_EXTS = ("jpg", "jpeg", "png")


@dataclass(slots=True)
class Folder:
    """One video folder: its frame JSONs (frame index -> file name) and images (frame index -> file name)."""

    name: str
    jsons: dict[int, str] = field(default_factory=dict)
    images: dict[int, str] = field(default_factory=dict)


@dataclass
class Layout:
    """What a metadata folder holds; ``problems`` are the layout's findings (errors and warnings)."""

    root: Path
    folders: list[Folder]
    frames_root: Path | None  # where the images are (None: nowhere)
    images_beside: bool
    problems: list[Problem]

    @property
    def n_frames(self) -> int:
        return sum(len(f.jsons) for f in self.folders)

    def json_paths(self) -> list[tuple[Folder, int, str]]:
        """``(folder, frame index, path)`` of every frame JSON, in folder then frame order."""
        root = str(self.root)
        return [(f, i, prefix + name) for f in self.folders if (prefix := os.path.join(root, f.name, ""))
                for i, name in sorted(f.jsons.items())]


def _entries(path: Path) -> list[os.DirEntry]:
    with os.scandir(path) as it:
        return [e for e in it if not e.name.startswith(".")]


def _list_folder(root: Path, name: str, problems: list[Problem]) -> Folder:
    folder = Folder(name)
    for entry in _entries(root / name):
        try:
            index, ext = split_frame_file(entry.name)
        except ValueError:
            index, ext = -1, ""
        if ext == "json" and entry.is_file():
            if index in folder.jsons:
                problems.append(Problem("duplicate_frame", f"{name}/{entry.name}",
                                        f"frame {index} is also {folder.jsons[index]}"))
            folder.jsons[index] = entry.name
        elif ext in IMAGE_EXTS and entry.is_file():
            folder.images[index] = entry.name
        else:
            problems.append(Problem("unexpected_file", f"{name}/{entry.name}",
                                    "not a '<frame>.json' or '<frame>.jpg' file, ignored"))
    return folder


def _not_release(root: Path, n_dirs: int, n_files: int) -> ReleaseError:
    hint = ""
    if (root / "metadata").is_dir():
        hint = f"; it holds a 'metadata' folder: pass {root / 'metadata'}"
    elif any(_is_frame_json(e.name) for e in _entries(root)):
        hint = "; it holds frame JSONs itself: pass the folder above it (the one holding every video folder)"
    return ReleaseError(f"{root}: not the release's metadata folder", [str(Problem(
        "not_release", ".", f"expected <youtube_id>_<start>/<frame>.json files, found {n_dirs} folder(s) and "
        f"{n_files} file(s) without any{hint}"))])


def _is_frame_json(name: str) -> bool:
    try:
        return split_frame_file(name)[1] == "json"
    except ValueError:
        return False


def _images_parallel(layout_root: Path, folders: list[Folder], frames_dir: Path | None) -> Path | None:
    """Fill ``folder.images`` from a parallel tree; returns its root (None when there is none)."""
    root = frames_dir if frames_dir is not None else layout_root.parent / "frames"
    if not root.is_dir() or root.resolve() == layout_root.resolve():
        return None
    for folder in folders:
        if (root / folder.name).is_dir():
            for entry in _entries(root / folder.name):
                try:
                    index, ext = split_frame_file(entry.name)
                except ValueError:
                    continue
                if ext in IMAGE_EXTS:
                    folder.images[index] = entry.name
    return root


def scan(root: str | os.PathLike, frames_dir: str | os.PathLike | None = None) -> Layout:
    """List ``root``; raises :class:`ReleaseError` when it is missing, empty or not the release's layout.

    Video folders whose name has no start, and folders without a frame JSON, are errors collected in
    ``Layout.problems`` (the caller raises them with the frames' errors, so every error is reported at once).
    """
    root = Path(root)
    if not root.is_dir():
        what = "is a file (an AVATAR-COCO file is read as it is, without import)" if root.is_file() else "not found"
        raise ReleaseError(f"{root}: expected the release's metadata folder", [f"{root}: {what}"])
    if frames_dir is not None and not Path(frames_dir).is_dir():
        raise ReleaseError(f"{frames_dir}: expected the folder of frame images", [f"{frames_dir}: not found"])
    entries = _entries(root)
    if not entries:
        raise ReleaseError(f"{root}: empty folder", [str(Problem("empty_folder", ".", "nothing to import"))])
    problems: list[Problem] = []
    dirs = sorted(e.name for e in entries if e.is_dir())
    folders = [_list_folder(root, name, problems) for name in dirs]
    if not any(f.jsons for f in folders):
        raise _not_release(root, len(dirs), len(entries) - len(dirs))
    problems += [Problem("unexpected_file", e.name, "a file beside the video folders, ignored")
                 for e in entries if not e.is_dir()]
    for folder in folders:
        try:
            split_clip_name(folder.name)
        except ValueError:
            problems.append(Problem("no_start", folder.name + "/",
                                    "expected a folder named '<youtube_id>_<start seconds>', found no start"))
        if not folder.jsons:
            problems.append(Problem("empty_folder", folder.name + "/", "no '<frame>.json' file in this folder"))
    beside = frames_dir is None and any(f.images for f in folders)
    if frames_dir is not None:  # the user's choice wins over images beside the JSONs
        for folder in folders:
            folder.images.clear()
    frames_root = root if beside else _images_parallel(root, folders, None if frames_dir is None else Path(frames_dir))
    return Layout(root, folders, frames_root, beside, problems)
