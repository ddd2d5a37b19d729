"""The semi-automatic AVATAR annotation pipeline: pure stages over typed records (no Prefect here).

Stages: sources → probe/filter → audio activity → frame choice → proposals → scenario rules → review → export.
Each stage writes typed records (:mod:`pipeline.records`) to its table of the work folder, whose layout
:mod:`pipeline.layout` owns, atomically (:mod:`pipeline.manifest`); a rerun skips finished work. Every stage's
settings are a :class:`pipeline.config.StrictConfig` and its result a :class:`pipeline.stats.StageStats`.
"""

from pipeline.errors import PipelineError

__all__ = ["PipelineError"]
