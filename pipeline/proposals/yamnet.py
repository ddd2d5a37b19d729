"""YAMNet (AudioSet, 521 classes) through TFLite (``ai-edge-litert``): the small real tagger that runs on a CPU.

The model takes 0.975 s of 16 kHz mono audio (15600 samples) and returns 521 sigmoid scores. For a window longer
than one patch, patches every ``hop_s`` seconds are scored and averaged.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from avatar_bench.errors import MissingDependencyError
from pipeline.errors import PipelineError
from pipeline.proposals.audio import SAMPLE_RATE, window
from pipeline.proposals.taggers import read_label_csv

PATCH_SAMPLES = 15600  # 0.975 s


class YamnetTagger:
    """AudioSet tagger scoring windows centred on frame times."""

    name, source = "yamnet", "audioset"

    def __init__(self, model: str | Path | None = None, *, class_map: str | Path | None = None,
                 window_s: float = 0.975, hop_s: float = 0.5, num_threads: int | None = None, **_ignored):
        from pipeline.proposals.weights import resolve

        try:
            from ai_edge_litert.interpreter import Interpreter
        except ModuleNotFoundError:
            raise MissingDependencyError("ai-edge-litert", "pipeline") from None
        path = resolve(model or "yamnet")
        class_map = Path(class_map) if class_map else path.with_name("yamnet_class_map.csv")
        if not class_map.is_file():
            raise PipelineError(f"YAMNet class map {class_map}: file not found (expected beside the model; "
                                "`avatar-pipeline models download yamnet-class-map` fetches it)")
        self.labels = read_label_csv(class_map)
        try:
            self.interpreter = Interpreter(model_path=str(path), num_threads=num_threads)
            self.interpreter.allocate_tensors()
        except (ValueError, RuntimeError) as exc:
            raise PipelineError(f"YAMNet model {path}: not a loadable TFLite model ({exc})") from None
        self._input = self.interpreter.get_input_details()[0]
        self._output = self.interpreter.get_output_details()[0]
        if int(self._output["shape"][-1]) != len(self.labels):
            raise PipelineError(f"YAMNet model {path}: outputs {self._output['shape'][-1]} scores, but the class map "
                                f"{class_map} lists {len(self.labels)} labels")
        self.window_s, self.hop_s = max(window_s, PATCH_SAMPLES / SAMPLE_RATE), hop_s

    def score_patch(self, patch: np.ndarray) -> np.ndarray:
        """521 scores for exactly 15600 samples."""
        data = np.asarray(patch, np.float32).reshape(self._input["shape"])  # [15600] or [1, 15600]
        self.interpreter.set_tensor(self._input["index"], data)
        self.interpreter.invoke()
        return self.interpreter.get_tensor(self._output["index"]).reshape(-1).copy()

    def _patch_centers(self, center_s: float) -> np.ndarray:
        half = (self.window_s - PATCH_SAMPLES / SAMPLE_RATE) / 2
        count = 1 + int(np.floor(2 * half / self.hop_s + 1e-9)) if half > 0 else 1
        return center_s + (np.arange(count) - (count - 1) / 2) * self.hop_s

    def score_windows(self, wave: np.ndarray, centers_s: Sequence[float]) -> np.ndarray:
        out = np.zeros((len(centers_s), len(self.labels)), np.float32)
        for i, center in enumerate(centers_s):
            patches = [window(wave, c, PATCH_SAMPLES / SAMPLE_RATE) for c in self._patch_centers(center)]
            out[i] = np.mean([self.score_patch(p) for p in patches], axis=0)
        return out
