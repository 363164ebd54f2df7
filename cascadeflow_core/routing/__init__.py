"""Routing: which tiers a request tries, in which order.

Owns the router (the plan from configured tiers, capabilities, context windows and the tracker's
decision), domain detection (rules, or a local embedding model) and complexity estimation. Word lists
live in ``_domain_words`` apart from the logic. May import: the vocabulary and ``providers``.
"""

from ._complexity import ComplexityResult, estimate_complexity
from ._domain import DomainDetector, DomainResult, EmbeddingDomainDetector
from ._router import CascadeRouter, RouterConfig

__all__ = [
    "CascadeRouter",
    "ComplexityResult",
    "DomainDetector",
    "DomainResult",
    "EmbeddingDomainDetector",
    "RouterConfig",
    "estimate_complexity",
]
