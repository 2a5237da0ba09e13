"""wrap_cjk: the tour's Japanese line breaking."""

from __future__ import annotations

from rich.cells import cell_len

from charlm_tui.tui.widgets.tour_text import NO_LINE_START, wrap_cjk

SENTENCE = (
    "ノートブックは『シャーロック・ホームズの冒険』を読み、改行をすべて空白に変えます:"
    "562,213文字の長い1行。モデルが見るのはこの文字だけです。"
)


def test_lines_fit_and_keep_every_character() -> None:
    for width in (10, 17, 28, 40):
        lines = wrap_cjk(SENTENCE, width)
        assert all(cell_len(line) <= width for line in lines), width
        assert "".join(lines) == SENTENCE


def test_no_line_starts_with_closing_punctuation() -> None:
    for width in range(10, 41):  # the column is 28 wide; 10 leaves room to carry
        for line in wrap_cjk(SENTENCE, width)[1:]:
            assert line[0] not in NO_LINE_START, (width, line)


def test_numbers_and_code_stay_whole() -> None:
    for width in range(12, 41):
        lines = wrap_cjk(SENTENCE + " stoi は e^-loss", width)
        assert any("562,213" in line for line in lines), width
        assert any("e^-loss" in line for line in lines), width


def test_a_run_longer_than_a_line_is_folded() -> None:
    lines = wrap_cjk("torch.manual_seed(1)で", 8)
    assert all(cell_len(line) <= 8 for line in lines)
    assert "".join(lines) == "torch.manual_seed(1)で"
