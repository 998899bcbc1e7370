"""Account health: what the engine reads (``inputs``), the metrics outcomes are measured on
(``measures``), success-plan outcome verdicts (``outcomes``), the scoring components (``components``),
the configurable weights and thresholds (``model``) and the engine that combines them (``engine``), all
pure; then the database side: reading inputs for many accounts (``load``), daily snapshots and an
account's health with trend and drivers (``service``), the portfolio summary (``portfolio``), and
what is written on a health alert's post after it went out (``alert_notes``).
"""
