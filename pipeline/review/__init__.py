"""Label Studio review: push proposals as pre-annotated tasks, pull verified masks into AVATAR-COCO.

The only package that knows Label Studio's JSON. Entry points: :func:`push`, :func:`pull`, and
:class:`ReviewConfig`; :mod:`pipeline.review.brush` holds the exact brush RLE <-> COCO RLE conversions.
"""

from pipeline.review.config import ReviewConfig, labeling_config, load_categories
from pipeline.review.pull import pull
from pipeline.review.push import push

__all__ = ["ReviewConfig", "labeling_config", "load_categories", "pull", "push"]
