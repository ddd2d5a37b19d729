"""The semi-automatic AVATAR annotation pipeline: pure stages over typed records (no Prefect here).

Stages: sources → probe/filter → audio activity → frame choice → proposals → scenario rules → review → export.
Each stage writes a Parquet manifest atomically (see :mod:`pipeline.manifest`) and a rerun skips finished work.
"""

from pipeline.errors import PipelineError

__all__ = ["PipelineError"]
