"""How a challenge prompt is shown to the model (frozen: training and scoring must agree).

The challenge's scoring appends a boxed-answer instruction to the row's prompt and applies the
model's chat template with thinking enabled (as public write-ups describe the Kaggle harness).
"""

from __future__ import annotations

from typing import Any

BOXED_INSTRUCTION = "\nPlease put your final answer inside `\\boxed{}`. For example: `\\boxed{your answer}`"


def render_prompt(tokenizer: Any, prompt: str) -> str:
    """The text the model continues (generation prompt included)."""
    messages = [{"role": "user", "content": prompt + BOXED_INSTRUCTION}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True, enable_thinking=True)


def render_completion(tokenizer: Any, completion: str) -> str:
    """The target the model learns after the prompt: the trace, then end of turn."""
    return completion + (tokenizer.eos_token or "")
