"""Group commit: many concurrent writes in one process share one transaction (one fsync).

``GroupCommitter.submit(item)`` queues ``item`` and returns only once the batch holding it has
been committed by ``commit_batch`` (or raises when that batch failed). There is no background
thread: the first request that finds no commit in progress becomes the *leader*; it takes
everything queued so far (its own item included), commits that batch in one transaction, hands
each waiting request its result, and then promotes the oldest request still queued to lead the
next batch. Requests arriving while a batch is being committed simply wait for the next one.

* One request at a time (Gunicorn sync worker): every request leads its own batch of one, in
  its own thread, with no hand-off to another thread.
* Several threads (gthread worker): while one fsync runs, the others queue and then share the
  next commit, so throughput grows with concurrency instead of being capped at one fsync per
  request.
* Nothing is acknowledged before its batch is committed, and a failed batch fails every request
  in it (the callback must roll back as a whole: ``BEGIN ... COMMIT`` or nothing).
* Nothing to start, so nothing is started in a pre-fork master and there is no writer thread
  that could die: the leader is a request thread, bounded by the database's own lock timeout.
  Waiting requests give up after ``wait_timeout`` seconds with ``CommitTimeout`` (HTTP 503).
* The queue is per process; after ``os.fork()`` the child starts with an empty one.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar, cast

T = TypeVar("T")
R = TypeVar("R")

_QUEUED, _TAKEN, _DONE = 0, 1, 2


class BatchFailed(Exception):
    """The batch holding this request failed; ``cause`` is what ``commit_batch`` raised."""

    def __init__(self, cause: BaseException) -> None:
        super().__init__(f"batch commit failed: {cause}")
        self.cause = cause


class CommitTimeout(Exception):
    """No outcome within the wait bound (the row may or may not be written; nothing was acked)."""


class _Ticket(Generic[T, R]):
    __slots__ = ("error", "event", "item", "lead", "result", "state")

    def __init__(self, item: T) -> None:
        self.item = item
        self.state = _QUEUED
        self.lead = False
        self.result: R | None = None
        self.error: BaseException | None = None
        self.event: threading.Event | None = None


class GroupCommitter(Generic[T, R]):
    """Batch concurrent ``submit()`` calls of one process into ``commit_batch(items)`` calls.

    ``commit_batch`` gets the items in arrival order and returns one result per item, after
    committing them all in one transaction; if it raises, none may be stored.
    """

    def __init__(
        self,
        commit_batch: Callable[[Sequence[T]], Sequence[R]],
        *,
        wait_timeout: float,
        max_batch: int = 256,
    ) -> None:
        self._commit_batch = commit_batch
        self._wait_timeout = wait_timeout
        self._max_batch = max_batch
        self._reset()
        ref = weakref.ref(self)
        os.register_at_fork(after_in_child=lambda: _reset_ref(ref))

    def _reset(self) -> None:
        self._mutex = threading.Lock()
        self._queue: list[_Ticket[T, R]] = []
        self._leading = False
        self.batches = 0
        """Batches committed by this process (for tests and tooling)."""
        self.items = 0
        """Items committed by this process."""

    @property
    def queued(self) -> int:
        """Requests waiting for a batch (not counting the one being committed)."""
        return len(self._queue)

    @property
    def leading(self) -> bool:
        """Whether a batch is being committed right now."""
        return self._leading

    def submit(self, item: T) -> R:
        """Queue ``item``; return its result once its batch is committed."""
        ticket: _Ticket[T, R] = _Ticket(item)
        with self._mutex:
            self._queue.append(ticket)
            if self._leading:
                ticket.event = threading.Event()
            else:
                self._leading = ticket.lead = True
        if not ticket.lead:
            assert ticket.event is not None
            if not ticket.event.wait(self._wait_timeout):
                self._give_up(ticket)
            if not ticket.lead:
                return self._outcome(ticket)
        self._lead()
        return self._outcome(ticket)

    def _give_up(self, ticket: _Ticket[T, R]) -> None:
        with self._mutex:
            if ticket.lead or ticket.state == _DONE:
                return  # promoted or answered at the last moment
            if ticket.state == _QUEUED:
                self._queue.remove(ticket)
                raise CommitTimeout(
                    f"no commit slot within {self._wait_timeout:g} s (nothing was written)"
                )
        raise CommitTimeout(f"commit did not finish within {self._wait_timeout:g} s")

    @staticmethod
    def _outcome(ticket: _Ticket[T, R]) -> R:
        if ticket.error is not None:
            raise BatchFailed(ticket.error)
        # Done without an error: the leader has set the result (R itself may include None).
        return cast(R, ticket.result)

    def _lead(self) -> None:
        with self._mutex:
            batch = self._queue[: self._max_batch]
            del self._queue[: self._max_batch]
            for ticket in batch:
                ticket.state = _TAKEN
        try:
            try:
                results = self._commit_batch([t.item for t in batch])
                if len(results) != len(batch):  # pragma: no cover - a bug in the callback
                    raise RuntimeError("commit_batch returned the wrong number of results")
            except Exception as exc:  # noqa: BLE001 - every request of the batch must learn it
                for ticket in batch:
                    ticket.error = exc
            except BaseException as exc:  # SystemExit etc.: fail the batch, then let it through
                for ticket in batch:
                    ticket.error = exc
                raise
            else:
                for ticket, result in zip(batch, results, strict=True):
                    ticket.result = result
                self.batches += 1
                self.items += len(batch)
        finally:
            with self._mutex:
                for ticket in batch:
                    ticket.state = _DONE
                    if ticket.event is not None:
                        ticket.event.set()
                if self._queue:
                    successor = self._queue[0]
                    successor.lead = True
                    assert successor.event is not None
                    successor.event.set()
                else:
                    self._leading = False


def _reset_ref(ref: weakref.ReferenceType[GroupCommitter[Any, Any]]) -> None:
    committer = ref()
    if committer is not None:
        committer._reset()
