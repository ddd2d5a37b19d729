"""``evaluate``: score a submission against AVATAR-COCO ground truth, per scenario (DESIGN §4).

Loading and validation are separate from scoring (TrackEval style): the submission's structure (safety,
keys, missing/extra frames) is checked first; its content (dtype, dims, NaN/inf, range) is checked as each
heatmap is decoded for scoring, in the same single pass, and no score is returned unless every frame passed.
"""

from __future__ import annotations

import logging
import math
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from avatar_bench import __version__
from avatar_bench.engine import MappingReader, idle_cpus, jobs_for, run
from avatar_bench.errors import AvatarFormatError
from avatar_bench.format import SCENARIOS, AvatarDataset, scenario_problems_by_image
from avatar_bench.keys import KeyIndex, resolve_keys
from avatar_bench.metrics import functional as F
from avatar_bench.metrics.classes import ON_SCREEN, ON_SCREEN_SUBSETS, SUBSETS, FrameTable, compute_summary
from avatar_bench.protocols import Protocol, get_protocol
from avatar_bench.submission import Limits, Submission, raise_problems, scan_submission

log = logging.getLogger(__name__)

PARALLEL_MIN_FRAMES = 2000  # below this, starting worker processes costs more than it saves
RESIZE = "bilinear, half-pixel centres, edge clamp (cv2.INTER_LINEAR, float32) to the GT image size"
RELATIVE = "pixels > value at sorted position floor(H*W/2) of the resized map, plus pixels equal to its max (LVS)"


@dataclass
class EvalResult:
    """Scores of one submission: the flat ``summary``, the ``settings`` used, per-frame ``frames``, curves."""

    summary: dict[str, float]
    settings: dict[str, Any]
    frames: FrameTable
    curves: dict[str, Any]
    predictions: Any = field(default=None, repr=False)  # the reader, to fetch heatmaps for plots
    warnings: list[str] = field(default_factory=list)  # scenario rules broken by scored frames (when allowed)

    def to_dict(self) -> dict[str, Any]:
        """What ``results.json`` holds: strict JSON (NaN and inf written as null)."""
        return _json_safe({"avatar_bench_version": __version__, "settings": self.settings,
                           "summary": self.summary, "curves": self.curves, "warnings": self.warnings})


def _json_safe(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {k: _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple | np.ndarray):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, float | np.floating):
        return float(obj) if math.isfinite(obj) else None
    if isinstance(obj, np.integer):
        return int(obj)
    return obj


def _check_args(binarize: str, tau: float, scenarios: Iterable[str] | None) -> tuple[str, ...]:
    if binarize not in F.MODES:
        raise ValueError(f"expected binarize in {F.MODES}, got {binarize!r}")
    if not (isinstance(tau, int | float) and 0.0 <= tau <= 1.0):
        raise ValueError(f"expected 0 <= tau <= 1, got {tau!r}")
    chosen = tuple(scenarios) if scenarios else SCENARIOS
    unknown = [s for s in chosen if s not in SCENARIOS]
    if unknown:
        raise ValueError(f"expected scenarios among {SCENARIOS}, got {unknown}")
    return chosen


def _unscorable(gt: AvatarDataset, image_ids: Iterable[int]) -> AvatarFormatError:
    # An on-screen frame whose GT is empty would need an IoU of 0/0: valid ground truth has none
    # (scenario_problems), so evaluation refuses the file rather than pick a convention. Never downgraded.
    return AvatarFormatError("ground truth has on-screen frames that cannot be scored", [
        f"image {i} ({gt.frame_key(gt.image_by_id[i])}, {gt.image_by_id[i].scenario}): no sounding instance "
        "with a non-empty mask; on-screen frames need one to be scored" for i in image_ids])


def sounding_rles(gt: AvatarDataset, images: Iterable) -> dict[int, list[str]]:
    """RLE counts of each on-screen image's sounding masks; refuses frames whose sounding masks are all empty."""
    out: dict[int, list[str]] = {}
    area = gt.mask_area
    bad = []
    for im in images:
        if im.scenario != "off_screen":
            sounding = [a for a in gt.anns_by_image.get(im.id, []) if a.sounding]
            out[im.id] = [a.segmentation["counts"] for a in sounding]
            if not any(area[a.id] > 0 for a in sounding):
                bad.append(im.id)
    if bad:
        raise _unscorable(gt, bad)
    return out


