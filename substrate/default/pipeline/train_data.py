"""Training examples from a `{train_data}` file (editable pipeline: run.py --train-data FILE).

run.py validates each line as a TrainDataRecord (evotrain/schemas/substrate.py) and hands the records
here. A record carrying a puzzle (`item`) is encoded exactly as run.py encodes its own puzzles (compact
prompt, the recipe's trace style); a plain prompt -> response pair (code, review, a user's data) is
trained as text, truncated to fit the base's context.
"""

from __future__ import annotations

from collections.abc import Sequence

from minitask.puzzle import Puzzle
from minitask.tokenizer import CharTokenizer

from pipeline.encode import IGNORE, TraceStyle, encode_puzzle

# the base's context is 512 tokens; long code pairs would also dominate the step time
MAX_TOKENS = 320
MAX_TARGET = 240


def encode_plain(tok: CharTokenizer, prompt: str, response: str) -> tuple[list[int], list[int]]:
    """BOS + the prompt's tail (ignored by the loss) + the response's head + EOS (learned)."""
    target = [*tok.encode(response)[:MAX_TARGET], tok.eos_id]
    keep = max(8, MAX_TOKENS - len(target) - 1)
    prompt_ids = [tok.bos_id, *tok.encode(prompt)[-keep:]]
    return prompt_ids + target, [IGNORE] * len(prompt_ids) + target


def encode_records(tok: CharTokenizer, records: Sequence[object], trace_style: TraceStyle) -> list[
    tuple[list[int], list[int]]
]:
    """Token ids and labels per record (records have .prompt, .response, .item)."""
    examples = []
    for record in records:
        item = getattr(record, "item", None)
        if item:
            examples.append(encode_puzzle(tok, Puzzle.from_json(item), trace_style))
        else:
            examples.append(encode_plain(tok, str(record.prompt), str(record.response)))  # type: ignore[attr-defined]
    return examples
