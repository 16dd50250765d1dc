"""Letter-substitution cipher over a closed, Wonderland-themed vocabulary."""

from __future__ import annotations

import random
import string

from ..puzzle import Example, Puzzle, boxed

NAME = "text_cipher"
MARKER = "secret encryption rules are used on text"
HEADER = "In Alice's Wonderland, secret encryption rules are used on text. Here are some examples:\n"
QUERY_PREFIX = "\nNow, decrypt the following text: "


def _words(text: str) -> list[str]:
    return text.split()


# Our own themed word lists (parts of speech drive a tiny sentence grammar).
NOUNS = _words(
    "alice rabbit hatter queen king knight wizard dragon princess student teacher mouse cat bird turtle "
    "caterpillar duchess gryphon dormouse owl fox unicorn giant sailor baker painter poet child"
)
PLACES = _words(
    "castle garden forest palace tower village valley mountain island ocean cave library school river "
    "meadow kingdom bridge cottage market wonderland"
)
THINGS = _words(
    "book door key map mirror potion puzzle secret story treasure crystal message letter clock teapot "
    "lantern riddle crown feather hat cake song"
)
VERBS = _words(
    "chases creates discovers draws dreams explores follows imagines reads sees studies watches writes "
    "finds paints guards opens carries hides visits"
)
ADJECTIVES = _words(
    "ancient bright clever colorful curious dark golden hidden magical mysterious silver strange wise "
    "tiny gentle quiet brave sleepy shiny secret"
)
PREPOSITIONS = _words("above around beyond in inside near through under behind")
VOCABULARY = tuple(sorted(set(NOUNS + PLACES + THINGS + VERBS + ADJECTIVES + PREPOSITIONS + ["the"])))

# difficulty -> (example lines, query letters must all appear in the examples)
KNOBS = {0: (5, True), 1: (4, True), 2: (3, False)}
# Levels 0 and 1: a Caesar shift (one number to induce, one rule for every letter); 2: any key.
CAESAR_SHIFTS = {0: (1, 2, 3), 1: (1, 2, 3, 4, 5, 6)}


def _noun_phrase(rng: random.Random, pool: list[str]) -> list[str]:
    form = rng.randrange(3)
    noun = rng.choice(pool)
    if form == 0:
        return [noun]
    if form == 1:
        return ["the", noun]
    return ["the", rng.choice(ADJECTIVES), noun]


def sentence(rng: random.Random) -> str:
    """Subject verb [object | preposition place], 3..5 words like the real prompts."""
    while True:
        words = [*_noun_phrase(rng, NOUNS), rng.choice(VERBS)]
        tail = rng.randrange(4)
        if tail == 1:
            words += _noun_phrase(rng, THINGS + NOUNS)
        elif tail == 2:
            words += [rng.choice(PREPOSITIONS), *_noun_phrase(rng, PLACES)]
        elif tail == 3:
            words += _noun_phrase(rng, PLACES)
        if 3 <= len(words) <= 5:
            return " ".join(words)


def encrypt(text: str, key: str) -> str:
    """key[i] is the cipher letter for plaintext letter chr(ord('a') + i); spaces are kept."""
    return text.translate(str.maketrans(string.ascii_lowercase, key))


def render_prompt(examples: list[Example], query: str) -> str:
    lines = "\n".join(f"{ex.inp} -> {ex.out}" for ex in examples)
    return HEADER + lines + QUERY_PREFIX + query


def parse(prompt: str) -> tuple[list[Example], str]:
    body, _, query = prompt.partition(QUERY_PREFIX)
    pairs = [line.split(" -> ", 1) for line in body.split("\n") if " -> " in line]
    return [Example(a, b) for a, b in pairs], query.strip()


def generate(rng: random.Random, difficulty: int) -> Puzzle:
    n_lines, covered = KNOBS[difficulty]
    letters = list(string.ascii_lowercase)
    if difficulty in CAESAR_SHIFTS:
        k = rng.choice(CAESAR_SHIFTS[difficulty])
        letters = letters[k:] + letters[:k]
    else:
        rng.shuffle(letters)
    key = "".join(letters)
    while True:
        plains = [sentence(rng) for _ in range(n_lines + 1)]
        seen = set("".join(plains[:-1]))
        if len(set(plains)) == len(plains) and (not covered or set(plains[-1]) <= seen):
            break
    examples = [Example(encrypt(p, key), p) for p in plains[:-1]]
    query, answer = encrypt(plains[-1], key), plains[-1]
    steps = [f"{c} -> {p}" for c, p in zip(query.split(), answer.split(), strict=True)]
    return Puzzle(
        family=NAME,
        rule=f"sub:{key}",
        rule_text="substitute each letter a..z by the matching letter of the key",
        examples=tuple(examples),
        query=query,
        answer=answer,
        difficulty=difficulty,
        prompt=render_prompt(examples, query),
        trace=(f"rule: sub:{key}", *steps, boxed(answer)),
    )
