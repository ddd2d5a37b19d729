"""The taxonomy data file and its loader's validation."""

from __future__ import annotations

import pytest

from pipeline.errors import PipelineError
from pipeline.proposals.taggers import read_label_csv
from pipeline.proposals.taxonomy import ANNOTATIONS, load_taxonomy


def test_default_taxonomy_loads_and_maps_the_labels_the_tests_rely_on():
    tax = load_taxonomy()
    assert tax.audio_entity("audioset", "Speech") == "person"
    assert tax.audio_entity("audioset", "Piano") == "piano"
    assert tax.audio_entity("vggsound", "playing piano") == "piano"
    assert tax.audio_entity("audioset", "Vehicle") == "vehicle" and tax.is_supercategory("vehicle")
    assert tax.audio_entity("audioset", "Silence") is None  # names no visible source
    assert tax.detector_category("coco", "person") == "person"
    assert tax.detector_category("oiv7", "Piano") == "piano"
    # Same word, two vocabularies: a COCO "mouse" is a computer mouse, an OIV7 "Mouse" an animal.
    assert tax.detector_category("coco", "mouse") == "computer_mouse"
    assert tax.detector_category("oiv7", "Mouse") == "rodent"
    assert tax.matches("vehicle", "airplane") and not tax.matches("vehicle", "person")


def test_label_lists_are_complete():
    assert len(read_label_csv(ANNOTATIONS / "vggsound_labels.csv")) == 309
    assert len(read_label_csv(ANNOTATIONS / "audioset_yamnet_labels.csv")) == 521


def test_every_category_has_audio_and_detector_labels():
    tax = load_taxonomy()
    for cat in tax.categories.values():
        assert any(cat.detector.values()), cat.name
        assert any(cat.audio.values()), cat.name


BAD = """version: 1
supercategories:
  people: {}
categories:
  - name: person
    supercategory: people
    audioset: ["Speech", "Not a YAMNet label"]
    coco: ["person"]
  - name: talker
    supercategory: nowhere
    audioset: ["Speech"]
    coco: ["not a coco class"]
  - name: Bad-Name
    supercategory: people
"""


def test_bad_taxonomy_lists_every_problem(tmp_path):
    path = tmp_path / "taxonomy.yaml"
    path.write_text(BAD)
    with pytest.raises(PipelineError) as err:
        load_taxonomy(path)
    msg = str(err.value)
    assert "'Not a YAMNet label' is not in audioset_yamnet_labels.csv" in msg
    assert "supercategory 'nowhere' is not declared" in msg
    assert "'Speech' maps to both person and talker" in msg
    assert "'not a coco class' is not a coco class name" in msg
    assert "lower_snake_case name, got 'Bad-Name'" in msg


@pytest.mark.parametrize("text, expected", [("version: 2\n", "version: 1"), ("a: [", "not valid YAML")])
def test_unreadable_taxonomy(tmp_path, text, expected):
    path = tmp_path / "t.yaml"
    path.write_text(text)
    with pytest.raises(PipelineError, match=expected):
        load_taxonomy(path)
    with pytest.raises(PipelineError, match="file not found"):
        load_taxonomy(tmp_path / "missing.yaml")
