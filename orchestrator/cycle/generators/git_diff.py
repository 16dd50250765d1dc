"""`git-diff`: before/after review pairs from the commits made since the last cycle.

The prompt is a commit's diff (Python files, truncated); the response states what the change does
(its subject and body) and which files and how many lines it touches. Category `code_review`.
The last commit seen is carried to the next cycle, so each cycle only mines new commits; the first
cycle takes the newest `max_commits`.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from evotrain.errors import EvotrainError
from orchestrator.cycle.generators.base import GeneratorContext, GeneratorResult
from orchestrator.cycle.models import Example

CATEGORY = "code_review"
MAX_DIFF_CHARS = 1500


def _git(repo: Path, *args: str) -> str:
    proc = subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, timeout=60, check=False)
    if proc.returncode != 0:
        raise EvotrainError(f"git-diff: git {args[0]} failed in {repo}: {proc.stderr.strip().splitlines()[-1:]}")
    return proc.stdout


def _commit_pair(repo: Path, sha: str, paths: list[str]) -> tuple[str, str] | None:
    diff = _git(repo, "show", "--format=", "--unified=2", "--no-color", sha, "--", *paths)
    if not diff.strip():
        return None
    subject, _, body = _git(repo, "show", "-s", "--format=%s%n%b", sha).partition("\n")
    stat = _git(repo, "show", "--format=", "--numstat", sha, "--", *paths).split("\n")
    files, added, removed = [], 0, 0
    for line in stat:
        parts = line.split("\t")
        if len(parts) == 3:
            files.append(parts[2])
            added += int(parts[0]) if parts[0].isdigit() else 0
            removed += int(parts[1]) if parts[1].isdigit() else 0
    shown = diff if len(diff) <= MAX_DIFF_CHARS else diff[:MAX_DIFF_CHARS] + "\n[... diff truncated]"
    prompt = f"Review this change and say what it does:\n{shown}"
    why = " ".join(body.split())[:400]
    response = (f"{subject.strip()}. It touches {len(files)} file(s) ({', '.join(files[:5])}), "
                f"adding {added} and removing {removed} lines." + (f" {why}" if why else ""))
    return prompt, response


def generate(ctx: GeneratorContext, options: dict[str, Any]) -> GeneratorResult:
    """options: repo (default '.'), max_commits (default 50), paths (default ['*.py'])."""
    repo = Path(str(options.get("repo", "."))).expanduser()
    repo = repo if repo.is_absolute() else ctx.state_dir / repo
    max_commits = int(options.get("max_commits", 50))
    paths = [str(p) for p in options.get("paths", ["*.py"])]
    head = _git(repo, "rev-parse", "HEAD").strip()
    since = str(ctx.carry.get("head", ""))
    if since and since != head:
        rev_range = [f"{since}..{head}"]
    elif since == head:
        return GeneratorResult([], notes={"commits": 0, "since": since}, carry={"head": head})
    else:
        rev_range = [head]
    shas = _git(repo, "rev-list", f"--max-count={max_commits}", "--no-merges", *rev_range).split()
    examples = []
    for sha in shas:
        pair = _commit_pair(repo, sha, paths)
        if pair:
            examples.append(Example(id=f"{ctx.source}-{sha[:12]}", source=ctx.source, category=CATEGORY,
                                    prompt=pair[0], response=pair[1]))
    return GeneratorResult(examples, notes={"commits": len(shas), "since": since or None}, carry={"head": head})
