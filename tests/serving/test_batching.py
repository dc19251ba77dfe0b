"""Requests that arrive together are answered together, each with its own result."""
import threading

import pytest

from pyimagesearch.serving.batching import Batcher


def recording_batcher(window, most):
    """A Batcher that doubles numbers, records the batches it was given, and waits for
    `release` before answering (so that the next items pile up); `entered` is set once it
    has a batch in hand."""
    (batches, release, entered) = ([], threading.Event(), threading.Event())

    def answer(items):
        entered.set()
        release.wait(10)
        batches.append(list(items))
        return [2 * item for item in items]
    return Batcher(answer, window, most), batches, release, entered


def test_items_waiting_together_go_in_one_call_each_getting_its_own_result():
    (batcher, batches, release, entered) = recording_batcher(window=0.05, most=64)
    first = batcher.submit(0)
    assert entered.wait(10)
    futures = [batcher.submit(i) for i in range(1, 11)]
    release.set()
    assert first.result(10) == 0
    assert [future.result(10) for future in futures] == [2 * i for i in range(1, 11)]
    batcher.close()
    # the ten waiting together, in one call (padded to 16 with copies of the last)
    assert batches[0] == [0] and batches[1] == list(range(1, 11)) + [10] * 6


def test_a_batch_holds_at_most_most_items_and_no_window_answers_each_alone():
    (batcher, batches, release, _) = recording_batcher(window=0.05, most=4)
    futures = [batcher.submit(i) for i in range(10)]
    release.set()
    [future.result(10) for future in futures]
    batcher.close()
    assert max(len(batch) for batch in batches) == 4
    (alone, batches, release, _) = recording_batcher(window=0, most=1)
    release.set()
    assert [alone.submit(i).result(10) for i in range(3)] == [0, 2, 4]
    alone.close()
    assert batches == [[0], [1], [2]]


def test_an_error_reaches_the_callers_of_its_batch_and_the_batcher_goes_on():
    def answer(items):
        if "bad" in items:
            raise ValueError("bad item")
        return items
    batcher = Batcher(answer, window=0)
    with pytest.raises(ValueError, match="bad item"):
        batcher.submit("bad").result(10)
    assert batcher.submit("good").result(10) == "good"
    batcher.close()


def test_a_negative_window_is_refused():
    with pytest.raises(ValueError, match="window"):
        Batcher(lambda items: items, window=-1)


def test_batches_are_padded_to_a_few_sizes_met_at_warm_up():
    (batcher, batches, release, _) = recording_batcher(window=0.05, most=6)
    release.set()
    batcher.warm_up(1)
    assert [len(batch) for batch in batches] == [1, 2, 4, 6]
    futures = [batcher.submit(i) for i in range(3)]
    assert [future.result(10) for future in futures] == [0, 2, 4]
    batcher.close()
    # three items padded to four with a copy of the last: each caller still gets its own
    assert batches[-1] == [0, 1, 2, 2]
