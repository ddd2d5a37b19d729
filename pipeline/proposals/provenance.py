"""What made a proposal, and what a rerun of ``propose`` must redo so no proposal is stale.

Every proposal records the settings that shaped it (``ProposalRecord.settings``), by section::

    detector   backend, its options, the weights' identity (file name, size, digest of its first and last MiB)
    tagger     the same for the audio tagger
    segmenter  the backend actually used (``auto`` resolved to ``sam`` or ``grabcut``), its options, weights
    rules      every threshold of the scenario rules
    tags       top_k_tags, min_tag_score (the audio tags written)
    taxonomy   the taxonomy file's name and SHA-256

Settings that do not change a proposal (``device``, ``batch_size``, ``flush_every``, the ``model_version`` label)
are not recorded. A rerun compares each frame's recorded settings with its own, section by section:

- frames not pushed to Label Studio yet are proposed again (nobody has seen them); each difference is logged
  (``settings changed since these proposals were made: segmenter.backend: "grabcut" -> "sam" (12 frames)``);
- frames already pushed keep the proposal their task shows unless the run says otherwise: without a flag the run
  is refused before any work, naming the difference and both flags: ``keep`` (their proposals stay as pushed, the
  others are redone) or ``redo`` (they are proposed again too; ``review push`` then replaces the pre-annotation
  of their tasks that nobody has annotated yet, and leaves annotated ones as they are).

A weights file replaced by another of the same name is caught by its digest; the digest reads 2 MiB of the file,
not all of it (a SAM checkpoint is 2.5 GB).
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections import Counter
from pathlib import Path
from typing import Any

from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.manifest import Manifest
from pipeline.prepare_state import differences
from pipeline.records import STATUS_OK

log = logging.getLogger(__name__)

PUSHED_POLICIES = ("keep", "redo")
_NOT_RESULTS = {"device", "batch_size", "num_threads", "sam"}  # options that change speed, not the proposal
_WEIGHTS_KEYS = ("model", "checkpoint")
_DEFAULT_WEIGHTS = {"yolo": "yolov8x-oiv7", "cavmae": "cavmae-vggsound-audio", "yamnet": "yamnet",
                    "sam": "sam_vit_h"}  # the backends' own defaults when the options name no file
_EDGE = 1 << 20


def weights_identity(ref: str | os.PathLike) -> dict[str, Any]:
    """``{"file", "bytes", "digest"}`` of a weights file (not how it was named: a relative and an absolute path to
    one file are one model); ``{"ref"}`` when it does not resolve (the backend reports a missing file itself)."""
    from pipeline.proposals.weights import resolve

    try:
        path = resolve(ref)
    except PipelineError:
        return {"ref": str(ref)}
    size = path.stat().st_size
    digest = hashlib.sha256(str(size).encode())
    with open(path, "rb") as fh:
        digest.update(fh.read(_EDGE))
        if size > 2 * _EDGE:
            fh.seek(-_EDGE, os.SEEK_END)
        digest.update(fh.read(_EDGE))
    return {"file": path.name, "bytes": size, "digest": digest.hexdigest()[:16]}


def _backend(name: str, options: dict[str, Any]) -> dict[str, Any]:
    if name == "none":
        return {"backend": "none"}
    out: dict[str, Any] = {"backend": name}
    for key, value in sorted(options.items()):
        if key in _NOT_RESULTS:
            continue
        weights = key in _WEIGHTS_KEYS and isinstance(value, str | os.PathLike) and value \
            and not str(value).endswith((".yaml", ".yml"))  # an architecture file: random weights, nothing to read
        out[key] = weights_identity(value) if weights else _plain(value)
    if name in _DEFAULT_WEIGHTS and not any(k in options for k in _WEIGHTS_KEYS) and "random_variant" not in options:
        out["weights"] = weights_identity(_DEFAULT_WEIGHTS[name])
    return out


def _plain(value: Any) -> Any:
    """A JSON value for the record (paths as text, objects such as an in-memory model by their type)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return f"<{type(value).__name__}>"


