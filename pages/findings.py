"""Findings: every slice where A's win rate differs from the rest (found on one random half,
confirmed on the other, Benjamini-Hochberg adjusted), with depth, size and seed controls, a
button per finding that filters the view to it, the judge's biases and the JSON download."""

from comparator.ui import report as rep
from comparator.ui import state, widgets
from comparator.ui.findings_panel import findings_page

page = widgets.analysis_page("Findings")
findings_page(page, rep.input_name(page.loaded), state.swapped())
