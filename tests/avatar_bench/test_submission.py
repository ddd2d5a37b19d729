"""Submission readers and writer: layouts, keys, lazy loading, and every class of bad submission."""

import io
import os
import tracemalloc
import zipfile

import numpy as np
import pytest
from PIL import Image

from avatar_bench.errors import SubmissionError
from avatar_bench.submission import Limits, open_submission, scan_submission, write_submission
from avatar_bench.testing import make_gt, make_submission


def npy_bytes(arr) -> bytes:
    buf = io.BytesIO()
    np.save(buf, arr)
    return buf.getvalue()


def problems_of(path, gt, **kw) -> str:
    with pytest.raises(SubmissionError) as err:
        open_submission(path, gt, **kw)
    assert "nothing was scored" in str(err.value)
    return str(err.value)


@pytest.mark.parametrize("layout", ["sub.npz", "sub.zip", "subdir"])
@pytest.mark.parametrize("keys", ["id", "name"])
def test_write_then_open_round_trips_exactly(tmp_path, small_gt, heatmaps, layout, keys):
    source = heatmaps if keys == "id" else {small_gt.frame_key(small_gt.image_by_id[k]): v for k, v in
                                            heatmaps.items()}
    path = write_submission(tmp_path / layout, source)
    sub = open_submission(path, small_gt)
    assert sorted(sub) == sorted(heatmaps) and len(sub) == len(small_gt.images)
    for image_id, arr in heatmaps.items():
        np.testing.assert_array_equal(sub[image_id], arr)
    if keys == "name" and layout == "subdir":
        name = small_gt.videos[0].name
        assert (tmp_path / layout / name).is_dir()


def test_png_and_numpy_savez_layouts_are_read(tmp_path, small_gt, heatmaps):
    write_submission(tmp_path / "png", heatmaps, fmt="png")
    sub = open_submission(tmp_path / "png", small_gt)
    for k, arr in heatmaps.items():
        np.testing.assert_allclose(sub[k], arr, atol=0.5 / 255 + 1e-6)
    np.savez_compressed(tmp_path / "np.npz", **{str(k): v.astype(np.float16) for k, v in heatmaps.items()})
    sub = open_submission(tmp_path / "np.npz", small_gt)
    assert sub[1].dtype == np.float32
    # Zero-padded frame indices and a zip made from a folder (one top-level directory) are accepted.
    with zipfile.ZipFile(tmp_path / "folder.zip", "w") as zf:
        for im in small_gt.images:
            name = small_gt.video_by_id[im.video_id].name
            zf.writestr(f"my_run/{name}/{im.frame_index:06d}.npy", npy_bytes(heatmaps[im.id]))
    assert len(open_submission(tmp_path / "folder.zip", small_gt)) == len(heatmaps)


def test_submission_is_lazy_and_validation_keeps_no_arrays(tmp_path):
    gt = make_gt(40, width=32, height=18, seed=2)
    path = write_submission(tmp_path / "big.npz", make_submission(gt, "noise", size=(256, 256)))  # 40 x 256 KiB
    tracemalloc.start()
    sub = open_submission(path, gt)  # decodes every heatmap once
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 3 * 256 * 1024 + 2_000_000  # a few heatmaps at most, never all 40 (10 MiB)
    first = sub[1]
    assert first is not sub[1] and first.shape == (256, 256)


def test_scenario_subset_needs_only_those_frames(tmp_path, small_gt, heatmaps):
    singles = {im.id for im in small_gt.images if im.scenario == "single"}
    path = write_submission(tmp_path / "s.npz", {k: v for k, v in heatmaps.items() if k in singles})
    assert set(open_submission(path, small_gt, scenarios=["single"])) == singles
    assert "missing" in problems_of(path, small_gt)


