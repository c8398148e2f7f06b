from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from exofop_mcp.text_format import format_bytes

KiB, MiB, GiB = 1 << 10, 1 << 20, 1 << 30


@pytest.mark.parametrize(
    ("size", "text"),
    [
        (0, "0 B"),
        (1, "1 B"),
        (1023, "1023 B"),
        (1024, "1 KiB"),
        (1536, "1.5 KiB"),
        (38 * KiB, "38 KiB"),
        (38 * KiB + 400, "38.4 KiB"),
        (150 * KiB + 300, "150 KiB"),
        (1024 * KiB - 1, "1 MiB"),
        (3 * MiB, "3 MiB"),
        (118372, "116 KiB"),
        (20 * GiB, "20 GiB"),
        (4096 * GiB, "4096 GiB"),
        (-2 * KiB, "-2 KiB"),
    ],
)
def test_format_bytes(size: int, text: str) -> None:
    assert format_bytes(size) == text


@given(st.integers(0, 1 << 50))
def test_never_zero_of_a_larger_unit(size: int) -> None:
    number, unit = format_bytes(size).split()
    assert unit in ("B", "KiB", "MiB", "GiB")
    assert float(number) >= 1 or size == 0
    assert float(number) < 1024 or unit == "GiB"
    assert len(number.partition(".")[2]) <= 1
