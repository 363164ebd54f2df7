"""Replay, benchmark, calibrate: recorded model outputs run through the real cascade.

Owns the replay provider (a LiteLLM custom provider over recorded answers, reached through
``providers._litellm``), the benchmark (``run_benchmark``), calibration, the cost-quality plots and the
offline demo. It sits above the cascade: it builds cascades and runs them. May import: everything below
the cascade, and ``_cascade``; nothing imports it but the public surface and the command line.
"""

from ._audit_plot import audit_history, plot_audit
from ._bench import BenchReport, arun_benchmark, default_config, run_benchmark
from ._calibrate import Calibration, calibrate
from ._observed import observed_replay_set
from ._provider import ReplayRegistration, ReplaySet, register_replay
from ._refresh import RefreshedCertificate, refresh_certificate

__all__ = [
    "BenchReport",
    "Calibration",
    "RefreshedCertificate",
    "ReplayRegistration",
    "ReplaySet",
    "arun_benchmark",
    "audit_history",
    "calibrate",
    "default_config",
    "observed_replay_set",
    "plot_audit",
    "refresh_certificate",
    "register_replay",
    "run_benchmark",
]
