from __future__ import annotations

from bench.model import merge_speed


def test_a_speed_only_run_keeps_the_quality_numbers() -> None:
    full = {
        "results": [
            {"precision": "bf16", "f1": 0.13, "decode_tokens_per_s_c1": 9.0},
            {"precision": "int4", "f1": 0.07, "measured_on": "simulated"},
        ],
        "date": "2026-11-01",
        "machine": {"avx512": False},
    }
    speed = {
        "results": [{"precision": "bf16", "decode_tokens_per_s_c1": 11.0, "server_ready_s": 40}],
        "date": "2026-11-25",
        "machine": {"avx512": False, "cores": 2},
    }
    merged = merge_speed(full, speed)
    bf16, int4 = merged["results"]
    assert bf16 == {
        "precision": "bf16",
        "f1": 0.13,
        "decode_tokens_per_s_c1": 11.0,
        "server_ready_s": 40,
    }
    assert int4["f1"] == 0.07
    assert merged["speed_date"] == "2026-11-25" and merged["date"] == "2026-11-01"
