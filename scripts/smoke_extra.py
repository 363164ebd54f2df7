"""Run inside a venv that has cascadeflow-core with at most one extra: prove that extra works alone.

``python scripts/smoke_extra.py core|langchain|llamaindex|dspy``: imports what the extra promises, answers
one request through it (LiteLLM's mock_response, no network), and checks that the other frameworks are
absent, so an accidental import of one adapter's framework from the core would fail here.
"""

from __future__ import annotations

import importlib.util
import sys

FRAMEWORKS = {"langchain": "langchain_core", "llamaindex": "llama_index.core", "dspy": "dspy"}


def _tiers(answer: str = "Paris"):
    from cascadeflow_core import ModelSpec

    return [
        ModelSpec("openai/cheap", params={"mock_response": answer}),
        ModelSpec("openai/strong", params={"mock_response": answer}),
    ]


def main(extra: str) -> None:
    import cascadeflow_core  # noqa: F401  (the core imports with no extra)

    for name, module in FRAMEWORKS.items():
        present = importlib.util.find_spec(module.split(".")[0]) is not None
        if present != (name == extra):
            sys.exit(f"{extra}: {module} is {'present' if present else 'missing'} in this venv")
    if extra == "core":
        from cascadeflow_core import Cascade

        text = Cascade(_tiers()).complete("Capital of France?").text
    elif extra == "langchain":
        from cascadeflow_langchain import ChatCascade

        text = ChatCascade(_tiers()).invoke("Capital of France?").content
    elif extra == "llamaindex":
        from cascadeflow_llamaindex import CascadeLLM

        text = CascadeLLM(_tiers()).complete("Capital of France?").text
    elif extra == "dspy":
        import dspy

        from cascadeflow_dspy import CascadeLM

        # DSPy's chat adapter parses "[[ ## answer ## ]]" fields out of the completion.
        dspy.configure(lm=CascadeLM(_tiers("[[ ## answer ## ]]\nParis\n\n[[ ## completed ## ]]")))
        text = dspy.Predict("question -> answer")(question="Capital of France?").answer
    else:
        sys.exit(f"unknown extra {extra!r}: core, langchain, llamaindex or dspy")
    if "Paris" not in str(text):
        sys.exit(f"{extra}: unexpected answer {text!r}")
    print(f"{extra}: ok ({text!r})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "core")
