"""Quality watched in production: audit records, the running loss estimate, and drift detection.

An *audit* compares the answer a drafter tier gave (or would have given) with the verifier's answer to
the same request; the two disagree (their extracted final answers differ) is a *loss*. The loss rate of
a tier is the share of the answers it accepted that the verifier disagrees with: the label-free loss of
the calibration (``validation``/``bench --calibrate``), which bounds the labelled one-sided loss (the
cascade wrong where the verifier is right) from above.

Statistics (all computed from the records alone, so every worker of a fleet sharing a store computes the
same figures):

- **Estimate and confidence sequence.** Losses are Bernoulli; the bound is Robbins' *mixture*
  confidence sequence for a Bernoulli mean, with a Beta(1/2, 10) mixing prior (mean 4.8%: cascades are
  built to lose little, and the prior puts its mass there, which tightens the bound for small rates;
  any prior gives a valid sequence). ``{p : M_n(p) < 1/alpha}`` with
  ``M_n(p) = B(a + S, b + n - S) / B(a, b) / (p^S (1 - p)^(n - S))`` is a nonnegative martingale under
  ``p`` (Ville's inequality), so the interval covers the true rate at *every* n simultaneously: it can
  be looked at after every audit. The sliding window uses the same formula on the window's counts (a
  fixed-sample bound for that window, not a monitoring guarantee across windows).
- **Drift alarm.** A one-sided test by betting (Waudby-Smith & Ramdas, JRSS-B 2024; Shafer 2021):
  wealth ``K_n = prod (1 + lambda_i (X_i - target))`` with ``lambda_i >= 0`` chosen from the *previous*
  audits only (a plug-in Kelly bet on the recent loss rate, 0 while it looks below target). If every
  audit's conditional loss probability is at most ``target`` (no drift, any dependence, any
  non-stationarity), ``K`` is a nonnegative supermartingale, so ``P(K ever >= 1/alpha) <= alpha``: the
  false-alarm probability over the whole, unbounded, continuously watched stream is at most ``alpha``.
  ``K >= 1/alpha`` means ``target`` has left the betting confidence sequence: the lower bound crossed it.
  Betting only on recent evidence makes the test react to a change, rather than average it away
  against months of good history as the since-start interval does.
- **Tightening.** On an alarm (when ``Audit(tighten=True)``) the tier's accepted drafts are sent to the
  next tier instead; each held draft is then compared with the verifier's answer for free, and the
  tier is released when the mixture upper bound on the loss *since the hold began* is within target.

Records live in the tracker's store (``append_audit`` / ``audit_records``: memory, SQLite, Redis);
a store without them gets an in-process log and a warning. Export: JSON Lines, one ``AuditRecord.to_dict``
a line (``CostTracker.audit_export`` / ``load_audit_records``), documented in docs/audit.md.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal, Protocol, runtime_checkable

from .._errors import ConfigError, InputError, ProviderError, StorageError

__all__ = [
    "Audit",
    "AuditLog",
    "AuditMonitor",
    "AuditRecord",
    "AuditStore",
    "AuditWorker",
    "DriftEvent",
    "confidence_sequence",
    "load_audit_records",
]

log = logging.getLogger("cascadeflow.audit")

RecordKind = Literal["audit", "held", "observe"]
_PRIOR = (0.5, 10.0)  # Beta mixing prior of the confidence sequence (see the module docstring)
_BET_MEMORY = 20  # audits the plug-in bet looks back on
_BET_PSEUDO = 4.0  # pseudo-audits at the target rate: the bet starts neutral
_BET_CAP = 0.5  # lambda <= 0.5 / target: one loss multiplies wealth by at most 1.5 / target
_LATE_S = 60.0  # how late (s) another worker's record may arrive and still be folded in without a refold


# --- configuration --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Audit:
    """Audit sampling and drift detection settings (``CascadeOptions(audit=Audit(...))``).

    Args:
        rate: share of the requests answered by a drafter tier whose answer is also sent to the
            verifier, off the response path (0 < rate <= 1).
        target: the loss rate (accepted answers the verifier disagrees with) a tier may have.
        confidence: ``1 - alpha`` of the confidence sequence and of the drift test (its false-alarm
            probability over the whole stream is at most ``alpha``).
        window: audits per tier in the sliding-window estimate.
        tighten: on drift, send the tier's accepted drafts to the next tier until its bound is back
            within target (said in the trace and the log).
        on_drift: ``callback(DriftEvent)``, called from the audit worker thread when a tier drifts (and
            again when a held tier is released, ``event.kind == "released"``).
        queue_size: audits waiting at most; when full, new ones are dropped and counted, never waited on.
        workers: threads running audits.
        extract: how final answers are compared: an ``extract_answer`` kind, as the agreement validator
            (``"auto"``, ``"number"``, ``"choice"``, ``"json:answer"`` ...), or a function ``text -> key``.
        seed: seed of the sampling (None: random).
        refresh_s: how often a worker re-reads records other workers wrote (for a held tier).

    Example:
        >>> Audit(rate=0.05, target=0.05).alpha
        0.05
    """

    rate: float = 0.05
    target: float = 0.05
    confidence: float = 0.95
    window: int = 200
    tighten: bool = False
    on_drift: Callable[[DriftEvent], Any] | None = None
    queue_size: int = 256
    workers: int = 1
    extract: str | Callable[[str], str | None] = "auto"
    seed: int | None = None
    refresh_s: float = 5.0

    def __post_init__(self) -> None:
        for name, lo, hi in (("rate", 0.0, 1.0), ("target", 0.0, 1.0), ("confidence", 0.0, 1.0)):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not lo < v <= hi:
                raise ConfigError(f"Audit.{name}", f"must be a number in ({lo:g}, {hi:g}], got {v!r}")
        if self.confidence >= 1.0:
            raise ConfigError("Audit.confidence", "must be below 1", "e.g. 0.95")
        for name in ("window", "queue_size", "workers"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise ConfigError(f"Audit.{name}", f"must be an int >= 1, got {v!r}")
        if self.on_drift is not None and not callable(self.on_drift):
            raise ConfigError("Audit.on_drift", f"{self.on_drift!r} is not callable", "give f(DriftEvent)")

    @property
    def alpha(self) -> float:
        return round(1.0 - self.confidence, 12)


# --- records --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AuditRecord:
    """One comparison of a drafter tier's answer with the verifier's.

    ``kind``: ``audit`` (sampled, verifier called off the response path), ``held`` (the tier was held
    after a drift and its draft escalated: the verifier answered on the path) or ``observe`` (observe
    mode: the verifier answered, the cascade ran off the path). ``tier`` / ``model``: the tier and
    model that answered (or would have); for an observe record where the cascade would have escalated,
    ``escalated`` is True and the record carries no loss. ``answer`` / ``verifier_answer`` are the
    extracted final answers (never the texts). ``cost``: dollars the audit itself spent.
    ``cascade_cost`` / ``verifier_cost`` (observe): what the cascade would have cost, and the verifier.
    ``drafts`` (observe): every draft of the would-be run (tier, model, answer, agreed, logprob, cost).
    """

    id: str
    ts: float
    request_id: str
    tier: str
    model: str
    verifier: str
    agreed: bool
    answer: str | None = None
    verifier_answer: str | None = None
    cost: float = 0.0
    kind: RecordKind = "audit"
    domain: str | None = None
    user: str | None = None
    escalated: bool = False
    cascade_cost: float | None = None
    verifier_cost: float | None = None
    drafts: tuple[Mapping[str, Any], ...] = ()

    @property
    def query(self) -> str:
        """The request id (the name ``replay.refresh_certificate`` reads records by)."""
        return self.request_id

    @property
    def loss(self) -> int | None:
        """1 when the verifier disagrees with the accepted answer, 0 when it agrees, None if escalated."""
        return None if self.escalated else int(not self.agreed)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["drafts"] = [dict(x) for x in self.drafts]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> AuditRecord:
        names = {f.name for f in fields(cls)}
        kw = {k: v for k, v in d.items() if k in names}
        kw["drafts"] = tuple(dict(x) for x in kw.get("drafts") or ())
        return cls(**kw)


def load_audit_records(path_or_lines: str | Iterable[str]) -> list[AuditRecord]:
    """Read audit records from a JSON Lines export (a path, or an iterable of lines)."""
    if isinstance(path_or_lines, str):
        try:
            with open(path_or_lines, encoding="utf-8") as f:
                lines = f.read().splitlines()
        except OSError as e:
            raise InputError(f"cannot read audit records from {path_or_lines!r}: {e}") from e
    else:
        lines = list(path_or_lines)
    out = []
    for i, line in enumerate(lines, 1):
        if line.strip():
            try:
                out.append(AuditRecord.from_dict(json.loads(line)))
            except (ValueError, TypeError) as e:
                raise InputError(f"audit record line {i} is not an AuditRecord: {e}") from e
    return out


# --- storage: two methods a store adds to share audits across a fleet -----------------------------------


@runtime_checkable
class AuditStore(Protocol):
    """What a ledger store implements to keep audit records (memory, SQLite, Redis have it).

    Records are plain JSON-ready dicts (``AuditRecord.to_dict``), so a store needs no audit types:
    keep each one whole (a JSON column, a sorted set member) with its ``id`` (unique) and ``ts``.
    """

    def append_audit(self, records: Sequence[Mapping[str, Any]]) -> None: ...

    def audit_records(self, since: float | None = None) -> list[dict[str, Any]]: ...


class AuditLog:
    """Audit records kept through the tracker's store, or in this process when the store cannot.

    Example:
        >>> log = AuditLog(None)
        >>> log.append(AuditRecord("r1:audit", 1.0, "r1", "tier1", "m", "v", True))
        >>> len(log.records())
        1
    """

    def __init__(self, store: Any) -> None:
        self.shared = isinstance(store, AuditStore)
        self._store = store if self.shared else None
        self._local: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        if store is not None and not self.shared:
            log.warning(
                "%s has no append_audit/audit_records: audit records are kept in this process only, "
                "so workers do not share one estimate",
                type(store).__name__,
            )

    def append(self, record: AuditRecord) -> None:
        if self._store is not None:
            self._store.append_audit([record.to_dict()])
            return
        with self._lock:
            self._local.append(record.to_dict())

    def records(self, since: float | None = None) -> list[AuditRecord]:
        if self._store is not None:
            raw = self._store.audit_records(since)
        else:
            with self._lock:
                raw = [r for r in self._local if since is None or r["ts"] >= since]
        return sorted((AuditRecord.from_dict(r) for r in raw), key=lambda r: (r.ts, r.id))


# --- statistics -----------------------------------------------------------------------------------------


def _lbeta(a: float, b: float) -> float:
    return math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)


def _log_mixture(p: float, s: int, n: int) -> float:
    a, b = _PRIOR
    if p <= 0.0:
        return math.inf if s > 0 else _lbeta(a, b + n) - _lbeta(a, b)
    if p >= 1.0:
        return math.inf if s < n else _lbeta(a + n, b) - _lbeta(a, b)
    return _lbeta(a + s, b + n - s) - _lbeta(a, b) - s * math.log(p) - (n - s) * math.log1p(-p)


def confidence_sequence(losses: int, n: int, alpha: float = 0.05) -> tuple[float, float]:
    """(lower, upper) of the Bernoulli mixture confidence sequence after ``losses`` in ``n`` audits.

    Valid simultaneously for every n (see the module docstring); ``(0.0, 1.0)`` before any audit.

    Example:
        >>> lo, hi = confidence_sequence(3, 100)
        >>> lo < 0.03 < hi < 0.11
        True
    """
    if n <= 0:
        return 0.0, 1.0
    level = math.log(1.0 / alpha)
    mle = losses / n

    def inside(p: float) -> bool:
        return _log_mixture(p, losses, n) < level

    def edge(lo: float, hi: float, lo_inside: bool) -> float:
        for _ in range(50):
            mid = (lo + hi) / 2
            if inside(mid) == lo_inside:
                lo = mid
            else:
                hi = mid
        return hi if lo_inside else lo

    lower = 0.0 if inside(0.0) else edge(0.0, mle, False)
    upper = 1.0 if inside(1.0) else edge(mle, 1.0, True)
    return lower, upper


def _bet(recent: deque[int], target: float) -> float:
    """Predictable Kelly bet on "the loss rate exceeds target", from the recent audits only."""
    p = (sum(recent) + target * _BET_PSEUDO) / (len(recent) + _BET_PSEUDO)
    lam = (p - target) / (target * (1.0 - target)) if target < 1.0 else 0.0
    return min(max(lam, 0.0), _BET_CAP / target)


@dataclass(frozen=True)
class DriftEvent:
    """A tier's loss crossed its target (``kind="drift"``) or a held tier came back (``"released"``)."""

    kind: Literal["drift", "released"]
    tier: str
    ts: float
    audits: int
    estimate: float
    lower: float
    upper: float
    e_value: float
    target: float
    action: str
    record_id: str

    @property
    def message(self) -> str:
        if self.kind == "released":
            return (
                f"audit: tier {self.tier!r} released: loss upper bound {self.upper:.2%} since the hold "
                f"is within target {self.target:.2%} ({self.audits} held audits)"
            )
        return (
            f"audit: tier {self.tier!r} drifted: loss estimate {self.estimate:.2%} over the recent audits, "
            f"evidence {self.e_value:.1f} >= 1/alpha, so the loss rate exceeds target {self.target:.2%} "
            f"({self.audits} audits); {self.action}"
        )


