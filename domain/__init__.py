"""Pure domain model of a municipal housing temaplan.

Nothing in this package performs I/O, reads a clock or imports Temporal: time and ids are
passed in by the caller, so the same code runs inside deterministic workflows, in
activities and in auditors' replays.
"""
