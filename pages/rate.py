"""Rate: people rate pairs blind, one at a time, from the keyboard (comparator.ui.rate)."""

from comparator.ui.rate import rate_page

rate_page()