@dataclass
class _Fold:
    """The state of one tier after folding its records in order."""

    n: int = 0
    losses: int = 0
    wealth: float = 1.0
    recent: deque[int] = field(default_factory=lambda: deque(maxlen=_BET_MEMORY))
    window: deque[int] = field(default_factory=deque)
    held: bool = False
    hold_n: int = 0
    hold_losses: int = 0
    events: list[DriftEvent] = field(default_factory=list)
    cost: float = 0.0


def _fold(
    records: Sequence[AuditRecord], audit: Audit, states: dict[str, _Fold] | None = None
) -> dict[str, _Fold]:
    """Run the estimate, the drift test and the hold over the records, oldest first, per tier
    (continuing from ``states``, which is updated, when given)."""
    states = {} if states is None else states
    threshold = 1.0 / audit.alpha
    for r in records:
        st = states.setdefault(r.tier, _Fold(window=deque(maxlen=audit.window)))
        st.cost += r.cost
        x = r.loss
        if x is None:
            continue
        st.n += 1
        st.losses += x
        st.window.append(x)
        if st.held:
            st.hold_n += 1
            st.hold_losses += x
            lo, hi = confidence_sequence(st.hold_losses, st.hold_n, audit.alpha)
            if hi <= audit.target:
                st.held, st.wealth = False, 1.0
                st.recent.clear()
                st.events.append(
                    DriftEvent(
                        "released", r.tier, r.ts, st.hold_n, st.hold_losses / st.hold_n, lo, hi, 1.0,
                        audit.target, "accepting its drafts again", r.id,
                    )
                )  # fmt: skip
            continue
        st.wealth *= 1.0 + _bet(st.recent, audit.target) * (x - audit.target)
        st.recent.append(x)
        if st.wealth >= threshold:
            est = sum(st.recent) / len(st.recent)
            lo, hi = confidence_sequence(st.losses, st.n, audit.alpha)
            action = "its drafts now go to the next tier" if audit.tighten else "alert only (tighten=False)"
            st.events.append(
                DriftEvent("drift", r.tier, r.ts, st.n, est, lo, hi, st.wealth, audit.target, action, r.id)
            )
            st.wealth = 1.0
            st.recent.clear()
            if audit.tighten:
                st.held, st.hold_n, st.hold_losses = True, 0, 0
    return states


