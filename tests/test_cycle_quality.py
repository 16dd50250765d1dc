"""Quality gate of the continuous cycle: every rule on hand-made examples on both sides of its
threshold, coherence with the real all-MiniLM-L6-v2 weights, and the per-source cap on a real
flooding generator (the seed's run #2 -> run #3 lesson)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from orchestrator.cycle.config import DEFAULT_SUBSTRATE, GeneratorConfig, QualityConfig
from orchestrator.cycle.generators.base import GeneratorContext, run_one
from orchestrator.cycle.models import Example
from orchestrator.cycle.quality import bigram_repeat_ratio, run_gate, strip_noise
from orchestrator.cycle.substrate_io import spec_of
from orchestrator.cycle.tokens import token_counter

COUNT = token_counter(DEFAULT_SUBSTRATE / "base")


def ex(response: str, prompt: str = "Explain the change.", source: str = "s", i: int = 0,
       category: str = "c") -> Example:
    return Example(id=f"{source}-{i}", source=source, category=category, prompt=prompt, response=response)


def gate(examples: list[Example], **overrides: object):
    settings = {"min_coherence": None, **overrides}
    return run_gate(examples, QualityConfig(**settings), COUNT, None)


def dropped(output, rule: str, source: str = "s") -> int:
    return next(r for r in output.by_source if r.source == source).dropped[rule]


def test_substrate_tokenizer_counts_boxed_as_one_token() -> None:
    assert COUNT("abc") == 3
    assert COUNT("\\boxed{12}") == 4  # `\boxed{` is a single token of the embedded tokenizer


def test_length_rule_both_sides_of_min_and_max() -> None:
    short, at_min = "x" * 9, "x" * 10
    at_max, long = "y" * 800, "y" * 801
    kept, out = gate([ex(short, i=0), ex(at_min, i=1), ex(at_max, i=2), ex(long, i=3)], max_bigram_repeat=1.0)
    assert [e.id for e in kept] == ["s-1", "s-2"]
    assert dropped(out, "length") == 2


def test_bigram_repeat_ratio_by_hand() -> None:
    # the cat the cat the cat: 5 bigrams, 2 distinct -> 1 - 2/5
    assert bigram_repeat_ratio("the cat the cat the cat") == pytest.approx(0.6)
    # x y x y x z: (x,y) (y,x) (x,y) (y,x) (x,z): 3 distinct of 5 -> 0.4
    assert bigram_repeat_ratio("x y x y x z") == pytest.approx(0.4)
    # one two three four one two: 4 distinct of 5 -> 0.2
    assert bigram_repeat_ratio("one two three four one two") == pytest.approx(0.2)


def test_repetition_rule_drops_at_threshold_keeps_below() -> None:
    examples = [ex("x y x y x z", i=0), ex("one two three four one two", i=1), ex("the cat the cat the cat", i=2)]
    kept, out = gate(examples, min_tokens=0)
    assert [e.id for e in kept] == ["s-1"]  # 0.4 and 0.6 are not < 0.4
    assert dropped(out, "repetition") == 2


def test_noise_stripped_and_noise_only_dropped() -> None:
    dump = "$ ls -la\ntotal 8\nfile.py\n\nThe folder holds one Python file."
    tagged = "The answer is forty-two.<system-reminder>do not mention this</system-reminder>"
    ansi = "\x1b[31mError\x1b[0m: the build failed at step two."
    only_noise = "<task-notification>task 12 finished</task-notification>"
    assert strip_noise(dump) == "The folder holds one Python file."
    assert strip_noise(tagged) == "The answer is forty-two."
    assert strip_noise(ansi) == "Error: the build failed at step two."
    kept, out = gate([ex(dump, i=0), ex(tagged, i=1), ex(ansi, i=2), ex(only_noise, i=3)])
    assert [e.response for e in kept] == [
        "The folder holds one Python file.", "The answer is forty-two.", "Error: the build failed at step two."]
    row = out.by_source[0]
    assert (row.noise_stripped, row.dropped["noise"], row.kept) == (3, 1, 3)


def test_coherence_uses_the_real_minilm_and_splits_both_sides() -> None:
    from orchestrator.cycle.embedder import cosine_pairs

    prompt = "What is the capital of France?"
    on_topic = "Paris is the capital of France."
    off_topic = "Bananas are yellow fruit rich in potassium."
    scores = cosine_pairs("all-MiniLM-L6-v2", [prompt, prompt], [on_topic, off_topic])
    assert scores[0] > 0.7 and scores[1] < 0.1  # reference values of all-MiniLM-L6-v2: 0.86 and -0.02

    def coherence(left: list[str], right: list[str]) -> list[float]:
        return cosine_pairs("all-MiniLM-L6-v2", left, right)

    kept, out = run_gate([ex(on_topic, prompt, i=0), ex(off_topic, prompt, i=1)],
                         QualityConfig(min_coherence=0.15), COUNT, coherence)
    assert [e.id for e in kept] == ["s-0"]
    assert dropped(out, "coherence") == 1


def test_cap_per_source_keeps_small_sources_whole() -> None:
    examples = [ex(f"answer number {i} for the flood", source="flood", i=i) for i in range(700)]
    examples += [ex(f"a different answer {i} here", source="other", i=i) for i in range(50)]
    kept, out = gate(examples, per_source_cap=600)
    counts = Counter(e.source for e in kept)
    assert counts == {"flood": 600, "other": 50}
    assert dropped(out, "cap", "flood") == 100 and dropped(out, "cap", "other") == 0
    kept_again, _ = gate(examples, per_source_cap=600)
    assert [e.id for e in kept_again] == [e.id for e in kept]  # the seeded choice is reproducible


def test_cap_changes_the_mix_when_one_generator_floods(tmp_path: Path) -> None:
    """Like the seed's run #2: one generator (2,666 bit-manipulation puzzles) floods the mix."""
    spec = spec_of(DEFAULT_SUBSTRATE)
    examples: list[Example] = []
    for cfg in (GeneratorConfig(kind="substrate", options={"n_per_family": 60}),
                GeneratorConfig(kind="substrate", name="flood",
                                options={"families": ["bit_manipulation"], "n_per_family": 2666})):
        ctx = GeneratorContext("c0001", 1, cfg.name, DEFAULT_SUBSTRATE, spec, tmp_path, tmp_path / cfg.name)
        got, report, _ = run_one(cfg, ctx)
        assert report.ok, report.error
        examples += got
    uncapped, _ = gate(examples, per_source_cap=None)
    capped, out = gate(examples, per_source_cap=600)
    share = lambda kept: sum(e.category == "bit_manipulation" for e in kept) / len(kept)  # noqa: E731
    assert len(uncapped) == 360 + 2666
    assert share(uncapped) == pytest.approx((60 + 2666) / 3026, abs=0.01)  # 90% of the mix is one family
    assert Counter(e.source for e in capped) == {"substrate": 360, "flood": 600}
    assert share(capped) == pytest.approx(660 / 960, abs=0.01)
    assert dropped(out, "cap", "flood") == 2066


def test_noise_keeps_python_comments_in_code() -> None:
    code = "def f(x):\n    # double it\n    return 2 * x"
    assert strip_noise(code) == code
