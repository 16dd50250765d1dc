"""Dataset mixing (exact apportionment, determinism) and JSONL storage."""

import collections
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "substrate" / "default"))

from minitask import FAMILIES, apportion, generate_items, load_items, save_items

EVEN = {f: 1.0 for f in FAMILIES}


def test_apportion_is_exact_largest_remainder() -> None:
    # Equal remainders: the tie goes by FAMILIES order, and text_cipher comes first of the three.
    assert apportion(10, {"gravity": 1, "equations": 1, "text_cipher": 1}) == {
        "gravity": 3,
        "equations": 3,
        "text_cipher": 4,
    }
    # Quotas 3.5 / 1.75 / 1.75: floors 3+1+1, the two leftovers go to the .75 remainders.
    assert apportion(7, {"gravity": 0.5, "equations": 0.25, "bit_manipulation": 0.25}) == {
        "gravity": 3,
        "equations": 2,
        "bit_manipulation": 2,
    }
    assert apportion(5, {"gravity": 2, "equations": 0}) == {"gravity": 5, "equations": 0}
    for n in (0, 1, 5, 97, 1000):
        counts = apportion(n, {"gravity": 0.3, "equations": 0.3, "unit_conversion": 0.4})
        assert sum(counts.values()) == n
        for family, weight in (("gravity", 0.3), ("equations", 0.3), ("unit_conversion", 0.4)):
            assert abs(counts[family] - n * weight) < 1


def test_apportion_rejects_bad_mixes() -> None:
    with pytest.raises(ValueError, match=r"^mix\.chess: unknown family"):
        apportion(10, {"chess": 1.0})
    with pytest.raises(ValueError, match=r"^mix\.gravity: weight"):
        apportion(10, {"gravity": -1.0})
    with pytest.raises(ValueError, match=r"^mix: weights must sum"):
        apportion(10, {"gravity": 0.0})
    with pytest.raises(ValueError, match=r"^n:"):
        apportion(-1, EVEN)


def test_generate_items_counts_follow_the_mix_exactly() -> None:
    mix = {"bit_manipulation": 3, "text_cipher": 1, "gravity": 2}
    items = generate_items(60, mix, seed=3)
    assert collections.Counter(p.family for p in items) == {"bit_manipulation": 30, "text_cipher": 10, "gravity": 20}


def test_generate_items_is_deterministic_and_shuffled() -> None:
    a = generate_items(60, EVEN, seed=11, difficulty=1)
    b = generate_items(60, EVEN, seed=11, difficulty=1)
    c = generate_items(60, EVEN, seed=12, difficulty=1)
    assert a == b
    assert [p.prompt for p in a] != [p.prompt for p in c]
    families = [p.family for p in a]
    assert families != sorted(families, key=FAMILIES.index)  # not grouped by family
    assert all(p.difficulty == 1 for p in a)


def test_per_family_difficulty_and_independence_of_families() -> None:
    items = generate_items(30, {"gravity": 1, "equations": 1}, seed=5, difficulty={"gravity": 2})
    levels = {p.family: p.difficulty for p in items}
    assert levels == {"gravity": 2, "equations": 0}
    # Each puzzle has its own rng: changing the equations difficulty leaves gravity puzzles unchanged.
    other = generate_items(30, {"gravity": 1, "equations": 1}, seed=5, difficulty={"gravity": 2, "equations": 1})
    assert {p.prompt for p in items if p.family == "gravity"} == {
        p.prompt for p in other if p.family == "gravity"
    }
    with pytest.raises(ValueError, match=r"^difficulty\.gravity: 5 not in 0\.\.2"):
        generate_items(4, EVEN, seed=0, difficulty={"gravity": 5})
    with pytest.raises(ValueError, match=r"^difficulty\.chess: unknown family"):
        generate_items(4, EVEN, seed=0, difficulty={"chess": 1})


def test_jsonl_round_trip(tmp_path: Path) -> None:
    items = generate_items(24, EVEN, seed=1, difficulty=2)
    path = tmp_path / "sub" / "train.jsonl"
    save_items(path, items)
    assert load_items(path) == items
    assert len(path.read_text(encoding="utf-8").splitlines()) == 24
    assert [p.name for p in path.parent.iterdir()] == ["train.jsonl"]  # no temp file left behind


def test_load_items_names_file_and_line_of_a_bad_record(tmp_path: Path) -> None:
    items = generate_items(3, EVEN, seed=1)
    path = tmp_path / "bad.jsonl"
    save_items(path, items)
    lines = path.read_text(encoding="utf-8").splitlines()
    broken = json.loads(lines[1])
    broken["difficulty"] = "hard"
    path.write_text("\n".join([lines[0], json.dumps(broken), lines[2]]) + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: difficulty: expected an integer"):
        load_items(path)
    path.write_text(lines[0] + "\n{not json\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"bad\.jsonl:2: "):
        load_items(path)
