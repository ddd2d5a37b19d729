"""avatar-eval end to end: outputs, plots and overlays, exit code 2 with a readable message for bad input."""

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from avatar_bench.cli import main
from avatar_bench.submission import write_submission
from avatar_bench.testing import make_gt, make_submission

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    gt = make_gt(12, width=64, height=36, seed=11, frames_per_video=3)
    gt.save(root / "test.json")
    write_submission(root / "sub.npz", make_submission(gt, "blob", size=(16, 16)))
    for im in gt.images:  # frames for the qualitative overlays
        (root / "frames" / im.file_name).parent.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (im.width, im.height), (90, 120, 60)).save(root / "frames" / im.file_name)
    return root, gt


def run_cli(capsys, *args):
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def test_scores_prints_the_table_and_writes_every_output(bench, capsys):
    root, gt = bench
    out_dir = root / "results"
    code, out, err = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz", "--out", out_dir,
                             "--frames", root / "frames", "--binarize", "absolute", "--tau", "0.4", "-q")
    assert code == 0, err
    for row in ("single        CIoU", "single        AUC", "mixed         CIoU", "multi-entity  CIoU",
                "off-screen    TN", "total         CIoU", "cross-event   CIoU", "cross-event   Δ"):
        assert row in out
    results = json.loads((out_dir / "results.json").read_text())
    assert results["settings"]["binarize"] == "absolute" and results["settings"]["tau"] == 0.4
    assert results["summary"]["n_frames"] == 12
    csv_rows = (out_dir / "results.csv").read_text().splitlines()
    assert csv_rows[0].startswith("subset,n,ciou,auc,tn") and any(r.startswith("total,") for r in csv_rows)
    assert len((out_dir / "per_frame.csv").read_text().splitlines()) == 13
    plots = {p.name for p in (out_dir / "plots").iterdir()}
    assert {"scenarios.png", "tn_vs_tau.png", "success.png"} <= plots
    assert any(p.startswith("overlay_off_screen_") for p in plots) and len(plots) >= 6


def test_validate_only_and_scenario_option(bench, capsys):
    root, _ = bench
    code, out, _ = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz", "--validate-only")
    assert code == 0 and "valid submission, 12 frame(s)" in out
    code, out, _ = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz",
                           "--scenarios", "single,off_screen", "-q")
    assert code == 0 and re.search(r"mixed +CIoU +- +0\n", out) and not re.search(r"single +CIoU +- ", out)


def bad_submissions(root: Path, gt) -> dict:
    good = dict(make_submission(gt, "noise", size=(8, 8)).items())
    cases = {
        "missing": ({k: v for k, v in good.items() if k != 2}, "(image 2): missing"),
        "extra": ({**good, 999: good[1]}, "no image with id 999"),
        "nan": ({**good, 3: np.full((8, 8), np.nan, np.float32)}, "64 NaN"),
        "range": ({**good, 3: good[3] * 5}, "values outside [0, 1]"),
        "ndim": ({**good, 4: np.zeros((8,), np.float32)}, "expected a 2-D (H, W) heatmap"),
        "dtype": ({**good, 4: np.zeros((8, 8), np.uint8)}, "got dtype uint8"),
    }
    paths = {}
    for name, (heat, expected) in cases.items():
        paths[name] = (write_submission(root / f"bad_{name}.npz", heat, validate=False), expected)
    evil = write_submission(root / "bad_escape.zip", good)
    with zipfile.ZipFile(evil, "a") as zf:
        zf.writestr("../outside.npy", b"x")
    paths["escape"] = (evil, "path escapes the archive")
    bomb = write_submission(root / "bad_bomb.zip", {k: v for k, v in good.items() if k != 1})
    with zipfile.ZipFile(bomb, "a", compression=zipfile.ZIP_BZIP2) as zf:
        zf.writestr("1.npy", b"\0" * (1 << 24))
    paths["bomb"] = (bomb, "zip bomb")
    empty_dir = root / "bad_empty"
    write_submission(empty_dir, good)
    (empty_dir / "5.npy").write_bytes(b"")
    paths["empty"] = (empty_dir, "empty file (0 bytes)")
    (root / "bad_unreadable.zip").write_bytes(b"PK garbage")
    paths["unreadable"] = (root / "bad_unreadable.zip", "not a readable zip archive")
    absolute = write_submission(root / "bad_absolute.zip", good)
    with zipfile.ZipFile(absolute, "a") as zf:
        zf.writestr("/etc/1.npy", b"x")
    paths["absolute"] = (absolute, "/etc/1.npy: absolute path in the archive")
    link_dir = root / "bad_symlink"
    write_submission(link_dir, good)
    (link_dir / "6.npy").unlink()
    (link_dir / "6.npy").symlink_to(root / "sub.npz")
    paths["symlink"] = (link_dir, "6.npy: is a symbolic link")
    dup_dir = root / "bad_duplicate"
    write_submission(dup_dir, good)
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(dup_dir / "7.png")
    paths["duplicate"] = (dup_dir, "given twice")
    trunc_dir = root / "bad_truncated"
    write_submission(trunc_dir, good)
    (trunc_dir / "8.npy").write_bytes((trunc_dir / "8.npy").read_bytes()[:-4])
    paths["truncated"] = (trunc_dir, "truncated: expected 256 bytes")
    return paths