def check_ground_truth(gt: AvatarDataset, chosen: Iterable[str], *, allow_scenario_violations: bool = False,
                       source: str = "ground truth") -> tuple[list, dict[int, list[str]], list[str]]:
    """Every check of the ground truth that scoring relies on (both :func:`evaluate` and :func:`validate`).

    Structure (:meth:`AvatarDataset.problems`: ids, sizes, exact RLE runs...), at least one frame of the
    chosen scenarios, a non-empty sounding mask on every on-screen frame, and each frame's scenario
    definition (:func:`avatar_bench.format.scenario_problems`; ``allow_scenario_violations`` makes those
    warnings, for work in progress).

    Returns:
        The chosen frames, the RLE counts of their sounding masks, and the warnings.

    Raises:
        AvatarFormatError: listing every problem found.
    """
    gt.validate(source=source)
    chosen = tuple(chosen)
    images = [im for im in gt.images if im.scenario in chosen]
    if not images:
        found = ", ".join(f"{n} {s}" for s, n in Counter(im.scenario for im in gt.images).items()) or "none"
        raise AvatarFormatError(f"{source}: no frame to score: expected frames of {', '.join(chosen)}, "
                                f"found {len(gt.images)} frame(s) ({found})")
    rles = sounding_rles(gt, images)
    broken = [p for problems in scenario_problems_by_image(gt, images).values() for p in problems]
    if broken and not allow_scenario_violations:
        raise AvatarFormatError(f"{source}: {len(broken)} frame problem(s) break their scenario's definition; "
                                "nothing was scored (allow_scenario_violations / --allow-scenario-violations "
                                "scores them anyway, for work in progress)", broken)
    return images, rles, [f"scenario rule broken (scored anyway): {p}" for p in broken]


def _reader(gt: AvatarDataset, predictions: Any, chosen: tuple[str, ...], limits: Limits | None):
    wanted = {im.id for im in gt.images if im.scenario in chosen}
    if isinstance(predictions, str | os.PathLike):
        return scan_submission(predictions, gt, scenarios=chosen, limits=limits)
    if isinstance(predictions, Submission):
        keys = KeyIndex(gt)
        entries = {i: e for i, e in predictions.entries.items() if i in wanted}
        _, problems = resolve_keys(((str(i), e.name) for i, e in entries.items()), keys, wanted)
        return Submission(predictions.source, entries, keys, predictions.limits), problems
    if isinstance(predictions, Mapping):
        reader = MappingReader(predictions, KeyIndex(gt), wanted)
        return reader, reader.problems
    raise TypeError(f"expected a submission path or a Mapping of heatmaps, got {type(predictions).__name__}")


def _progress(enabled: bool, total: int):
    if not enabled:
        return None, None
    from tqdm import tqdm

    bar = tqdm(total=total, unit="frame", desc="avatar-eval", disable=None)
    return bar, bar.update


def evaluate(gt: AvatarDataset | str | os.PathLike, predictions: Any, *, binarize: str = "relative",
             tau: float = 0.5, scenarios: Iterable[str] | None = None, progress: bool = False,
             workers: int | None = None, limits: Limits | None = None,
             allow_scenario_violations: bool = False, protocol: str | Protocol | None = None) -> EvalResult:
    """Score ``predictions`` against ``gt``.

    Args:
        gt: an :class:`AvatarDataset` or the path of an AVATAR-COCO file.
        predictions: a submission path (dir / .zip / .npz), an opened :class:`Submission`, or a Mapping
            image id (or "<video name>/<frame_index>") -> 2-D heatmap in [0, 1].
        binarize: "relative" (LVS top-50%) or "absolute" (>= tau) for the IoU of on-screen frames.
        tau: threshold of the absolute mask; off-screen TN always uses it.
        scenarios: evaluate only these scenarios' frames (default: all four).
        progress: show a tqdm bar.
        workers: processes (default for >= 2000 frames read from files: the idle cores, else 1).
        limits: submission safety limits.
        allow_scenario_violations: score frames that break their scenario's definition (with a warning)
            instead of refusing the ground truth; for work in progress, never for a released split.
        protocol: a preset of :mod:`avatar_bench.protocols` by name (default ``lvs-native``) or a Protocol.

    Raises:
        SubmissionError: every problem of the submission, each with its frame (nothing is scored).
        AvatarFormatError: the ground truth is malformed, has no frame to score or unscorable frames.
    """
    chosen = _check_args(binarize, tau, scenarios)
    prot = get_protocol(protocol)
    done = _one_pass(gt, predictions, chosen, score=True, binarize=binarize, tau=tau, progress=progress,
                     workers=workers, limits=limits, allow=allow_scenario_violations, protocol=prot)
    result = _result(done.gt, done.present, done.counts, done.reader, binarize=binarize, tau=tau, chosen=chosen,
                     workers=done.workers)
    result.settings.update(prot.result_settings())
    result.settings["allow_scenario_violations"] = allow_scenario_violations
    # on-screen frames whose GT vanished on the protocol's grid (never at the native size: refused before scoring)
    result.summary["n_gt_vanished"] = sum(1 for im, g in zip(done.present, done.counts.gt_area, strict=True)
                                          if g == 0 and im.scenario != "off_screen")
    result.warnings = done.warnings
    return result


