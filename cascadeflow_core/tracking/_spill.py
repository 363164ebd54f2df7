"""The spill journal: settlements the store refused, kept until the store takes them.

Kept in memory (bounded by ``spill_limit``) and, with ``policy.spill_path``, in a JSONL journal that
several processes may share: every append and every drain holds an exclusive ``flock`` on the file, so
one worker's drain never deletes another's lines. A drain settles every line of the journal (its own and
other workers'; settlement is idempotent by operation id, so a line settled twice counts once) and
rewrites the file with what the store still refused. A line torn by a crash is skipped, counted
(``torn_lines``), logged and moved to ``<spill_path>.torn``; the next append starts on a fresh line so a
torn tail never swallows a whole entry. A journal that cannot be written (a full disk) never fails the
request: the settlement stays in memory, ``write_errors`` counts it, and the next drain writes it to the
store or tries the journal again.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import stat
import threading
from collections import deque
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import IO, Any

from ._stores import LedgerEntry, LedgerStore, LimitCheck, SettleOp

try:  # POSIX; elsewhere the journal is best kept per process (one spill_path per worker)
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["Spill", "op_from_dict", "op_to_dict"]

log = logging.getLogger("cascadeflow.tracker")


def op_to_dict(op: SettleOp) -> dict[str, Any]:
    d = asdict(op)
    d["entries"] = [e.to_dict() for e in op.entries]
    return d


def op_from_dict(d: Mapping[str, Any]) -> SettleOp:
    return SettleOp(
        op_id=d["op_id"],
        reservation_id=d["reservation_id"],
        keys=tuple(d["keys"]),
        charges=dict(d["charges"]),
        rates=tuple(LimitCheck(**r) for r in d["rates"]),
        entries=tuple(LedgerEntry.from_dict(e) for e in d["entries"]),
        now=d["now"],
    )


@contextlib.contextmanager
def _locked(path: str, mode: str) -> Iterator[IO[bytes]]:
    with open(path, mode) as f:
        if fcntl is not None:
            fcntl.flock(f.fileno(), fcntl.LOCK_EX)
        try:
            yield f
        finally:
            if fcntl is not None:
                fcntl.flock(f.fileno(), fcntl.LOCK_UN)


@dataclass
class Spill:
    """Pending settlements in memory and, when ``path`` is set, in the shared journal file."""

    limit: int
    path: str | None
    ops: deque[SettleOp] = field(default_factory=deque)
    unjournaled: set[str] = field(default_factory=set)  # op ids the journal could not take
    lock: threading.Lock = field(default_factory=threading.Lock)
    write_errors: int = 0
    torn_lines: int = 0
    lost: int = 0

    def add(self, op: SettleOp) -> None:
        with self.lock:
            self.ops.append(op)
            if self.path and not self._append([op]):
                self.unjournaled.add(op.op_id)
            while len(self.ops) > self.limit:
                dropped = self.ops.popleft()
                kept = bool(self.path) and dropped.op_id not in self.unjournaled
                self.unjournaled.discard(dropped.op_id)
                if not kept:
                    self.lost += len(dropped.entries)
                log.error(
                    "tracker spill buffer full (%d): %d ledger entries of %s %s",
                    self.limit,
                    len(dropped.entries),
                    dropped.op_id,
                    f"still in {self.path}" if kept else "LOST (set policy.spill_path on a disk with room)",
                )

    def _journal(self) -> bool:
        """Whether the journal is a regular file to read (a device such as /dev/full never is)."""
        if not self.path:
            return False
        try:
            return stat.S_ISREG(os.stat(self.path).st_mode)
        except OSError:
            return False

    def _append(self, ops: list[SettleOp]) -> bool:
        assert self.path is not None
        blob = "".join(json.dumps(op_to_dict(op)) + "\n" for op in ops).encode("utf-8")
        try:
            with _locked(self.path, "a+b") as f:
                f.seek(0, os.SEEK_END)
                if f.tell() > 0 and self._journal():  # a torn tail: start on a fresh line
                    f.seek(-1, os.SEEK_END)
                    if f.read(1) != b"\n":
                        blob = b"\n" + blob
                f.write(blob)
                f.flush()
            return True
        except OSError as e:
            self.write_errors += 1
            log.error(
                "tracker cannot write the spill journal %s (%s): %d settlements kept in memory only "
                "(%d pending); they are retried on the next settlement or flush()",
                self.path,
                e,
                len(ops),
                len(self.ops),
            )
            return False

    def _parse(self, raw: bytes) -> list[SettleOp]:
        out, torn = [], []
        for line in raw.splitlines():
            if not line.strip():
                continue
            try:
                out.append(op_from_dict(json.loads(line)))
            except (ValueError, KeyError, TypeError) as e:
                torn.append(line)
                log.error(
                    "tracker spill journal %s: skipped a torn line (%s, %d bytes)", self.path, e, len(line)
                )
        if torn:
            self.torn_lines += len(torn)
            with contextlib.suppress(OSError), open(f"{self.path}.torn", "ab") as f:
                f.write(b"\n".join(torn) + b"\n")
        return out

    def load(self) -> None:
        """Read the journal into memory at start (torn lines skipped and counted)."""
        if not self._journal():
            return
        assert self.path is not None
        with _locked(self.path, "r+b") as f:
            ops = self._parse(f.read())
            f.seek(0)
            f.truncate()
            f.write("".join(json.dumps(op_to_dict(op)) + "\n" for op in ops).encode("utf-8"))
        self.ops.extend(ops)

    def drain(self, store: LedgerStore) -> None:
        """Settle what is pending; raises ``StorageError`` (the rest kept) when the store still fails."""
        with self.lock:
            done: set[str] = set()
            try:
                while self.ops:
                    store.settle(self.ops[0])
                    done.add(self.ops[0].op_id)
                    self.unjournaled.discard(self.ops[0].op_id)
                    self.ops.popleft()
            except Exception:
                if self.unjournaled and self.path:  # the disk may have room again
                    missing = [op for op in self.ops if op.op_id in self.unjournaled]
                    if self._append(missing):
                        self.unjournaled.clear()
                raise
            if self._journal():
                self._drain_file(store, done)

    def _drain_file(self, store: LedgerStore, done: set[str]) -> None:
        assert self.path is not None
        with _locked(self.path, "r+b") as f:
            ops = [op for op in self._parse(f.read()) if op.op_id not in done]
            left = list(ops)
            try:
                for op in ops:  # other workers' settlements too: idempotent by op_id
                    store.settle(op)
                    left.pop(0)
            finally:
                f.seek(0)
                f.truncate()
                f.write("".join(json.dumps(op_to_dict(op)) + "\n" for op in left).encode("utf-8"))
                f.flush()
