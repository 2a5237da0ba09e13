"""Provides the tour's live objects as rich Text: the corpus, vocabulary, window, one-hot
rows, parameter table and loss of the loaded dataset, drawn from a tour Lesson.

Each function draws one step's object in `width` cells; the words are the current
language's, the numbers the core's.
"""

from __future__ import annotations

import math

from rich.cells import cell_len
from rich.text import Text

from charlm_tui.core.i18n import _
from charlm_tui.core.vocab import describe_char
from charlm_tui.tui.tour_lesson import PHRASE, SEED, WINDOW, Lesson

PASSAGE = 240  # characters of the text shown at the first step
PASSAGE_START = "To Sherlock Holmes she is always"  # where the first story starts
VOCAB_PER_ROW = 16  # characters per row of the vocabulary
LOSS_ROWS = 6  # positions of the window whose chances are listed


def pad(text: str, cells: int, *, right: bool = False) -> str:
    """`text` padded with spaces to `cells` terminal cells (a CJK character takes two)."""
    fill = " " * max(0, cells - cell_len(text))
    return fill + text if right else text + fill


def shown(text: str) -> str:
    """A window of characters with spaces and newlines drawn (␣, ⏎)."""
    return "".join(describe_char(ch) if ch in " \n\t\r" else ch for ch in text)


def corpus_object(lesson: Lesson, title: str) -> Text:
    """N1: the text's name, size, its newlines, and a passage of it."""
    corpus = lesson.dataset.corpus
    text = Text()
    if corpus.fallback_reason is not None:
        text.append(corpus.fallback_reason + "\n\n", "bold")
    elif not lesson.is_sherlock:
        text.append(
            _(
                "This is not the notebook's text (Sherlock, newlines as spaces): the numbers "
                "differ from the notebook's. Esc, then pick sherlock, for those."
            )
            + "\n\n",
            "bold",
        )
    text.append(f"{title}\n", "bold")
    newlines = _("newlines → spaces") if corpus.newlines_to_spaces else _("newlines kept")
    text.append(
        _("{n:,} characters · {newlines}").format(n=len(corpus.text), newlines=newlines) + "\n"
    )
    text.append(_("line breaks left in the text: {n:,}").format(n=corpus.text.count("\n")) + "\n\n")
    start = max(0, corpus.text.find(PASSAGE_START))
    text.append(_("from character {n:,}:").format(n=start) + "\n", "bold")
    text.append(corpus.text[start : start + PASSAGE].replace("\n", "⏎") + "…")
    return text


def vocab_object(lesson: Lesson) -> Text:
    """N2: every character with its id, a row of 16 at a time, and stoi/itos examples."""
    vocab = lesson.vocab
    text = Text()
    text.append(_("sorted(set(text)): {v} characters").format(v=vocab.size) + "\n", "bold")
    rows = range(0, min(vocab.size, 8 * VOCAB_PER_ROW), VOCAB_PER_ROW)
    for start in rows:
        text.append(f"{start:>3} ", "dim")
        text.append(
            " ".join(describe_char(ch) for ch in vocab.chars[start : start + VOCAB_PER_ROW])
        )
        text.append("\n")
    if vocab.size > 8 * VOCAB_PER_ROW:
        text.append(_("… and {n:,} more").format(n=vocab.size - 8 * VOCAB_PER_ROW) + "\n", "dim")
    text.append("\n")
    examples = [ch for ch in "HWa " if ch in vocab] or list(vocab.chars[:2])
    for ch in examples[:3]:
        i = vocab.stoi[ch]
        text.append(f"stoi[{ch!r}] = {i}", "bold")
        text.append(f"   itos[{i}] = {ch!r}\n")
    return text


def encode_object(lesson: Lesson) -> Text:
    """N3: encode and decode of "Do you know, Watson,"."""
    ids = lesson.phrase_ids
    decoded = lesson.vocab.decode(ids)
    text = Text()
    text.append("encode(", "bold")
    text.append(repr(PHRASE))
    text.append(")\n", "bold")
    text.append(f"= {ids}\n\n")
    text.append("decode(…)", "bold")
    text.append(f"\n= {decoded!r}\n\n")
    if lesson.phrase_unknown:
        listed = ", ".join(repr(ch) for ch in lesson.phrase_unknown)
        text.append(_("{chars} not in this vocabulary: dropped").format(chars=listed), "bold")
    else:
        text.append(_("the same text back: the round trip is exact"), "dim")
    return text


def split_object(lesson: Lesson) -> Text:
    """N4: the 80/20 split's sizes and the seeded window x with its target y."""
    dataset = lesson.dataset
    n_train, n_val = dataset.split.sizes
    text = Text()
    text.append(_("train {n:,} characters").format(n=n_train), "bold")
    text.append(f" ({dataset.train_fraction:.0%})\n")
    text.append(_("val   {n:,} characters").format(n=n_val), "bold")
    text.append(f" ({1 - dataset.train_fraction:.0%})\n")
    text.append(_("split at character {n:,}").format(n=dataset.split.split_at) + "\n\n")
    if lesson.window is None:
        text.append(_("the train part is shorter than {n} characters").format(n=WINDOW + 2))
        return text
    x, y = lesson.window
    vocab = lesson.vocab
    text.append(
        _("torch.manual_seed({seed}): a random window of {n}").format(seed=SEED, n=WINDOW) + "\n"
    )
    text.append("x ", "bold")
    text.append(repr(vocab.decode(x.tolist())) + "\n")
    text.append("y ", "bold")
    text.append(repr(vocab.decode(y.tolist())) + "\n")
    text.append(f"x {x.tolist()}\n", "dim")
    text.append(f"y {y.tolist()}\n\n", "dim")
    pairs = [
        f"{shown(vocab.chars[int(a)])}→{shown(vocab.chars[int(b)])}"
        for a, b in zip(x.tolist()[:5], y.tolist()[:5], strict=True)
    ]
    text.append(_("the model learns: {pairs} …").format(pairs=", ".join(pairs)))
    return text


