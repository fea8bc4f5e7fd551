"""Tests of papers.$slug.method: cases with known answers, invariants, and the paper's own worked examples."""

import pytest

from papers.$slug import method  # noqa: F401


def test_method_has_tests():
    pytest.fail("write tests for papers/$slug/method.py")
