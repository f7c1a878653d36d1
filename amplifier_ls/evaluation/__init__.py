"""`amplifier-ls eval`: measure how close predictions come to what the author really wrote.

Documents of the author's corpus are held out one at a time, cut at paragraph and section
boundaries, and continued by each configuration under test. The predictions are scored
against the real continuation (`metrics.py`) and reported as a table, JSON and HTML.

Modules: `cuts.py` picks the held-out documents and cut points, `configs.py` reads the
configurations to compare, `runner.py` predicts and scores, `summary.py` aggregates with
bootstrap confidence intervals, `report.py` and `plots.py` write the results.
"""
