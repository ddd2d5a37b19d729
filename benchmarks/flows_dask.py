"""Batch throughput of the chunked flows on one and on two local Dask workers, against the stage's own pool.

All rows run in this one process, one after the other, on the same AVATAR-Synth videos, each into a fresh work
folder (so nothing is skipped):

- ``pool``: ``pipeline.prepare.prepare`` with ``workers=2`` (the stage's own process pool, no Prefect) — the
  baseline every ratio is against; ``in-process``: ``workers=1``;
- ``thread``: the ``avatar-prepare`` flow on the thread runner (2 threads, the flow's own process);
- ``dask 1`` / ``dask 2``: the same flow on a cluster of separate ``dask scheduler`` / ``dask worker`` processes
  on 127.0.0.1 (:class:`flows.testing.LocalDaskCluster`), warmed by a small batch first (a cluster is long-lived:
  its workers' first imports are paid once, not per batch).

Then the same for propose with the small real models (``cpu-demo``: YOLOv8n int8 ONNX + YAMNet, needs
``../shared/models``): in one process (``propose``, the stage has no pool) against the flow on 1 and 2 workers.

    python -m benchmarks.flows_dask [--videos 16] [--chunk 4] [--frames-chunk 10] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("AVATAR_SHARED", REPO.parent / "shared"))
PREPARE = {"frames": {"n_frames": 5}}


def _flow(flow_obj, runner: str, *args):
    from flows.stages import with_runner

    started = time.perf_counter()
    stats = with_runner(flow_obj, runner)(*args)
    return time.perf_counter() - started, stats


def _prepare_rows(source: str, work: Path, clusters: dict, chunk: int, rounds: int) -> list[dict]:
    """Every row ``rounds`` times, the rows interleaved (a change of load hits them alike); the best of each."""
    from flows.stages import prepare_flow
    from pipeline.prepare import PrepareConfig, prepare

    runs: dict[str, list[tuple[float, int]]] = {}
    for r in range(rounds):
        for name, workers in (("pool (stage's own, 2 processes)", 2), ("in-process (workers=1)", 1)):
            started = time.perf_counter()
            stats = prepare(source, work / f"p{r}-{workers}", PrepareConfig.from_dict({**PREPARE, "workers": workers}))
            runs.setdefault(name, []).append((time.perf_counter() - started, stats.processed))
        for i, (name, runner) in enumerate((("flow, thread runner (2 threads)", "thread"),
                                            *((f"flow, dask {n} worker(s)", f"dask:{c.address}")
                                              for n, c in clusters.items()))):
            seconds, stats = _flow(prepare_flow, runner, source, f"prep{r}-{2 + i}", PREPARE, chunk)
            runs.setdefault(name, []).append((seconds, stats.processed))
    return _rated([(name, *min(times)) for name, times in runs.items()], "videos")


def _propose_rows(clusters: dict, chunk: int) -> list[dict]:
    from flows.params import propose_config
    from flows.stages import propose_flow
    from pipeline.proposals.propose import propose
    from pipeline.settings import get_settings

    work = Path(get_settings().work_dir) / "batches"
    config = propose_config({}, "cpu-demo", str(SHARED / "models"))
    started = time.perf_counter()
    stats = propose(work / "prep0-2", config)  # the frames the thread-runner row prepared
    rows = [("propose(), one process", time.perf_counter() - started, stats.processed)]
    for i, (n, cluster) in enumerate(clusters.items()):
        batch = f"prep0-{3 + i}"  # the frames each Dask row prepared
        seconds, stats = _flow(propose_flow, f"dask:{cluster.address}", batch, "cpu-demo", {}, str(SHARED / "models"),
                               chunk)
        rows.append((f"flow, dask {n} worker(s)", seconds, stats.processed))
    return _rated(rows, "frames")


def _overhead_rows(clusters: dict, chunk: int) -> tuple[list[dict], int]:
    """Propose with no weights (next to no work per frame): the flow's cost over one process is orchestration."""
    from flows.stages import propose_flow
    from pipeline.proposals.config import ProposeConfig
    from pipeline.proposals.propose import propose
    from pipeline.settings import get_settings

    work = Path(get_settings().work_dir) / "batches"
    started = time.perf_counter()
    stats = propose(work / "prep1-2", ProposeConfig.no_weights())
    rows = [("propose(), one process", time.perf_counter() - started, stats.processed)]
    cluster = clusters[max(clusters)]
    seconds, run = _flow(propose_flow, f"dask:{cluster.address}", "prep1-3", "no-weights", {}, None, chunk)
    rows.append((f"flow, dask {max(clusters)} worker(s)", seconds, run.processed))
    seconds, _ = _flow(propose_flow, f"dask:{cluster.address}", "prep1-3", "no-weights", {}, None, chunk)
    rows.append(("flow again, nothing left (fixed cost)", seconds, 0))
    return _rated(rows, "frames"), -(-stats.processed // chunk)


def _rated(rows: list[tuple[str, float, int]], unit: str) -> list[dict]:
    base = rows[0][2] / rows[0][1]
    return [{"run": name, unit: n, "seconds": s, "rate": n / s, "ratio": (n / s) / base} for name, s, n in rows]


def _print(title: str, rows: list[dict], unit: str) -> None:
    print(f"\n{title}\n{'run':<36} {unit:>7} {'wall s':>8} {unit + '/s':>9} {'vs first row':>13}")
    for r in rows:
        print(f"{r['run']:<36} {r[unit]:>7} {r['seconds']:>8.1f} {r['rate']:>9.2f} {r['ratio']:>12.2f}x")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--videos", type=int, default=16, help="good AVATAR-Synth videos (8 s, 640x360)")
    parser.add_argument("--chunk", type=int, default=4, help="videos per prepare chunk")
    parser.add_argument("--frames-chunk", type=int, default=10, help="frames per propose chunk")
    parser.add_argument("--rounds", type=int, default=2, help="prepare rows: best of this many interleaved rounds")
    args = parser.parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="flows-dask-"))
    os.environ.update(AVATAR_WORK_DIR=str(tmp / "work"), PREFECT_HOME=str(tmp / "prefect"), AVATAR_THREADS="2",
                      PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING",
                      PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180")  # a loaded machine starts it slowly
    from avatar_bench.synth import generate
    from flows.stages import prepare_flow
    from flows.testing import LocalDaskCluster

    generate(tmp / "synth", preset="tiny", seed=11, progress=False, n_train=args.videos - 2, n_val=1, n_test=1,
             n_bad=0, duration_s=8.0)
    generate(tmp / "warm", preset="tiny", seed=12, progress=False, n_train=1, n_val=1, n_test=1, n_bad=0,
             duration_s=8.0)
    env = {k: os.environ[k] for k in ("AVATAR_WORK_DIR", "PREFECT_HOME", "PREFECT_SERVER_ANALYTICS_ENABLED",
                                      "PREFECT_LOGGING_LEVEL")}
    clusters = {n: LocalDaskCluster(tmp / f"dask{n}", [f"w{i + 1}" for i in range(n)], env) for n in (1, 2)}
    try:  # warm: this process (imports, the temporary Prefect server) and each cluster's workers
        _flow(prepare_flow, "thread", f"synth:{tmp / 'warm'}", "warm-0", PREPARE, 1)
        for n, cluster in clusters.items():
            cluster.start()
            _flow(prepare_flow, f"dask:{cluster.address}", f"synth:{tmp / 'warm'}", f"warm-{n}", PREPARE, 1)
        print(f"load average before: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
        _print(f"prepare, {args.videos} videos of 8 s, {args.chunk} per chunk, best of {args.rounds}", _prepare_rows(
            f"synth:{tmp / 'synth'}", tmp / "work", clusters, args.chunk, args.rounds), "videos")
        if (SHARED / "models" / "yamnet.tflite").exists():
            _print(f"propose cpu-demo (YOLOv8n int8 + YAMNet), {args.frames_chunk} frames per chunk",
                   _propose_rows(clusters, args.frames_chunk), "frames")
        rows, n_chunks = _overhead_rows(clusters, args.frames_chunk)
        _print(f"orchestration: propose no-weights, {args.frames_chunk} frames per chunk", rows, "frames")
        fixed, workers = rows[2]["seconds"], max(clusters)  # the flow = fixed + its chunks' work spread over workers
        per_chunk = (rows[1]["seconds"] - fixed - rows[0]["seconds"] / workers) * workers / n_chunks
        print(f"fixed cost of a flow run {fixed:.1f} s; about {per_chunk:.2f} s of orchestration per chunk per worker "
              f"({n_chunks} chunks)")
        print(f"load average after: {os.getloadavg()[0]:.1f}")
    finally:
        for cluster in clusters.values():
            cluster.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
