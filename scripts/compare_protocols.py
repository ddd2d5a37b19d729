"""How much each convention of an AVATAR evaluation moves each number, on one submission.

    python scripts/compare_protocols.py [--frames 4000] [--quality blob] [--size 224] [--store float|png8|zeros]

Ground truth: synthetic AVATAR-COCO (avatar_bench.testing.make_gt, 640x360, all scenarios), written in the
release's layout (polygons) and imported back with avatar-data's importer, so the GT is what scoring the real
release sees. Submission: make_submission(quality) heatmaps at --size (a model-like "blob" by default; not a
real model), stored as float32 (``float``), as 8-bit PNG values (``png8``: 256 levels, so pixels tie at the
median), or with every value under the map's 60th percentile set to exactly 0 (``zeros``: like a calibrated
sigmoid that underflows, or a ReLU). Columns: the default lvs-native, each convention of peers-224 alone, then
peers-224; the last columns are the differences from the default in percentage points.
"""

from __future__ import annotations

import argparse
import tempfile

ROWS = (("single CIoU", "single_ciou"), ("single AUC", "single_auc"), ("mixed CIoU", "mixed_ciou"),
        ("multi-entity CIoU", "multi_entity_ciou"), ("off-screen TN", "off_screen_tn"),
        ("off-screen AUROC", "offscreen_auroc"), ("total CIoU", "total_ciou"), ("cross-event CIoU", "cross_event_ciou"),
        ("cross-event delta", "cross_event_delta"), ("GT vanished (frames)", "n_gt_vanished"))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--frames", type=int, default=4000)
    p.add_argument("--quality", default="blob")
    p.add_argument("--size", type=int, default=224, help="heatmap side")
    p.add_argument("--store", choices=("float", "png8", "zeros"), default="float")
    args = p.parse_args()
    import numpy as np

    from avatar_bench.evaluate import evaluate
    from avatar_bench.protocols import PROTOCOLS, Protocol
    from avatar_bench.release import import_release, release_key
    from avatar_bench.testing import make_gt, make_submission
    from avatar_bench.testing.release_fixture import write_release

    gt = make_gt(args.frames, width=640, height=360, seed=0)
    with tempfile.TemporaryDirectory() as tmp:
        fx = write_release(gt, tmp, images="none")
        release = import_release(fx.metadata).dataset
    key_of = {release_key(release, im): im.id for im in release.images}
    heat = make_submission(gt, args.quality, size=(args.size, args.size), seed=0)
    by_id = {fx_id: key for fx_id, key in fx.keys.items()}
    store = {"float": lambda h: h, "png8": lambda h: np.round(h * 255).astype(np.float32) / 255,
             "zeros": lambda h: np.where(h < np.quantile(h, 0.6), 0, h).astype(np.float32)}[args.store]
    sub = {key_of[by_id[i]]: store(np.asarray(heat[i])) for i in heat}
    variants = {
        "lvs-native": PROTOCOLS["lvs-native"],
        "native, >= median": Protocol("native-ge", "", relative_rule="ge"),
        "224 grid, LVS rule": Protocol("224-lvs", "", size=(224, 224)),
        "peers-224": PROTOCOLS["peers-224"],
    }
    scores = {name: evaluate(release, sub, protocol=prot).summary for name, prot in variants.items()}
    names = list(variants)
    print(f"{args.frames} frames, submission '{args.quality}' at {args.size}x{args.size} stored as {args.store}; "
          "GT imported from polygons\n")
    print("| metric | " + " | ".join(names) + " | " + " | ".join(f"Δ {n}" for n in names[1:]) + " |")
    print("|---|" + "---:|" * (2 * len(names) - 1))
    for label, key in ROWS:
        base = scores[names[0]][key]
        vals = [f"{scores[n][key]:.2f}" for n in names]
        deltas = [f"{scores[n][key] - base:+.2f}" for n in names[1:]]
        print(f"| {label} | " + " | ".join(vals) + " | " + " | ".join(deltas) + " |")


if __name__ == "__main__":
    main()
