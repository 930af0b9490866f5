"""MTL-AQA's commentary (captioning) head: clip features -> a GRU encoder -> a GRU decoder -> words.

As the paper's C3D-AVG captioning branch (section 4.1 and 5): the individual clip-level features,
not their average, feed an encoder GRU; its last state starts a decoder GRU that predicts the
commentary word by word (teacher forcing in training, negative log-likelihood per word, Eq. 3),
dropout 0.2 in encoder and decoder, at most 100 words. Decoding is greedy (the most probable word
each step), so the same dive and the same bundle always give the same line.

The vocabulary is what the method learns of the training split before it is built: the words of
the training dives' captions (MTL-AQA's ``final_captions_dict.pkl``, or the ``commentary`` column
of our CSV layout, which the synthetic generator fills from each dive's known number and faults),
stored in the model config so a bundle rebuilds the same layers. A word first met at inference
cannot be produced; one in a training caption that is not in the vocabulary reads as ``<unk>``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

PAD, UNK, SOS, EOS = "<pad>", "<unk>", "<sos>", "<eos>"
SPECIAL = (PAD, UNK, SOS, EOS)
MAX_WORDS = 100  # the paper's maximum caption length
CAVEAT = "generated commentary, may be wrong: the model writes what was said of similar dives, it does not judge this one"
_WORD = re.compile(r"[\w½'’-]+|[^\w\s]")


def caption_words(caption: Sequence[str] | None, commentary: str = "") -> tuple[str, ...] | None:
    """A dive's caption as words without ``<sos>``/``<eos>``: the release's tokens, else the commentary text split; None when it has none."""
    if caption is not None:
        words = tuple(w for w in caption if w not in (SOS, EOS))
    else:
        words = tuple(_WORD.findall(commentary.lower()))
    return words[:MAX_WORDS] or None


def build_vocabulary(captions: Iterable[Sequence[str] | None]) -> list[str]:
    """The special tokens, then every word of the captions, most frequent first (ties alphabetical: reproducible)."""
    counts = Counter(w for words in captions if words for w in words if w not in SPECIAL)
    return [*SPECIAL, *sorted(counts, key=lambda w: (-counts[w], w))]


def sentence(words: Sequence[str]) -> str:
    """Words back to a line: no space before punctuation, each sentence capitalised (words are stored lower-case)."""
    text = re.sub(r" ([^\w\s½'’-])", r"\1", " ".join(words))
    return re.sub(r"(^|[.!?] )(\w)", lambda m: m.group(1) + m.group(2).upper(), text)


class CaptionHead(nn.Module):
    def __init__(self, vocabulary: Sequence[str], in_dim: int, hidden: int = 256, embed: int = 128, dropout: float = 0.2) -> None:
        super().__init__()
        if list(vocabulary[: len(SPECIAL)]) != list(SPECIAL):
            raise ValueError(f"a caption vocabulary starts with {', '.join(SPECIAL)}")
        self.vocabulary = list(vocabulary)
        self.index = {w: i for i, w in enumerate(self.vocabulary)}
        self.encoder = nn.GRU(in_dim, hidden, batch_first=True)
        self.embed = nn.Embedding(len(self.vocabulary), embed, padding_idx=0)
        self.decoder = nn.GRU(embed, hidden, batch_first=True)
        self.drop = nn.Dropout(dropout)
        self.out = nn.Linear(hidden, len(self.vocabulary))

    def _start(self, features: torch.Tensor) -> torch.Tensor:
        """``(B, N, D)`` clip features -> the decoder's first state ``(1, B, hidden)``."""
        _, state = self.encoder(self.drop(features))
        return state

    def loss(self, features: torch.Tensor, captions: Sequence[Sequence[str] | None]) -> torch.Tensor:
        """Mean negative log-likelihood per word over the dives that have a caption (0 when none has)."""
        rows = [i for i, c in enumerate(captions) if c]
        if not rows:
            return features.sum() * 0.0
        ids = [[self.index[SOS], *(self.index.get(w, self.index[UNK]) for w in captions[i]), self.index[EOS]] for i in rows]
        length = max(len(s) for s in ids)
        tokens = torch.tensor([s + [0] * (length - len(s)) for s in ids], device=features.device)
        state = self._start(features[rows])
        outputs, _ = self.decoder(self.drop(self.embed(tokens[:, :-1])), state)
        logits = self.out(self.drop(outputs))
        return F.cross_entropy(logits.flatten(0, 1), tokens[:, 1:].flatten(), ignore_index=0)

    @torch.no_grad()
    def greedy(self, features: torch.Tensor, max_words: int = MAX_WORDS) -> list[str]:
        """One line per dive: the most probable word each step until ``<eos>`` (deterministic in eval mode).

        ``<pad>``, ``<sos>`` and ``<unk>`` are never chosen: none is a word of a line, and a model early in
        training (or on an odd dive) can rank one first, which printed "<sos>" as commentary.
        """
        never = torch.tensor([self.index[t] for t in (PAD, SOS, UNK)], device=features.device)
        state = self._start(features)
        word = torch.full((len(features), 1), self.index[SOS], device=features.device)
        chosen: list[list[int]] = [[] for _ in range(len(features))]
        done = torch.zeros(len(features), dtype=torch.bool, device=features.device)
        for _ in range(max_words):
            output, state = self.decoder(self.embed(word), state)
            word = self.out(output).index_fill(-1, never, -torch.inf).argmax(dim=-1)
            done = done | (word[:, 0] == self.index[EOS])
            if done.all():
                break
            for i in (~done).nonzero()[:, 0].tolist():
                chosen[i].append(int(word[i, 0]))
        return [sentence([self.vocabulary[t] for t in ids]) for ids in chosen]
