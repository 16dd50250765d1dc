"""Character-level tokenizer for the tiny base model (frozen: the base checkpoint depends on it).

One token per printable ASCII character and '→', plus five specials. `\\boxed{` is a single token so the
challenge's answer wrapper costs one position instead of seven. The vocabulary is saved next to
the base checkpoint as `vocab.json` and is checked against this module when the base is loaded.
"""

from __future__ import annotations

import json
from pathlib import Path

PAD, BOS, EOS, UNK = "<pad>", "<s>", "</s>", "<unk>"
BOXED = "\\boxed{"
SPECIALS = (PAD, BOS, EOS, UNK, BOXED)
CHARS = "\n" + "".join(chr(c) for c in range(32, 127)) + "→"  # → ends a stated rule
VOCAB_FILE = "vocab.json"


class CharTokenizer:
    """Greedy char tokenizer; `\\boxed{` is matched before single characters."""

    def __init__(self) -> None:
        self.tokens: list[str] = [*SPECIALS, *CHARS]
        self.index = {t: i for i, t in enumerate(self.tokens)}
        self.pad_id = self.index[PAD]
        self.bos_id = self.index[BOS]
        self.eos_id = self.index[EOS]
        self.unk_id = self.index[UNK]
        self.boxed_id = self.index[BOXED]

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    def encode(self, text: str) -> list[int]:
        ids: list[int] = []
        i = 0
        while i < len(text):
            if text.startswith(BOXED, i):
                ids.append(self.boxed_id)
                i += len(BOXED)
                continue
            ids.append(self.index.get(text[i], self.unk_id))
            i += 1
        return ids

    def decode(self, ids: list[int], stop_at_eos: bool = True) -> str:
        out: list[str] = []
        for i in ids:
            if stop_at_eos and i == self.eos_id:
                break
            if i in (self.pad_id, self.bos_id, self.eos_id):
                continue
            out.append(self.tokens[i] if 0 <= i < len(self.tokens) else "")
        return "".join(out)

    def save(self, directory: Path) -> None:
        (Path(directory) / VOCAB_FILE).write_text(json.dumps({"tokens": self.tokens}, indent=0) + "\n")

    @classmethod
    def load(cls, directory: Path) -> CharTokenizer:
        path = Path(directory) / VOCAB_FILE
        tok = cls()
        saved = json.loads(path.read_text())["tokens"]
        if saved != tok.tokens:
            raise ValueError(f"{path}: vocabulary differs from minitask/tokenizer.py")
        return tok
