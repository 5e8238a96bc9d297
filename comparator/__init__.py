"""comparator: compare two LLMs side by side from judged pairwise files.

Stages live one package each: ``comparator.io`` (schema, import/export),
``comparator.slices`` (statistics), ``comparator.cli`` (``python -m comparator``).
Only ``comparator.ui`` imports streamlit.
"""

__version__ = "0.1.0"
