"""Audio taggers: the protocol, the registry by name, the ``none`` backend, CAV-MAE, and tag post-processing.

A tagger scores every label of its vocabulary for windows of audio centred on frame times; the taxonomy then
maps labels to AVATAR categories. YAMNet lives in :mod:`pipeline.proposals.yamnet`.
"""

from __future__ import annotations

import csv
import importlib
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from pipeline.errors import PipelineError
from pipeline.proposals.records import AudioTag
from pipeline.proposals.taxonomy import ANNOTATIONS, Taxonomy

log = logging.getLogger(__name__)


@runtime_checkable
class AudioTagger(Protocol):
    """Scores labels for audio windows. ``source`` names the label vocabulary the taxonomy knows."""

    name: str
    source: str  # "vggsound" | "audioset"
    labels: list[str]

    def score_windows(self, wave: np.ndarray, centers_s: Sequence[float]) -> np.ndarray:
        """Scores ``(len(centers_s), len(labels))`` in [0, 1] for 16 kHz mono ``wave``."""
        ...


class NoneTagger:
    """No-weights mode: no tags, so the scenario rules leave the frame to the annotators."""

    name, source, labels = "none", "none", []

    def score_windows(self, wave: np.ndarray, centers_s: Sequence[float]) -> np.ndarray:
        return np.zeros((len(centers_s), 0), np.float32)


def read_label_csv(path: str | Path) -> list[str]:
    """``display_name`` column of an ``index,mid,display_name`` CSV, in index order."""
    with open(path, newline="", encoding="utf-8") as fh:
        rows = sorted(csv.DictReader(fh), key=lambda r: int(r["index"]))
    return [r["display_name"] for r in rows]


class CavMaeTagger:
    """CAV-MAE (VGGSound fine-tuned) in audio-only mode, with the official preprocessing per window.

    Per window: subtract the mean, Kaldi fbank (128 mel, 25 ms / 10 ms, Hann), zero-pad or cut to
    ``audio_length`` frames, normalise ``(x - norm_mean) / (norm_std * std_scale)``. The official CAV-MAE data
    loader divides by ``norm_std`` (``std_scale=1``); AST's divides by ``2 * norm_std``: set ``std_scale=2`` for
    AST-style models. Scores are the softmax over classes (the VGGSound models are trained with cross-entropy).
    """

    name, source = "cavmae", "vggsound"

    def __init__(self, checkpoint: str | Path | None = None, *, labels_csv: str | Path | None = None,
                 device: str = "cpu", mode: str = "audioonly", window_s: float = 2.0, batch_size: int = 8,
                 norm_mean: float = -5.081, norm_std: float = 4.4849, std_scale: float = 1.0,
                 activation: str = "softmax", config: dict | None = None, model=None):
        from pipeline.proposals import cavmae
        from pipeline.proposals.weights import resolve

        self.labels = read_label_csv(labels_csv or ANNOTATIONS / "vggsound_labels.csv")
        if model is None:  # config: CavMaeConfig overrides for non-default (e.g. tiny test) checkpoints
            arch = cavmae.CavMaeConfig(**config) if config else None
            model = cavmae.load_cavmae(resolve(checkpoint or "cavmae-vggsound-audio"), arch, device=device)
        self.model = model
        self.model = self.model.to(device).eval()
        head = self.model.config.label_dim
        if head != len(self.labels):
            raise PipelineError(f"CAV-MAE tagger: the model has {head} classes but the label list has "
                                f"{len(self.labels)}; pass the matching labels_csv")
        self.device, self.mode, self.window_s, self.batch_size = device, mode, window_s, batch_size
        self.norm_mean, self.norm_scale, self.activation = norm_mean, norm_std * std_scale, activation

    def features(self, wave: np.ndarray):
        """Normalised fbank ``(audio_length, num_mel_bins)`` of one window (the official ``_wav2fbank``)."""
        import torch

        from pipeline.proposals.fbank import fbank, pad_or_cut

        w = torch.from_numpy(np.asarray(wave, np.float32))
        feats = fbank(w - w.mean(), num_mel_bins=self.model.config.num_mel_bins)
        feats = pad_or_cut(feats, self.model.config.audio_length)
        return (feats - self.norm_mean) / self.norm_scale

    def score_windows(self, wave: np.ndarray, centers_s: Sequence[float]) -> np.ndarray:
        import torch

        from pipeline.proposals.audio import windows

        chunks = windows(wave, centers_s, self.window_s)
        out = []
        with torch.inference_mode():
            for i in range(0, len(chunks), self.batch_size):
                batch = torch.stack([self.features(c) for c in chunks[i:i + self.batch_size]]).to(self.device)
                logits = self.model(batch, mode=self.mode).float()
                probs = logits.softmax(-1) if self.activation == "softmax" else logits.sigmoid()
                out.append(probs.cpu().numpy())
        return np.concatenate(out) if out else np.zeros((0, len(self.labels)), np.float32)


# name -> "module:Class"; imported on demand so a missing optional dependency only hurts its own backend.
TAGGERS = {"none": f"{__name__}:NoneTagger", "cavmae": f"{__name__}:CavMaeTagger",
           "yamnet": "pipeline.proposals.yamnet:YamnetTagger"}


def make_tagger(name: str, **options) -> AudioTagger:
    """Build a registered tagger by name (``none``, ``cavmae``, ``yamnet``) with backend options."""
    if name not in TAGGERS:
        raise PipelineError(f"audio tagger {name!r}: expected one of {sorted(TAGGERS)}")
    module, cls = TAGGERS[name].split(":")
    return getattr(importlib.import_module(module), cls)(**options)


def top_tags(scores: np.ndarray, tagger: AudioTagger, taxonomy: Taxonomy, *, top_k: int = 5,
             min_score: float = 0.05) -> list[AudioTag]:
    """The ``top_k`` labels of one window scoring ≥ ``min_score``, each mapped to its taxonomy entity."""
    order = np.argsort(-scores)[:top_k]
    return [AudioTag(label=tagger.labels[i], score=float(scores[i]),
                     category=taxonomy.audio_entity(tagger.source, tagger.labels[i]))
            for i in order if scores[i] >= min_score]


def entity_scores(scores: np.ndarray, tagger: AudioTagger, taxonomy: Taxonomy) -> dict[str, float]:
    """Best score per taxonomy entity over all labels of one window (labels that map to nothing are skipped)."""
    best: dict[str, float] = {}
    for label, score in zip(tagger.labels, scores, strict=True):
        entity = taxonomy.audio_entity(tagger.source, label)
        if entity is not None and score > best.get(entity, 0.0):
            best[entity] = float(score)
    return best