# ------------------------------------------------------------------------------- every class of problem
def test_missing_extra_unknown_and_duplicate_keys_are_all_reported(tmp_path, small_gt, heatmaps):
    d = tmp_path / "d"
    write_submission(d, heatmaps)
    os.remove(d / "1.npy")
    (d / "999.npy").write_bytes(npy_bytes(heatmaps[2]))
    (d / "nosuchvideo").mkdir()
    (d / "nosuchvideo" / "3.npy").write_bytes(npy_bytes(heatmaps[2]))
    im2 = small_gt.image_by_id[2]
    key2 = small_gt.frame_key(im2)
    (d / key2.split("/")[0]).mkdir()
    (d / f"{key2}.npy").write_bytes(npy_bytes(heatmaps[2]))  # same frame as 2.npy
    (d / "hello.npy").write_bytes(npy_bytes(heatmaps[2]))
    (d / "notes.txt").write_text("hi")
    text = problems_of(d, small_gt)
    assert f"frame {small_gt.frame_key(small_gt.image_by_id[1])} (image 1): missing" in text
    assert "999.npy: extra frame: there is no image with id 999" in text
    assert "video 'nosuchvideo' is not in the ground truth" in text
    assert f"frame {key2} (image 2): given twice" in text
    assert "unrecognised key 'hello'" in text
    assert "notes.txt: unexpected file" in text


@pytest.mark.parametrize("bad, expected", [
    (np.full((4, 4), np.nan, np.float32), "16 NaN and 0 inf value(s)"),
    (np.array([[0.0, np.inf]], np.float32), "0 NaN and 1 inf"),
    (np.full((4, 4), 1.5, np.float32), "values outside [0, 1]: min 1.5, max 1.5"),
    (np.zeros((2, 4, 4), np.float32), "expected a 2-D (H, W) heatmap, got shape (2, 4, 4)"),
    (np.zeros((4, 4), np.int64), "got dtype int64 (save 8-bit maps as PNG"),
    (np.zeros((0, 4), np.float32), "expected 1 <= H, W"),
])
def test_bad_heatmap_content_names_the_frame(tmp_path, small_gt, heatmaps, bad, expected):
    write_submission(tmp_path / "sub.zip", {**heatmaps, 3: bad}, validate=False)
    text = problems_of(tmp_path / "sub.zip", small_gt)
    assert f"frame {small_gt.frame_key(small_gt.image_by_id[3])} (image 3) (3.npy): " in text
    assert expected in text


def test_pickled_object_arrays_are_refused_without_unpickling(tmp_path, small_gt, heatmaps):
    d = tmp_path / "d"
    write_submission(d, heatmaps)
    np.save(d / "3.npy", np.array([[None]], dtype=object), allow_pickle=True)
    assert "expected float16/32/64 (or bool) values, got dtype object" in problems_of(d, small_gt)


@pytest.mark.parametrize("content, expected", [
    (b"", "empty file (0 bytes)"),
    (b"garbage that is not numpy", "not a .npy file"),
    (b"truncated", "truncated"),
    (b"png-garbage", "unreadable png file"),
    (b"rgb-png", "expected a single-channel 8- or 16-bit PNG, got mode RGB"),
])
def test_unreadable_and_empty_files(tmp_path, small_gt, heatmaps, content, expected):
    d = tmp_path / "d"
    write_submission(d, heatmaps)
    os.remove(d / "4.npy")
    if content == b"truncated":
        (d / "4.npy").write_bytes(npy_bytes(heatmaps[4])[:-10])
    elif content in (b"png-garbage", b"rgb-png"):
        buf = io.BytesIO()
        Image.new("RGB", (8, 8)).save(buf, format="PNG")
        (d / "4.png").write_bytes(buf.getvalue()[:40] if content == b"png-garbage" else buf.getvalue())
    else:
        (d / "4.npy").write_bytes(content)
    assert expected in problems_of(d, small_gt)


