"""Scenario rules: from audio tags and detections, propose a scenario and the sounding instances of one frame.

Vocabulary: an *entity* is what the taxonomy maps an audio label to (a category such as ``piano`` or, for a
generic label such as "Vehicle", a supercategory such as ``vehicle``). An entity is *heard* when its best label
score reaches ``tag_threshold``; it is *on screen* when a detection of a matching category scores at least
``det_threshold``.

Rules, in order (every threshold is a :class:`RuleConfig` field):

1. no audio tagger → no scenario (``None``), flagged ``no_audio_tagger``: the frame goes to review bare;
2. nothing heard → the best entity below threshold is used if it reaches ``tag_threshold / 3`` (flag
   ``weak_audio_tags``), else no scenario (flag ``no_sound_category``);
3. no heard entity on screen → ``off_screen`` (flag ``heard_maybe_visible`` when a weak box of it exists);
4. each heard entity on screen gets its most salient instance (det score × area) proposed as sounding; the
   scenario then follows from the proposed instances by THE scenario rule of AVATAR
   (:func:`avatar_bench.rules.scenario_of`): one sounding instance → ``single``, or ``multi_entity`` when another
   proposed instance has its category (flagged ``multi_entity`` for the annotator); two or more → ``mixed``
   (look-alikes inside it are flagged ``look_alikes``). So the proposed scenario never contradicts the proposed
   instances, and review and validation agree with it;
6. extra flags: ``also_off_screen`` (a heard entity is not visible while others are), ``weak_audio_tags``,
   ``weak_detections`` (a proposed sounding instance scores below ``weak_det``).

``scenario_score`` is a confidence in [0, 1]: the product of the deciding tag and detection scores (and, for
``off_screen``, of the tag score and ``1 -`` the best weak box of a heard entity).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from avatar_bench.rules import scenario_of
from pipeline.config import StrictConfig, require
from pipeline.proposals.records import Detection, InstanceProposal, ScenarioProposal
from pipeline.proposals.taxonomy import Taxonomy


@dataclass(frozen=True)
class RuleConfig(StrictConfig):
    tag_threshold: float = 0.1  # an entity is heard at this score (YAMNet sigmoid / CAV-MAE softmax)
    weak_tag: float = 0.3  # deciding tag scores below this are flagged weak_audio_tags
    det_min: float = 0.15  # boxes below this are dropped
    det_threshold: float = 0.35  # a box at/above this makes its category visible
    weak_det: float = 0.5  # proposed sounding boxes below this are flagged weak_detections
    max_instances: int = 20  # most instances kept per frame (highest scores first)

    def validate(self) -> None:
        for name in ("tag_threshold", "weak_tag", "det_min", "det_threshold", "weak_det"):
            value = getattr(self, name)
            require(0.0 <= value <= 1.0, f"rules.{name}", "a score in [0, 1]", value)
        require(self.max_instances >= 1, "rules.max_instances", "at least 1", self.max_instances)


def make_instances(detections: Sequence[Detection], taxonomy: Taxonomy, cfg: RuleConfig) -> list[InstanceProposal]:
    """Detections of taxonomy categories, best first, numbered from 1 (unmapped classes are dropped)."""
    kept = []
    for det in sorted(detections, key=lambda d: -d.score):
        category = taxonomy.detector_category(det.vocabulary, det.label)
        if category is not None and det.score >= cfg.det_min:
            kept.append((det, category))
    return [InstanceProposal(instance_id=i + 1, category=c, detector_label=d.label, det_score=d.score,
                             bbox=list(d.bbox)) for i, (d, c) in enumerate(kept[:cfg.max_instances])]


def _heard(scores: Mapping[str, float], taxonomy: Taxonomy, cfg: RuleConfig, flags: list[str]) -> dict[str, float]:
    heard = {e: s for e, s in scores.items() if s >= cfg.tag_threshold}
    if not heard and scores:
        entity, score = max(scores.items(), key=lambda kv: kv[1])
        if score >= cfg.tag_threshold / 3:
            flags.append(f"weak_audio_tags: best sound {entity} only {score:.2f}")
            heard = {entity: score}
    return heard


def _drop_redundant_generic(heard, on: dict, off: list, taxonomy: Taxonomy) -> tuple[dict, list]:
    """A generic entity (``vehicle``) adds nothing when a specific one of its kind (``airplane``) covers it:
    on screen when the specific one is seen, off screen when the specific one is heard at all."""
    def kinds(entities) -> set[str]:
        return {taxonomy.categories[e].supercategory for e in entities if e in taxonomy.categories}

    seen_kinds, heard_kinds = kinds(on), kinds(heard)
    on = {e: v for e, v in on.items() if not (taxonomy.is_supercategory(e) and e in seen_kinds)}
    off = [e for e in off if not (taxonomy.is_supercategory(e) and e in heard_kinds)]
    return on, off


def _salience(inst: InstanceProposal) -> float:
    return inst.det_score * max(inst.bbox[2] * inst.bbox[3], 1.0)


def _mark_sounding(entity: str, tag: float, insts: list[InstanceProposal]) -> InstanceProposal:
    """Mark the most salient instance sounding; all get ``sounding_score = tag × det × salience share``."""
    total = sum(_salience(i) for i in insts)
    for inst in insts:
        inst.sounding_score = max(inst.sounding_score, tag * inst.det_score * _salience(inst) / total)
    best = max(insts, key=_salience)
    best.sounding = True
    return best


def propose_scenario(scores: Mapping[str, float], detections: Sequence[Detection], taxonomy: Taxonomy,
                     cfg: RuleConfig = RuleConfig(), *, tagger_active: bool = True) -> ScenarioProposal:
    """Apply the rules of this module to one frame.

    Args:
        scores: best tag score per heard entity (see :func:`pipeline.proposals.taggers.entity_scores`).
        detections: the frame's boxes.
        taxonomy: label → category maps.
        cfg: thresholds.
        tagger_active: False in no-tagger mode (rule 1).
    """
    instances = make_instances(detections, taxonomy, cfg)
    if not tagger_active:
        return ScenarioProposal(scenario=None, score=0.0, instances=instances, flag_reasons=[
            "no_audio_tagger: no audio tags, the scenario is left to the annotator"])
    flags: list[str] = []
    heard = _heard(scores, taxonomy, cfg, flags)
    if not heard:
        flags.append("no_sound_category: no tag names a kind of visible source")
        return ScenarioProposal(scenario=None, score=0.0, instances=instances, flag_reasons=flags)
    visible = {e: [i for i in instances if taxonomy.matches(e, i.category) and i.det_score >= cfg.det_threshold]
               for e in heard}
    on = {e: v for e, v in visible.items() if v}
    on, off = _drop_redundant_generic(heard, on, [e for e in heard if e not in on], taxonomy)
    # Heard names: a generic entity seen on screen is resolved to the categories of its visible instances.
    names = sorted({i.category for e in on for i in on[e]} | set(off))
    if not on:
        return _off_screen(heard, instances, taxonomy, cfg, flags, names)
    if off:
        flags.append(f"also_off_screen: heard {', '.join(sorted(off))} but not seen")
    deciding = []
    for e, insts in sorted(on.items()):
        best = _mark_sounding(e, heard[e], insts)
        deciding.append(best.sounding_score)
        if len(insts) > 1:
            code = "multi_entity" if len(on) == 1 else "look_alikes"
            flags.append(f"{code}: {e} heard and visible {len(insts)} times; check which one sounds")
    scenario = scenario_of([(i.category, i.sounding) for i in instances], names)
    _weak_flags(heard, on, cfg, flags)
    return ScenarioProposal(scenario=scenario, score=float(min(deciding)), heard_categories=names,
                            instances=instances, flag_reasons=flags)


def _off_screen(heard, instances, taxonomy, cfg, flags, names) -> ScenarioProposal:
    weak = [(e, i) for e in heard for i in instances if taxonomy.matches(e, i.category)]
    best_weak = max((i.det_score for _, i in weak), default=0.0)
    if weak:
        e, i = max(weak, key=lambda ei: ei[1].det_score)
        flags.append(f"heard_maybe_visible: {e} heard, weak box {i.detector_label} {i.det_score:.2f}")
    tag = max(heard.values())
    if tag < cfg.weak_tag and not any(f.startswith("weak_audio_tags") for f in flags):
        flags.append(f"weak_audio_tags: best heard score {tag:.2f}")
    return ScenarioProposal(scenario="off_screen", score=float(tag * (1.0 - best_weak)), heard_categories=names,
                            instances=instances, flag_reasons=flags)


def _weak_flags(heard, on, cfg, flags) -> None:
    weak_tags = [e for e in on if heard[e] < cfg.weak_tag]
    if weak_tags and not any(f.startswith("weak_audio_tags") for f in flags):
        flags.append(f"weak_audio_tags: {', '.join(sorted(weak_tags))} below {cfg.weak_tag}")
    weak_boxes = sorted({i.category for v in on.values() for i in v if i.sounding and i.det_score < cfg.weak_det})
    if weak_boxes:
        flags.append(f"weak_detections: sounding {', '.join(weak_boxes)} box below {cfg.weak_det}")
