"""Texts and mentions the entities tests share."""
from __future__ import annotations


PARAGRAPH = (
    "Russian President Vladimir Putin arrived in Beijing on Tuesday for a two-day visit. "
    "Putin met Chinese leader Xi Jinping at the Great Hall of the People. "
    "Xi\u2019s government has refused to criticise the war in Ukraine.\n\n"
    "\u201cChina and Russia are closer than ever,\u201d said Alexander Gabuev, director of the "
    "Carnegie Russia Eurasia Center in Berlin. "
    "Gabuev told The Associated Press that Moscow depends on Beijing more than before."
)


SECOND = (
    "White House national security spokesman John Kirby said the United States was watching "
    "closely. Kirby spoke to reporters in Washington on Friday, as Putin travelled on to the "
    "northeastern Chinese city of Harbin."
)


def M(start, text, label):
    return {"start": start, "end": start + len(text), "text": text, "label": label, "canonical": text}