# --- the monitor and the worker -------------------------------------------------------------------------


class AuditMonitor:
    """Records audits, keeps each tier's drift state, fires ``on_drift`` once per event it sees.

    All state is a function of the stored records, so workers sharing a store agree; each worker
    re-reads the records after it writes one, and at most every ``refresh_s`` when asked about a hold.
    """

    def __init__(
        self,
        audit: Audit,
        audit_log: AuditLog,
        clock: Callable[[], float] = time.time,
        submit: Callable[[Callable[[], None]], Any] | None = None,
    ) -> None:
        self.audit = audit
        self.log = audit_log
        self.clock = clock
        self.submit = submit  # runs the periodic re-read off the response path (the audit worker)
        self._lock = threading.Lock()
        self._held: dict[str, str] = {}
        self._seen: set[str] = set()
        self._read_at = -math.inf
        self._fold_lock = threading.Lock()
        self._states: dict[str, _Fold] | None = None
        self._folded: set[str] = set()
        self._last: tuple[float, str] = (-math.inf, "")
        self._reads = 0

    def record(self, record: AuditRecord) -> list[DriftEvent]:
        """Store one record and return the drift events it (or another worker's records) caused."""
        self.log.append(record)
        return self._refresh()

    def _states_now(self) -> dict[str, _Fold]:
        """Fold what is new since the last read (records written up to ``_LATE_S`` late by other workers
        included); a record older than what was folded, or every 200th read, refolds everything.
        Called with ``_fold_lock`` held."""
        self._reads += 1
        new: list[AuditRecord] = []
        if self._states is not None and self._reads % 200:
            new = [r for r in self.log.records(self._last[0] - _LATE_S) if r.id not in self._folded]
        if self._states is None or not self._reads % 200 or (new and (new[0].ts, new[0].id) < self._last):
            new, self._states, self._folded = self.log.records(), {}, set()
        _fold(new, self.audit, self._states)
        self._folded.update(r.id for r in new)
        if new:
            self._last = max(self._last, (new[-1].ts, new[-1].id))
        return self._states

    def _refresh(self) -> list[DriftEvent]:
        fresh = []
        with self._fold_lock, self._lock:
            states = self._states_now()
            self._read_at = self.clock()
            self._held = {
                t: f"held by audit: tier {t!r} drifted above target loss {self.audit.target:.2%}; "
                "its accepted draft goes to the next tier"
                for t, st in states.items()
                if st.held
            }
            for st in states.values():
                for e in st.events:
                    key = f"{e.kind}:{e.record_id}"
                    if key not in self._seen:
                        self._seen.add(key)
                        fresh.append(e)
        for e in fresh:
            (log.warning if e.kind == "drift" else log.info)("%s", e.message)
            if self.audit.on_drift is not None:
                try:
                    self.audit.on_drift(e)
                except Exception:  # a callback bug must not stop auditing
                    log.exception("audit on_drift callback %r failed", self.audit.on_drift)
        return fresh

    def held(self, tier: str) -> str | None:
        """Why ``tier``'s accepted drafts must go to the next tier now, or None (a dict lookup; the
        records other workers wrote are re-read every ``refresh_s``, on the worker when there is one)."""
        if not self.audit.tighten:
            return None
        if self.clock() - self._read_at >= self.audit.refresh_s:
            self._read_at = self.clock()  # one re-read at a time
            if self.submit is not None:
                self.submit(self._reread)
            else:
                self._reread()
        return self._held.get(tier)

    def _reread(self) -> None:
        try:
            self._refresh()
        except StorageError as e:  # the last known state stands; said in the log
            log.warning("audit: cannot re-read audit records (%s); keeping the last known holds", e)


