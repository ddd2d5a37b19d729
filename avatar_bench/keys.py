"""Submission keys: which annotated frame of the ground truth a heatmap is for (DESIGN §4).

A key is an image id (``"1234"``, any zero-padding) or a frame id ``"<video name>/<frame_index>"`` of any
zero-padding (:func:`avatar_bench.naming.parse_frame_id`). :class:`KeyIndex` resolves keys against a GT,
:func:`resolve_keys` maps a submission's keys to image ids and lists unknown, duplicate and missing frames,
:func:`key_name` is the writers' side (the file stem of a key).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import numpy as np

from avatar_bench import naming
from avatar_bench.checks import MAX_ID, cut, short
from avatar_bench.format import AvatarDataset

_IMAGE_ID = re.compile(r"0*([0-9]{1,19})")  # an int64 id has at most 19 digits
_DIGITS = re.compile(r"[0-9]+")


class KeyIndex:
    """Resolves submission keys to the image ids of a GT dataset."""

    def __init__(self, gt: AvatarDataset):
        self.gt = gt
        self.video_ids = {v.name: v.id for v in gt.videos}
        self.frames = {(im.video_id, im.frame_index): im.id for im in gt.images}

    def resolve(self, key: str) -> tuple[int | None, str | None]:
        """(image id, None) or (None, why the key matches no annotated frame)."""
        if "/" not in key:
            if (m := _IMAGE_ID.fullmatch(key)) and int(m.group(1)) in self.gt.image_by_id:
                return int(m.group(1)), None
            if _DIGITS.fullmatch(key):
                return None, f"extra frame: there is no image with id {cut(key.lstrip('0') or '0')}"
            return None, f"unrecognised key '{cut(key)}' (expected an image id or '<video name>/<frame_index>')"
        name, _, idx = key.rpartition("/")
        vid = self.video_ids.get(name)
        if vid is None:
            return None, f"extra frame: video '{cut(name)}' is not in the ground truth"
        try:
            _, frame_index = naming.parse_frame_id(key)
        except ValueError:
            return None, f"frame index '{cut(idx)}' is not a non-negative integer of at most 12 digits"
        image_id = self.frames.get((vid, frame_index))
        if image_id is None:
            return None, f"extra frame: video '{cut(name)}' has no annotated frame {frame_index}"
        return image_id, None

    def label(self, image_id: int) -> str:
        """How messages name a frame: ``<video>/<frame_index> (image <id>)``."""
        return f"{self.gt.frame_key(self.gt.image_by_id[image_id])} (image {image_id})"


def resolve_keys(entries: Iterable[tuple[str, str]], keys: KeyIndex, wanted: set[int]
                 ) -> tuple[dict[int, str], list[str]]:
    """Map ``(key, where)`` pairs to image ids; report unknown keys, duplicates and missing frames.

    Returns:
        ``{image id: where}`` for the wanted frames found, and the problems (each naming its key or frame).
    """
    index: dict[int, str] = {}
    problems: list[str] = []
    for key, where in entries:
        image_id, why = keys.resolve(key)
        if why:
            problems.append(f"{cut(where, 200)}: {why}")
        elif image_id not in wanted:
            continue  # a frame of a scenario left out of this evaluation
        elif image_id in index:
            problems.append(f"frame {keys.label(image_id)}: given twice ({index[image_id]} and {where})")
        else:
            index[image_id] = where
    for image_id in sorted(wanted - index.keys()):
        problems.append(f"frame {keys.label(image_id)}: missing (expected a heatmap named "
                        f"{keys.gt.frame_key(keys.gt.image_by_id[image_id])} or {image_id})")
    return index, problems


def key_name(key: int | str) -> str:
    """The file name stem of a submission key; raises ValueError for keys the readers would not accept."""
    if isinstance(key, int | np.integer) and not isinstance(key, bool) and 0 <= key <= MAX_ID:
        return str(int(key))
    if isinstance(key, str):
        if _IMAGE_ID.fullmatch(key):
            return key
        name = key.rpartition("/")[0]
        try:
            naming.parse_frame_id(key)
        except ValueError:
            pass
        else:
            if name not in (".", "..") and not any(c in name for c in "/\\\x00"):
                return key
    raise ValueError(f"expected an image id (int >= 0) or '<video name>/<frame_index>', got {short(key)}")
