"""CascadeFlow for DSPy: ``CascadeLM``, a cascade as a DSPy LM (built on DSPy 3.4's engine interface).

Example:
    >>> import dspy
    >>> from cascadeflow_dspy import CascadeLM
    >>> dspy.configure(lm=CascadeLM(["openai/gpt-4o-mini", "openai/gpt-4o"]))  # doctest: +SKIP
"""

from ._convert import trace_of
from ._lm import AsyncCascadeEngine, CascadeEngine, CascadeLM, default_model_name

__all__ = ["AsyncCascadeEngine", "CascadeEngine", "CascadeLM", "default_model_name", "trace_of"]
