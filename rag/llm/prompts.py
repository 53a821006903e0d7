"""Prompts sent to the LLM. Kept in one module so prompt changes are reviewed as such.

The question comes both before the sources (so the model reads them for it) and after them
(small models attend best to what they read last); on the demo corpus this asked-twice form
answered more questions right with the 135M embedded model than sources-then-question.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rag.llm.client import Message

NO_ANSWER = "The documents do not contain the answer."

ANSWER_SYSTEM = (
    "You answer questions using only the numbered sources given by the user. "
    "Answer in one to three sentences and cite the sources you used as [1], [2]. "
    f'If the sources do not contain the answer, reply exactly: "{NO_ANSWER}"'
)

EXTRACTIVE_SYSTEM = (
    "Answer the question with the shortest exact phrase copied from the context. "
    "Do not write a full sentence."
)


@dataclass(frozen=True)
class Source:
    """One retrieved passage as the prompt shows it."""

    title: str
    text: str


def answer_messages(
    question: str, sources: Sequence[Source], history: Sequence[Message] = ()
) -> list[Message]:
    """``history``: earlier turns of a chat, so a follow-up reads in context; the sources
    come with the last question only (they were retrieved for it)."""
    q = question.strip()
    blocks = "\n\n".join(f"[{i}] {s.title}\n{s.text.strip()}" for i, s in enumerate(sources, 1))
    user = (
        f"Question: {q}\n\nSources:\n{blocks}\n\n"
        f'Answer the question "{q}" using the sources, and cite them like [1].'
    )
    return [
        {"role": "system", "content": ANSWER_SYSTEM},
        *history,
        {"role": "user", "content": user},
    ]


QUOTE_SYSTEM = "Answer the question in a few words, using only the numbered sentences."


def quote_messages(question: str, units: Sequence[str]) -> list[Message]:
    """Trust's samples for an extractive answer: the model answers from the few best units
    (a short prompt: five samples of it cost about what one answer from whole chunks does),
    and whether its answers state what the chosen unit states is the consistency signal."""
    lines = "\n".join(f"[{i}] {u.strip()}" for i, u in enumerate(units, 1))
    user = f"{lines}\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": QUOTE_SYSTEM}, {"role": "user", "content": user}]


def extractive_messages(question: str, context: str) -> list[Message]:
    """The reading-comprehension prompt used to compare model precisions on SQuAD."""
    user = f"Context: {context.strip()}\n\nQuestion: {question.strip()}"
    return [{"role": "system", "content": EXTRACTIVE_SYSTEM}, {"role": "user", "content": user}]


REFLECTION_SYSTEM = (
    "You check answers. Read the sources, the question and the proposed answer, then reply "
    "with one word: yes if the sources support the proposed answer, no if they do not."
)


def reflection_messages(question: str, sources: Sequence[Source], answer: str) -> list[Message]:
    """Trust's self-reflection: the model grades an answer; its P(yes) is read from the
    logprobs of the first reply token, so the reply itself is never parsed."""
    blocks = "\n\n".join(f"[{i}] {s.title}\n{s.text.strip()}" for i, s in enumerate(sources, 1))
    user = (
        f"Sources:\n{blocks}\n\nQuestion: {question.strip()}\n"
        f"Proposed answer: {answer.strip()}\n\n"
        "Do the sources support the proposed answer? Reply yes or no."
    )
    return [{"role": "system", "content": REFLECTION_SYSTEM}, {"role": "user", "content": user}]