def test_every_class_of_bad_submission_exits_2_with_a_message(bench, capsys):
    root, gt = bench
    for name, (path, expected) in bad_submissions(root, gt).items():
        for extra in ([], ["--validate-only"]):
            code, out, err = run_cli(capsys, "--gt", root / "test.json", "--pred", path, "-q", *extra)
            assert code == 2, name
            assert expected in err and "avatar-eval: error:" in err, (name, err)
            assert "Traceback" not in err and out == ""


def test_bad_ground_truth_and_arguments(bench, capsys, tmp_path):
    root, _ = bench
    (tmp_path / "gt.json").write_text('{"info": {"version": "9.0"}}')
    code, _, err = run_cli(capsys, "--gt", tmp_path / "gt.json", "--pred", root / "sub.npz")
    assert code == 2 and "schema version 9.0 is not supported" in err
    code, _, err = run_cli(capsys, "--gt", tmp_path / "nope.json", "--pred", root / "sub.npz")
    assert code == 2 and "annotation file not found" in err
    for bad in (["--scenarios", "single,loud"], ["--tau", "1.5"], ["--binarize", "median"]):
        with pytest.raises(SystemExit) as exc:
            main(["--gt", str(root / "test.json"), "--pred", str(root / "sub.npz"), *bad])
        assert exc.value.code == 2
    assert "expected a comma-separated subset" in capsys.readouterr().err


def test_real_process_exit_code_and_light_imports(bench):
    root, _ = bench
    proc = subprocess.run([sys.executable, "-m", "avatar_bench.cli", "--gt", str(root / "test.json"), "--pred",
                           str(root / "bad_nan.npz"), "-q"], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.returncode == 2 and "64 NaN" in proc.stderr and "Traceback" not in proc.stderr
    code = ("import sys, avatar_bench.cli, avatar_bench.evaluate, avatar_bench.report; "
            "print(sorted(m for m in ('torch', 'pandas', 'cv2', 'matplotlib', 'scipy') if m in sys.modules))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert proc.stdout.strip() == "[]", proc.stderr


def test_json_output_is_strict_and_equals_results_json(bench, capsys):
    root, _ = bench
    out_dir = root / "json_results"
    code, out, err = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz", "--json", "-q",
                             "--out", out_dir, "--no-plots")
    assert code == 0 and err == ""
    printed = json.loads(out, parse_constant=lambda c: pytest.fail(f"not strict JSON: {c}"))
    assert printed == json.loads((out_dir / "results.json").read_text())
    assert printed["summary"]["n_frames"] == 12 and printed["settings"]["allow_scenario_violations"] is False
    assert printed["warnings"] == []
    code, out, err = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz", "--json",
                             "--validate-only")
    assert code == 0 and json.loads(out) == {"avatar_bench_version": "0.1.0", "valid": True, "frames": 12,
                                             "warnings": []}
    code, out, err = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "bad_nan.npz", "--json", "-q")
    assert code == 2 and out == "" and "64 NaN" in err


def test_quiet_prints_the_table_only_and_help_shows_defaults(bench, capsys):
    root, _ = bench
    code, out, err = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz", "-q")
    assert code == 0 and err == "" and out.startswith("binarize=relative") and "scored in" not in out
    code, out, _ = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz")
    assert code == 0 and "frames scored in" in out
    with pytest.raises(SystemExit):
        main(["--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "(default: relative)" in text and "(default: 0.5)" in text and "(default: None)" not in text
    for flag in ("--json", "-q, --quiet", "--allow-scenario-violations", "--validate-only"):
        assert flag in text
    code, _, err = run_cli(capsys, "--gt", root / "test.json", "--pred", root / "sub.npz", "--workers", "100000")
    assert code == 2 and "--workers: expected 1 to 256" in err


def test_scenario_violations_are_refused_unless_allowed(bench, capsys, tmp_path):
    root, gt = bench
    d = gt.to_dict()
    off = next(im for im in d["images"] if im["scenario"] == "off_screen")
    single = next(im for im in d["images"] if im["scenario"] == "single")
    single["scenario"] = "multi_entity"  # one visible instance of its category: the rule says single
    (tmp_path / "wip.json").write_text(json.dumps(d))
    args = ["--gt", tmp_path / "wip.json", "--pred", root / "sub.npz", "-q"]
    code, out, err = run_cli(capsys, *args)
    assert code == 2 and out == "" and f"image {single['id']} (multi_entity): multi_entity does not fit" in err
    code, out, err = run_cli(capsys, *args, "--allow-scenario-violations", "--json")
    assert code == 0  # the warning on stderr: tests/avatar_bench/test_bad_inputs.py (a real process)
    results = json.loads(out)
    assert results["settings"]["allow_scenario_violations"] is True
    assert len(results["warnings"]) == 1 and f"image {single['id']} (multi_entity)" in results["warnings"][0]
    assert results["summary"]["n_multi_entity"] == 4 and off["id"]  # the frame is scored under its own tag
