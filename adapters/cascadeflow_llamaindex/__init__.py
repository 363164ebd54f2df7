"""CascadeFlow for LlamaIndex: ``CascadeLLM``, a cascade as a ``FunctionCallingLLM``.

Example:
    >>> from llama_index.core import Settings
    >>> from cascadeflow_llamaindex import CascadeLLM
    >>> Settings.llm = CascadeLLM(["openai/gpt-4o-mini", "openai/gpt-4o"])  # doctest: +SKIP
"""

from ._llm import CascadeLLM
from ._trace import CascadeTraceHandler

__all__ = ["CascadeLLM", "CascadeTraceHandler"]
