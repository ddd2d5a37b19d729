"""Names and ids of AVATAR clips and frames: the one owner of every id and file-name formula.

Two conventions exist and both are written here once:

=====================  ==================================  ==================================
thing                  the toolkit (pipeline, synth)       the released benchmark (mipal/AVATAR)
=====================  ==================================  ==================================
clip name              ``<youtube_id>_<start:06d>``        ``<youtube_id>_<start:05d>``
frame id / key         ``<clip>/<frame_index:06d>``        ``<clip>/<frame:05d>``
frame file             ``<clip>/<frame_index:06d>.jpg``    ``<clip>/<frame:05d>.jpg``
=====================  ==================================  ==================================

YouTube ids may begin with ``-`` and contain ``_`` (``---g-f_I2yQ``), so a clip name is split on its
*last* ``_``. Readers accept any zero-padding of a frame index (``v/12`` and ``v/000012`` are one frame);
writers always pad.
"""

from __future__ import annotations

import re

CLIP_DIGITS = 6  # the toolkit's zero-padding of a clip's start second and of a frame index
RELEASE_DIGITS = 5  # the released benchmark's
YOUTUBE_ID = re.compile(r"[A-Za-z0-9_-]{11}")
_INDEX = re.compile(r"[0-9]{1,12}")  # ASCII digits only: re's \d also takes "٣" and int() would read it


def clip_name(youtube_id: str, start_s: float, digits: int = CLIP_DIGITS) -> str:
    """The clip name of a VGGSound row: ``"<youtube_id>_<start:06d>"``, e.g. ``"---g-f_I2yQ_000001"``."""
    return f"{youtube_id}_{int(start_s):0{digits}d}"


def split_clip_name(name: str) -> tuple[str, int]:
    """``(youtube_id, start_s)`` of a clip name, split on the last ``_``.

    Raises:
        ValueError: no ``_<digits>`` suffix (the message names the name).
    """
    head, sep, tail = name.rpartition("_")
    if not sep or not head or not _INDEX.fullmatch(tail):
        raise ValueError(f"clip name {name!r}: expected '<youtube_id>_<start seconds>', found no start")
    return head, int(tail)


def frame_id(video: str, frame_index: int, digits: int = CLIP_DIGITS) -> str:
    """The frame id and name-based submission key: ``"<video>/<frame_index:06d>"``."""
    return f"{video}/{int(frame_index):0{digits}d}"


def parse_frame_id(key: str) -> tuple[str, int]:
    """``(video, frame_index)`` of a frame id of any zero-padding (``"v/12"``, ``"v/000012"``).

    Raises:
        ValueError: not ``<video>/<digits>`` (the message names the key).
    """
    video, sep, index = key.rpartition("/")
    if not sep or not video or not _INDEX.fullmatch(index):
        raise ValueError(f"frame key {key!r}: expected '<video>/<frame index>'")
    return video, int(index)


def frame_file_name(video: str, frame_index: int, ext: str = "jpg", digits: int = CLIP_DIGITS) -> str:
    """The frame's image file, relative to a frames root: ``"<video>/<frame_index:06d>.jpg"``."""
    return f"{frame_id(video, frame_index, digits)}.{ext}"


def clip_file_name(video: str, ext: str = "mp4") -> str:
    """The clip's media file, relative to a videos folder: ``"<video>.mp4"``."""
    return f"{video}.{ext}"


def release_clip_name(youtube_id: str, start_s: float) -> str:
    """The released benchmark's clip (folder and video) name: ``"<youtube_id>_<start:05d>"``."""
    return clip_name(youtube_id, start_s, digits=RELEASE_DIGITS)


def split_frame_file(file_name: str) -> tuple[int, str]:
    """``(frame_index, extension)`` of a frame file name of any padding (``"00012.json"`` -> ``(12, "json")``).

    The extension comes back lower-cased. Raises:
        ValueError: not ``<digits>.<ext>`` (the message names the file).
    """
    stem, dot, ext = file_name.rpartition(".")
    if not dot or not ext or not _INDEX.fullmatch(stem):
        raise ValueError(f"frame file {file_name!r}: expected '<frame index>.<extension>'")
    return int(stem), ext.lower()

