"""``tavlo-train``: train TAVLO or the single-frame baseline (one process, or ``torchrun`` DDP).

    tavlo-train --config tavlo_model/configs/synth_small_tavlo.yaml --data.root=synth_small --out_dir=runs/tavlo
    torchrun --nproc_per_node 8 -m tavlo_model.train --config cfg.yaml --batch_size=128

The resolved config goes to ``out_dir/config.yaml``; ``last.pt`` (every epoch, and every ``ckpt_every_steps``) and
``best.pt`` (best validation score: total CIoU, or minus the loss while no frame is scorable)
resume exactly with ``--resume=auto``; metrics go to ``metrics.csv`` and TensorBoard (``tb/``).
"""

from __future__ import annotations

import json
import logging
import math
import sys
import time
from pathlib import Path

import torch

from avatar_bench.format import AvatarDataset
from avatar_bench.io import atomic_write_text
from tavlo_model import dist
from tavlo_model.checkpoint import check_writable, load_checkpoint, rng_state, save_checkpoint, set_rng_state
from tavlo_model.collapse import collapse_check
from tavlo_model.config import TrainConfig, to_dict
from tavlo_model.data import ClipDataset, ShardSampler, collate, items_from_gt, training_items, usable
from tavlo_model.engine import Context, TrainState, amp_dtype, evaluate, train_one_epoch
from tavlo_model.errors import TavloError
from tavlo_model.heatmap import Calibration
from tavlo_model.logger import MetricLogger, ProgressBar, strict_json
from tavlo_model.model import Tavlo

log = logging.getLogger("tavlo_model.train")
PREFETCH = 2  # batches each DataLoader worker prepares ahead (torch's default)


def _worker_init(_: int) -> None:
    torch.set_num_threads(1)  # decoding workers must not fight the training threads for the cores


def make_loader(dataset, sampler, batch_size: int, workers: int, drop_last: bool, device: torch.device):
    """A DataLoader whose own generator leaves the global torch RNG untouched (exact resume)."""
    return torch.utils.data.DataLoader(
        dataset, batch_size=batch_size, sampler=sampler, num_workers=workers, collate_fn=collate,
        drop_last=drop_last, pin_memory=device.type == "cuda", worker_init_fn=_worker_init,
        generator=torch.Generator(), persistent_workers=False, prefetch_factor=PREFETCH if workers else None)


def validation_set(cfg: TrainConfig) -> tuple[AvatarDataset | None, ClipDataset | None]:
    """The validation ground truth and its clips (one window per annotated frame), or (None, None)."""
    path = Path(cfg.data.val_gt) if cfg.data.val_gt else Path(cfg.data.root or ".") / "annotations" / "val.json"
    if not path.is_file() or cfg.eval_every <= 0:
        log.info("no validation (%s)", "eval_every <= 0" if cfg.eval_every <= 0 else f"{path} not found")
        return None, None
    gt = AvatarDataset.load(path)
    video_dir = cfg.data.videos or Path(cfg.data.root or path.parent.parent) / "videos"
    return gt, ClipDataset(items_from_gt(gt, video_dir), cfg.model, cfg.data, train=False, seed=cfg.seed)


