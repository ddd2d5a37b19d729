"""Plots of an evaluation (matplotlib, Agg): per-scenario bars, TN vs tau, success curves, overlays.

Imported only when plots are asked for, so ``avatar-eval`` starts without matplotlib.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only; never open a window (CI, servers)
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from avatar_bench import rle as rle_utils  # noqa: E402
from avatar_bench.checks import MAX_PIXELS  # noqa: E402
from avatar_bench.io import atomic_path  # noqa: E402
from avatar_bench.metrics.functional import binarize, resize_bilinear  # noqa: E402

log = logging.getLogger(__name__)

def save_figure(fig, path: Path) -> Path:
    """Save a matplotlib figure atomically as PNG and close it."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


BARS = (("single\nCIoU", "single_ciou"), ("single\nAUC", "single_auc"), ("mixed\nCIoU", "mixed_ciou"),
        ("multi-entity\nCIoU", "multi_entity_ciou"), ("off-screen\nTN", "off_screen_tn"),
        ("total\nCIoU", "total_ciou"), ("cross-event\nCIoU", "cross_event_ciou"))


def plot_scenarios(summary: dict, path: Path) -> Path:
    """Bar chart of the table's values (%)."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    values = [summary.get(k, math.nan) for _, k in BARS]
    bars = ax.bar([label for label, _ in BARS], [0 if v != v else v for v in values], color="#4C72B0")
    for bar, v in zip(bars, values, strict=True):
        ax.annotate("n/a" if v != v else f"{v:.1f}", (bar.get_x() + bar.get_width() / 2, bar.get_height()),
                    ha="center", va="bottom", fontsize=8)
    ax.set_ylim(0, 105)
    ax.set_ylabel("%")
    ax.set_title("AVATAR per-scenario results")
    return save_figure(fig, path)


def plot_tn_curve(curves: dict, tau: float, path: Path) -> Path:
    """Off-screen TN and on-screen firing rate against the absolute threshold tau."""
    c = curves["tn_vs_tau"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    ax.plot(c["tau"], c["off_screen_tn"], marker="o", ms=3, label="off-screen TN (max < tau)")
    ax.plot(c["tau"], c["on_screen_fire"], marker="s", ms=3, label="on-screen frames with max >= tau")
    ax.axvline(tau, color="grey", ls="--", lw=1)
    ax.set_xlabel("tau")
    ax.set_ylabel("%")
    ax.set_ylim(-2, 102)
    ax.legend(fontsize=8)
    ax.set_title("TN vs tau")
    return save_figure(fig, path)


def plot_success(curves: dict, path: Path) -> Path:
    """Success rate (% of frames with IoU >= t) against t, per on-screen subset; AUC is its area."""
    c = curves["success"]
    fig, ax = plt.subplots(figsize=(5, 3.6))
    for subset in (*curves["on_screen_scenarios"], "total"):
        if not all(v is None or v != v for v in c[subset]):
            ax.plot(c["iou_thresholds"], c[subset], label=subset)
    ax.set_xlabel("IoU threshold")
    ax.set_ylabel("% of frames")
    ax.legend(fontsize=8)
    ax.set_title("Success curves")
    return save_figure(fig, path)


def _pick_frames(result, n: int) -> list[int]:
    """Best and worst IoU frame of each on-screen scenario, and the worst off-screen false alarm."""
    t, iou = result.frames, result.frames.iou
    picks: list[int] = []
    for scenario in ("single", "mixed", "multi_entity"):
        idx = np.flatnonzero(t.scenario == scenario)
        if idx.size:
            picks += [int(t.image_id[idx[np.argmax(iou[idx])]]), int(t.image_id[idx[np.argmin(iou[idx])]])]
    off = np.flatnonzero(t.scenario == "off_screen")
    if off.size:
        picks.append(int(t.image_id[off[np.argmax(t.score[off])]]))
    return list(dict.fromkeys(picks))[:n]


def frame_image(frames_root: Path | str, im) -> tuple[np.ndarray | None, str]:
    """The frame's RGB image at the GT size, or None and why not (said with the file's name).

    Only files inside ``frames_root`` are opened (a symbolic link that leads out is refused; the GT's file
    names are relative without '..', :func:`avatar_bench.checks.file_name_problem`). A truncated or corrupt
    image, or one larger than the format accepts, is a reason, never an exception.
    """
    from PIL import Image as PILImage

    root = Path(frames_root).resolve()
    if not im.file_name:
        return None, "the image has no file_name"
    path = (root / im.file_name).resolve()
    if not path.is_relative_to(root):
        return None, f"{im.file_name} leads outside the frames root {root}; not opened"
    if not path.is_file():
        return None, f"no frame image at {path}"
    try:
        with PILImage.open(path) as img:
            if img.width * img.height > MAX_PIXELS:
                return None, f"{path}: {img.width}x{img.height} pixels, more than {MAX_PIXELS}; not decoded"
            return np.asarray(img.convert("RGB").resize((im.width, im.height))), ""
    except (OSError, SyntaxError, ValueError, PILImage.DecompressionBombError) as exc:  # truncated, garbage
        return None, f"{path}: unreadable image ({exc})"


def plot_overlay(gt, im, heat: np.ndarray, rgb: np.ndarray, settings: dict, iou: float, path: Path) -> Path:
    """The frame with the resized heatmap over it, the GT outline (white) and the predicted mask (cyan)."""
    resized = resize_bilinear(heat, im.height, im.width)
    segs = [a.segmentation for a in gt.anns_by_image.get(im.id, []) if a.sounding]
    g = rle_utils.union(segs, (im.height, im.width))
    rule = (settings.get("protocol") or {}).get("relative_rule", "lvs")  # drawn at the frame's size in any protocol
    pred = binarize(resized, settings["binarize"], settings["tau"], relative_rule=rule)
    fig, ax = plt.subplots(figsize=(6, 6 * im.height / im.width))
    ax.imshow(rgb)
    ax.imshow(resized, cmap="jet", alpha=0.45, vmin=0, vmax=1)
    if g.any():
        ax.contour(g, levels=[0.5], colors="white", linewidths=1.5)
    if pred.any() and not pred.all():
        ax.contour(pred, levels=[0.5], colors="cyan", linewidths=1, linestyles="dashed")
    score = "" if iou != iou else f"IoU {iou:.2f}  "
    ax.set_title(f"{gt.frame_key(im)}  {im.scenario}  {score}max {resized.max():.2f}", fontsize=8)
    ax.axis("off")
    return save_figure(fig, path)


def plot_all(result, gt, out_dir: Path, *, frames_root: Path | str | None = None, n_overlays: int = 8
             ) -> list[Path]:
    """Every plot; overlays only for frames whose image exists under ``frames_root``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [plot_scenarios(result.summary, out_dir / "scenarios.png"),
             plot_tn_curve(result.curves, result.settings["tau"], out_dir / "tn_vs_tau.png"),
             plot_success(result.curves, out_dir / "success.png")]
    if frames_root is None or result.predictions is None:
        return paths
    ious = dict(zip(result.frames.image_id.tolist(), result.frames.iou.tolist(), strict=True))
    for image_id in _pick_frames(result, n_overlays):
        im = gt.image_by_id[image_id]
        rgb, why = frame_image(frames_root, im)
        if rgb is None:
            log.warning("frame %s (image %s): %s; overlay skipped", gt.frame_key(im), image_id, why)
            continue
        name = f"overlay_{im.scenario}_{image_id}.png"
        paths.append(plot_overlay(gt, im, result.predictions.load(image_id), rgb, result.settings,
                                  ious[image_id], out_dir / name))
    return paths
