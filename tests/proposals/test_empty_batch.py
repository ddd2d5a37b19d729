"""A batch where every video was rejected: the stages after prepare still run, on zero frames."""

import pandas as pd

from pipeline.layout import WorkDir
from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import propose
from pipeline.proposals.records import ProposalRecord
from pipeline.records import FrameRecord
from pipeline.review.push import read_proposals


def test_no_frames_gives_an_empty_contract_table_that_push_reads(tmp_path):
    work = WorkDir(tmp_path)
    work.manifests.mkdir()
    pd.DataFrame(columns=FrameRecord.columns()).to_parquet(work.table("frames"))
    summary = propose(tmp_path, ProposeConfig.no_weights())
    assert summary.counts["frames"] == 0 and summary.processed == 0
    table = pd.read_parquet(work.table("proposals"))
    assert list(table.columns) == ProposalRecord.columns() and len(table) == 0
    assert read_proposals(tmp_path) == []
    assert propose(tmp_path, ProposeConfig.no_weights()).processed == 0  # a rerun is a no-op too
