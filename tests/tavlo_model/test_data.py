"""Data: windows and audio alignment, decoding (cached == uncached), augmentation, sources, the resumable sampler."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from avatar_bench.format import AvatarDataset
from tavlo_model.audio import log_mel, slice_columns
from tavlo_model.config import DataConfig
from tavlo_model.data import ClipDataset, ShardSampler, items_from_csv, items_from_gt, training_items, usable, window
from tavlo_model.errors import TavloError
from tavlo_model.registry import model_config
from tavlo_model.video import decode_frames

from .conftest import TINY


def test_window_puts_the_anchor_at_t_half_and_audio_around_frames():
    idx, t0 = window(anchor=50, fps=25, num_frames=4, clip_seconds=1.0, n_frames=250)
    times = [2.0 + (k - 2) * 0.25 for k in range(4)]
    assert idx == [round(t * 25) for t in times] and idx[2] == 50
    assert t0 == pytest.approx(times[0] - 0.125)  # audio segment k = [t_k - d/2, t_k + d/2)
    idx1, t1 = window(anchor=50, fps=25, num_frames=1, clip_seconds=1.0, n_frames=250)
    assert idx1 == [50] and t1 == pytest.approx(1.5)  # the baseline hears the same second, centred on its frame
    assert window(anchor=1, fps=25, num_frames=4, clip_seconds=1.0, n_frames=10)[0] == [0, 0, 1, 7]


def test_log_mel_puts_a_tone_in_the_right_band_and_pads_with_silence():
    sr, hop = 16000, 160
    t = np.arange(sr) / sr
    low, high = log_mel(np.sin(2 * np.pi * 300 * t), sr, 512, hop, 40), log_mel(np.sin(2 * np.pi * 3000 * t), sr,
                                                                                 512, hop, 40)
    assert low.shape == (40, 1 + sr // hop)
    assert low[:, 50].argmax() < high[:, 50].argmax()
    padded = slice_columns(low, -10, 30)
    assert np.all(padded[:, :10] == padded.min()) and np.array_equal(padded[:, 10:], low[:, :20])


def test_cached_and_uncached_clips_are_identical(toy_root, tmp_path):
    m = model_config("tavlo_r18_t4", **TINY)
    items = training_items(DataConfig(root=str(toy_root)))
    plain = ClipDataset(items, m, DataConfig(root=str(toy_root)), train=True, seed=3)
    cached = ClipDataset(items, m, DataConfig(root=str(toy_root), cache_dir=str(tmp_path / "c")), train=True, seed=3)
    a, b = plain[1], cached[1]
    assert a["frames"].shape == (4, 3, 64, 64) and a["spec"].shape == (1, 32, 100)
    torch.testing.assert_close(a["frames"], b["frames"], rtol=0, atol=0)
    torch.testing.assert_close(a["spec"], b["spec"], rtol=0, atol=0)
    assert len(list((tmp_path / "c").glob("*.npy"))) == 2  # frames + log-mel of that one video
    torch.testing.assert_close(cached[1]["frames"], b["frames"], rtol=0, atol=0)  # deterministic per (epoch, index)
    cached.set_epoch(1)
    assert not torch.equal(cached[1]["frames"], b["frames"])  # a new epoch draws a new window/crop


def test_seek_decoding_matches_full_decoding(toy_root):
    path = toy_root / "videos" / "sy000000001_000000.mp4"
    full, fps = decode_frames(path, None, 32)
    some, _ = decode_frames(path, [40, 3, 3, 49, 70], 32)
    assert fps == 25 and len(full) == 50
    assert np.array_equal(some, full[[40, 3, 3, 49, 49]])  # past the end repeats the last frame


def test_eval_clip_is_centred_on_the_annotated_frame_without_augmentation(toy_root):
    m = model_config("tavlo_r18_t4", **TINY)
    gt = AvatarDataset.load(toy_root / "annotations" / "train.json")
    items = items_from_gt(gt, toy_root / "videos")
    assert len(items) == len(gt.images) and items[0].name != items[1].name  # videos interleaved
    ds = ClipDataset(items, m, DataConfig(), train=False)
    sample = ds[0]
    expected, _ = decode_frames(items[0].path, [items[0].anchor], 64)
    x = torch.from_numpy(expected).permute(0, 3, 1, 2).float() / 255
    x = (x - torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)) / torch.tensor([0.229, 0.224, 0.225]).view(1, 3,
                                                                                                            1, 1)
    torch.testing.assert_close(sample["frames"][2], x[0])
    assert sample["image_id"] == items[0].image_id


def test_augmentation_is_shared_by_the_frames_of_a_clip(toy_root):
    m = model_config("tavlo_r18_t4", **{**TINY, "clip_seconds": 0.04 * 4})  # 4 consecutive, near-identical frames
    ds = ClipDataset(training_items(DataConfig(root=str(toy_root))), m, DataConfig(crop_scale_min=0.3), train=True)
    for i in range(4):
        f = ds[i]["frames"]
        assert (f[1:] - f[:1]).abs().mean() < 0.1  # same crop and flip for every frame of the window


def test_csv_source_and_unusable_videos(toy_root, tmp_path, caplog):
    csv = tmp_path / "rows.csv"
    csv.write_text("sy000000000,0,beeper,train\nsy000000001,0,\"buzzer, loud\",train\nsy000000004,0,x,val\n"
                   "sy999999999,0,gone,train\n", encoding="utf-8")
    items = items_from_csv(csv, toy_root / "videos", "train")
    assert [it.name for it in items] == ["sy000000000_000000", "sy000000001_000000"]
    assert "not found" in caplog.text
    bad = tmp_path / "bad_000000.mp4"
    bad.write_bytes(b"not a video")
    kept = usable(items + [items[0].__class__(str(bad), "bad_000000")])
    assert len(kept) == 2 and "bad_000000" in caplog.text
    # the one VGGSound reader (avatar_bench.vggsound): a BOM, a bad start, a bad id and an unterminated quote are
    # rows with a reason, skipped and counted; the good rows around them are kept
    caplog.clear()
    csv.write_text("\ufeffsy000000000,0,beeper,train\nsy000000001,zero,x,train\nsy1,0,x,train\n"
                   "sy000000001,0,\"buzzer, loud,train\nsy000000001,0,buzzer,train\n", encoding="utf-8")
    items = items_from_csv(csv, toy_root / "videos", "train")
    assert [it.name for it in items] == ["sy000000000_000000", "sy000000001_000000"]
    assert "3 bad row(s) skipped" in caplog.text
    assert "'malformed_row': 2" in caplog.text and "'bad_id': 1" in caplog.text
    assert "line 2" in caplog.text
    with pytest.raises(TavloError, match="file not found"):
        items_from_csv(tmp_path / "absent.csv", toy_root / "videos", "train")
    with pytest.raises(TavloError, match="expected data.root"):
        training_items(DataConfig())


def test_shard_sampler_splits_ranks_and_resumes():
    ranks = [ShardSampler(10, shuffle=True, seed=1, rank=r, world=3) for r in range(3)]
    seen = [list(s) for s in ranks]
    assert all(len(s) == 4 for s in seen) and set(sum(seen, [])) == set(range(10))
    s = ShardSampler(10, shuffle=True, seed=1)
    full = list(s)
    s.skip(4)
    assert list(s) == full[4:] and len(s) == 6
    s.set_epoch(1)
    assert list(s) != full and sorted(s) == list(range(10))
    grouped = [list(ShardSampler(12, shuffle=True, seed=2, rank=r, world=2, group=2)) for r in range(2)]
    assert sorted(sum(grouped, [])) == list(range(12))  # 6 videos x 2 windows: index v + 6k
    for order in grouped:
        assert len(order) == 6 and all(order[i] % 6 == order[i + 1] % 6 for i in range(0, 6, 2))  # pairs together


def test_windows_of_a_video_come_from_separate_stretches(toy_root):
    m = model_config("tavlo_r18_t4", **{**TINY, "clip_seconds": 0.4})
    items = training_items(DataConfig(root=str(toy_root)))
    ds = ClipDataset(items, m, DataConfig(windows_per_video=2), train=True)
    rng = np.random.default_rng(0)
    firsts = {ds._random_anchor(rng, 25.0, 50, part=0) for _ in range(50)}
    seconds = {ds._random_anchor(rng, 25.0, 50, part=1) for _ in range(50)}
    assert max(firsts) < min(seconds) and len(ds) == 2 * len(items)
