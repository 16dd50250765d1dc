"""The quality gate: the seed's rules, in order, with a kept/dropped count per rule per source.

1. noise: terminal dumps (ANSI escapes, shell prompts with their output, tracebacks) and
   notification/XML blocks are stripped; an example with nothing left is dropped;
2. length: response between min_tokens and max_tokens (the substrate's tokenizer);
3. repetition: bigram repeat ratio of the response below max_bigram_repeat;
4. coherence: cosine similarity of prompt and response embeddings (all-MiniLM-L6-v2) at least
   min_coherence;
5. cap: at most per_source_cap examples per source (a seeded shuffle picks which), so one flooding
   generator cannot dominate the mix (the seed's run #2 -> run #3 lesson).
"""

from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Callable
from itertools import pairwise

from orchestrator.cycle.config import QualityConfig
from orchestrator.cycle.models import Example, QualityOutput, RuleCount

RULES = ("noise", "length", "repetition", "coherence", "cap")

_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
# notification / tool blocks that sessions leak into transcripts
_XML_BLOCK = re.compile(
    r"<(task-notification|system-reminder|notification|tool_result|tool_use|function_results|"
    r"command-output|stdout|stderr|local-command-stdout)\b[^>]*>.*?</\1>",
    re.DOTALL | re.IGNORECASE,
)
# `$ cmd`, `user@host:~/dir$ cmd`, `>>> expr`; not a bare `#` (Python comments in code and diffs)
_SHELL_PROMPT = re.compile(r"^\s*(?:\$|>>>|\w[\w.-]*@[\w.-]+:[^$#]*[$#])\s")
_TRACEBACK_HEAD = "Traceback (most recent call last):"
_WORDS = re.compile(r"\w+|[^\w\s]")


def strip_noise(text: str) -> str:
    """Remove terminal dumps and notification blocks; keep everything else verbatim."""
    text = _ANSI.sub("", text)
    text = _XML_BLOCK.sub("", text)
    out: list[str] = []
    skipping = False  # inside a pasted shell session or traceback: drop until a blank line
    for line in text.splitlines():
        if _SHELL_PROMPT.match(line) or line.strip().startswith(_TRACEBACK_HEAD):
            skipping = True
            continue
        if skipping:
            if not line.strip():
                skipping = False
            continue
        out.append(line)
    return "\n".join(out).strip()


def bigram_repeat_ratio(text: str) -> float:
    """Share of word bigrams that repeat an earlier bigram: 1 - distinct / total (0 when < 2 bigrams)."""
    words = _WORDS.findall(text.lower())
    bigrams = list(pairwise(words))
    if len(bigrams) < 2:
        return 0.0
    return 1.0 - len(set(bigrams)) / len(bigrams)


def apply_cap(examples: list[Example], cap: int | None, seed: int) -> tuple[list[Example], Counter[str]]:
    """Keep at most `cap` per source (seeded shuffle within a source; input order kept otherwise)."""
    if cap is None:
        return examples, Counter()
    by_source: dict[str, list[int]] = {}
    for i, ex in enumerate(examples):
        by_source.setdefault(ex.source, []).append(i)
    keep: set[int] = set()
    dropped: Counter[str] = Counter()
    for source, idx in by_source.items():
        chosen = list(idx)
        random.Random(f"{seed}:{source}").shuffle(chosen)
        keep.update(chosen[:cap])
        dropped[source] = max(0, len(idx) - cap)
    return [ex for i, ex in enumerate(examples) if i in keep], dropped


CoherenceFn = Callable[[list[str], list[str]], list[float]]


def run_gate(
    examples: list[Example],
    config: QualityConfig,
    count_tokens: Callable[[str], int],
    coherence: CoherenceFn | None,
) -> tuple[list[Example], QualityOutput]:
    """Filter `examples`; return the kept ones and the per-source table."""
    table: dict[str, RuleCount] = {}

    def row(source: str) -> RuleCount:
        if source not in table:
            table[source] = RuleCount(source=source, dropped=dict.fromkeys(RULES, 0))
        return table[source]

    def drop(ex: Example, rule: str) -> None:
        r = row(ex.source)
        r.dropped = {**r.dropped, rule: r.dropped[rule] + 1}

    survivors: list[Example] = []
    for ex in examples:
        row(ex.source).input += 1
        if config.strip_noise:
            prompt, response = strip_noise(ex.prompt), strip_noise(ex.response)
            if not prompt or not response:
                drop(ex, "noise")
                continue
            if (prompt, response) != (ex.prompt, ex.response):
                row(ex.source).noise_stripped += 1
                ex = ex.model_copy(update={"prompt": prompt, "response": response})
        n_tokens = count_tokens(ex.response)
        if not config.min_tokens <= n_tokens <= config.max_tokens:
            drop(ex, "length")
            continue
        if bigram_repeat_ratio(ex.response) >= config.max_bigram_repeat:
            drop(ex, "repetition")
            continue
        survivors.append(ex)

    if config.min_coherence is not None and coherence is not None and survivors:
        scores = coherence([e.prompt for e in survivors], [e.response for e in survivors])
        coherent = []
        for ex, s in zip(survivors, scores, strict=True):
            if s >= config.min_coherence:
                coherent.append(ex)
            else:
                drop(ex, "coherence")
        survivors = coherent

    kept, capped = apply_cap(survivors, config.per_source_cap, config.seed)
    for source, n in capped.items():
        r = row(source)
        r.dropped = {**r.dropped, "cap": n}
    for ex in kept:
        row(ex.source).kept += 1
    output = QualityOutput(
        rules=list(RULES),
        by_source=sorted(table.values(), key=lambda r: r.source),
        n_input=len(examples),
        n_kept=len(kept),
        kept_by_category=dict(sorted(Counter(e.category for e in kept).items())),
        coherence_model=config.embedding_model if config.min_coherence is not None else "",
    )
    return kept, output
