"""What an answer cost, priced from settings, with the trust signals' share shown apart.

Two ways to price self-hosted inference: per token (what a hosted API would charge, handy for
comparison) or per GPU-second (what the hardware costs). Trust samples run beside the answer
in the same batch, so their time is not separable; per GPU-second their share of the time is
their share of the tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Prices:
    currency: str = "USD"
    per_1k_prompt_tokens: float = 0.0
    per_1k_completion_tokens: float = 0.0
    per_gpu_second: float = 0.0  # when > 0, time is what is priced

    @property
    def basis(self) -> Literal["tokens", "gpu_seconds"]:
        return "gpu_seconds" if self.per_gpu_second > 0 else "tokens"


@dataclass(frozen=True)
class Spend:
    """Tokens one request used: the answer's, and the trust signals' (samples, grading)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    trust_prompt_tokens: int = 0
    trust_completion_tokens: int = 0
    llm_seconds: float = 0.0  # wall time the LLM worked on the request (generation + trust)


@dataclass(frozen=True)
class Priced:
    currency: str
    basis: Literal["tokens", "gpu_seconds"]
    answer: float
    trust: float

    @property
    def total(self) -> float:
        return self.answer + self.trust


def price(spend: Spend, prices: Prices) -> Priced:
    if prices.basis == "gpu_seconds":
        answer_tokens = spend.prompt_tokens + spend.completion_tokens
        trust_tokens = spend.trust_prompt_tokens + spend.trust_completion_tokens
        total = spend.llm_seconds * prices.per_gpu_second
        share = trust_tokens / (answer_tokens + trust_tokens) if trust_tokens else 0.0
        return Priced(prices.currency, "gpu_seconds", total * (1 - share), total * share)

    def tokens(prompt: int, completion: int) -> float:
        return (
            prompt * prices.per_1k_prompt_tokens + completion * prices.per_1k_completion_tokens
        ) / 1000

    return Priced(
        prices.currency,
        "tokens",
        tokens(spend.prompt_tokens, spend.completion_tokens),
        tokens(spend.trust_prompt_tokens, spend.trust_completion_tokens),
    )