def test_zip_members_escaping_the_archive_or_absolute_or_symlinks(tmp_path, small_gt, heatmaps):
    path = tmp_path / "evil.zip"
    write_submission(path, heatmaps)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("../../escape.npy", npy_bytes(heatmaps[1]))
        zf.writestr("/etc/abs.npy", npy_bytes(heatmaps[1]))
        zf.writestr("C:/win.npy", npy_bytes(heatmaps[1]))
        link = zipfile.ZipInfo("5.png")
        link.external_attr = (0o120777 << 16)
        zf.writestr(link, "/etc/passwd")
    text = problems_of(path, small_gt)
    assert "../../escape.npy: path escapes the archive" in text
    assert "/etc/abs.npy: absolute path" in text and "C:/win.npy: absolute path" in text
    assert "5.png: is a symbolic link (refused)" in text


def test_symlink_in_a_directory_is_not_followed(tmp_path, small_gt, heatmaps):
    d = tmp_path / "d"
    write_submission(d, heatmaps)
    os.remove(d / "2.npy")
    (tmp_path / "outside.npy").write_bytes(npy_bytes(heatmaps[2]))
    os.symlink(tmp_path / "outside.npy", d / "2.npy")
    assert "2.npy: is a symbolic link (not followed)" in problems_of(d, small_gt)


def test_zip_bombs_are_refused_before_reading(tmp_path, small_gt, heatmaps):
    path = tmp_path / "bomb.zip"
    write_submission(path, {k: v for k, v in heatmaps.items() if k != 1})
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_BZIP2) as zf:  # 16 MB of zeros -> ~50 bytes
        zf.writestr("1.npy", npy_bytes(np.zeros((2048, 2048), np.float32)))
    assert "compression ratio" in problems_of(path, small_gt) and "zip bomb" in problems_of(path, small_gt)
    # The total declared size and the size of one member are capped too.
    write_submission(tmp_path / "ok.zip", heatmaps)
    text = problems_of(tmp_path / "ok.zip", small_gt, limits=Limits(bytes_per_frame=1, slack_bytes=0))
    assert "archive expands to" in text and "refusing to read it" in text
    text = problems_of(tmp_path / "ok.zip", small_gt, limits=Limits(max_member_bytes=100))
    assert "more than the limit of 100" in text


def test_unusable_paths(tmp_path, small_gt):
    with pytest.raises(SubmissionError, match="no such file or directory"):
        open_submission(tmp_path / "nope.npz", small_gt)
    (tmp_path / "x.npy").write_bytes(b"")
    with pytest.raises(SubmissionError, match="expected a directory, a .zip or a .npz"):
        open_submission(tmp_path / "x.npy", small_gt)
    (tmp_path / "bad.zip").write_bytes(b"not a zip")
    with pytest.raises(SubmissionError, match="not a readable zip archive"):
        open_submission(tmp_path / "bad.zip", small_gt)


def test_scan_reports_structure_without_decoding(tmp_path, small_gt, heatmaps):
    write_submission(tmp_path / "s.npz", {**heatmaps, 3: np.full((2, 2), np.nan)}, validate=False)
    sub, problems = scan_submission(tmp_path / "s.npz", small_gt)
    assert problems == [] and len(sub) == len(heatmaps)
    assert any("NaN" in p for p in sub.content_problems())


def test_writer_refuses_bad_input_and_leaves_nothing(tmp_path, small_gt, heatmaps):
    with pytest.raises(SubmissionError) as err:
        write_submission(tmp_path / "s.npz", {**heatmaps, 3: np.full((2, 2), 2.0), "../x/1": heatmaps[1],
                                              1.5: heatmaps[1]})
    text = str(err.value)
    assert "key 3: values outside [0, 1]" in text and "'../x/1'" not in text.split("got")[0]
    assert "got '../x/1'" in text and "got 1.5" in text
    assert not (tmp_path / "s.npz").exists() and os.listdir(tmp_path) == []
    write_submission(tmp_path / "d", heatmaps)
    with pytest.raises(SubmissionError, match="not an empty directory"):
        write_submission(tmp_path / "d", heatmaps)
    with pytest.raises(ValueError, match="fmt"):
        write_submission(tmp_path / "p.npz", heatmaps, fmt="png")
