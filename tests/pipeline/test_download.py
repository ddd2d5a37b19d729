"""VGGSound download for real: yt-dlp's generic extractor against a local HTTP server on 127.0.0.1."""

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pandas as pd
import pytest

from pipeline.prepare import PrepareConfig, prepare
from pipeline.probe import probe_video
from pipeline.records import VideoRecord
from pipeline.sources.vggsound import DownloadConfig, download_clip

GOOD = "-good_clip1"  # an id that begins with "-": yt-dlp must get a full URL, never the bare id


class _Handler(SimpleHTTPRequestHandler):
    hits: Counter = Counter()
    down: set = set()  # names answered 503 (a site that is down) until removed
    slow: set = set()  # names sent slowly (a download to be killed half-way)

    def log_message(self, *args):  # keep the test output clean
        pass

    def do_GET(self):
        name = self.path.lstrip("/")
        self.hits[name] += 1
        if name in self.down:
            self.send_error(503, "down for maintenance")
            return
        if name in self.slow:
            self.send_response(200)
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            for _ in range(600):  # a minute at most: the test kills the download long before
                self.wfile.write(b"\0" * 1000)
                time.sleep(0.1)
            return
        if name.startswith("flaky") and self.hits[name] == 1:
            self.send_error(503, "try again")  # a transient server error: retried
            return
        if name.startswith("dropped"):
            self.send_response(200)  # promises more bytes than it sends: a broken connection
            self.send_header("Content-Type", "video/mp4")
            self.send_header("Content-Length", "1000000")
            self.end_headers()
            self.wfile.write(b"\0" * 1000)
            return
        super().do_GET()