def proposal_settings(cfg: Any) -> dict[str, dict[str, Any]]:
    """The settings that shape a proposal of this :class:`~pipeline.proposals.config.ProposeConfig`, by section.

    Raises:
        PipelineError: an unknown segmenter, or an explicit SAM checkpoint path that does not exist.
    """
    from pipeline.proposals.segmenter import resolve_segmenter
    from pipeline.proposals.taxonomy import DEFAULT_TAXONOMY

    segmenter, seg_options = resolve_segmenter(cfg.segmenter, cfg.segmenter_options)
    taxonomy = Path(cfg.taxonomy) if cfg.taxonomy else DEFAULT_TAXONOMY
    try:
        tax_digest = hashlib.sha256(taxonomy.read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise PipelineError(f"taxonomy {taxonomy}: cannot read it ({exc.strerror or exc})") from None
    return {"detector": _backend(cfg.detector, cfg.detector_options),
            "tagger": _backend(cfg.tagger, cfg.tagger_options),
            "segmenter": _backend(segmenter, seg_options),
            "rules": _plain(cfg.rules.to_dict()),
            "tags": {"top_k_tags": cfg.top_k_tags, "min_tag_score": cfg.min_tag_score},
            "taxonomy": {"file": taxonomy.name, "sha256": tax_digest}}


def pushed_frames(work: WorkDir) -> set[str]:
    """Frames the work folder has sent to Label Studio (a task id in its ``review_push`` table)."""
    return {r.frame_id for r in work.records("review_push", STATUS_OK, required=False) if r.task_id >= 0}


def reconcile(work: WorkDir, manifest: Manifest, settings: dict[str, Any], pushed: str | None = None) -> Counter:
    """Drop the proposals made with other settings that this run must redo; return what it did.

    Args:
        work: the work folder.
        manifest: its proposals table.
        settings: this run's :func:`proposal_settings`.
        pushed: what to do with stale frames already in Label Studio: ``None`` (refuse), ``"keep"``, ``"redo"``.

    Returns:
        Counts ``stale_redone`` (proposals dropped: this run makes them again) and ``stale_kept_pushed``.

    Raises:
        PipelineError: stale frames are already pushed and ``pushed`` is ``None`` (before any work).
    """
    if pushed not in (None, *PUSHED_POLICIES):
        raise PipelineError(f"pushed frames: expected one of {PUSHED_POLICIES} or none, got {pushed!r}")
    counts: Counter = Counter()
    if not manifest.exists():
        return counts
    stale: dict[str, list[str]] = {}
    for record in manifest.records():
        if record.settings != settings:
            diff = differences(record.settings, settings) if record.settings else {"": ["settings: not recorded"]}
            stale[record.frame_id] = [line for lines in diff.values() for line in lines]
    in_ls = set(stale) & pushed_frames(work) if stale else set()
    if in_ls and pushed is None:
        raise PipelineError(_refusal(work, stale, in_ls))
    redo = set(stale) - in_ls if pushed == "keep" else set(stale)
    for line, n in Counter(line for fid in redo for line in stale[fid]).most_common():
        log.warning("settings changed since these proposals were made: %s (%d frame(s))", line, n)
    if in_ls and pushed == "keep":
        log.warning("%d frame(s) already pushed to Label Studio keep the proposals their tasks show (--keep-pushed)",
                    len(in_ls))
    counts["stale_redone"] = manifest.remove(redo) if redo else 0
    counts["stale_kept_pushed"] = len(in_ls) if pushed == "keep" else 0
    return counts


def _refusal(work: WorkDir, stale: dict[str, list[str]], in_ls: set[str]) -> str:
    lines = Counter(line for fid in in_ls for line in stale[fid])
    shown = "; ".join(line for line, _ in lines.most_common(4)) + ("; ..." if len(lines) > 4 else "")
    others = len(stale) - len(in_ls)
    return (f"work folder {work.root}: {len(in_ls)} frame(s) already pushed to Label Studio were proposed with other "
            f"settings ({shown}): their tasks show the earlier proposals. Rerun with --keep-pushed (pushed='keep') to "
            f"keep those as pushed ({others} other stale frame(s) are proposed again), or --redo-pushed "
            "(pushed='redo') to propose them again too (the next `review push` replaces the pre-annotation of their "
            "tasks that are not annotated yet)")
