"""The main job: GSM8K questions through a cascade over replayed real model outputs (no API key).

Two cheap drafters (gpt-4o-mini, gemma-2-9b) answer concurrently; if their final answers agree that
answer is returned, otherwise gpt-4o answers. Offline, each model call is served through LiteLLM by the
replay provider from real recorded outputs (``cascadeflow_core/replay/data/gsm8k_sample``, see PROVENANCE.md),
so the run goes through the same engine as a live one. Per question it prints the tier that answered and
why; at the end quality, cost and savings against gpt-4o alone.

Run: python examples/demo.py [--live] [-n N]

    python examples/demo.py            # offline, the 49-question sample
    python examples/demo.py -n 10      # the first 10 questions
    python examples/demo.py --live     # real calls (OPENAI_API_KEY): gpt-4o-mini + gpt-4.1-nano, else gpt-4o

The same as ``cascadeflow demo``. In code, the heart of it is::

    from cascadeflow_core import ReplaySet, register_replay
    from cascadeflow_core.replay._demo import demo_cascade

    rs = ReplaySet.load(ReplaySet.sample_path())
    cascade = demo_cascade(rs)          # Tier([mini, gemma], AgreementValidator()) -> gpt-4o
    with register_replay(rs):           # serves "replay/<model>" through LiteLLM
        result = cascade.complete(list(rs.queries[0].messages))
    print(result.explain())
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

from cascadeflow_core.__main__ import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(["demo", *sys.argv[1:]]))
