"""Gather, for one batch, each pulled frame's proposal and what the annotator made of it.

Reads only the work folder (through :class:`~pipeline.layout.WorkDir`) and the split files pull merged into:
its ``proposals`` (what was proposed), ``review_push`` (the digest of the proposal each task shows) and ``review``
(:class:`~pipeline.records.PullRecord`: the annotation pulled, Label Studio's ``lead_time``, where it was merged)
tables, and the verified frame in ``<out_dir>/<split>.json``. A frame is compared only when its task showed the
proposal the table holds now; the others are counted by reason, never compared against the wrong proposal:

    replaced_after_push   proposed again after it was pushed (``propose --redo-pushed``) and annotated before
    push_not_recorded     pushed before pushes recorded the proposal's digest
    no_proposal           the proposal is gone from the table (its frame was dropped by prepare)
    not_in_split_files    pulled as kept, but no longer in the split files (edited or moved by hand)
    malformed / skipped_by_annotator / annotation_deleted   what pull recorded: no verified frame to compare
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from avatar_bench import naming
from avatar_bench import rle as coco_rle
from avatar_bench.format import AvatarDataset, Image
from pipeline.layout import WorkDir
from pipeline.proposals.records import ProposalRecord
from pipeline.records import STATUS_OK, PullRecord
from pipeline.report.metrics import MATCH_IOU, FrameOutcome, Inst, Side, box_mask, compare_frame


class _SplitFiles:
    """The split files pull wrote, loaded once each, frames by their normalised id."""

    def __init__(self) -> None:
        self._cache: dict[Path, tuple[AvatarDataset, dict[str, Image]]] = {}

    def frame(self, out_dir: str, split: str, frame_id: str) -> tuple[AvatarDataset, Image] | None:
        path = Path(out_dir) / f"{split or 'test'}.json"
        if path not in self._cache:
            if not path.is_file():
                return None
            ds = AvatarDataset.load(path)
            self._cache[path] = (ds, {_key(str(im.extra.get("frame_id", ""))): im for im in ds.images
                                      if im.extra.get("frame_id")})
        ds, images = self._cache[path]
        image = images.get(_key(frame_id))
        return (ds, image) if image is not None else None


def _key(frame_id: str) -> str:
    try:
        return naming.frame_id(*naming.parse_frame_id(frame_id))
    except ValueError:
        return frame_id


def proposal_side(p: ProposalRecord, names: set[str] | None = None) -> Side:
    """The proposal as its task showed it: instances and heard categories of the project, boxes standing for
    missing masks."""
    insts = []
    for inst in p.instances:
        if names is not None and inst.category not in names:
            continue  # not a category of the project: its task could not show it
        mask = coco_rle.decode(inst.rle).astype(bool) if inst.rle is not None else None
        insts.append(Inst(mask=mask if mask is not None else box_mask(inst.bbox, p.height, p.width),
                          category=inst.category, sounding=bool(inst.sounding), ident=inst.instance_id,
                          from_box=mask is None))
    # as pull reads an annotation: a visible sounding instance is heard by definition
    heard = frozenset(h for h in p.heard_categories if names is None or h in names) | {
        i.category for i in insts if i.sounding}
    return Side(instances=insts, scenario=p.scenario or None, heard=heard)


def verified_side(ds: AvatarDataset, image: Image) -> Side:
    """The verified frame of a split file (``proposal_instance_id`` links an instance to its proposal)."""
    names = {c.id: c.name for c in ds.categories}
    insts = [Inst(mask=coco_rle.decode(a.segmentation).astype(bool), category=names[a.category_id],
                  sounding=bool(a.sounding), ident=a.extra.get("proposal_instance_id"))
             for a in ds.anns_by_image.get(image.id, [])]
    heard = frozenset(names[c] for c in image.sounding_category_ids)
    return Side(instances=insts, scenario=image.scenario, heard=heard)


def collect(work: WorkDir, batch: str | None = None, match_iou: float = MATCH_IOU) -> tuple[list[FrameOutcome],
                                                                                           Counter]:
    """The outcome of every comparable pulled frame of one batch, and the others counted by reason.

    Args:
        work: the batch's work folder.
        batch: its name in the report (default: the folder's name).
        match_iou: the IoU at which a redrawn instance is matched to a proposal.
    """
    batch = batch or work.root.name
    proposals = {p.frame_id: p for p in work.records("proposals", STATUS_OK, required=False)}
    pushed = {r.frame_id: r for r in work.records("review_push", STATUS_OK, required=False)}
    files, outcomes, skipped = _SplitFiles(), [], Counter()
    for pulled in work.records("review", required=False):
        if not pulled.ok and pulled.reason != "rejected_by_annotator":
            skipped[pulled.reason or "not_ok"] += 1
            continue
        outcome = _outcome(batch, pulled, proposals.get(pulled.frame_id), pushed.get(pulled.frame_id), files,
                           skipped, match_iou, str(work.annotations))  # pulls before out_dir was recorded
        if outcome is not None:
            outcomes.append(outcome)
    return outcomes, skipped


def _outcome(batch: str, pulled: PullRecord, proposal: ProposalRecord | None, push, files: _SplitFiles,
             skipped: Counter, match_iou: float, default_out: str) -> FrameOutcome | None:
    if proposal is None:
        skipped["no_proposal"] += 1
        return None
    if push is None or not push.proposal:
        skipped["push_not_recorded"] += 1
        return None
    if push.proposal != proposal.digest():
        skipped["replaced_after_push"] += 1
        return None
    group = (batch, proposal.model_version or "unknown")
    if not pulled.ok:  # rejected by the annotator: the time counts, the instances are not compared
        return FrameOutcome(group=group, rejected=True, lead_time_s=pulled.lead_time_s)
    found = files.frame(pulled.out_dir or default_out, pulled.split, pulled.frame_id)
    if found is None:
        skipped["not_in_split_files"] += 1
        return None
    ds, image = found
    names = {c.name for c in ds.categories}
    return compare_frame(group, proposal_side(proposal, names), verified_side(ds, image), pulled.lead_time_s,
                         match_iou)
