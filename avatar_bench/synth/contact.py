"""Contact sheets: annotated frames with every instance's mask outline, sounding ones marked.

Sounding instances are outlined in green, silent ones in red; each tile's caption gives the frame, its
scenario and what is heard. Used for the README images (small PNGs) and for eyeballing a dataset.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy import ndimage

from avatar_bench.errors import AvatarError
from avatar_bench.format import AvatarDataset
from avatar_bench.rle import decode

SOUNDING, SILENT = (40, 255, 60), (255, 50, 50)


def _outline(mask: np.ndarray, width: int = 3) -> np.ndarray:
    return mask & ~ndimage.binary_erosion(mask, iterations=width)


def render_tile(ds: AvatarDataset, image_id: int, frames_root: Path, tile_width: int):
    """One annotated frame with outlines and a caption, as a PIL image ``tile_width`` wide."""
    from PIL import Image, ImageDraw

    im = ds.image_by_id[image_id]
    rgb = np.asarray(Image.open(frames_root / im.file_name).convert("RGB")).copy()
    for ann in ds.anns_by_image.get(im.id, []):
        rgb[_outline(decode(ann.segmentation))] = SOUNDING if ann.sounding else SILENT
    tile = Image.fromarray(rgb).resize((tile_width, round(tile_width * im.height / im.width)), Image.BILINEAR)
    heard = ", ".join(ds.category_by_id[c].name for c in im.sounding_category_ids) or "-"
    loud = [f"{ds.category_by_id[a.category_id].name}#{a.track_id}" for a in ds.anns_by_image.get(im.id, [])
            if a.sounding]
    caption = f"{im.scenario} f{im.frame_index} heard: {heard} | sounding: {', '.join(loud) or 'none on screen'}"
    canvas = Image.new("RGB", (tile.width, tile.height + 16), (20, 20, 20))
    canvas.paste(tile, (0, 0))
    ImageDraw.Draw(canvas).text((3, tile.height + 2), caption, fill=(235, 235, 235))
    return canvas


def contact_sheet(data_dir: str | Path, out_png: str | Path, scenario: str | None = None, split: str = "test",
                  count: int = 4, tile_width: int = 320, columns: int = 2, cross_event: bool = False) -> int:
    """Write a grid of ``count`` annotated frames and return how many were drawn.

    Args:
        data_dir: a generated dataset folder.
        out_png: the PNG to write (palette-quantised to stay small).
        scenario: only frames of this scenario.
        split: which annotation file to read.
        count, tile_width, columns: grid shape.
        cross_event: only the frames of the first cross-event video, in time order.
    """
    from PIL import Image

    root = Path(data_dir)
    ds = AvatarDataset.load(root / "annotations" / f"{split}.json")
    images = [im for im in ds.images if scenario is None or im.scenario == scenario]
    if cross_event:
        videos = sorted(ds.cross_event_video_ids())
        images = [im for im in images if videos and im.video_id == videos[0]]
    if not images:
        what = "cross-event" if cross_event else (scenario or "annotated")
        raise AvatarError(f"{root}: no {what} frame in the {split} split")
    # spread the picks over videos: one frame per video first
    picked, seen = [], set()
    for im in images + images:
        if len(picked) == count:
            break
        if im.video_id not in seen or len(seen) >= len({i.video_id for i in images}):
            if im.id not in {p.id for p in picked}:
                picked.append(im)
                seen.add(im.video_id)
    tiles = [render_tile(ds, im.id, root / "frames", tile_width) for im in picked]
    rows = (len(tiles) + columns - 1) // columns
    sheet = Image.new("RGB", (columns * tiles[0].width, rows * tiles[0].height), (0, 0, 0))
    for k, tile in enumerate(tiles):
        sheet.paste(tile, ((k % columns) * tile.width, (k // columns) * tile.height))
    out = Path(out_png)
    out.parent.mkdir(parents=True, exist_ok=True)
    sheet.quantize(colors=128, method=Image.Quantize.MEDIANCUT).save(out, optimize=True)
    return len(tiles)
