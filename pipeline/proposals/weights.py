"""Model checkpoints: a registry of the known files, a cache directory, explicit paths, and the only download.

Nothing is fetched implicitly: a missing checkpoint raises :class:`PipelineError` naming the file, where it was
looked for and the command that downloads it. ``download`` (``avatar-pipeline models download NAME``) is the
single network call of the proposals code; it streams to a temporary file beside the target, checks the size and
SHA-256 when the registry knows them, and only then moves the file into place.

Sizes and hashes were taken from public listings of the same files; where none was found the field is ``None``
and ``models check`` says so ("sha256 unknown") instead of inventing one.
"""

from __future__ import annotations

import hashlib
import logging
import os
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from avatar_bench.io import atomic_path
from pipeline.errors import PipelineError

log = logging.getLogger(__name__)
_CHUNK = 1 << 20


@dataclass(frozen=True)
class KnownCheckpoint:
    """One downloadable checkpoint. ``size``/``sha256`` are ``None`` when no trustworthy value is known."""

    name: str
    filename: str
    url: str
    kind: str  # detector | tagger | segmenter
    size: int | None = None
    sha256: str | None = None
    license: str = ""
    note: str = ""


_ULTRA = "https://github.com/ultralytics/assets/releases/download/v8.2.0"
_SAM = "https://dl.fbaipublicfiles.com/segment_anything"
_CAVMAE = "https://www.dropbox.com/s"
_SPEAKER = "https://raw.githubusercontent.com/Jaskaran197/Speaker-Detector/4ec29b6938f1"

REGISTRY: dict[str, KnownCheckpoint] = {c.name: c for c in [
    KnownCheckpoint("yolov8x-oiv7", "yolov8x-oiv7.pt", f"{_ULTRA}/yolov8x-oiv7.pt", "detector",
                    license="AGPL-3.0", note="default detector: Open Images V7, 600 classes incl. instruments"),
    KnownCheckpoint("yolov8n", "yolov8n.pt", f"{_ULTRA}/yolov8n.pt", "detector",
                    sha256="f59b3d833e2ff32e194b5bb8e08d211dc7c5bdf144b90d2c8412c47ccfc83b36",
                    license="AGPL-3.0", note="COCO-80 nano"),
    KnownCheckpoint("yolov8n-coco80-int8", "yolov8n_coco80_int8.onnx",
                    "https://raw.githubusercontent.com/Lamri-Meriem/edge-object-detection/6f7f95f70dd5/"
                    "yolov8n_int8.onnx", "detector", size=3504119,
                    sha256="83de8f0d2cd521e00ae2b138c340a03dece35b060b3898509bdc69afff417312",
                    license="AGPL-3.0", note="COCO-80 nano, dynamic int8 ONNX (CPU demo model)"),
    KnownCheckpoint("sam_vit_h", "sam_vit_h_4b8939.pth", f"{_SAM}/sam_vit_h_4b8939.pth", "segmenter",
                    size=2564550879, sha256="a7bf3b02f3ebf1267aba913ff637d9a2d5c33d3173bb679e46d9f338c26f262e",
                    license="Apache-2.0", note="default segmenter"),
    KnownCheckpoint("sam_vit_l", "sam_vit_l_0b3195.pth", f"{_SAM}/sam_vit_l_0b3195.pth", "segmenter",
                    size=1249524607, sha256="3adcc4315b642a4d2101128f611684e8734c41232a17c648ed1693702a49a622",
                    license="Apache-2.0"),
    KnownCheckpoint("sam_vit_b", "sam_vit_b_01ec64.pth", f"{_SAM}/sam_vit_b_01ec64.pth", "segmenter",
                    size=375042383, sha256="ec2df62732614e57411cdcf32a23ffdf28910380d03139ee0f4fcbe91eb8c912",
                    license="Apache-2.0"),
    KnownCheckpoint("cavmae-vggsound-audio", "cavmae_vgg_59.8.pth", f"{_CAVMAE}/l4rj0sgpnt08bp2/vgg_59.8.pth?dl=1",
                    "tagger", license="BSD-2-Clause (cav-mae)",
                    note="CAV-MAE-Scale+ fine-tuned on VGGSound audio only (59.8 acc); mode audioonly"),
    KnownCheckpoint("cavmae-vggsound-av", "cavmae_vgg_65.5.pth", f"{_CAVMAE}/f4wrbxv2unewss9/vgg_65.5.pth?dl=1",
                    "tagger", license="BSD-2-Clause (cav-mae)",
                    note="CAV-MAE-Scale+ fine-tuned on VGGSound audio+video (65.5 acc); mode missingaudioonly"),
    KnownCheckpoint("yamnet", "yamnet.tflite", f"{_SPEAKER}/yamnet.tflite", "tagger", size=4078224,
                    sha256="469be6a3421cbc52cf97e9f2f966cba984198e8e7af9854d68b3e3ebb1e04194",
                    license="Apache-2.0", note="AudioSet 521 classes, TFLite (CPU demo tagger)"),
    KnownCheckpoint("yamnet-class-map", "yamnet_class_map.csv", f"{_SPEAKER}/yamnet_class_map.csv", "tagger",
                    size=14096, sha256="cdf24d193e196d9e95912a2667051ae203e92a2ba09449218ccb40ef787c6df2",
                    license="Apache-2.0", note="YAMNet label names (read from beside yamnet.tflite)"),
]}


