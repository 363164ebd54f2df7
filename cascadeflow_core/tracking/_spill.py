"""The tracker's spill journal: settlements the store refused, kept and retried, never dropped silently."""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any

from ._stores import LedgerEntry, LedgerStore, LimitCheck, SettleOp

__all__ = ["Spill"]

log = logging.getLogger("cascadeflow.tracker")


@dataclass
class Spill:
    """Settlements the store refused, kept in memory (bounded) and optionally in a JSONL file."""

    limit: int
    path: str | None
    ops: deque[SettleOp] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, op: SettleOp) -> None:
        with self.lock:
            if self.path:
                with open(self.path, "a", encoding="utf-8") as f:
                    f.write(json.dumps(_op_to_dict(op)) + "\n")
            self.ops.append(op)
            while len(self.ops) > self.limit:
                lost = self.ops.popleft()
                where = f"still in {self.path}" if self.path else "LOST (set policy.spill_path to keep them)"
                log.error(
                    "tracker spill buffer full (%d): %d ledger entries of %s %s",
                    self.limit,
                    len(lost.entries),
                    lost.op_id,
                    where,
                )

    def load(self) -> None:
        if not self.path or not os.path.exists(self.path):
            return
        with open(self.path, encoding="utf-8") as f:
            for line in f:
                if line.strip():
                    self.ops.append(_op_from_dict(json.loads(line)))

    def drain(self, store: LedgerStore) -> None:
        with self.lock:
            while self.ops:
                store.settle(self.ops[0])  # raises StorageError: keep the rest for later
                self.ops.popleft()
            if self.path and os.path.exists(self.path):
                os.remove(self.path)


def _op_to_dict(op: SettleOp) -> dict[str, Any]:
    d = asdict(op)
    d["entries"] = [e.to_dict() for e in op.entries]
    return d


def _op_from_dict(d: Mapping[str, Any]) -> SettleOp:
    return SettleOp(
        op_id=d["op_id"],
        reservation_id=d["reservation_id"],
        keys=tuple(d["keys"]),
        charges=dict(d["charges"]),
        rates=tuple(LimitCheck(**r) for r in d["rates"]),
        entries=tuple(LedgerEntry.from_dict(e) for e in d["entries"]),
        now=d["now"],
    )