class AuditWorker:
    """Runs audit jobs on daemon threads from a bounded queue; a full queue drops (and counts) the job.

    Example:
        >>> w = AuditWorker(queue_size=4)
        >>> w.submit(lambda: None)
        True
        >>> w.join(timeout=5.0)
        True
    """

    def __init__(self, queue_size: int = 256, workers: int = 1) -> None:
        self._queue: queue.Queue[Callable[[], None]] = queue.Queue(maxsize=queue_size)
        self._workers = workers
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self.dropped: dict[str, int] = {"queue full": 0, "failed": 0, "over budget": 0}
        self.done = 0

    def count(self, reason: str) -> None:
        with self._lock:
            self.dropped[reason] = self.dropped.get(reason, 0) + 1

    def submit(self, job: Callable[[], None]) -> bool:
        """Queue ``job`` without ever blocking; False (and counted) when the queue is full."""
        self._start()
        try:
            self._queue.put_nowait(job)
        except queue.Full:
            self.count("queue full")
            return False
        return True

    def _start(self) -> None:
        if len(self._threads) >= self._workers:
            return
        with self._lock:
            while len(self._threads) < self._workers:
                t = threading.Thread(target=self._run, name="cascadeflow-audit", daemon=True)
                t.start()
                self._threads.append(t)

    def _run(self) -> None:
        while True:
            job = self._queue.get()
            try:
                job()
            except Exception:  # one failed audit must not stop the worker
                self.count("failed")
                log.exception("audit job failed")
            finally:
                with self._lock:
                    self.done += 1
                self._queue.task_done()

    def join(self, timeout: float | None = None) -> bool:
        """Wait until every queued audit ran; False when ``timeout`` passed first."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while self._queue.unfinished_tasks:
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(0.005)
        return True


# --- observe mode's shadow run: backends that replay a known answer, or keep each draft --------------------


class KnownAnswer:
    """A backend whose ``complete`` returns an answer already obtained (the verifier's, in observe mode).
    Only ``complete``: the shadow run is driven synchronously."""

    def __init__(self, draft: Any) -> None:
        self.draft = draft

    def complete(self, spec: Any, request: Any) -> Any:
        return self.draft


class Capture:
    """A backend that calls the model through ``call(spec, request) -> Draft | ProviderError`` (the
    cascade's own path) and keeps each ``(tier, draft)`` in ``box``. Only ``complete``, as above."""

    def __init__(self, call: Callable[[Any, Any], Any], spec: Any, box: list[Any], tier: str) -> None:
        self.call, self.spec, self.box, self.tier = call, spec, box, tier

    def complete(self, spec: Any, request: Any) -> Any:
        out = self.call(self.spec, request)
        if isinstance(out, ProviderError):
            raise out
        self.box.append((self.tier, out))
        return out


# --- booking the audit's own calls ----------------------------------------------------------------------


def audit_admission(tracker: Any, request: Any, models: Sequence[str], estimate: float) -> str | None:
    """Why an audit call must not be made under the tracker's budgets (None: go ahead).

    An audit is spend like any other: the budgets that apply to the request, plus the model budgets
    of the verifier, are read; an audit that would take any of them to warn-degrade-block is skipped
    (it is optional spend) rather than reserved. Rate limits are not charged (the user made one request).
    """
    budgets = getattr(tracker, "budgets", ())
    if not budgets:
        return None
    from ._tracker import ANONYMOUS, _plan_label

    now = tracker.clock()
    user = request.user or ANONYMOUS
    applicable = tracker._applicable(user, _plan_label(request), request.tags, list(models), now)
    try:
        statuses = tracker._statuses(applicable, estimate, now)
    except StorageError as e:
        return f"store unavailable: {e}"
    blocked = [s for s in statuses if s.decision in ("degrade", "block")]
    return None if not blocked else f"budget {blocked[0].key} would {blocked[0].decision}"


def book_audit(tracker: Any, request: Any, attempts: Sequence[Any], request_id: str, source: str) -> None:
    """Book the audit's attempts in the ledger with ``source`` (``audit`` / ``observe``), charged to the
    same budgets as the request; a store failure goes to the tracker's spill journal like any settlement."""
    from dataclasses import replace

    from ._stores import SettleOp
    from ._tracker import SettlementEvent

    now = tracker.clock()
    entries = tuple(  # ids of their own: the request's entries already use "<request_id>:<i>"
        replace(e, id=f"{request_id}:{source}{i}")
        for i, e in enumerate(tracker._entries(request, attempts, request_id, now, source))
    )
    if not entries:
        return
    op = SettleOp(
        f"{request_id}~{source}", None, (), tracker._charges(request, entries, now), (), entries, now
    )
    tracker._write(op)
    tracker._notify(SettlementEvent(request_id, request, tuple(attempts), None, entries, now, now))


# --- the tracker's audit methods (``CostTracker.audit_log`` / ``audit_report`` / ``audit_export``) ------


def audit_log_of(tracker: Any) -> AuditLog:
    """The ``AuditLog`` of the tracker's store (built on first use)."""
    if getattr(tracker, "_audit_log", None) is None:
        tracker._audit_log = AuditLog(tracker.store)
    log_: AuditLog = tracker._audit_log
    return log_


def audit_report(tracker: Any, audit: Audit | None = None) -> Any:
    """``AuditReport`` of the stored audit records under ``audit`` (default: the cascade's ``Audit``).

    The audit cost is compared with the ledger's cascade spend (entries with ``source == "cascade"``).
    """
    from ._audit_report import build_report

    audit = audit or getattr(tracker, "audit_settings", None) or Audit()
    spend = sum(e.cost for e in tracker.entries() if e.source == "cascade")
    dropped = getattr(getattr(tracker, "audit_worker", None), "dropped", None)
    return build_report(audit_log_of(tracker).records(), audit, cascade_cost=spend, dropped=dropped)


def audit_export(tracker: Any, path: str | None = None) -> str:
    """The audit records as JSON Lines, one ``AuditRecord.to_dict()`` a line (see docs/audit.md);
    also written to ``path`` when given. ``load_audit_records`` reads them back."""
    from ._export import _write

    text = "".join(json.dumps(r.to_dict()) + "\n" for r in audit_log_of(tracker).records())
    return _write(text, path, "audit_export")
