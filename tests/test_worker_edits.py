"""Recipe text edits, patches, path globs and the tool schemas."""

from __future__ import annotations

import sys

import pytest

from evotrain.errors import EvotrainError
from workers.patching import PatchError, apply_unified_diff, search_replace
from workers.recipe_edit import set_recipe_values
from workers.substrate_contract import matches_any, parse_recipe_text, render_command
from workers.tool_specs import TOOL_NAMES, parse_args, tool_specs

RECIPE = """# comment kept
learning_rate: 0.003  # why
save_steps: [10, 20]
mixture_weights:
  alpha: 1.0
  beta: 1.0
name: base
"""


def test_set_recipe_values_keeps_comments_and_other_lines() -> None:
    out = set_recipe_values(RECIPE, {"learning_rate": 0.006, "mixture_weights": {"alpha": 2.0, "beta": 1.0}})
    assert "# comment kept" in out and "learning_rate: 0.006  # why" in out
    assert parse_recipe_text(out, "r") == {"learning_rate": 0.006, "save_steps": [10, 20],
                                           "mixture_weights": {"alpha": 2.0, "beta": 1.0}, "name": "base"}
    assert set_recipe_values(RECIPE, {"name": "base"}) == RECIPE  # unchanged values leave the text alone


def test_set_recipe_values_appends_new_keys_and_quotes_ambiguous_strings() -> None:
    out = set_recipe_values(RECIPE, {"new_key": "yes", "save_steps": [5]})
    values = parse_recipe_text(out, "r")
    assert values["new_key"] == "yes" and values["save_steps"] == [5]


def test_unified_diff_and_search_replace() -> None:
    diff = "--- a/r\n+++ b/r\n@@ -2,2 +2,2 @@\n learning_rate: 0.003  # why\n-save_steps: [10, 20]\n+save_steps: [30]\n"
    assert "save_steps: [30]" in apply_unified_diff(RECIPE, diff)
    with pytest.raises(PatchError, match="does not match"):
        apply_unified_diff(RECIPE, "@@ -1,1 +1,1 @@\n-nothing like this\n+x\n")
    with pytest.raises(PatchError, match="no '@@"):
        apply_unified_diff(RECIPE, "just text")
    assert "name: tuned" in search_replace(RECIPE, "name: base", "name: tuned")
    with pytest.raises(PatchError, match="occurs 2 times"):
        search_replace(RECIPE, "1.0", "2.0")
    with pytest.raises(PatchError, match="not found"):
        search_replace(RECIPE, "absent", "x")


def test_globs() -> None:
    assert matches_any("eval/harness.py", ["eval/**"])
    assert matches_any("eval/deep/x.py", ["eval"])  # a bare directory covers its contents
    assert matches_any("recipe.yaml", ["*.yaml"]) and not matches_any("data/x.yaml", ["*.yaml"])
    assert matches_any("data/x.yaml", ["**/*.yaml"]) and matches_any("x.yaml", ["**/*.yaml"])
    assert not matches_any("evaluation.py", ["eval/**"])


def test_render_command_is_strict() -> None:
    cmd = render_command(["{python}", "run.py", "--out", "{out}"], out="/tmp/o")
    assert cmd == [sys.executable, "run.py", "--out", "/tmp/o"]
    with pytest.raises(EvotrainError, match=r"unknown placeholder \{items\}"):
        render_command(["{items}"], out="x")


def test_tool_specs_match_argument_validation() -> None:
    specs = {s.name: s for s in tool_specs()}
    assert set(specs) == set(TOOL_NAMES) and len(specs) == 12
    assert specs["write_file"].parameters["required"] == ["path", "content"]
    with pytest.raises(ValueError, match="unknown tool"):
        parse_args("rm_rf", {})
    with pytest.raises(ValueError, match="field 'content'"):
        parse_args("write_file", {"path": "recipe.yaml"})
    with pytest.raises(ValueError, match="either 'diff' or 'search'"):
        parse_args("patch_file", {"path": "recipe.yaml"})
    with pytest.raises(ValueError, match="field 'sudo': Extra inputs"):
        parse_args("read_file", {"path": "x", "sudo": True})


def test_recipe_parser_reads_yaml12_exponent_floats_like_pydantic() -> None:
    values = parse_recipe_text("learning_rate: 3e-3\nsteps: 12\nname: abc\n", "r")
    assert values == {"learning_rate": 0.003, "steps": 12, "name": "abc"}
    assert set_recipe_values("learning_rate: 3e-3  # c\n", {"learning_rate": 0.003}) == "learning_rate: 3e-3  # c\n"
