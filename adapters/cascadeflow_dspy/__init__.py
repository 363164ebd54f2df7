"""CascadeFlow for DSPy: ``CascadeLM``, a cascade as a DSPy LM (built on DSPy 3.4's engine interface).

Supported: DSPy 3.4.x (tested with 3.4.1). The adapter uses only the canonical engine contract
(``complete(lm15.Request) -> lm15.Response`` and ``stream``) that DSPy 3.5 keeps; DSPy < 3.4 has no
engine interface and is refused at import with a message saying so.

Example:
    >>> import dspy
    >>> from cascadeflow_dspy import CascadeLM
    >>> dspy.configure(lm=CascadeLM(["openai/gpt-4o-mini", "openai/gpt-4o"]))  # doctest: +SKIP
"""

import dspy as _dspy

if not hasattr(_dspy, "lm15"):  # the engine interface arrived in DSPy 3.4
    raise ImportError(
        f"cascadeflow_dspy needs DSPy >= 3.4 (the LM engine interface); found DSPy {_dspy.__version__}. "
        "Install it with: pip install 'dspy>=3.4,<3.5'"
    )

from ._convert import trace_of  # noqa: E402
from ._lm import AsyncCascadeEngine, CascadeEngine, CascadeLM, default_model_name  # noqa: E402

__all__ = ["AsyncCascadeEngine", "CascadeEngine", "CascadeLM", "default_model_name", "trace_of"]