def models_dir() -> Path:
    """The cache directory: ``$AVATAR_HOME/models`` (default ``$XDG_CACHE_HOME/avatar/models``)."""
    from pipeline.settings import get_settings

    return get_settings().models_dir


def _looks_like_path(ref: str) -> bool:
    return os.sep in ref or "/" in ref or Path(ref).suffix.lower() in {".pt", ".pth", ".onnx", ".tflite", ".yaml"}


def resolve(ref: str | os.PathLike, *, check_size: bool = True) -> Path:
    """Turn a registry name or an explicit path into an existing file.

    Args:
        ref: a registry name (``"sam_vit_h"``) or a path; paths are always accepted as they are.
        check_size: compare a cached registry file's size with the expected one (a cheap truncation check).

    Raises:
        PipelineError: the file is missing (saying where it was looked for and how to download it), the name is
            unknown, or a cached file has the wrong size.
    """
    ref = os.fspath(ref)
    if ref not in REGISTRY or _looks_like_path(ref) and Path(ref).expanduser().exists():
        path = Path(ref).expanduser()
        if path.is_file():
            return path
        known = next((c for c in REGISTRY.values() if c.filename == path.name), None)
        hint = f"; `avatar-pipeline models download {known.name}` fetches it" if known else ""
        if not _looks_like_path(ref):
            raise PipelineError(f"checkpoint {ref!r}: not a known model name ({', '.join(REGISTRY)}) nor a file")
        raise PipelineError(f"checkpoint {path}: file not found{hint}")
    entry = REGISTRY[ref]
    path = models_dir() / entry.filename
    if not path.is_file():
        raise PipelineError(
            f"checkpoint {entry.name}: {entry.filename} not found in {models_dir()} (the AVATAR_HOME model cache); "
            f"download it with `avatar-pipeline models download {entry.name}` or pass an explicit path")
    if check_size and entry.size is not None and path.stat().st_size != entry.size:
        raise PipelineError(f"checkpoint {path}: expected {entry.size} bytes, found {path.stat().st_size} "
                            f"(truncated download?); rerun `avatar-pipeline models download {entry.name} --force`")
    return path


def sha256_file(path: str | os.PathLike) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            digest.update(chunk)
    return digest.hexdigest()


