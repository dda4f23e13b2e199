"""``streamedit eval``: edit fidelity, reconstruction quality, uncertainty and temporal
consistency of the SDK against the fixed-interval, landmark-only and DIS optical-flow
baselines, in one run."""

from streamedit_sdk.apps.eval.report import (METHOD_KEYS, METHODS, REPORT_KEYS, EvalReport,
                                             MethodScores, plot, write_csv)
from streamedit_sdk.apps.eval.runner import PASSES, evaluate

__all__ = ["evaluate", "PASSES", "EvalReport", "MethodScores", "METHODS", "METHOD_KEYS",
           "REPORT_KEYS", "plot", "write_csv"]
