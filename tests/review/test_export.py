"""``avatar-pipeline export``: release files, dataset card and plot from reviewed split files."""

from pycocotools.coco import COCO

from avatar_bench.format import AvatarDataset
from pipeline.cli import main
from pipeline.export import export
from pipeline.review.convert import convert_task
from pipeline.review.merge import SplitStore
from pipeline.review.tasks import build_task
from tests.review.dummies import CATEGORIES, proposal_row
from tests.review.test_convert import NAMES, exported


def reviewed(tmp_path, n=5):
    """Split files as `review pull` writes them; frame 4 claims `single` with two sounding instances."""
    store = SplitStore(tmp_path / "reviewed", CATEGORIES)
    for i in range(n):
        frame = convert_task(exported(build_task(proposal_row(tmp_path, i), tmp_path, NAMES), task_id=i), NAMES,
                             {1: "ann@x" if i % 2 else "other@x"})
        if i == 4:
            for inst in frame.instances:
                inst.sounding = True
        store.upsert(frame)
    store.save()
    return tmp_path / "reviewed"


def test_export_writes_three_splits_a_card_and_a_plot(tmp_path):
    out = tmp_path / "release"
    summary = export(reviewed(tmp_path), out)
    for split in ("train", "val", "test"):
        ds = AvatarDataset.load(out / f"{split}.json")
        assert COCO(str(out / f"{split}.json")).getImgIds() == [im.id for im in ds.images]
    # frames 0,3 train; 1,4 val; 2 test; frame 4 breaks `single` and is left out
    splits, excluded = summary.info["splits"], summary.info["excluded"]
    assert [splits[s]["frames"] for s in ("train", "val", "test")] == [2, 1, 1] and summary.kept == 4
    assert excluded and all(p.startswith("val image 5 (single)") for p in excluded)
    assert summary.rejected == {"breaks_scenario": 1}
    card = (out / "dataset_card.md").read_text()
    assert "| single | 2 | 1 | 1 | 4 |" in card
    assert "| dog | 4 | 0 | 4 |" in card and "| car | 0 | 4 | 4 |" in card
    assert "8 proposals accepted as they were, 0 edited, 0 drawn" in card
    assert (out / "dataset_card.png").read_bytes()[:4] == b"\x89PNG"


def test_export_can_keep_inconsistent_frames(tmp_path):
    summary = export(reviewed(tmp_path), tmp_path / "r", keep_inconsistent=True)
    assert summary.info["splits"]["val"]["frames"] == 2 and summary.info["excluded"] and not summary.rejected


def test_export_cli_prints_counts_and_fails_clearly(tmp_path, capsys):
    src = reviewed(tmp_path, n=3)
    assert main(["export", "--annotations", str(src), "--out", str(tmp_path / "o")]) == 0
    assert "dataset card:" in capsys.readouterr().out
    assert main(["export", "--annotations", str(tmp_path / "nothing"), "--out", str(tmp_path / "o2")]) == 2
    err = capsys.readouterr().err
    assert "no split file in" in err and "Traceback" not in err
