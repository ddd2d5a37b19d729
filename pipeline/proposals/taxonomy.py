"""Load and validate ``annotations/taxonomy.yaml``: audio labels and detector labels → AVATAR categories.

The taxonomy is data (reviewed by people); this module only reads it, checks every label against the label list
it claims to come from, and answers two questions fast: "which entity does this audio label name?" and "which
category is this detector box?". An *entity* is a category name or, for generic audio labels such as
``"Vehicle"``, a supercategory name.
"""

from __future__ import annotations

import csv
import functools
from dataclasses import dataclass, field
from pathlib import Path

from pipeline.errors import PipelineError

ANNOTATIONS = Path(__file__).resolve().parents[2] / "annotations"
DEFAULT_TAXONOMY = ANNOTATIONS / "taxonomy.yaml"
AUDIO_SOURCES = ("vggsound", "audioset")
DETECTOR_VOCABS = ("coco", "oiv7")
LABEL_FILES = {"vggsound": ANNOTATIONS / "vggsound_labels.csv", "audioset": ANNOTATIONS / "audioset_yamnet_labels.csv"}
# ultralytics ships the class lists of both detector vocabularies as dataset YAMLs.
ULTRALYTICS_DATASETS = {"coco": "coco.yaml", "oiv7": "open-images-v7.yaml"}


@dataclass(frozen=True)
class Category:
    name: str
    supercategory: str
    audio: dict[str, tuple[str, ...]]
    detector: dict[str, tuple[str, ...]]


@dataclass
class Taxonomy:
    """Lookup tables built from the YAML file (see the file's header for the rules)."""

    categories: dict[str, Category]
    supercategories: dict[str, dict[str, tuple[str, ...]]]
    source: str = ""
    _audio: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)
    _detector: dict[tuple[str, str], str] = field(default_factory=dict, repr=False)

    def audio_entity(self, source: str, label: str) -> str | None:
        """Category or supercategory named by an audio label of ``source`` ("vggsound"/"audioset"), else None."""
        return self._audio.get((source, label.lower()))

    def detector_category(self, vocabulary: str, label: str) -> str | None:
        """AVATAR category of a detector label in ``vocabulary``; other vocabularies are tried for custom models."""
        hit = self._detector.get((vocabulary, label.lower()))
        if hit is None and vocabulary not in DETECTOR_VOCABS:
            hit = self._detector.get(("coco", label.lower())) or self._detector.get(("oiv7", label.lower()))
        return hit

    def is_supercategory(self, entity: str) -> bool:
        return entity in self.supercategories and entity not in self.categories

    def matches(self, entity: str, category: str) -> bool:
        """Whether a visible ``category`` is an instance of the heard ``entity`` (itself or its supercategory)."""
        if entity == category:
            return True
        cat = self.categories.get(category)
        return cat is not None and self.is_supercategory(entity) and cat.supercategory == entity

    def names(self) -> list[str]:
        return list(self.categories)


def _read_label_csv(path: Path) -> set[str]:
    with open(path, newline="", encoding="utf-8") as fh:
        return {row["display_name"] for row in csv.DictReader(fh)}


@functools.cache
def ultralytics_class_names(vocab: str) -> tuple[str, ...]:
    """Class names of a detector vocabulary in class-index order (empty when ultralytics is absent)."""
    import yaml

    from pipeline.proposals.runtime import package_dir

    root = package_dir("ultralytics")  # found, not imported: importing it writes a settings file
    path = root / "cfg" / "datasets" / ULTRALYTICS_DATASETS[vocab] if root else None
    if path is None or not path.exists():
        return ()
    names = yaml.safe_load(path.read_text(encoding="utf-8"))["names"]
    return tuple(names[i] for i in sorted(names))


def _detector_names(vocab: str) -> frozenset[str] | None:
    """Class names of a detector vocabulary as a set; None when ultralytics is absent."""
    names = ultralytics_class_names(vocab)
    return frozenset(names) if names else None


