import random

from exofop_mcp.site.retry_policy import RetryPolicy, is_retryable_status, parse_retry_after


def test_retry_after_forms():
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(" 0 ") == 0.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0


def test_backoff_grows_with_jitter_and_honours_retry_after():
    policy = RetryPolicy(base_delay=1.0, max_delay=8.0)
    rng = random.Random(1)
    delays = [policy.delay(a, rng=rng) for a in range(1, 6)]
    for attempt, d in enumerate(delays, start=1):
        cap = min(8.0, 2 ** (attempt - 1))
        assert cap / 2 <= d <= cap
    assert policy.delay(1, retry_after=5.0) == 5.0


def test_retryable_statuses():
    assert all(is_retryable_status(s) for s in (429, 500, 502, 503, 504))
    assert not any(is_retryable_status(s) for s in (200, 400, 401, 403, 404))


def test_next_delay_says_when_to_stop():
    rng = random.Random(2)
    policy = RetryPolicy(max_retries=2, base_delay=1.0, max_retry_after=10.0)
    assert policy.next_delay(1, rng=rng) is not None
    assert policy.next_delay(2, rng=rng) is not None
    assert policy.next_delay(3, rng=rng) is None  # the retries are used up
    assert policy.next_delay(1, retry_after=10.0) == 10.0
    assert policy.next_delay(1, retry_after=11.0) is None  # asks for longer than the cap: not waited for
    assert policy.next_delay(1, timed_out=True, rng=rng) is not None


def test_a_time_boxed_policy():
    policy = RetryPolicy(max_retries=3, base_delay=1.0, retry_timeouts=False, budget=5.0)
    assert policy.next_delay(1, timed_out=True) is None  # a timeout used up the time already
    assert policy.next_delay(1, retry_after=2.0, elapsed=1.0) == 2.0
    assert policy.next_delay(1, retry_after=2.0, elapsed=3.5) is None  # the wait would end past the budget
