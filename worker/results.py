"""A bounded in-memory record of the results this worker produced: the only ones it batch-signs."""

from __future__ import annotations

import threading
from collections import OrderedDict

from pha.escrow.typed_data import ResultEntry


class ResultRecord:
    """Remembers up to `capacity` results, forgetting the oldest first.

    Keyed by the whole (job id, input hash, output hash): a job run twice (a relayer retrying)
    may legitimately yield two outputs (outputs encrypted to `reply_to` use a fresh ephemeral key),
    and each was produced here, so each may be batch-signed.
    """

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._entries: OrderedDict[tuple[int, bytes, bytes], None] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, entry: ResultEntry) -> None:
        key = (entry.job_id, entry.input_hash, entry.output_hash)
        with self._lock:
            self._entries[key] = None
            self._entries.move_to_end(key)
            while len(self._entries) > self._capacity:
                self._entries.popitem(last=False)

    def __contains__(self, entry: object) -> bool:
        if not isinstance(entry, ResultEntry):
            return False
        with self._lock:
            return (entry.job_id, entry.input_hash, entry.output_hash) in self._entries

    def __len__(self) -> int:
        return len(self._entries)