def check(entry: KnownCheckpoint, directory: Path | None = None, *, hash_file: bool = True) -> dict:
    """Status of one registry entry in the cache: ``{"name","path","status","detail"}``.

    ``status`` is ``ok``, ``missing``, ``size_mismatch``, ``sha_mismatch`` or ``unverified`` (present, but no
    expected SHA-256 is known).
    """
    path = (directory or models_dir()) / entry.filename
    row = {"name": entry.name, "path": str(path), "status": "ok", "detail": ""}
    if not path.is_file():
        row.update(status="missing", detail=f"avatar-pipeline models download {entry.name}")
        return row
    size = path.stat().st_size
    if entry.size is not None and size != entry.size:
        row.update(status="size_mismatch", detail=f"expected {entry.size} bytes, found {size}")
    elif entry.sha256 is None:
        row.update(status="unverified", detail=f"{size} bytes; sha256 unknown")
    elif hash_file and (got := sha256_file(path)) != entry.sha256:
        row.update(status="sha_mismatch", detail=f"expected sha256 {entry.sha256[:16]}…, got {got[:16]}…")
    return row


def download(entry: KnownCheckpoint, directory: Path | None = None, *, url: str | None = None,
             force: bool = False, timeout: float = 60.0, progress=None) -> Path:
    """Download one checkpoint into the cache, verifying size and SHA-256 when known (the only network call).

    Args:
        entry: the registry entry (tests pass their own).
        directory: target folder (default :func:`models_dir`).
        url: override the entry's URL (a mirror, or a local server in tests).
        force: download even when a verified file is present.
        timeout: socket timeout in seconds.
        progress: optional callable ``progress(bytes_done, bytes_total_or_None)``.

    Raises:
        PipelineError: network failure, or size / SHA-256 mismatch (the partial file is removed).
    """
    target = (directory or models_dir()) / entry.filename
    if target.is_file() and not force and check(entry, target.parent)["status"] in ("ok", "unverified"):
        log.info("%s already present at %s", entry.name, target)
        return target
    source = url or entry.url
    digest, done = hashlib.sha256(), 0
    try:
        with urllib.request.urlopen(source, timeout=timeout) as response, atomic_path(target) as tmp:  # noqa: S310
            total = int(response.headers.get("Content-Length") or 0) or None
            with open(tmp, "wb") as out:
                for chunk in iter(lambda: response.read(_CHUNK), b""):
                    digest.update(chunk)
                    out.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(done, total)
            _verify_download(entry, source, done, digest.hexdigest())
    except OSError as exc:  # URLError, HTTPError, timeouts are OSErrors
        raise PipelineError(f"download {entry.name} from {source}: failed ({exc})") from None
    log.info("downloaded %s (%d bytes) to %s", entry.name, done, target)
    return target


def _verify_download(entry: KnownCheckpoint, source: str, size: int, sha: str) -> None:
    if entry.size is not None and size != entry.size:
        raise PipelineError(f"download {entry.name} from {source}: expected {entry.size} bytes, got {size}; "
                            "the file was not kept")
    if entry.sha256 is not None and sha != entry.sha256:
        raise PipelineError(f"download {entry.name} from {source}: expected sha256 {entry.sha256}, got {sha}; "
                            "the file was not kept")


def load_torch_state_dict(path: str | os.PathLike, what: str = "checkpoint") -> dict:
    """``torch.load(weights_only=True)`` with clear errors; unwraps ``{"model"|"state_dict": ...}`` containers.

    Raises:
        PipelineError: the file is missing, truncated, corrupt, or holds no tensor dictionary.
    """
    import pickle
    import zipfile

    import torch

    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise PipelineError(f"{what} {path}: file not found") from None
    except (RuntimeError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PipelineError(f"{what} {path}: not a readable torch checkpoint (truncated or corrupt?): {first}") \
            from None
    for key in ("state_dict", "model", "model_state_dict"):
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not obj or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise PipelineError(f"{what} {path}: expected a state dict of tensors, found {type(obj).__name__}")
    return obj
