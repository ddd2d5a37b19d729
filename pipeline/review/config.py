"""Review settings, the category list, and the Label Studio labeling config generated from it."""

from __future__ import annotations

import json
import os
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from avatar_bench.format import Category
from pipeline.config import StrictConfig, require
from pipeline.errors import PipelineError

ANNOTATIONS_DIR = Path(__file__).resolve().parents[2] / "annotations"
TEMPLATE = ANNOTATIONS_DIR / "labeling_config.xml"
DEFAULT_TAXONOMY = ANNOTATIONS_DIR / "taxonomy.yaml"

# from_name of each control in the labeling config (the template must use these names)
MASK, SOUNDING, SCENARIO, HEARD, REJECT = "mask", "sounding", "scenario", "heard", "reject"
BOX = "box"  # rectangle regions: detections that reached review without a mask
IMAGE = "image"
SOUNDING_YES, SOUNDING_NO = "sounding", "silent"
REJECT_CHOICE = "reject frame"

# 20 distinct colours (Sasha Trubetskoy's list); categories cycle through them
PALETTE = ("#e6194b", "#3cb44b", "#ffe119", "#4363d8", "#f58231", "#911eb4", "#46f0f0", "#f032e6", "#bcf60c",
           "#fabebe", "#008080", "#e6beff", "#9a6324", "#fffac8", "#800000", "#aaffc3", "#808000", "#ffd8b1",
           "#000075", "#808080")


@dataclass
class ReviewConfig(StrictConfig):
    """How the review step talks to Label Studio (loaded by :func:`pipeline.config.load_config` like every
    stage's settings: ``--set chunk_size=50``).

    Attributes:
        project: title of the Label Studio project (found by title, created when absent).
        categories: the category list (names and ids of the AVATAR-COCO output), or the path of a taxonomy YAML
            or AVATAR-COCO JSON holding it (see :func:`load_categories`); default ``annotations/taxonomy.yaml``.
        document_root: the ``LOCAL_FILES_DOCUMENT_ROOT`` Label Studio serves frames from (default: that
            environment variable, else the work dir); every frame must lie under it.
        chunk_size: tasks per import request (one request is one database transaction in Label Studio).
        timeout_s: HTTP timeout per request.
        template: labeling-config template (``annotations/labeling_config.xml``).
        playback: make and attach the cut around each frame and the whole clip (:mod:`pipeline.review.media`).
        cut_s: length of the cut around each frame, seconds.
    """

    project: str = "AVATAR review"
    categories: list[Category] | str | None = None
    document_root: Path | None = None
    chunk_size: int = 100
    timeout_s: float = 120.0
    template: Path = TEMPLATE
    playback: bool = True
    cut_s: float = 2.5

    def validate(self) -> None:
        require(bool(self.project.strip()), "project", "a project title", self.project)
        require(self.chunk_size >= 1, "chunk_size", "at least 1 task per request", self.chunk_size)
        require(self.timeout_s > 0, "timeout_s", "a positive timeout", self.timeout_s)
        require(0 < self.cut_s < 3600, "cut_s", "a cut length in seconds > 0 (and under an hour)", self.cut_s)

    def category_list(self) -> list[Category]:
        """The categories: the list given, else loaded from the path given (or the default taxonomy)."""
        if isinstance(self.categories, list) and self.categories:
            return list(self.categories)
        return load_categories(self.categories if isinstance(self.categories, str) else None)

    def root(self, work_dir: Path) -> Path:
        if self.document_root is not None:
            return Path(self.document_root).resolve()
        env = os.environ.get("LOCAL_FILES_DOCUMENT_ROOT")
        return Path(env).resolve() if env else Path(work_dir).resolve()


def load_categories(path: str | os.PathLike | None = None) -> list[Category]:
    """Categories from an AVATAR-COCO JSON file (its ``categories``) or a taxonomy YAML (ids 1..N in file order).

    Args:
        path: ``*.json`` (AVATAR-COCO) or ``*.yaml``; default ``annotations/taxonomy.yaml``.
    """
    path = Path(path) if path else DEFAULT_TAXONOMY
    if path.suffix == ".json":
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            return [Category.from_dict(c) for c in raw["categories"]]
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise PipelineError(f"categories {path}: expected an AVATAR-COCO file with 'categories' ({exc})") from None
    from pipeline.proposals.taxonomy import load_taxonomy  # the proposals stage owns the taxonomy's rules

    tax = load_taxonomy(path)
    return [Category(id=i, name=c.name, supercategory=c.supercategory,
                     audio_labels=sorted({lab for labels in c.audio.values() for lab in labels}),
                     detector_labels=sorted({lab for labels in c.detector.values() for lab in labels}))
            for i, c in enumerate(tax.categories.values(), start=1)]


def labeling_config(categories: list[Category], template: Path = TEMPLATE, static: bool = False) -> str:
    """The labeling config XML for ``categories``: the template with its category lists filled in.

    Lists the template makes dynamic (``value="$..."``: each task carries its own, frame's categories first) are
    left to the tasks, unless ``static``: then every list is written into the config (for a project whose earlier
    tasks carry no lists of their own).

    Raises:
        PipelineError: the template lacks a control the review module reads, or the category list is empty.
    """
    if not categories:
        raise PipelineError("labeling config: expected at least one category, got none")
    try:
        root = ET.fromstring(Path(template).read_text(encoding="utf-8"))
    except (OSError, ET.ParseError) as exc:
        raise PipelineError(f"labeling config template {template}: {exc}") from None
    controls = {el.get("name"): el for el in root.iter() if el.get("name")}
    missing = [n for n in (IMAGE, MASK, BOX, SOUNDING, SCENARIO, HEARD, REJECT) if n not in controls]
    if missing:
        raise PipelineError(f"labeling config template {template}: missing control(s) named {missing}")
    for control, tag in ((controls[MASK], "Label"), (controls[BOX], "Label"), (controls[HEARD], "Choice")):
        if (control.get("value") or "").startswith("$"):
            if not static:
                continue  # dynamic labels: each task lists its own (pipeline.review.tasks), frame's categories first
            del control.attrib["value"]
        for el in [e for e in control if e.tag == tag]:
            control.remove(el)
        for i, cat in enumerate(categories):
            attrs = {"value": cat.name} if tag == "Choice" else {"value": cat.name,
                                                                  "background": PALETTE[i % len(PALETTE)]}
            ET.SubElement(control, tag, **attrs)
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")
