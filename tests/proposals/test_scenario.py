"""Scenario rules on hand-built tags and detections: each scenario and the ambiguous cases."""

from __future__ import annotations

import pytest

from pipeline.proposals.records import Detection
from pipeline.proposals.scenario import RuleConfig, propose_scenario
from pipeline.proposals.taxonomy import default_taxonomy

TAX = default_taxonomy()


def box(label: str, score: float, x: float = 0, w: float = 100, h: float = 100, vocab: str = "coco") -> Detection:
    return Detection(bbox=[x, 0, w, h], score=score, label=label, vocabulary=vocab)


def run(scores, dets, **kw):
    return propose_scenario(scores, dets, TAX, RuleConfig(**kw))


def codes(p) -> list[str]:
    return [f.split(":")[0] for f in p.flag_reasons]


def test_single():
    p = run({"person": 0.9}, [box("person", 0.8), box("dog", 0.9, x=200)])
    assert p.scenario == "single" and p.heard_categories == ["person"] and not p.flagged
    person, dog = sorted(p.instances, key=lambda i: i.category == "dog")
    assert person.sounding and person.sounding_score == pytest.approx(0.72)
    assert not dog.sounding and dog.sounding_score == 0
    assert p.score == pytest.approx(0.72)


def test_mixed():
    p = run({"person": 0.8, "piano": 0.6}, [box("person", 0.9), box("Piano", 0.7, x=300, vocab="oiv7")])
    assert p.scenario == "mixed" and p.heard_categories == ["person", "piano"]
    assert all(i.sounding for i in p.instances) and not p.flagged
    assert p.score == pytest.approx(min(0.8 * 0.9, 0.6 * 0.7))


def test_multi_entity_picks_the_most_salient_and_flags():
    p = run({"person": 0.9}, [box("person", 0.8, w=50), box("person", 0.8, x=100, w=150), box("person", 0.5, x=300)])
    assert p.scenario == "multi_entity" and codes(p) == ["multi_entity"]
    sounding = [i for i in p.instances if i.sounding]
    assert len(sounding) == 1 and sounding[0].bbox[2] == 150  # det score × area
    assert sum(i.sounding_score for i in p.instances) == pytest.approx(0.9 * (0.8 * 5000 * 0 + 1) * 0 + sum(
        0.9 * i.det_score * i.det_score * i.bbox[2] * 100 / sum(j.det_score * j.bbox[2] * 100 for j in p.instances)
        for i in p.instances))


def test_off_screen():
    p = run({"piano": 0.35}, [box("person", 0.9), box("person", 0.8, x=200)])
    assert p.scenario == "off_screen" and p.heard_categories == ["piano"]
    assert not any(i.sounding for i in p.instances) and p.score == pytest.approx(0.35)
    assert run({"piano": 0.5}, []).scenario == "off_screen"  # zero detections


def test_off_screen_with_a_weak_box_of_the_heard_category_is_flagged():
    p = run({"dog": 0.8}, [box("dog", 0.2)])
    assert p.scenario == "off_screen" and codes(p) == ["heard_maybe_visible"]
    assert p.score == pytest.approx(0.8 * (1 - 0.2))


def test_generic_sound_resolved_by_what_is_visible():
    p = run({"vehicle": 0.7, "car": 0.15}, [box("airplane", 0.9)])
    assert p.scenario == "single" and p.heard_categories == ["airplane", "car"]
    assert codes(p) == ["also_off_screen"]  # the deciding (vehicle) tag is strong
    off = run({"vehicle": 0.7, "car": 0.3}, [box("person", 0.9)])  # generic + specific, nothing seen
    assert off.scenario == "off_screen" and off.heard_categories == ["car"]


def test_weak_tags_and_weak_detections():
    p = run({"dog": 0.05}, [box("dog", 0.4)])  # below the tag threshold, above a third of it
    assert p.scenario == "single" and "weak_audio_tags" in codes(p) and "weak_detections" in codes(p)
    none = run({"dog": 0.01}, [box("dog", 0.9)])
    assert none.scenario is None and codes(none) == ["no_sound_category"]
    assert run({}, [box("dog", 0.9)]).scenario is None


def test_look_alikes_inside_mixed_and_no_tagger():
    p = run({"person": 0.9, "dog": 0.8}, [box("person", 0.9), box("person", 0.8, x=150), box("dog", 0.9, x=300)])
    assert p.scenario == "mixed" and codes(p) == ["look_alikes"]
    q = propose_scenario({}, [box("person", 0.9)], TAX, tagger_active=False)
    assert q.scenario is None and codes(q) == ["no_audio_tagger"] and len(q.instances) == 1


def test_unmapped_and_tiny_detections_are_dropped():
    p = run({"person": 0.9}, [box("traffic light", 0.9), box("person", 0.1), box("person", 0.9)])
    assert [i.detector_label for i in p.instances] == ["person"] and p.instances[0].instance_id == 1
    assert len(run({"person": 0.9}, [box("person", 0.9, x=i) for i in range(30)], max_instances=4).instances) == 4
