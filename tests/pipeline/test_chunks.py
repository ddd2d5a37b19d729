"""Stages in chunks without Prefect: plan under the lock, chunk entry points, finish. The chunked run must give the
same tables as one ``prepare``/``propose`` call; a chunk run twice or never run must not change that."""

from __future__ import annotations

import json
import threading

import pytest

from pipeline.chunks import make_chunks, require_visible, split
from pipeline.errors import PipelineError
from pipeline.layout import WorkDir
from pipeline.prepare import PrepareConfig, finish_prepare, plan_prepare, prepare, prepare_chunk
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import finish_proposals, plan_proposals, propose, propose_chunk
from pipeline.stats import StageStats

TABLES = ("videos", "probe", "activity", "frames", "selection")


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    from pipeline.dummies import write_clip

    folder = tmp_path_factory.mktemp("chunk_videos")
    for i in range(5):
        write_clip(folder / f"clip{i}.mp4", seed=i, duration_s=9.0)
    write_clip(folder / "small.mp4", seed=9, width=320, height=180, duration_s=9.0)  # too_small
    return folder


def rows(work: WorkDir, stage: str) -> list[dict]:
    manifest = work.manifest(stage)
    text = json.dumps(sorted(manifest.read().to_dict("records"), key=lambda r: r[manifest.key]), default=str)
    return json.loads(text.replace(str(work.root), "<work>"))


def chunked_prepare(source: str, work: WorkDir, config: PrepareConfig, size: int, skip=(), twice=()) -> StageStats:
    """The flow's three steps in this process; chunks in ``skip`` are not run, those in ``twice`` run twice."""
    with work.lock("test"):
        plan = plan_prepare(source, work, config)
        run = StageStats(stage="prepare", unit="video")
        for chunk in plan.chunks(size):
            for _ in range(0 if chunk.index in skip else 2 if chunk.index in twice else 1):
                run.merge(prepare_chunk(work.root, chunk, config))
        return finish_prepare(work, plan, run), plan


def test_split_keeps_order_size_and_groups():
    assert split(list(range(7)), 3) == [[0, 1, 2], [3, 4, 5], [6]]
    frames = ["a1", "a2", "b1", "b2", "b3", "c1", "d1", "d2", "d3", "d4"]
    groups = split(frames, 4, group=lambda f: f[0])
    assert groups == [["a1", "a2"], ["b1", "b2", "b3", "c1"], ["d1", "d2", "d3", "d4"]]
    assert split(frames, 2, group=lambda f: f[0])[1] == ["b1", "b2", "b3"]  # one video is never cut in two
    assert split([], 5) == []
    chunks = make_chunks(list("abcde"), 2)
    assert [(c.index, c.of, c.items, c.name) for c in chunks][-1] == (3, 3, ["e"], "3/3")
    for bad in (0, -1, 1.5, True):
        with pytest.raises(PipelineError, match="chunk size"):
            split([1], bad)


def test_chunked_prepare_equals_one_run_and_a_rerun_does_only_the_missing_chunk(videos, tmp_path):
    config = PrepareConfig.from_dict({"frames": {"n_frames": 3}})
    source = f"dir:{videos}"
    whole = prepare(source, tmp_path / "whole", config)
    work = WorkDir(tmp_path / "chunked")
    # chunk 2 "dies" (never runs), chunk 1 runs twice (a worker thought dead that was only slow)
    first, _ = chunked_prepare(source, work, config, size=2, skip={2}, twice={1})
    assert rows(work, "selection") != rows(WorkDir(tmp_path / "whole"), "selection")
    assert first.parts["filter"].rejected == {"too_small": 1}  # the probe filter's verdict came back from chunk 3
    stats, plan = chunked_prepare(source, work, config, size=2)
    assert sorted(v.video_id for v in plan.todo) == ["clip2", "clip3"]  # exactly chunk 2's videos
    assert stats.processed == 2 and stats.skipped == 4
    for stage in TABLES:
        assert rows(work, stage) == rows(WorkDir(tmp_path / "whole"), stage), stage
        assert not (work.manifests / f"{stage}.parts").exists()
    assert stats.kept == whole.kept == 5 and stats.rejected == whole.rejected == {"too_small": 1}
    assert (stats.parts["filter"].processed, stats.parts["filter"].kept) == (2, 2)  # this run judged chunk 2 only


def test_chunked_propose_equals_one_run_and_backends_are_built_once_per_thread(videos, tmp_path, monkeypatch):
    from pipeline.proposals import propose as module

    config = PrepareConfig.from_dict({"frames": {"n_frames": 3}})
    for name in ("whole", "chunked"):
        prepare(f"dir:{videos}", tmp_path / name, config)
    cfg = ProposeConfig.no_weights()
    propose(tmp_path / "whole", cfg)
    work = WorkDir(tmp_path / "chunked")
    built, real = [], module.Backends

    def counted(c):
        built.append(c)
        return real(c)

    monkeypatch.setattr(module, "Backends", counted)  # the real backends, counted
    monkeypatch.setattr(module, "_LOCAL", threading.local())  # no backends cached by an earlier test
    with work.lock("test"):
        plan = plan_proposals(work, cfg)
        chunks = plan.chunks(4)
        assert [len(c) for c in chunks] == [3, 3, 3, 3, 3] and plan.n_frames == 15
        for chunk in chunks:
            assert len({f.video_id for f in chunk.items}) == 1  # 3 + 3 > 4: one video per chunk
            propose_chunk(work.root, chunk, cfg)
        stats = finish_proposals(work, plan, 1.0)
    assert len(built) == 1  # the thread's backends serve every chunk with the same settings
    assert rows(work, "proposals") == rows(WorkDir(tmp_path / "whole"), "proposals")
    assert stats.kept == 15 and stats.processed == 15


def test_a_chunk_refuses_a_work_folder_it_cannot_see(tmp_path):
    with pytest.raises(PipelineError, match="must be on a filesystem every worker sees"):
        require_visible(WorkDir(tmp_path / "elsewhere"), "prepare chunk 1/3")
    chunk = make_chunks(["x"], 1)[0]
    with pytest.raises(PipelineError, match="prepare chunk 1/1: work folder"):
        prepare_chunk(tmp_path / "elsewhere", chunk, PrepareConfig())
    assert not (tmp_path / "elsewhere").exists()  # nothing written where the planner's folder is not
