"""THE model's view of a clip: T frames at the centres of T equal segments of a window, and the window's audio.

A window of ``clip_seconds`` around an anchor frame ``a`` (frame rate ``fps``) holds T frames at times
``t_a + (k - T//2) * d`` for ``k = 0..T-1`` (``d = clip_seconds / T``, so the anchor sits at position ``T//2``)
and the audio of ``[t_0 - d/2, t_{T-1} + d/2)``: segment k, ``[t_k - d/2, t_k + d/2)``, is the audio around
frame k. TAVLO's data loader (``tavlo_model.data``) and the synth cue check (``avatar_bench.synth.cue``) both
place frames and audio with :func:`model_window`, so the oracle measures what the model is given.
"""

from __future__ import annotations


def model_window(anchor: int, fps: float, num_frames: int, clip_seconds: float,
                 n_frames: int) -> tuple[list[int], float]:
    """Frame indices of the window (clamped to the video's ``n_frames``) and the start time of its audio (s).

    Args:
        anchor: frame index that sits at window position ``num_frames // 2``.
        fps: the video's frame rate.
        num_frames: T.
        clip_seconds: the window's audio span; segment k lasts ``clip_seconds / T``.
        n_frames: frames in the video (indices are clamped to ``[0, n_frames - 1]``).
    """
    d = clip_seconds / num_frames
    t_anchor = anchor / fps
    times = [t_anchor + (k - num_frames // 2) * d for k in range(num_frames)]
    idx = [min(max(int(round(t * fps)), 0), n_frames - 1) for t in times]
    return idx, times[0] - d / 2


def segment_bounds(audio_start: float, num_frames: int, clip_seconds: float) -> list[tuple[float, float]]:
    """``[(start_s, end_s)]`` of the T audio segments of a window whose audio starts at ``audio_start``."""
    d = clip_seconds / num_frames
    return [(audio_start + k * d, audio_start + (k + 1) * d) for k in range(num_frames)]
