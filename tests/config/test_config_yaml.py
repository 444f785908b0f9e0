"""Reading a config file: the size cap, and YAML that aliases would blow up."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest

from gateway.config.reading import MAX_FILE_BYTES, read_yaml
from gateway.config.settings import Config, load_config, parse_config
from gateway.errors import ConfigError


def parse_config_text(text: str) -> Config:
    return parse_config(read_yaml(text), env={})


def test_a_file_past_the_size_limit_is_one_line_naming_it(tmp_path: Path) -> None:
    big = tmp_path / "big.yaml"
    big.write_text("# padding\n" * (MAX_FILE_BYTES // 10 + 1))
    with pytest.raises(ConfigError) as raised:
        load_config(big)
    assert raised.value.problems == [f"(file): {big} is larger than 1 MiB: not a config file"]
    big.write_text("#" * (MAX_FILE_BYTES - 1) + "\n")  # at the limit: read
    assert load_config(big, env={}) == Config()


def test_aliases_used_a_few_times_are_fine() -> None:
    text = "base: &rule {keep: 1.0}\nbatch: {sampling: {rules: [*rule, *rule, *rule]}}\n"
    with pytest.raises(ConfigError) as raised:
        parse_config_text(text)
    assert raised.value.problems == ["base: unknown key"]  # the aliases themselves passed


def test_an_alias_that_holds_itself_is_refused() -> None:
    with pytest.raises(ConfigError, match="a cycle"):
        parse_config_text("rules: &r [1, *r]\n")


@pytest.mark.parametrize(
    ("depth", "problem"),
    [
        (65, "nested more than 64 levels deep"),
        (900, "nested more than 64 levels deep"),
        (5000, "maximum nesting depth"),  # libyaml's own limit: 1,000
    ],
)
def test_deep_nesting_is_a_config_error_not_a_recursion_error(depth: int, problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        parse_config_text("x: " + "[" * depth + "]" * depth + "\n")
    assert read_yaml("x: " + "[" * 64 + "]" * 64 + "\n") is not None


def test_many_small_values_are_refused_before_the_tree_is_built() -> None:
    text = "x: [" + ",".join(["a"] * 300_000) + "]\n"  # 600 KB: under the size cap
    tracemalloc.start()
    try:
        with pytest.raises(ConfigError, match="expands to more than 100,000 values"):
            read_yaml(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 20 * 1024 * 1024  # the tree of 300,000 nodes would take well over 100 MB