def build_context(cfg: TrainConfig, device: torch.device, total_steps: int) -> Context:
    """Model (DDP-wrapped under torchrun), Adam, and the AMP grad scaler (active for fp16 only)."""
    raw = Tavlo(cfg.model).to(device)
    model = raw
    if torch.distributed.is_initialized():
        model = torch.nn.parallel.DistributedDataParallel(raw, device_ids=[device] if device.type == "cuda" else None)
    optimizer = torch.optim.Adam(raw.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    dtype = amp_dtype(cfg, device)
    scaler = torch.amp.GradScaler(device.type, enabled=dtype == torch.float16)
    return Context(cfg, model, raw, optimizer, scaler, device, dtype, total_steps)


def save(path: Path, ctx: Context, state: TrainState) -> None:
    save_checkpoint(path, model=ctx.raw.state_dict(), optimizer=ctx.optimizer.state_dict(),
                    scaler=ctx.scaler.state_dict(), config=to_dict(ctx.cfg), step=state.step, epoch=state.epoch,
                    micro_in_epoch=state.micro_in_epoch, best_score=state.best_score,
                    calibration=state.calibration.to_dict(), rng=rng_state())


def restore(path: str, ctx: Context) -> TrainState:
    """Load a checkpoint into ``ctx`` (its model config must match) and return its progress."""
    # on the CPU: load_state_dict copies weights and optimizer moments to the parameters' device, and the RNG
    # states must stay CPU ByteTensors (mapped to a GPU, torch.set_rng_state refuses them)
    ckpt = load_checkpoint(path, map_location="cpu")
    if ckpt["config"]["model"] != to_dict(ctx.cfg)["model"]:
        raise TavloError(f"checkpoint {path}: its model config differs from this run's; resume with the same model")
    ctx.raw.load_state_dict(ckpt["model"])
    ctx.optimizer.load_state_dict(ckpt["optimizer"])
    ctx.scaler.load_state_dict(ckpt["scaler"])
    set_rng_state(ckpt["rng"])
    log.info("resumed from %s at step %d (epoch %d)", path, ckpt["step"], ckpt["epoch"])
    return TrainState(ckpt["step"], ckpt["epoch"], ckpt["micro_in_epoch"], ckpt["best_score"],
                      Calibration(**ckpt["calibration"]))


def _validate(ctx: Context, state: TrainState, val: tuple, logger: MetricLogger) -> dict:
    """Rank 0 validates; every rank gets the calibration; returns the metrics (empty on other ranks)."""
    gt, val_set = val
    metrics = {}
    if dist.is_main():
        loader = make_loader(val_set, None, ctx.cfg.batch_size, ctx.cfg.data.num_workers, False, ctx.device)
        metrics, cal, _ = evaluate(ctx.raw, loader, ctx.device, ctx.cfg.num_negatives, gt, ctx.dtype)
        state.calibration = cal
        score = metrics.get("total_ciou", math.nan)
        metrics["score"] = score if not math.isnan(score) else -metrics["loss"]
        k = ctx.cfg.batch_size - 1 if ctx.cfg.num_negatives < 0 else min(ctx.cfg.num_negatives, ctx.cfg.batch_size - 1)
        check = collapse_check(metrics["loss"], cal.pos_median, cal.neg_median, cal.tau, k)
        metrics.update(collapsed=float(check["collapsed"]), peak_gap=check["peak_gap"], loss_share=check["loss_share"])
        if check["collapsed"]:
            log.warning("step %d: collapsed: the loss is %.1f%% of chance but matched pairs peak no higher than "
                        "mismatched ones (%.2f tau apart): the heatmap peak carries no evidence (tavlo_model/"
                        "collapse.py; max-pooled negatives avoid it)", state.step, 100 * check["loss_share"],
                        check["peak_gap"])
        logger.log(state.step, state.epoch, "val", metrics)
        log.info("val step %d: %s", state.step, {k: round(v, 4) for k, v in metrics.items()})
    state.calibration = Calibration(**dist.broadcast_object(state.calibration.to_dict()))
    return metrics


def check_inputs(cfg: TrainConfig) -> None:
    """Refuse, before any long work, inputs a run would fail on later: a missing data folder, CSV or
    validation file, unreadable visual weights, a missing resume checkpoint, an out_dir that cannot be written.

    Raises:
        TavloError: naming the setting, what was expected and what was found.
    """
    d = cfg.data
    if d.csv:
        if not Path(d.csv).is_file():
            raise TavloError(f"data.csv {d.csv}: file not found")
        videos = Path(d.videos or Path(d.csv).parent / "videos")
        if not videos.is_dir():
            raise TavloError(f"data.videos {videos}: expected a folder of <id>_<start>.mp4 files, found none")
    elif d.root:
        split = Path(d.root) / "annotations" / f"{d.train_split}.json"
        if not Path(d.root).is_dir():
            raise TavloError(f"data.root {d.root}: folder not found")
        if not split.is_file():
            raise TavloError(f"data.root {d.root}: expected {split} (an AVATAR-Synth folder), not found")
    else:
        raise TavloError("data: expected data.root (an AVATAR-Synth folder) or data.csv + data.videos, got neither")
    if d.val_gt and not Path(d.val_gt).is_file():
        raise TavloError(f"data.val_gt {d.val_gt}: file not found")
    if cfg.model.visual_weights:
        from tavlo_model.visual import read_weights

        read_weights(cfg.model.visual_weights)
    if cfg.resume and cfg.resume != "auto" and not Path(cfg.resume).is_file():
        raise TavloError(f"resume {cfg.resume}: checkpoint not found")
    check_writable(Path(cfg.out_dir), "out_dir")


def train(cfg: TrainConfig, progress: bool = False) -> dict:
    """Run training as ``cfg`` says; return a summary (steps, seconds, best score, last validation metrics).

    ``progress`` shows a bar (step, loss, samples/s, ETA) on rank 0 when stderr is a terminal.
    """
    cfg.check()
    if cfg.threads:
        torch.set_num_threads(cfg.threads)
    device = dist.pick_device(cfg.device)
    rank, world = dist.setup(device)
    torch.manual_seed(cfg.seed)
    out = Path(cfg.out_dir)
    logger = MetricLogger(out, enabled=rank == 0)
    bar = ProgressBar(progress and rank == 0)
    try:
        with bar:
            return _train(cfg, device, rank, world, out, logger, bar)
    finally:
        logger.close()
        dist.cleanup()


def _prepare(cfg: TrainConfig, device, rank: int, world: int, out: Path) -> tuple:
    """Training clips, their sampler and loader, the model context and the (restored) progress."""
    import yaml

    items = usable(training_items(cfg.data))
    if len(items) * cfg.data.windows_per_video < cfg.batch_size * world:
        raise TavloError(f"data: {len(items)} usable training video(s) x {cfg.data.windows_per_video} window(s) "
                         f"cannot fill one batch of {cfg.batch_size} per process x {world} process(es)")
    train_set = ClipDataset(items, cfg.model, cfg.data, train=True, seed=cfg.seed)
    sampler = ShardSampler(len(train_set), shuffle=True, seed=cfg.seed, rank=rank, world=world,
                           group=cfg.data.windows_per_video)
    loader = make_loader(train_set, sampler, cfg.batch_size, cfg.data.num_workers, True, device)
    total = cfg.max_steps or cfg.epochs * (len(sampler) // cfg.batch_size // cfg.accum_steps)
    ctx = build_context(cfg, device, total)
    resume = str(out / "last.pt") if cfg.resume == "auto" and (out / "last.pt").exists() else cfg.resume
    state = restore(resume, ctx) if resume and resume != "auto" else TrainState()
    if rank == 0:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(yaml.safe_dump(to_dict(cfg), sort_keys=False), encoding="utf-8")
    return train_set, sampler, loader, ctx, state


def _train(cfg: TrainConfig, device, rank: int, world: int, out: Path, logger: MetricLogger,
           bar: ProgressBar) -> dict:
    train_set, sampler, loader, ctx, state = _prepare(cfg, device, rank, world, out)
    val = validation_set(cfg)
    bar.start(ctx.total_steps, state.step)
    ctx.on_step = lambda st, stats: bar.update(st, stats) or _on_step(ctx, st, stats, logger, out)
    t0, last_val = time.perf_counter(), {}
    while state.epoch < cfg.epochs and not (cfg.max_steps and state.step >= cfg.max_steps):
        train_set.set_epoch(state.epoch)
        sampler.set_epoch(state.epoch)
        sampler.skip(state.micro_in_epoch * cfg.batch_size)
        ctx.optimizer.zero_grad(set_to_none=True)  # a partial accumulation group at an epoch end is dropped
        logger.log(state.step, state.epoch, "epoch", train_one_epoch(ctx, loader, state))
        if cfg.max_steps and state.step >= cfg.max_steps:
            break
        state.epoch, state.micro_in_epoch = state.epoch + 1, 0
        if val[0] is not None and state.epoch % cfg.eval_every == 0:
            last_val = _end_of_period(ctx, state, val, logger, out)
        elif rank == 0:
            save(out / "last.pt", ctx, state)
    if val[0] is not None and (not last_val or state.micro_in_epoch):
        last_val = _end_of_period(ctx, state, val, logger, out)  # the final weights are validated too
    elif rank == 0:
        save(out / "last.pt", ctx, state)
    summary = {"steps": state.step, "epochs": state.epoch, "train_seconds": time.perf_counter() - t0,
               "world_size": world, "best_score": state.best_score, "val": last_val,
               "collapsed": bool(last_val.get("collapsed", 0.0)),
               "calibration": state.calibration.to_dict(), "param_sum": dist.check_replicas_in_sync(ctx.raw),
               "checkpoint": str(out / "last.pt")}
    if rank == 0:
        atomic_write_text(out / "summary.json", json.dumps(strict_json(summary), indent=2, allow_nan=False) + "\n")
    dist.barrier()
    return summary


def _end_of_period(ctx: Context, state: TrainState, val: tuple, logger: MetricLogger, out: Path) -> dict:
    metrics = _validate(ctx, state, val, logger)
    if dist.is_main():
        better = metrics["score"] > state.best_score
        state.best_score = max(state.best_score, metrics["score"])
        save(out / "last.pt", ctx, state)
        if better:
            save(out / "best.pt", ctx, state)
    dist.barrier()
    return metrics


def _on_step(ctx: Context, state: TrainState, stats: dict, logger: MetricLogger, out: Path) -> bool:
    cfg = ctx.cfg
    if state.step % cfg.log_every == 0 or state.step == 1:
        logger.log(state.step, state.epoch, "train", stats)
        log.info("step %d epoch %d loss %.4f lr %.2e %.1f samples/s data wait %.0f%%", state.step, state.epoch,
                 stats["loss"], stats["lr"], stats["samples_per_s"], 100 * stats["data_wait_share"])
    if cfg.ckpt_every_steps and state.step % cfg.ckpt_every_steps == 0 and dist.is_main():
        save(out / "last.pt", ctx, state)
    return bool(cfg.max_steps and state.step >= cfg.max_steps)


def main(argv: list[str] | None = None) -> int:
    """``python -m tavlo_model.train`` (and ``torchrun -m tavlo_model.train``): :func:`tavlo_model.cli.train_main`."""
    from tavlo_model.cli import train_main

    return train_main(argv)


if __name__ == "__main__":
    sys.exit(main())