def one_hot_row(index: int, size: int, cells: int) -> str:
    """A one-hot row of `size` columns squeezed into at most `cells` characters: · for
    zeros, ▌ / ▐ / █ where the 1 falls (two columns per cell when that is enough)."""
    per_cell = max(1, math.ceil(size / cells))
    out = []
    for c in range(math.ceil(size / per_cell)):
        first = c * per_cell
        if not first <= index < first + per_cell:
            out.append("·")
        elif per_cell == 1:
            out.append("█")
        elif per_cell == 2:
            out.append("▌" if index == first else "▐")
        else:
            out.append("█")
    return "".join(out)


def one_hot_object(lesson: Lesson, width: int) -> Text:
    """N5: F.one_hot(x) of the window, one row per character, the 1 marked."""
    text = Text()
    if lesson.one_hot is None or lesson.window is None:
        text.append(_("the train part is shorter than {n} characters").format(n=WINDOW + 2))
        return text
    rows, size = lesson.one_hot.shape
    text.append(_("one_hot(x): {rows} rows × {v} columns").format(rows=rows, v=size) + "\n", "bold")
    id_width = len(str(size - 1))
    cells = max(8, width - id_width - 3)  # after "r 68 "
    per_cell = max(1, math.ceil(size / cells))
    if per_cell > 1:
        text.append(_("(each cell: {k} columns; the 1 is marked)").format(k=per_cell) + "\n", "dim")
    for row in lesson.one_hot:
        index = int(row.argmax())
        text.append(f"{shown(lesson.vocab.chars[index])} {index:>{id_width}} ", "bold")
        text.append(one_hot_row(index, size, cells) + "\n")
    sums = {int(s) for s in lesson.one_hot.sum(dim=1).tolist()}
    text.append(_("each row sums to {s}").format(s=", ".join(str(s) for s in sorted(sums))), "dim")
    return text


def model_object(lesson: Lesson) -> Text:
    """N6: the layers and the table of named_parameters(), with the notebook's list."""
    v = lesson.vocab.size
    table = lesson.parameter_table
    text = Text()
    text.append(f"Linear({v}, 128) → ReLU → Linear(128, {v})\n\n", "bold")
    heads = (_("parameter"), _("shape"), _("count"))
    text.append(pad(heads[0], 12) + pad(heads[1], 12) + pad(heads[2], 8, right=True) + "\n", "bold")
    for name, shape, count in table:
        text.append(pad(name, 12) + pad(str(shape), 12) + pad(f"{count:,}", 8, right=True) + "\n")
    total = sum(count for _name, _shape, count in table)
    text.append(pad(_("total"), 24) + pad(f"{total:,}", 8, right=True) + "\n\n", "bold")
    text.append("[p.numel() for p in model.parameters()]\n", "dim")
    text.append(f"= {[count for _name, _shape, count in table]}")
    return text


def untrained_object(lesson: Lesson) -> Text:
    """N7: 100 characters from the untrained model, a random first character."""
    text = Text()
    text.append(
        _("untrained, torch.manual_seed({seed}), {n} characters:").format(
            seed=SEED, n=len(lesson.untrained_text)
        )
        + "\n\n",
        "bold",
    )
    text.append(lesson.untrained_text.replace("\n", "⏎"))
    return text


def loss_object(lesson: Lesson) -> Text:
    """N8: the untrained model's chance of each right character in the window, the mean
    of -ln p (the loss), q = e^-loss and 1/q against the vocabulary size."""
    text = Text()
    losses, numbers = lesson.window_losses, lesson.loss_numbers()
    if losses is None or numbers is None:
        text.append(_("the train part is shorter than {n} characters").format(n=WINDOW + 2))
        return text
    rows, _loss = losses
    loss, q, inverse = numbers
    text.append(_("the untrained model on the window x → y:") + "\n", "bold")
    for row in rows[:LOSS_ROWS]:
        text.append(
            f"{shown(row.read)}→{shown(row.target)}  p = {row.p:.4f}  -ln p = {row.surprise:.2f}\n"
        )
    text.append(_("… {n} positions in all").format(n=len(rows)) + "\n\n", "dim")
    text.append(_("loss = mean of -ln p = {loss:.3f}").format(loss=loss) + "\n", "bold")
    text.append(_("q = e^-loss = {q:.4f}: a {pct:.1%} chance").format(q=q, pct=q) + "\n", "bold")
    text.append(
        _("1/q = {inv:.1f}: choosing between {inv:.1f} characters").format(inv=inverse) + "\n",
        "bold",
    )
    v = lesson.vocab.size
    text.append(
        _("vocabulary size {v}; ln {v} = {ln:.3f}: a uniform guess").format(v=v, ln=math.log(v))
    )
    return text
