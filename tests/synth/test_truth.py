"""The ground truth: valid AVATAR-COCO, each scenario's definition, agreement with the meta truth, and masks
that match the pixels of the rendered and of the decoded video."""

from __future__ import annotations

import av
import numpy as np
from PIL import Image
from pycocotools.coco import COCO

from avatar_bench import rle
from avatar_bench.format import SCENARIOS, AvatarDataset, scenario_problems
from avatar_bench.synth.annotate import classify
from avatar_bench.synth.render import Renderer, background
from avatar_bench.synth.scene import scene_from_meta
from avatar_bench.synth.yuv import yuv420_to_rgb

SPLITS = ("train", "val", "test")


def _load(out, split):
    return AvatarDataset.load(out / "annotations" / f"{split}.json")


def test_annotations_validate_and_load_in_pycocotools(tiny):
    out, _ = tiny
    for split in SPLITS:
        ds = _load(out, split)
        assert scenario_problems(ds) == []
        assert all(a.origin == "human" and a.score == 1.0 for a in ds.annotations)
        assert all(v.source == "synth" and v.source_label for v in ds.videos)
        assert all(c.audio_labels and c.detector_labels for c in ds.categories)
        coco = COCO(str(out / "annotations" / f"{split}.json"))
        for ann in ds.annotations[:20]:
            assert np.array_equal(coco.annToMask(coco.anns[ann.id]).astype(bool), rle.decode(ann.segmentation))
            assert ann.area == rle.area(ann.segmentation) > 0
    test = _load(out, "test")
    assert {im.scenario for im in test.images} == set(SCENARIOS)
    assert test.cross_event_video_ids(), "the test split must hold a cross-event video"


def test_each_frame_obeys_its_scenario_definition(tiny):
    out, _ = tiny
    for split in SPLITS:
        ds = _load(out, split)
        for im in ds.images:
            anns = ds.anns_by_image.get(im.id, [])
            loud = [a for a in anns if a.sounding]
            heard = set(im.sounding_category_ids)
            if im.scenario == "off_screen":
                assert not loud and heard
                assert not any(a.category_id in heard for a in anns), "a heard category is visible"
            elif im.scenario == "single":
                assert len(loud) == 1 and heard == {loud[0].category_id}
                assert sum(a.category_id == loud[0].category_id for a in anns) == 1
            elif im.scenario == "mixed":
                assert len({a.category_id for a in loud}) >= 2 and heard == {a.category_id for a in loud}
            else:
                assert len(loud) == 1 and heard == {loud[0].category_id}
                assert sum(a.category_id == loud[0].category_id for a in anns) >= 2
            assert len({a.track_id for a in anns}) == len(anns)


def test_annotations_agree_with_the_meta_truth(tiny, tiny_metas):
    out, _ = tiny
    for split in SPLITS:
        ds = _load(out, split)
        for video in ds.videos:
            meta = tiny_metas[video.name]
            tracks = {i["track_id"]: i for i in meta["instances"]}
            blurred = set(meta["blurred_frames"])
            for im in ds.images_by_video[video.id]:
                t = im.frame_index / video.fps
                assert im.timestamp_s == round(t, 6)
                assert any(s <= t <= e for s, e in meta["active_segments_s"])
                assert not blurred & set(range(im.frame_index - 2, im.frame_index + 3))
                heard = {ds.category_by_id[c].name for c in im.sounding_category_ids}
                assert heard == {i["category"] for i in tracks.values()
                                 if any(s <= t <= e for s, e in i["sounding_intervals_s"])}
                for a in ds.anns_by_image.get(im.id, []):
                    truth = tracks[a.track_id]
                    assert truth["on_screen"] and ds.category_by_id[a.category_id].name == truth["category"]
                    assert a.sounding == any(s <= t <= e for s, e in truth["sounding_intervals_s"])


def test_cross_event_videos_change_their_sounding_source(tiny):
    out, _ = tiny
    for split in SPLITS:
        ds = _load(out, split)
        for vid in ds.cross_event_video_ids():
            assert ds.video_by_id[vid].extra["synth_kind"] == "cross_event"
            sets = [frozenset(im.sounding_category_ids) for im in ds.images_by_video[vid]]
            assert len(set(sets)) >= 2 and not set.intersection(*map(set, set(sets)))


def test_masks_match_the_rendered_and_the_decoded_pixels(tiny, tiny_metas):
    out, _ = tiny
    ds = _load(out, "test")
    for video in ds.videos[:3]:
        scene = scene_from_meta(tiny_metas[video.name])
        renderer = Renderer(scene)
        bg_buf = background(scene)
        bg = yuv420_to_rgb(bg_buf).astype(np.int16)
        with av.open(str(out / "videos" / video.file_name)) as c:
            decoded = [f.to_ndarray(format="rgb24") for f in c.decode(video=0)]
        for im in ds.images_by_video[video.id]:
            anns = ds.anns_by_image.get(im.id, [])
            union = rle.union([a.segmentation for a in anns], (im.height, im.width))
            _, ids = renderer.render(im.frame_index, colour=False)  # the mask-only pass
            ids = ids.copy()
            buf, _ = renderer.render(im.frame_index)  # the colour pass
            # mask pass == colour pass: the luma differs from the background exactly under the masks
            differs = buf[: im.height] != bg_buf[: im.height]
            assert (differs & ~union).sum() == 0
            assert (union & ~differs).sum() <= 0.01 * union.sum()
            for a in anns:
                assert np.array_equal(rle.decode(a.segmentation), ids == a.track_id)
            # ... and the decoded video frame shows the objects where the masks are
            frame = decoded[im.frame_index].astype(np.int16)
            seen = np.abs(frame - bg).sum(axis=-1) > 40
            if union.any():
                assert (seen & union).sum() / (seen | union).sum() > 0.9, (video.name, im.frame_index)
            # the released JPEG is that decoded frame (up to compression), not a neighbour
            jpg = np.asarray(Image.open(out / "frames" / im.file_name)).astype(np.float64)
            err = [np.mean((jpg - decoded[j]) ** 2) for j in (im.frame_index - 1, im.frame_index, im.frame_index + 1)]
            assert 10 * np.log10(255**2 / err[1]) > 30
            assert err[1] <= min(err[0], err[2])


def test_classify_by_hand():
    assert classify([], {"dog"}) == "off_screen"
    assert classify([(1, "drum", False)], {"dog"}) == "off_screen"
    assert classify([], set()) is None
    assert classify([(1, "dog", True), (2, "drum", False)], {"dog"}) == "single"
    assert classify([(1, "dog", True), (2, "dog", False)], {"dog"}) == "multi_entity"
    assert classify([(1, "dog", True), (2, "bell", True), (3, "dog", False)], {"dog", "bell"}) == "mixed"
    assert classify([(1, "dog", True)], {"dog", "horn"}) is None  # on- and off-screen at once
    # two sounding instances of one category are two sources: mixed (THE rule, avatar_bench.rules)
    assert classify([(1, "dog", True), (2, "dog", True)], {"dog"}) == "mixed"
