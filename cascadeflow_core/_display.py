"""Human-facing views of a ``CascadeResult``: short repr, multi-line explanation, HTML, JSON-ready dict."""

from __future__ import annotations

import html
from dataclasses import fields
from typing import TYPE_CHECKING, Any

from ._secrets import redact

if TYPE_CHECKING:
    from ._types import Attempt, CascadeResult

__all__ = ["explain", "result_html", "result_to_dict", "short_repr"]


def _usd(x: float | None) -> str:
    if x is None:
        return "unknown"
    return f"${x:.6f}" if x < 0.01 else f"${x:.4f}"


def _clip(text: str, n: int = 60) -> str:
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1] + "…"


def short_repr(r: CascadeResult) -> str:
    esc = "escalated" if r.escalated else "first tier"
    tools = f", tool_calls={[c.name for c in r.tool_calls]}" if r.tool_calls else ""
    return (
        f"CascadeResult(model={r.model!r}, tier={r.tier!r}, {esc}, cost={_usd(r.cost)}, "
        f"verifier_cost={_usd(r.verifier_cost)}, attempts={len(r.attempts)}, text={_clip(r.text)!r}{tools})"
    )


def explain(r: CascadeResult) -> str:
    lines = [
        f"answered by {r.model} ({r.tier}){' [cached]' if r.cached else ''}"
        f"{', after escalation' if r.escalated else ''} in {r.latency_s * 1000:.0f} ms"
    ]
    lines += [f"  route: {why}" for why in r.route]
    if r.admission and r.admission.get("decision") not in (None, "allow"):
        lines.append(f"  admission: {r.admission['decision']}: {r.admission.get('message', '')}")
    for a in r.attempts:
        score = f" score={a.score:.2f}" if a.score is not None else ""
        detail = redact(a.error) if a.status == "error" else "; ".join(a.reasons)
        lines.append(f"  {a.tier:>8} {a.model:<32} {a.status:<10}{score} {_usd(a.cost)}  {detail}")
    for g in r.guardrails:
        lines.append(f"  guardrail: {dict(g)}")
    saved = "" if r.verifier_cost is None else f", verifier alone {_usd(r.verifier_cost)}"
    lines.append(f"  total {_usd(r.cost)}{saved}")
    return "\n".join(lines)


def _attempt_dict(a: Attempt) -> dict[str, Any]:
    # Attempt holds only scalars and a tuple of strings: no need for asdict's recursive deep copy (~15 us
    # a result, paid on every LangChain call for its response_metadata).
    d = {f.name: getattr(a, f.name) for f in fields(a)}
    if a.error:
        d["error"] = redact(a.error)
    return d


def result_to_dict(r: CascadeResult) -> dict[str, Any]:
    return {
        "text": r.text,
        "model": r.model,
        "tier": r.tier,
        "escalated": r.escalated,
        "cached": r.cached,
        "cost": r.cost,
        "verifier_cost": r.verifier_cost,
        "latency_s": r.latency_s,
        "input_tokens": r.input_tokens,
        "output_tokens": r.output_tokens,
        "finish_reason": r.finish_reason,
        "tool_calls": [c.to_openai() for c in r.tool_calls],
        "invalid_tool_calls": [c.to_dict() for c in r.invalid_tool_calls],
        "route": list(r.route),
        "guardrails": [dict(g) for g in r.guardrails],
        "admission": dict(r.admission) if r.admission else None,
        "request_id": r.request_id,
        "user": r.user,
        "tags": list(r.tags),
        "attempts": [_attempt_dict(a) for a in r.attempts],
    }


_STATUS_COLOUR = {"accepted": "#1a7f37", "rejected": "#cf222e", "error": "#9a6700", "superseded": "#57606a"}


def result_html(r: CascadeResult) -> str:
    e = html.escape
    rows = []
    for a in r.attempts:
        colour = _STATUS_COLOUR.get(a.status, "#000")
        detail = redact(a.error) if a.status == "error" else "; ".join(a.reasons)
        score = "" if a.score is None else f"{a.score:.2f}"
        rows.append(
            f"<tr><td>{e(a.tier)}</td><td><code>{e(a.model)}</code></td>"
            f"<td style='color:{colour};font-weight:600'>{e(a.status)}</td><td>{score}</td>"
            f"<td>{a.input_tokens}/{a.output_tokens}</td><td>{e(_usd(a.cost))}</td>"
            f"<td>{a.latency_s * 1000:.0f} ms</td><td>{e(detail or '')}</td></tr>"
        )
    route = "".join(f"<li>{e(x)}</li>" for x in r.route)
    saved = ""
    if r.verifier_cost and r.cost is not None:
        change = (1 - r.cost / r.verifier_cost) * 100
        verdict = f"{change:.0f}% saved" if change >= 0 else f"{-change:.0f}% more, rejected drafts included"
        saved = f" &middot; verifier alone {e(_usd(r.verifier_cost))} ({verdict})"
    return (
        "<div style='font-family:system-ui,sans-serif;font-size:13px'>"
        f"<div><b>Answered by</b> <code>{e(r.model)}</code> ({e(r.tier)})"
        f"{' &middot; <b>escalated</b>' if r.escalated else ''}{' &middot; cached' if r.cached else ''}"
        f" &middot; <b>cost</b> {e(_usd(r.cost))}{saved} &middot; {r.latency_s * 1000:.0f} ms</div>"
        f"<blockquote style='margin:6px 0'>{e(_clip(r.text, 400))}</blockquote>"
        + (f"<ul style='margin:2px 0'>{route}</ul>" if route else "")
        + "<table style='border-collapse:collapse'><thead><tr><th>tier</th><th>model</th><th>status</th>"
        "<th>score</th><th>tokens in/out</th><th>cost</th><th>latency</th><th>reasons</th></tr></thead>"
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )
