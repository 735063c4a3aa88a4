from runner.agent.retry import (
    RetryPolicy,
    error_kind,
    is_retryable,
    retry_after_s,
    retry_delay,
    stream_error_status,
)


def test_retryable_statuses():
    assert all(is_retryable(s) for s in (429, 500, 502, 503, 529, None))
    assert not any(is_retryable(s) for s in (400, 401, 403, 404, 413))


def test_error_kinds_follow_claude_code_categories():
    assert error_kind(429) == "rate_limit"
    assert error_kind(529) == "server_error"
    assert error_kind(401) == "authentication_failed"
    assert error_kind(404) == "model_not_found"
    assert error_kind(None) == "server_error"


def test_retry_after_header_wins_over_backoff():
    policy = RetryPolicy(base_s=0.5, cap_s=8)
    assert retry_delay(1, policy, {"Retry-After": "3"}) == 3.0
    assert retry_delay(5, policy, {"retry-after-ms": "250"}) == 0.25


def test_retry_after_http_date():
    assert retry_after_s({"retry-after": "Wed, 21 Oct 2015 07:28:10 GMT"}, now=1445412480.0) == 10.0


def test_backoff_is_exponential_capped_and_jittered():
    policy = RetryPolicy(base_s=0.5, cap_s=4)
    low = [retry_delay(a, policy, rand=lambda: 0.0) for a in range(1, 7)]
    high = [retry_delay(a, policy, rand=lambda: 1.0) for a in range(1, 7)]
    assert high == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert low == [h / 2 for h in high]


def test_stream_error_types_map_to_the_status_the_api_would_answer():
    assert stream_error_status("overloaded_error") == 529
    assert stream_error_status("api_error") == 500
    assert stream_error_status("rate_limit_error") == 429
    assert [stream_error_status(t) for t in ("invalid_request_error", "authentication_error")] == [400, 401]
    assert [stream_error_status(t) for t in ("permission_error", "not_found_error")] == [403, 404]
    # Bedrock's exception frames, whatever their case; an unknown type is a server error.
    assert stream_error_status("throttlingException") == 429
    assert stream_error_status("ValidationException") == 400
    assert stream_error_status("modelStreamErrorException") == 500
    assert stream_error_status("brand_new_error") == 500 and stream_error_status(None) == 500
