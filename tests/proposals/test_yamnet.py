"""YAMNet (real, small) on the real clips of ../shared: tags per window around frame times."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.errors import PipelineError
from pipeline.proposals.audio import load_audio, window
from pipeline.proposals.taggers import entity_scores, make_tagger, top_tags
from pipeline.proposals.taxonomy import default_taxonomy


@pytest.fixture(scope="module")
def yamnet(request):
    from tests.conftest import shared_path

    return make_tagger("yamnet", model=str(shared_path("models", "yamnet.tflite")))


def _heard(yamnet, video, times, threshold=0.1):
    scores = yamnet.score_windows(load_audio(str(video)), times)
    return [{e for e, s in entity_scores(row, yamnet, default_taxonomy()).items() if s >= threshold} for row in scores]


def test_speech_on_the_talking_women(yamnet, shared_media):
    heard = _heard(yamnet, shared_media("three_women_one_talks.mp4"), [1.0, 3.0, 5.0])
    assert all("person" in h for h in heard)


def test_engine_sound_only_while_the_airplane_sounds(yamnet, shared_media):
    video = shared_media("airplane_flyover_then_silence.mp4")
    heard = _heard(yamnet, video, [0.5, 1.5, 2.5, 3.5, 6.0, 8.0, 10.0])
    vehicle = [bool(h & {"vehicle", "car", "airplane"}) for h in heard]
    assert vehicle == [True, True, True, True, False, False, False]
    tags = top_tags(yamnet.score_windows(load_audio(str(video)), [8.0])[0], yamnet, default_taxonomy())
    assert tags[0].label == "Silence" and tags[0].category is None


def test_piano_heard_in_the_silent_film(yamnet, shared_media):
    heard = _heard(yamnet, shared_media("silent_film_offscreen_piano.mp4"), [2.5, 8.0])
    assert all("piano" in h for h in heard)


def test_audio_shorter_than_a_window_is_zero_padded(yamnet):
    short = np.full(4000, 0.1, np.float32)  # 0.25 s
    assert window(short, 0.1, 0.975).shape == (15600,)
    scores = yamnet.score_windows(short, [0.1, 5.0])
    assert scores.shape == (2, 521) and np.all(np.isfinite(scores))
    assert yamnet.labels[int(np.argmax(scores[1]))] == "Silence"  # beyond the end: zeros


def test_no_audio_stream_and_bad_model(shared_media, tmp_path):
    assert load_audio(str(shared_media("no_audio_stream.mp4"))) is None
    bad = tmp_path / "yamnet.tflite"
    bad.write_bytes(b"not a flatbuffer")
    (tmp_path / "yamnet_class_map.csv").write_text("index,mid,display_name\n0,/m/0,Speech\n")
    with pytest.raises(PipelineError, match="not a loadable TFLite model"):
        make_tagger("yamnet", model=str(bad))
    with pytest.raises(PipelineError, match="cannot decode its audio"):
        load_audio(str(bad))
