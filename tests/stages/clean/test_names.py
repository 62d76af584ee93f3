"""Title and author normalisers, on patterns found on real news pages (issue 21; the 181
extraction-benchmark pages)."""
import pytest

from pipeline.stages.clean import to_clean_article
from pipeline.stages.clean.names import join_last_first, normalise_authors, normalise_title
from tests.stages.clean.multilingual import STORIES, page


@pytest.mark.parametrize("title, site, expected", [
    ("Anleihen unter Druck | Börsen-Zeitung", "Börsen-Zeitung", "Anleihen unter Druck"),
    ("Scholz trifft Macron in Paris - DW - 28.04.2023", "DW", "Scholz trifft Macron in Paris"),
    ("New York State Attorney General reportedly investigating WeWork – TechCrunch", "TechCrunch",
     "New York State Attorney General reportedly investigating WeWork"),
    ("Black Friday per nostalgici - Remember 80/90 - Memorabilia anni 80/90",
     "Remember 80/90 - Memorabilia anni 80/90", "Black Friday per nostalgici"),
    ("LinkNaija | Nigeria's popular news platform: Chelsea activate release clause",
     "LinkNaija | Nigeria's popular news platform", "Chelsea activate release clause"),
    ("NASA adds five companies to lunar lander program - SpaceNews.com", "SpaceNews.com",
     "NASA adds five companies to lunar lander program"),
    ("MacBook sale at Amazon from $700 - 9to5Mac", "9To5Mac", "MacBook sale at Amazon from $700"),
    ("Kindle for PCを起動しない方法 | ノート100YEN.com", "ノート100YEN.com", "Kindle for PCを起動しない方法"),
    # kept: a section label that is not the site, a site name that is the whole title, no site
    ("Opinion | Republicans Are Following Trump to Nowhere", "NYTimes",
     "Opinion | Republicans Are Following Trump to Nowhere"),
    ("The Guardian view on Hong Kong | Editorial", "The Guardian", "The Guardian view on Hong Kong | Editorial"),
    ("ZDNet", "ZDNet", "ZDNet"),
    ("Star Wars Jedi: Fallen Order review - shoots for the moon", None,
     "Star Wars Jedi: Fallen Order review - shoots for the moon"),
    (None, "X", None),
])
def test_normalise_title(title, site, expected):
    assert normalise_title(title, site) == expected


@pytest.mark.parametrize("names, site, expected", [
    (["Condé Nast", "Molly Wood"], "Wired", ["Molly Wood"]),
    (["Beispiel Verlag GmbH", "Anna Schmidt"], None, ["Anna Schmidt"]),
    (["Www Washingtontimes Com"], None, []),
    (["https", "Jane Doe"], None, ["Jane Doe"]),
    (["Troy Smith", "Cleveland com"], "Cleveland", ["Troy Smith"]),
    (["Autor Hans Müller"], None, ["Hans Müller"]),
    (["Von Hans Müller", "By Jane Doe"], None, ["Hans Müller", "Jane Doe"]),
    (["Текст Венера Ерофеева"], None, ["Венера Ерофеева"]),
    (["Analysis by Chris Cillizza", "CNN Editor-at-large"], "CNN", ["Chris Cillizza"]),
    (["Tom Krisher", "Ap Auto Writer"], None, ["Tom Krisher"]),
    (["Phil Helsel is a reporter"], None, ["Phil Helsel"]),
    (["Tom Gillespie News reporter"], None, ["Tom Gillespie"]),
    (["Mike Wuerthele", "Malcolm Owen Monday", "November"], None, ["Mike Wuerthele", "Malcolm Owen"]),
    (["Ilana Muhlstein", "MS", "RDN"], None, ["Ilana Muhlstein"]),
    (["Sandee LaMotte", "CNN"], "MSN", ["Sandee LaMotte", "CNN"]),
    (["Dpa"], None, ["dpa"]),
    (["afp", "REUTERS", "Associated Press"], None, ["AFP", "Reuters", "Associated Press"]),
    (["Doe, Jane"], None, ["Jane Doe"]),
    (["HNN Staff"], None, ["HNN Staff"]),  # a desk's byline, not a person with a job title: kept
    (["Staff writer"], None, ["Staff writer"]),  # ...and a lone job title is all there is
])
def test_normalise_authors(names, site, expected):
    assert normalise_authors(names, site) == expected


def test_last_first_split_by_a_parser_is_one_person_again():
    assert join_last_first(["Doe", "Jane"], ["Doe, Jane"]) == ["Jane Doe"]
    assert join_last_first(["Müller", "Hans", "Schmidt", "Anna"], ["Müller, Hans; Schmidt, Anna"]) == [
        "Hans Müller", "Anna Schmidt"]
    # two people, or a person and their outlet, are not one name
    assert join_last_first(["Victor Tangermann", "Futurism"], ["Victor Tangermann, Futurism"]) == [
        "Victor Tangermann", "Futurism"]
    assert join_last_first(["Jane Doe", "Reuters"], ["Jane Doe, Reuters"]) == ["Jane Doe", "Reuters"]
    assert join_last_first(["Doe", "Jane"]) == ["Doe", "Jane"]  # no raw value to say so


_P = "<p>" + "The council voted on Tuesday to build a new bridge over the river, ending a long debate. " * 4 + "</p>"


def test_clean_stage_normalises_page_title_and_authors():
    html = ('<html><head><title>Bridge vote splits the town | Valley Courier</title>'
            '<meta property="og:site_name" content="Valley Courier"><meta name="author" content="Doe, Jane">'
            f'</head><body><article><h1>Bridge vote splits the town</h1>{_P}</article></body></html>')
    article = to_clean_article({"html": html, "format": "html"})
    assert article["title"] == "Bridge vote splits the town"
    assert article["authors"] == ["Jane Doe"]
    # a JSON input's authors go through the same normaliser
    article = to_clean_article({"text": _P[3:-4], "title": "Bridge vote - Valley Courier",
                                "source": "Valley Courier", "authors": ["By dpa", "Valley Courier"]})
    assert article["title"] == "Bridge vote" and article["authors"] == ["dpa"]


@pytest.mark.parametrize("story", STORIES, ids=lambda s: s.lang)
def test_multilingual_titles_lose_the_site_suffix(story):
    for template in ("semantic", "divs", "flat"):
        article = to_clean_article({"html": page(story, template), "format": "html"})
        assert article["title"] == story.title  # the <title> is "<headline> | <site>"
        if template != "flat":
            assert article["authors"] == [story.author]