@dataclass
class Validation:
    """What :func:`validate` found: the frames checked and the warnings (scenario rules allowed to break)."""

    frames: int
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"avatar_bench_version": __version__, "valid": True, "frames": self.frames, "warnings": self.warnings}


def validate(gt: AvatarDataset | str | os.PathLike, predictions: Any, *, scenarios: Iterable[str] | None = None,
             progress: bool = False, workers: int | None = None, limits: Limits | None = None,
             allow_scenario_violations: bool = False) -> Validation:
    """Run exactly the checks of :func:`evaluate` (ground truth, structure and content of every heatmap),
    without scoring: what it passes, :func:`evaluate` scores; what it refuses, :func:`evaluate` refuses.

    Raises:
        SubmissionError, AvatarFormatError: as :func:`evaluate`.
    """
    chosen = _check_args("relative", 0.5, scenarios)
    done = _one_pass(gt, predictions, chosen, score=False, binarize="relative", tau=0.5, progress=progress,
                     workers=workers, limits=limits, allow=allow_scenario_violations, protocol=get_protocol(None))
    return Validation(frames=len(done.present), warnings=done.warnings)


@dataclass
class _Pass:
    gt: AvatarDataset
    present: list
    reader: Any
    counts: Any
    workers: int
    warnings: list[str]


def _one_pass(gt, predictions, chosen: tuple[str, ...], *, score: bool, binarize: str, tau: float, progress: bool,
              workers: int | None, limits: Limits | None, allow: bool, protocol: Protocol) -> _Pass:
    """The checks of the GT and the submission, then one pass over the frames (scoring them if ``score``)."""
    if not isinstance(gt, AvatarDataset):
        gt = AvatarDataset.load(gt)
    images, rles, warnings = check_ground_truth(gt, chosen, allow_scenario_violations=allow,
                                                source=gt.source or "ground truth")
    if warnings:
        log.warning("%d frame problem(s) break their scenario's definition and are scored anyway, e.g. %s",
                    len(warnings), "; ".join(w.split(": ", 1)[1] for w in warnings[:3]))
    reader, problems = _reader(gt, predictions, chosen, limits)
    present = [im for im in images if im.id in reader.entries]
    jobs = jobs_for(present, rles)
    if workers is None:
        workers = idle_cpus() if len(jobs) >= PARALLEL_MIN_FRAMES and isinstance(reader, Submission) else 1
    if workers > 1 and not isinstance(reader, Submission):
        workers = 1  # an in-memory mapping would have to be pickled to each worker
    bar, update = _progress(progress, len(jobs))
    try:
        counts = run(reader, jobs, binarize, tau, workers=workers, score=score and not problems, on_progress=update,
                     protocol=protocol)
    finally:
        if bar is not None:
            bar.close()
    raise_problems(getattr(reader, "path", "submission"), problems + counts.problems)
    return _Pass(gt, present, reader, counts, workers, warnings)


def _result(gt: AvatarDataset, images: list, counts, reader, *, binarize, tau, chosen, workers) -> EvalResult:
    cross = gt.cross_event_video_ids()
    frames = FrameTable.from_columns(
        image_id=counts.image_id, scenario=[im.scenario for im in images],
        cross_event=[im.video_id in cross for im in images], inter=counts.inter, pred_area=counts.pred_area,
        gt_area=counts.gt_area, score=counts.score)
    settings = {"binarize": binarize, "tau": float(tau), "scenarios": list(chosen),
                "ciou_threshold": F.CIOU_THRESHOLD, "iou_thresholds": F.IOU_THRESHOLDS.tolist(),
                "resize": RESIZE, "relative_threshold": RELATIVE, "score": "max of the resized heatmap",
                "predictions": str(getattr(reader, "path", "<in-memory mapping>")), "workers": workers}
    return EvalResult(summary=compute_summary(frames, settings), settings=settings, frames=frames,
                      curves=_curves(frames), predictions=reader)


def _curves(frames: FrameTable) -> dict[str, Any]:
    on, off = frames.score[frames.on_screen], frames.score[frames.scenario == "off_screen"]
    iou = frames.iou
    success = {s: (100 * F.success_curve(iou[SUBSETS[s](frames)])).tolist() for s in ON_SCREEN_SUBSETS}
    return {
        "tn_vs_tau": {"tau": F.TAU_GRID.tolist(), "off_screen_tn": F.tn_curve(off).tolist(),
                      "on_screen_fire": (100 - F.tn_curve(on)).tolist()},
        "success": {"iou_thresholds": F.IOU_THRESHOLDS.tolist(), **success},
        "on_screen_scenarios": list(ON_SCREEN),
    }

