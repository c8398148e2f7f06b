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
