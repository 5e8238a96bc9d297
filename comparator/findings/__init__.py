"""Findings: where and why A beats B, found by the product on its own with honest statistics
(slice discovery with a held-out half and Benjamini-Hochberg; rationale themes; judge biases).
``find(comp, FindingsConfig(...))`` returns the JSON of ``comparator findings``."""

from comparator.findings.build import SCHEMA_VERSION, FindingsConfig, find

__all__ = ["SCHEMA_VERSION", "FindingsConfig", "find"]