@pytest.fixture(scope="module")
def server(media_dir, good_clip, tmp_path_factory):
    root = tmp_path_factory.mktemp("www")
    data = good_clip[0].read_bytes()
    for name in (GOOD, "flaky_clip1", "comes_back1", "killed_half"):
        (root / f"{name}.mp4").write_bytes(data)
    (root / "truncated_1.mp4").write_bytes(data[: len(data) // 2])  # moov atom at the end: lost
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Handler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/{{id}}.mp4"
    httpd.shutdown()
    httpd.server_close()


def _config(url):
    return DownloadConfig(url_template=url, retries=2, backoff_s=0.01, socket_timeout_s=5, preset="ultrafast")


def test_download_and_cut(server, tmp_path):
    rec = download_clip(VideoRecord(video_id=f"{GOOD}_000002", start_s=2.0), tmp_path, _config(server))
    assert rec.ok and rec.path == str(tmp_path / f"{GOOD}_000002.mp4")
    probe = probe_video(rec.path)
    assert probe.duration_s == pytest.approx(8.0, abs=0.15)  # the source is 10 s; cut from 2 s
    assert probe.has_audio and (probe.width, probe.height) == (640, 360)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{GOOD}_000002.mp4"]  # no temporary left


@pytest.mark.parametrize("yt_id,reason,hits", [("missing_404", "unavailable", 1), ("truncated_1", "cut_failed", None),
                                               ("dropped_con", "download_failed", 3 * 2)])
def test_failures_become_reasons(server, tmp_path, yt_id, reason, hits):
    _Handler.hits.clear()
    rec = download_clip(VideoRecord(video_id=f"{yt_id}_000000", start_s=0.0), tmp_path, _config(server))
    assert rec.status == "rejected" and rec.reason == reason and yt_id in rec.detail
    if hits is not None:  # 404 is not retried; a broken connection is, twice (2 requests per attempt)
        assert _Handler.hits[f"{yt_id}.mp4"] == hits
    assert not list(tmp_path.iterdir())  # no clip and no temporary (hidden ones included) left behind


def test_transient_error_is_retried(server, tmp_path):
    _Handler.hits.clear()
    rec = download_clip(VideoRecord(video_id="flaky_clip1_000000", start_s=0.0), tmp_path, _config(server))
    assert rec.ok and _Handler.hits["flaky_clip1.mp4"] >= 2


def test_prepare_from_a_csv(server, tmp_path):
    csv = tmp_path / "vgg.csv"
    csv.write_text(f'{GOOD},0,"engine, idling",test\nmissing_404,0,dog,train\nbad id,1,x,test\n', encoding="utf-8")
    cfg = PrepareConfig(download=_config(server))
    summary = prepare(f"csv:{csv}", tmp_path / "work", cfg)
    assert summary.kept == 1 and summary.rejected == {"unavailable": 1, "bad_id": 1}
    frames = pd.read_parquet(tmp_path / "work" / "manifests" / "frames.parquet")
    assert set(frames["video_id"]) == {f"{GOOD}_000000"} and set(frames["label"]) == {"engine, idling"}
    assert len(frames) == 5


def test_failed_downloads_are_tried_again_by_the_next_run(server, tmp_path):
    csv = tmp_path / "vgg.csv"
    csv.write_text("comes_back1,0,dog,train\nmissing_404,0,cat,train\n", encoding="utf-8")
    cfg = PrepareConfig(download=DownloadConfig(url_template=server, retries=0, backoff_s=0.01, socket_timeout_s=5,
                                                preset="ultrafast"))
    _Handler.down.add("comes_back1.mp4")
    try:
        first = prepare(f"csv:{csv}", tmp_path / "work", cfg)
    finally:
        _Handler.down.discard("comes_back1.mp4")
    assert first.rejected == {"download_failed": 1, "unavailable": 1}
    _Handler.hits.clear()
    again = prepare(f"csv:{csv}", tmp_path / "work", cfg)  # the site is back
    assert again.kept == 1 and again.rejected == {"unavailable": 1} and again.counts["new_source_records"] == 1
    assert _Handler.hits["comes_back1.mp4"] >= 1 and _Handler.hits["missing_404.mp4"] == 0  # a 404 is not retried


def test_chunks_download_their_own_clips_with_the_same_result(server, tmp_path):
    """The flows list a CSV under the lock and let each chunk download its clips (on any machine): the tables
    are those of one ``prepare`` run; a failed download is a reason, and a later plan fetches it again."""
    import json

    from pipeline.layout import WorkDir
    from pipeline.prepare import finish_prepare, plan_prepare, prepare_chunk
    from pipeline.stats import StageStats

    csv = tmp_path / "vgg.csv"
    csv.write_text(f"{GOOD},0,dog,test\ncomes_back1,0,cat,train\nmissing_404,0,cow,train\nbad id,1,x,test\n",
                   encoding="utf-8")
    cfg = PrepareConfig(download=DownloadConfig(url_template=server, retries=0, backoff_s=0.01, socket_timeout_s=5,
                                                preset="ultrafast"))
    work = WorkDir(tmp_path / "chunked")

    def chunked():
        with work.lock("test"):
            plan = plan_prepare(f"csv:{csv}", work, cfg, fetch=False)
            run = StageStats(stage="prepare", unit="video")
            for chunk in plan.chunks(2):
                run.merge(prepare_chunk(work.root, chunk, cfg))
            return plan, run, finish_prepare(work, plan, run)

    _Handler.down.add("comes_back1.mp4")
    try:
        plan, run, first = chunked()
    finally:
        _Handler.down.discard("comes_back1.mp4")
    assert sorted(r.video_id for r in plan.fetch) == [f"{GOOD}_000000", "comes_back1_000000", "missing_404_000000"]
    assert run.rejected == {"download_failed": 1, "unavailable": 1} and run.counts["downloaded"] == 1
    assert first.kept == 1 and first.processed == 1 and first.rejected == {"download_failed": 1, "unavailable": 1,
                                                                            "bad_id": 1}
    plan, _, again = chunked()  # the site is back: only the transient failure is fetched again
    assert [r.video_id for r in plan.fetch] == ["comes_back1_000000"] and again.kept == 2
    whole = prepare(f"csv:{csv}", tmp_path / "whole", cfg)
    assert whole.kept == 2 and whole.rejected == again.rejected == {"unavailable": 1, "bad_id": 1}
    for stage in ("videos", "probe", "activity", "selection", "frames"):
        ours, theirs = (json.dumps(sorted(w.manifest(stage).read().to_dict("records"), key=str), default=str)
                        .replace(str(w.root), "<work>") for w in (work, WorkDir(tmp_path / "whole")))
        assert ours == theirs, stage


@pytest.mark.timeout(120)
def test_a_killed_download_leaves_nothing_the_next_run_keeps(server, tmp_path):
    csv, work = tmp_path / "vgg.csv", tmp_path / "work"
    csv.write_text("killed_half,0,dog,train\n", encoding="utf-8")
    repo = Path(__file__).resolve().parents[2]
    cmd = [sys.executable, "-m", "pipeline.cli", "prepare", "--source", f"csv:{csv}", "--work-dir", str(work),
           "--url-template", server, "--no-progress", "--set", "download.retries=0"]
    _Handler.slow.add("killed_half.mp4")
    try:
        proc = subprocess.Popen(cmd, cwd=repo, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not list((work / "videos").glob(".dl-*/*")):
            time.sleep(0.1)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        _Handler.slow.discard("killed_half.mp4")
    assert list((work / "videos").glob(".dl-*")), "the download was not under way when killed"
    stats = prepare(f"csv:{csv}", work, PrepareConfig(download=_config(server)))
    assert stats.kept == 1 and stats.counts["leftovers_removed"] >= 1
    assert sorted(p.name for p in (work / "videos").iterdir()) == ["killed_half_000000.mp4"]
