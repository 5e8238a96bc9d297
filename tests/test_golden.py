"""Behaviour unchanged by the redesign (issue 19): ``stats --json --by category`` and ``report
-o x.json`` of every judged file in ``../shared/data`` and of the bundled demos equal the golden
outputs recorded before the move (``tests/golden/``), key by key, floats within 1e-12."""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "golden"))
from make_golden import CASES, HERE, VOLATILE, digest, run  # noqa: E402

pytestmark = pytest.mark.slow


LC_TOL = 1e-6  # length control's bootstrap of an iterated logistic fit: a slice that one
# side nearly always wins (PandaLM's, interval end 0.99989) is not converged at 1e-12 after the
# fit's iterations, and the machine's SIMD width moves its last digits (2e-8 between two CPUs)


def differences(want, got, where: str = "") -> list[str]:
    """Every place where ``got`` differs from ``want`` (floats within 1e-12; length-controlled
    figures, ``*_lc*``, within ``LC_TOL``)."""
    if isinstance(want, dict) and isinstance(got, dict):
        out = [f"{where}.{k}: missing" for k in want.keys() - got.keys() if k not in VOLATILE]
        out += [f"{where}.{k}: new key" for k in got.keys() - want.keys() if k not in VOLATILE]
        for k in want.keys() & got.keys():
            if k not in VOLATILE:
                out += differences(want[k], got[k], f"{where}.{k}")
        return out
    if isinstance(want, list) and isinstance(got, list):
        if len(want) != len(got):
            return [f"{where}: {len(want)} items, now {len(got)}"]
        return [d for i, (a, b) in enumerate(zip(want, got)) for d in
                differences(a, b, f"{where}[{i}]")]
    if (isinstance(want, float) or isinstance(got, float)) and not isinstance(want, bool) \
            and isinstance(want, (int, float)) and isinstance(got, (int, float)):
        if math.isclose(want, got, rel_tol=0, abs_tol=LC_TOL if "_lc" in where else 1e-12):
            return []
    elif want == got:
        return []
    return [f"{where}: {want!r} -> {got!r}"]


@pytest.mark.parametrize("name", list(CASES))
def test_same_as_before_the_redesign(name, tmp_path):
    want = json.loads((HERE / f"{name}.json").read_text())
    got = digest(run(name, env={**os.environ, "COMPARATOR_HOME": str(tmp_path)}))
    diff = differences(want, got)
    assert not diff, f"{name}: {len(diff)} differences, e.g. " + "; ".join(diff[:8])
