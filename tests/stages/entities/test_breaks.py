"""No entity crosses a line or paragraph break (issue 22): the model is told where lines start,
and whatever a later step does, mentions are cut at line breaks."""
from __future__ import annotations

from pipeline.records import Mention
from pipeline.stages.entities.extract import split_at_breaks
from pipeline.stages.entities.model import line_break_starts
from pipeline.stages.entities.transform import summarise

# Paragraph ends glued to the next paragraph's first words, as extracted pages have them.
BROKEN = ("Reporting by Jennifer Harper\n\nJed Babbin, a former Pentagon official, told the Washington Times "
          "that the plan would fail.\n\nFootball\n\nSpeaking to reporters in London on Monday, Gareth "
          "Southgate said England were ready.\nAngela Merkel\nOlaf Scholz met in Berlin.\r\nEmmanuel Macron "
          "arrived later.")


def test_line_break_starts_marks_the_token_after_a_break_and_break_tokens():
    words = ["Jennifer", "Harper", "\n\n", "Jed", "Babbin", "said", "so", "."]
    spaces = [" ", "", "", " ", " ", " ", "", ""]
    assert line_break_starts(words, spaces) == [2, 3]
    # a break in the whitespace after a token (spaCy keeps a single "\n" as a token; be safe anyway)
    assert line_break_starts(["A", "B"], ["\n", ""]) == [1]
    assert line_break_starts(["A", "B", "C"], [" ", " ", ""]) == []


def test_split_at_breaks_cuts_and_trims_each_piece():
    text = "Jennifer Harper\n\nJed Babbin"
    m = Mention(start=10, end=10 + len(text), text=text, label="PERSON", canonical="Jennifer Harper Jed Babbin",
                country_code=None)
    out = split_at_breaks([m])
    assert [(x["start"], x["end"], x["text"], x["canonical"], x["label"]) for x in out] == [
        (10, 25, "Jennifer Harper", "Jennifer Harper", "PERSON"), (27, 37, "Jed Babbin", "Jed Babbin", "PERSON")]
    only_punct = Mention(start=0, end=3, text="X\n-", label="ORG", canonical="X\n-")
    assert [x["text"] for x in split_at_breaks([only_punct])] == ["X"]
    plain = Mention(start=0, end=6, text="Russia", label="GPE", canonical="Russia")
    assert split_at_breaks([plain]) == [plain]


def test_no_mention_or_row_spans_a_line_break(extractor):
    mentions = extractor.extract(BROKEN)
    assert mentions, "the fixture has entities"
    for m in mentions:
        assert "\n" not in m["text"] and "\r" not in m["text"], m
        assert BROKEN[m["start"]:m["end"]] == m["text"]
    rows = summarise(mentions)
    assert not [r for r in rows if "\n" in r["text"] or "\n" in r["canonical"]]
    names = {m["canonical"] for m in mentions}
    assert "Jennifer Harper" in names and "Angela Merkel" in names
    raw = extractor.raw_many([BROKEN])[0]
    assert not [m for m in raw if "\n" in m["text"]]


def test_batches_and_long_texts_keep_the_rule(extractor):
    texts = [BROKEN * 3, "Joe Biden\nKamala Harris\n\nDonald Trump"]
    for ms in extractor.extract_many(texts, batch_size=2):
        assert not [m for m in ms if "\n" in m["text"]]
