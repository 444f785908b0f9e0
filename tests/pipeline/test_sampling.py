"""Sampling: first matching rule wins, decisions are seeded and per batch, rates are exact."""

from __future__ import annotations

from gateway.config.settings import parse_config
from gateway.model import Entry
from gateway.pipeline.sampling import SamplingPolicy, sample


def policy(
    rules: list[dict[str, object]], default_keep: float = 1.0, seed: int = 0
) -> SamplingPolicy:
    config = parse_config(
        {"batch": {"sampling": {"rules": rules, "default_keep": default_keep, "seed": seed}}},
        env={},
    )
    return SamplingPolicy.from_config(config.batch.sampling)


def entry(body: str = "m", band: str = "INFO", service: str = "svc", count: int = 1) -> Entry:
    return Entry(body, 9, band, service, count, 1, 1)


SEED_RULES: list[dict[str, object]] = [
    {"match": {"severity_at_least": "ERROR"}, "keep": 1.0},
    {"match": {"severity": "WARN"}, "keep": 1.0},
    {"match": {"severity": "INFO"}, "keep": 0.2},
]


def test_first_matching_rule_wins() -> None:
    p = policy([{"match": {"service": "noisy"}, "keep": 0.0}, *SEED_RULES], default_keep=0.5)
    assert p.keep_rate(entry(band="ERROR", service="noisy")) == 0.0
    assert p.keep_rate(entry(band="FATAL")) == 1.0
    assert p.keep_rate(entry(band="INFO")) == 0.2
    assert p.keep_rate(entry(band="DEBUG")) == 0.5


def test_unspecified_only_meets_default_keep() -> None:
    p = policy([{"match": {"body_matches": ".*"}, "keep": 0.0}], default_keep=0.7)
    assert p.keep_rate(entry(band="UNSPECIFIED")) == 0.7
    assert p.keep_rate(entry(band="TRACE")) == 0.0


def test_body_regex_and_service_match_together() -> None:
    p = policy([{"match": {"service": "web", "body_matches": "^GET /health"}, "keep": 0.0}])
    assert p.keep_rate(entry("GET /health 200", service="web")) == 0.0
    assert p.keep_rate(entry("GET /health 200", service="api")) == 1.0
    assert p.keep_rate(entry("POST /order", service="web")) == 1.0


def test_keep_one_and_zero_are_absolute_and_rate_is_recorded() -> None:
    p = policy([*SEED_RULES, {"match": {"severity": "DEBUG"}, "keep": 0.0}])
    entries = [entry(f"e{i}", "ERROR") for i in range(50)] + [
        entry(f"d{i}", "DEBUG", count=3) for i in range(50)
    ]
    result = sample(entries, p, batch_key=1)
    assert len(result.kept) == 50 and all(
        e.severity == "ERROR" and e.sample_rate == 1.0 for e in result.kept
    )
    assert result.dropped_entries["DEBUG"] == 50 and result.dropped_records["DEBUG"] == 150


def test_fraction_is_close_to_keep_and_rate_is_its_inverse() -> None:
    entries = [entry(f"info {i}") for i in range(10_000)]
    kept = sample(entries, policy(SEED_RULES), batch_key=42).kept
    assert 1800 <= len(kept) <= 2200
    assert {e.sample_rate for e in kept} == {5.0}


def test_decisions_are_deterministic_for_a_seed_and_batch() -> None:
    entries = [entry(f"info {i}") for i in range(500)]
    first = [e.body for e in sample(entries, policy(SEED_RULES), 7).kept]
    assert first == [e.body for e in sample(entries, policy(SEED_RULES), 7).kept]
    assert first != [e.body for e in sample(entries, policy(SEED_RULES, seed=1), 7).kept]


def test_a_message_dropped_in_one_batch_is_kept_in_some_later_batch() -> None:
    p = policy(SEED_RULES)
    one = [entry("the same INFO line")]
    kept_in = [batch for batch in range(100) if sample(one, p, batch).kept]
    assert 5 <= len(kept_in) <= 40


def test_describe_says_what_is_kept() -> None:
    assert (
        policy(SEED_RULES).describe()
        == "ERROR+ keep 100%; WARN keep 100%; INFO keep 20%; otherwise keep 100%"
    )


def test_rules_that_keep_everything_describe_no_sampling() -> None:
    keep_all = [{"match": {"severity_at_least": "ERROR"}, "keep": 1.0}]
    assert policy(keep_all).describe() == "" and policy([]).describe() == ""
    assert policy([], default_keep=0.5).describe() == "otherwise keep 50%"
