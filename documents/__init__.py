"""The documents people keep: the draft, the adopted plan, the scorecard, as HTML and PDF."""
