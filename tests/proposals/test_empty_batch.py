"""A batch where every video was rejected: the stages after prepare still run, on zero frames."""

import pandas as pd

from pipeline.proposals.config import ProposeConfig
from pipeline.proposals.propose import FRAME_COLUMNS, PROPOSAL_COLUMNS, propose
from pipeline.review.push import read_proposals


def test_no_frames_gives_an_empty_contract_table_that_push_reads(tmp_path):
    (tmp_path / "manifests").mkdir()
    pd.DataFrame(columns=list(FRAME_COLUMNS)).to_parquet(tmp_path / "manifests" / "frames.parquet")
    summary = propose(tmp_path, ProposeConfig.no_weights())
    assert summary["frames"] == 0 and summary["processed"] == 0
    table = pd.read_parquet(tmp_path / "manifests" / "proposals.parquet")
    assert list(table.columns) == list(PROPOSAL_COLUMNS) and len(table) == 0
    assert read_proposals(tmp_path) == []
    assert propose(tmp_path, ProposeConfig.no_weights())["processed"] == 0  # a rerun is a no-op too