def _as_list(value, where: str, problems: list[str]) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        problems.append(f"{where}: expected a list of strings, got {value!r}")
        return ()
    return tuple(value)


def _parse(doc: dict, problems: list[str]) -> tuple[dict[str, Category], dict[str, dict[str, tuple[str, ...]]]]:
    supers: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, body in (doc.get("supercategories") or {}).items():
        body = body or {}
        supers[name] = {src: _as_list(body.get(src), f"supercategory {name}.{src}", problems) for src in AUDIO_SOURCES}
    cats: dict[str, Category] = {}
    for i, body in enumerate(doc.get("categories") or []):
        name = body.get("name") if isinstance(body, dict) else None
        if not isinstance(name, str) or not name.replace("_", "").isalnum() or name != name.lower():
            problems.append(f"categories[{i}]: expected a lower_snake_case name, got {name!r}")
            continue
        if name in cats or name in supers:
            problems.append(f"category {name}: name used twice")
        sup = body.get("supercategory")
        if sup not in supers:
            problems.append(f"category {name}: supercategory {sup!r} is not declared under supercategories")
        audio = {src: _as_list(body.get(src), f"category {name}.{src}", problems) for src in AUDIO_SOURCES}
        det = {v: _as_list(body.get(v), f"category {name}.{v}", problems) for v in DETECTOR_VOCABS}
        if not any(det.values()):
            problems.append(f"category {name}: expected at least one detector label (else it can never be seen)")
        cats[name] = Category(name, str(sup), audio, det)
    return cats, supers


def _index(tax: Taxonomy, problems: list[str]) -> None:
    known = {src: _read_label_csv(path) for src, path in LABEL_FILES.items()}
    owners = [(s, src, labels) for s, b in tax.supercategories.items() for src, labels in b.items()]
    owners += [(c.name, src, labels) for c in tax.categories.values() for src, labels in c.audio.items()]
    for entity, src, labels in owners:
        for label in labels:
            if label not in known[src]:
                problems.append(f"{entity}: audio label {label!r} is not in {LABEL_FILES[src].name}")
            prev = tax._audio.setdefault((src, label.lower()), entity)
            if prev != entity:
                problems.append(f"{src} label {label!r} maps to both {prev} and {entity}")
    for cat in tax.categories.values():
        for vocab, labels in cat.detector.items():
            names = _detector_names(vocab)
            for label in labels:
                if names is not None and label not in names:
                    problems.append(f"{cat.name}: detector label {label!r} is not a {vocab} class name")
                prev = tax._detector.setdefault((vocab, label.lower()), cat.name)
                if prev != cat.name:
                    problems.append(f"{vocab} label {label!r} maps to both {prev} and {cat.name}")


def load_taxonomy(path: str | Path | None = None) -> Taxonomy:
    """Read and validate a taxonomy YAML file.

    Args:
        path: the file; default ``annotations/taxonomy.yaml`` of this repository.

    Returns:
        The validated :class:`Taxonomy`.

    Raises:
        PipelineError: listing every problem (unknown label, label mapped twice, undeclared supercategory...).
    """
    import yaml

    path = Path(path) if path else DEFAULT_TAXONOMY
    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise PipelineError(f"taxonomy {path}: file not found") from None
    except yaml.YAMLError as exc:
        raise PipelineError(f"taxonomy {path}: not valid YAML ({exc})") from None
    if not isinstance(doc, dict) or doc.get("version") != 1:
        raise PipelineError(f"taxonomy {path}: expected a mapping with version: 1")
    problems: list[str] = []
    cats, supers = _parse(doc, problems)
    tax = Taxonomy(categories=cats, supercategories=supers, source=str(path))
    _index(tax, problems)
    if problems:
        shown = "\n  - ".join(problems[:40])
        raise PipelineError(f"taxonomy {path}: {len(problems)} problem(s)\n  - {shown}")
    return tax


@functools.cache
def default_taxonomy() -> Taxonomy:
    """The repository's taxonomy, loaded once per process."""
    return load_taxonomy(DEFAULT_TAXONOMY)
