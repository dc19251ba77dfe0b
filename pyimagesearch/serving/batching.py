"""Requests that arrive together, answered together: a model call costs about the same for one
image as for a few dozen, so under load a server gains by gathering the requests of a short
window into one call."""
import queue
import threading
import time
from concurrent.futures import Future


def batch_sizes(most):
    """The sizes a batch is padded to: powers of two up to most, and most. A model meets
    each new batch size with a slow first call (its kernels prepared for that shape), so
    batches keep to these few, met once each at start (Batcher.warm_up)."""
    return sorted({2 ** i for i in range(most.bit_length()) if 2 ** i <= most} | {most})


class Batcher:
    """Calls answer(items) -> results (one per item, in order) from a thread of its own, on the
    items submitted within `window` seconds of the first one waiting, at most `most` at a
    time, padded with copies of the last one to one of batch_sizes(most). window=0 and
    most=1 answer each item alone."""

    def __init__(self, answer, window=0.005, most=64, name="batcher"):
        if window < 0 or most < 1:
            raise ValueError(f"a batching window is at least 0 s and holds at least one "
                             f"item, got {window} s and {most}")
        (self.answer, self.window, self.most) = (answer, window, most)
        self.sizes = batch_sizes(most)
        self.pending = queue.Queue()
        self.thread = threading.Thread(target=self._run, name=name, daemon=True)
        self.thread.start()

    def submit(self, item):
        """A Future of item's result (or of the exception answer raised for its batch)."""
        future = Future()
        self.pending.put((item, future))
        return future

    def warm_up(self, item):
        """Answer a batch of each size once, with copies of item, before any request comes."""
        for size in self.sizes:
            self.answer([item] * size)

    def close(self):
        """Stop the thread once the items already submitted are answered."""
        self.pending.put(None)
        self.thread.join()

    def _gather(self):
        """The next batch: the first waiting item, and those that come within the window."""
        first = self.pending.get()
        if first is None:
            return None
        batch = [first]
        deadline = time.monotonic() + self.window
        while len(batch) < self.most:
            try:
                item = self.pending.get(timeout=max(0.0, deadline - time.monotonic())) \
                    if self.window else self.pending.get_nowait()
            except queue.Empty:
                break
            if item is None:  # close: answer what was gathered, then stop
                self.pending.put(None)
                break
            batch.append(item)
        return batch

    def _run(self):
        while (batch := self._gather()) is not None:
            items = [item for (item, _) in batch]
            items += items[-1:] * (next(size for size in self.sizes if size >= len(items))
                                   - len(items))
            try:
                results = self.answer(items)
            except Exception as e:  # handed to each caller, whose request it failed
                for (_, future) in batch:
                    future.set_exception(e)
                continue
            for ((_, future), result) in zip(batch, results):
                future.set_result(result)
