"""Tests of papers.qtok_2024.method: the paper's tables are well-formed, the error table and its control, the
parallel table."""

import numpy as np

from papers.qtok_2024 import method
from shared.tokenization.quality import CATEGORIES


def test_tables_well_formed():
    assert set(method.PAPER_ROWS.values()) <= set(method.TABLE1) and set(method.TABLE1) == set(method.TABLE2)
    for row in method.TABLE1.values():
        assert len(row) == len(CATEGORIES) and abs(sum(row) - 100) < 0.1  # percentages of the whole vocabulary
    for row in method.TABLE2.values():
        assert len(row) == len(method.TABLE2_COLS) and sum(row) <= 100


def test_table_errors_zero_on_own_row_and_control_positive():
    ours = {n: np.array(method.TABLE1[r]) for n, r in method.PAPER_ROWS.items()}
    e = method.table_errors(ours, method.TABLE1)
    assert len(e) == 4 * len(CATEGORIES) and e.error.max() == 0
    assert (e.mismatched_error - e.error).mean() > 0
    # a placebo: every tokenizer given another tokenizer's row fails the rule and the control
    swapped = {n: np.array(method.TABLE1["falcon"]) for n in method.PAPER_ROWS}
    e2 = method.table_errors(swapped, method.TABLE1)
    assert e2.error.max() > 2


def test_parallel_table_aligned():
    t = method.parallel_table(["en", "de", "ja"])
    assert len(t) > 1000 and t.notna().all().all() and not t.en.duplicated().any()
