"""Stories: pure functions, clustering, the Beam transforms, and the seeds.

Fixtures are written here: four short Port Alder stories that share the city, its mayor and its
council (different events), two rewrites of one of them, and four Putin-Xi stories that share
every famous name (different events). Their entities are what spaCy's small English model
finds in them (given as dicts, so only the seeds test needs spaCy).
"""
import math
import random
from pathlib import Path

import apache_beam as beam
import pytest
from apache_beam.metrics import MetricsFilter
from apache_beam.options.pipeline_options import PipelineOptions
from apache_beam.testing.util import assert_that, equal_to

from pipeline.stages import stories as S
from pipeline.stages.stories import transform as T
from pipeline.stages.dedup import canonical_rank, identify
from pipeline.stages.stories import (
    AssignStories,
    StoryConfig,
    DuplicateStories,
    StoryEdge,
    bucket_pairs,
    candidate_keys,
    capped,
    cluster,
    date_trusted,
    entity_overlap,
    entity_weights,
    frequency_list,
    resolve_stories,
    story_features,
    story_similarity,
    term_weights,
    verify_pair,
    with_story,
    within_window,
    words,
)

SEEDS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "seeds"
OPTIONS = ["--runner=FnApiRunner"]

# --------------------------------------------------------------------------- fixtures

PORT_ALDER = {
    "bridge": (
        "Port Alder council approves Kestrel Bridge replacement",
        "The Port Alder City Council voted 7-2 on Tuesday to replace the Kestrel Bridge, the rusting "
        "steel crossing over the Varne estuary that engineers closed to trucks last winter. Mayor Elena "
        "Vasquez said the new span, designed by the firm Halvorsen & Pike, would carry a cycle lane and "
        "two bus lanes. Construction is expected to begin in the spring and take three years. During the "
        "works a temporary ferry will run between the Quayside and Millbank piers every twenty minutes. "
        "Councillors who voted against the plan said its cost, largely paid by a state infrastructure "
        "grant, had doubled since the first estimate. Halvorsen & Pike said corrosion in the cables made "
        "repairs pointless.",
        [("Port Alder City Council", "ORG", 1), ("Kestrel Bridge", "ORG", 1), ("Varne", "PERSON", 1),
         ("Elena Vasquez", "PERSON", 1), ("Halvorsen & Pike", "ORG", 2), ("Quayside", "ORG", 1),
         ("Millbank", "PERSON", 1)]),
    "library": (
        "Mayor orders Wexley library closed after flood",
        "Mayor Elena Vasquez ordered the Wexley branch library in Port Alder closed indefinitely on Monday "
        "after floodwater from a burst water main soaked its basement archive. Staff and volunteers spent "
        "the weekend carrying rare maps and parish registers to a dry storeroom at the town hall. The City "
        "Council will meet next week to decide whether to repair the nineteenth-century building or move "
        "the collection to the new community centre. Librarian Tomasz Grell said about a tenth of the "
        "local history collection was damaged beyond repair, and insurers have been called in to assess "
        "the mould.",
        [("Elena Vasquez", "PERSON", 1), ("Wexley", "ORG", 1), ("Port Alder", "GPE", 1),
         ("City Council", "ORG", 1), ("Tomasz Grell", "PERSON", 1)]),
    "fire": (
        "Fire destroys grain silo at Port Alder harbour",
        "A fire tore through a grain silo at the Port Alder harbour terminal overnight, sending a column of "
        "black smoke over the Varne estuary. Fire chief Adaeze Okafor said forty firefighters fought the "
        "blaze for six hours and nobody was hurt. Investigators suspect a dust explosion in a conveyor "
        "belt. Mayor Elena Vasquez visited the site on Thursday and said shipping would resume once the "
        "harbour authority declared the quay safe. Two freighters waiting to load barley were diverted to "
        "a neighbouring port, and the City Council has asked for a report on safety inspections at the "
        "terminal.",
        [("Port Alder", "LOC", 1), ("Varne", "PERSON", 1), ("Adaeze Okafor", "PERSON", 1),
         ("Elena Vasquez", "PERSON", 1), ("City Council", "ORG", 1)]),
    "strike": (
        "Port Alder teachers strike over pay",
        "Teachers in Port Alder walked out on Wednesday, closing eleven schools, after talks over pay and "
        "class sizes collapsed. Union leader Marisol Brandt said salaries had fallen behind rents in the "
        "city for a decade. Mayor Elena Vasquez urged both sides to return to mediation and said the City "
        "Council could not raise the education budget without cutting other services. Parents organised "
        "makeshift classes in church halls, and the union said the strike would continue until the "
        "school board made a written offer.",
        [("Port Alder", "GPE", 1), ("Marisol Brandt", "PERSON", 1), ("Elena Vasquez", "PERSON", 1),
         ("City Council", "ORG", 1)]),
}

#: Rewrites of the bridge story: a paraphrase and a rewritten copy (almost no shared 5-grams).
BRIDGE_REWRITES = {
    "bridge_paraphrase": (
        "Kestrel Bridge to be rebuilt after council vote",
        "Port Alder's aging Kestrel Bridge will be torn down and rebuilt, councillors decided on Tuesday "
        "in a seven to two vote. The corroded steel bridge across the Varne estuary has been off limits to "
        "lorries since last winter. According to Mayor Elena Vasquez, the replacement drawn up by "
        "Halvorsen & Pike will include bus lanes and a bike path. Work should start in spring and last "
        "about three years, with a stopgap ferry linking Quayside and Millbank. Opponents on the council "
        "objected that the price tag, mostly covered by state infrastructure money, has doubled. The "
        "engineers said the cables were too corroded to repair.",
        [("Port Alder", "PERSON", 1), ("Kestrel Bridge", "PERSON", 1), ("Varne", "PERSON", 1),
         ("Elena Vasquez", "PERSON", 1), ("Halvorsen & Pike", "ORG", 1), ("Quayside", "ORG", 1),
         ("Millbank", "PERSON", 1)]),
    "bridge_rewrite": (
        "Councillors back new Kestrel crossing",
        "Councillors in Port Alder backed a plan on Tuesday to replace the Kestrel Bridge over the Varne "
        "estuary. The steel bridge, which has rust damage, was shut to heavy trucks last winter. Designers "
        "Halvorsen & Pike propose a new crossing with dedicated bus lanes and a cycle lane, Mayor Elena "
        "Vasquez said. Building work is due to start in spring. While the bridge is shut, a ferry will "
        "shuttle between the Millbank and Quayside piers. Two councillors voted no, citing a cost that "
        "has doubled, although a state grant pays most of it.",
        [("Port Alder", "GPE", 1), ("Varne", "PERSON", 1), ("Halvorsen & Pike", "ORG", 1),
         ("Elena Vasquez", "PERSON", 1), ("Millbank", "ORG", 1), ("Quayside", "ORG", 1)]),
}

#: Same people and places, different events: a Putin-Xi meeting is not every Putin-Xi meeting.
PUTIN_XI = {
    "forum": (
        "Putin arrives in Beijing for Belt and Road forum",
        "Russian President Vladimir Putin arrived in Beijing on Tuesday for a forum marking ten years of "
        "Chinese leader Xi Jinping's Belt and Road infrastructure initiative. Delegations from more than "
        "a hundred countries are attending. Putin is expected to praise the programme of loans for ports, "
        "railways and power plants, which critics say has saddled poorer nations with debt. The Kremlin "
        "said Putin and Xi would also discuss energy supplies and payments in yuan.",
        [("Russian", "NORP", 1), ("Vladimir Putin", "PERSON", 3), ("Beijing", "GPE", 1),
         ("Chinese", "NORP", 1), ("Xi Jinping", "PERSON", 2), ("Kremlin", "ORG", 1)]),
    "moscow": (
        "Xi visits Moscow as Kremlin weighs Ukraine peace proposal",
        "Chinese President Xi Jinping arrived in Moscow for a three-day state visit, his first trip abroad "
        "since securing a third term. Xi and Vladimir Putin dined in the Kremlin and discussed Beijing's "
        "twelve-point position paper on the war in Ukraine, which Western governments dismissed as "
        "vague. Russia said it welcomed the proposal. The two leaders signed agreements on a Power of "
        "Siberia 2 gas pipeline and on closer cooperation in the Arctic shipping route.",
        [("Chinese", "NORP", 1), ("Xi Jinping", "PERSON", 2), ("Moscow", "GPE", 1),
         ("Vladimir Putin", "PERSON", 1), ("Kremlin", "ORG", 1), ("Beijing", "GPE", 1), ("Ukraine", "GPE", 1),
         ("Western", "NORP", 1), ("Russia", "GPE", 1), ("Power of Siberia 2", "WORK_OF_ART", 1),
         ("Arctic", "LOC", 1)]),
    "call": (
        "Putin and Xi hold video call at year end",
        "Vladimir Putin and Xi Jinping held an hour-long video call on Friday, exchanging greetings before "
        "the new year. Putin invited Xi to visit Moscow in the spring and praised record trade between "
        "Russia and China. Xi said Beijing was ready to deepen military cooperation, according to the "
        "Chinese foreign ministry's readout. Neither leader mentioned the talks on a price cap for Russian "
        "oil imposed by Western nations.",
        [("Vladimir Putin", "PERSON", 2), ("Xi Jinping", "PERSON", 3), ("Moscow", "GPE", 1),
         ("Russia", "GPE", 1), ("China", "GPE", 1), ("Beijing", "GPE", 1), ("Chinese", "NORP", 1),
         ("Russian", "NORP", 1)]),
    "drills": (
        "Russian and Chinese warships begin joint drills",
        "Russian and Chinese navies began joint exercises in the East China Sea on Wednesday, with "
        "destroyers, a submarine and anti-ship missile firings planned over a week. The drills follow a "
        "pledge by Vladimir Putin and Xi Jinping to expand military ties. Japan's defence ministry said it "
        "was monitoring the ships closely. Beijing said the manoeuvres were not aimed at any third "
        "country.",
        [("Russian", "NORP", 1), ("Chinese", "NORP", 1), ("East China Sea", "LOC", 1),
         ("Vladimir Putin", "PERSON", 1), ("Xi Jinping", "PERSON", 1), ("Japan", "GPE", 1),
         ("defence ministry", "ORG", 1), ("Beijing", "GPE", 1)]),
}

ALL_FIXTURES = {**PORT_ALDER, **BRIDGE_REWRITES, **PUTIN_XI}
BRIDGE_STORY = ("bridge", "bridge_paraphrase", "bridge_rewrite")


def entities(spec):
    return [{"text": name, "label": label, "canonical": name, "count": count, "first_offset": 0}
            for name, label, count in spec]


def make(name: str, published_at=None, fmt: str = "jsonl", lang: str = "en") -> dict:
    """A canonical article as the stories stage receives it (identify sets id and word_count)."""
    title, text, ents = ALL_FIXTURES[name]
    article = identify({"url": f"https://news.example/{name}", "title": title, "text": text, "lang": lang,
                        "source": "news.example", "published_at": published_at, "authors": [],
                        "provenance": {"input_uri": f"in/{name}.json", "offset": 0, "format": fmt}})
    article["entities"] = entities(ents)
    return article


@pytest.fixture(scope="module")
def fixtures() -> dict:
    return {name: make(name) for name in ALL_FIXTURES}


# --------------------------------------------------------------------------- term weights


def test_words_are_casefolded_letters_without_numbers_or_possessives():
    assert words("Putin’s 2023 visit: U.S. officials' talks, G20 CAFÉ x") == [
        "putin", "visit", "officials", "talks", "café"]
    assert words(None) == [] and words("") == []


def test_rare_terms_outweigh_common_ones():
    w = term_weights("Putin said this week that Harbin and Gabuev matter. Putin said so again.",
                     title="Putin in Harbin", lang="en")
    assert w["gabuev"] >= w["harbin"] > w["putin"] > w.get("week", 0.0) >= w.get("said", 0.0)
    assert "the" not in w and "that" not in w and "this" not in w  # stopwords: zipf >= 6
    assert not any(ch.isdigit() for term in w for ch in term)
    assert math.isclose(math.sqrt(sum(v * v for v in w.values())), 1.0)


def test_language_without_frequency_list_falls_back_to_plain_term_frequency():
    assert frequency_list("und") is None and frequency_list("xx") is None and frequency_list(None) is None
    assert frequency_list("en-GB") is frequency_list("en") is not None
    w = term_weights("Kestrel kestrel bridge over the Varne estuary", lang="und")
    assert set(w) == {"kestrel", "bridge", "over", "varne", "estuary"}  # "the" is shorter than 4 letters
    assert w["kestrel"] > w["bridge"] == w["varne"]  # tf only


def test_no_single_term_dominates_the_vector():
    v = term_weights(" ".join(["gabuev"] * 20 + ["alliance", "beijing", "forum", "harbin", "kremlin"] * 10
                              + [f"filler{chr(97 + i % 26)}{chr(97 + i // 26)}" for i in range(40)]), lang="en")
    assert max(v.values()) <= S.MAX_TERM_SHARE + 1e-9
    assert math.isclose(math.sqrt(sum(x * x for x in v.values())), 1.0)
    rnd = random.Random(3)
    for _ in range(100):
        n = rnd.randint(1, 60)
        raw = S.normalise({f"w{i}": rnd.random() ** rnd.choice([1, 4, 10]) for i in range(n)})
        out = capped(raw, 0.2)
        order = sorted(raw, key=raw.get)
        assert all(out[a] <= out[b] + 1e-12 for a, b in zip(order, order[1:]))  # order kept
        if n * 0.04 >= 1:
            assert max(out.values()) <= 0.2 + 1e-9
            assert math.isclose(math.sqrt(sum(x * x for x in out.values())), 1.0)
        else:
            assert out == raw  # too short to cap


# --------------------------------------------------------------------------- entities and time


def test_entity_weights_follow_label_and_rarity():
    w = entity_weights(entities([("Harbin", "GPE", 1), ("China", "GPE", 1), ("Harbinese", "NORP", 1),
                                 ("Tuesday", "DATE", 1), ("Putin", "PERSON", 3)]), "en")
    assert "tuesday" not in w  # numeric and date labels do not identify a story
    assert w["harbin"] > w["china"]  # rarity
    assert w["harbin"] > w["harbinese"]  # nationalities weigh less
    assert w["putin"] > entity_weights(entities([("Putin", "PERSON", 1)]), "en")["putin"]  # count


def test_entity_overlap_credits_rare_names_more_than_famous_ones():
    famous = entity_weights(entities([("Vladimir Putin", "PERSON", 2), ("Xi Jinping", "PERSON", 2),
                                      ("Beijing", "GPE", 1), ("Russia", "GPE", 1)]), "en")
    rare = entity_weights(entities([("Alexander Gabuev", "PERSON", 2), ("Halvorsen & Pike", "ORG", 2),
                                    ("Harbin", "GPE", 1), ("Heilongjiang", "GPE", 1)]), "en")
    assert entity_overlap(famous, famous) < 0.6 < entity_overlap(rare, rare) <= 1.0
    assert entity_overlap(famous, rare) == 0.0
    assert S.cosine(S.normalise(famous), S.normalise(famous)) == pytest.approx(1.0)  # what the prior fixes


def test_time_window_blocks_only_dates_from_metadata():
    assert within_window(None, 10.0, 3.0) and within_window(1.0, 4.0, 3.0)
    assert not within_window(1.0, 4.5, 3.0)
    assert date_trusted({"provenance": {"format": "jsonl"}}) and date_trusted({"provenance": {"format": "html"}})
    assert not date_trusted({"provenance": {"format": "txt"}})  # a date found in the text of a page
    assert not date_trusted({"provenance": {"format": "html", "date_source": "text"}})
    assert date_trusted({"provenance": {"format": "txt", "date_source": "metadata"}})

    a, b = make("bridge", "2024-03-12T08:00:00Z"), make("bridge_paraphrase", "2024-03-22T08:00:00Z")
    assert verify_pair(a["id"], story_features(a), b["id"], story_features(b)) is None  # 10 days apart
    assert verify_pair(a["id"], story_features(a), b["id"], story_features(b), window_days=14) is not None
    near = make("bridge_paraphrase", "2024-03-13T20:00:00Z")
    assert verify_pair(a["id"], story_features(a), near["id"], story_features(near)) is not None
    undated = make("bridge_paraphrase")
    assert verify_pair(a["id"], story_features(a), undated["id"], story_features(undated)) is not None
    # the same dates found in plain-text pages do not block
    a_txt = make("bridge", "2024-03-12T08:00:00Z", "txt")
    b_txt = make("bridge_paraphrase", "2025-03-22T08:00:00Z", "txt")
    assert verify_pair(a_txt["id"], story_features(a_txt), b_txt["id"], story_features(b_txt)) is not None


# --------------------------------------------------------------------------- scores and clustering


def test_scores_keep_a_margin_around_the_threshold(fixtures):
    feats = {name: story_features(a) for name, a in fixtures.items()}
    names = sorted(feats)
    same = [story_similarity(feats[a], feats[b]).score
            for i, a in enumerate(names) for b in names[i + 1:] if a in BRIDGE_STORY and b in BRIDGE_STORY]
    different = [story_similarity(feats[a], feats[b]).score
                 for i, a in enumerate(names) for b in names[i + 1:]
                 if not (a in BRIDGE_STORY and b in BRIDGE_STORY)]
    assert len(same) == 3 and len(different) == 42
    assert min(same) >= S.DEFAULT_THRESHOLD + 0.1
    assert max(different) <= S.DEFAULT_THRESHOLD - 0.05
    # symmetric
    assert story_similarity(feats["bridge"], feats["fire"]) == story_similarity(feats["fire"], feats["bridge"])


def test_same_entities_different_events_get_different_stories(fixtures):
    story = cluster(fixtures.values())
    events = [fixtures[n]["id"] for n in ("bridge", "library", "fire", "strike", "forum", "moscow", "call", "drills")]
    assert len({story[i] for i in events}) == len(events)


def test_rewrites_of_one_event_share_the_story_of_its_canonical_member(fixtures):
    story = cluster(fixtures.values())
    members = [fixtures[n] for n in BRIDGE_STORY]
    canonical = min(members, key=canonical_rank)
    assert canonical["id"] == fixtures["bridge"]["id"]  # the most complete copy
    assert {story[a["id"]] for a in members} == {canonical["id"]}
    assert sum(1 for i, s in story.items() if s != i) == 2  # nothing else was merged


def test_clustering_does_not_depend_on_input_order(fixtures):
    articles = list(fixtures.values())
    expected = cluster(articles)
    rnd = random.Random(11)
    for _ in range(5):
        rnd.shuffle(articles)
        assert cluster(articles) == expected

    edges = [StoryEdge((1,), "a", None, (2,), "b", None, 0.6), StoryEdge((1,), "a", None, (3,), "c", None, 0.5),
             StoryEdge((2,), "b", None, (3,), "c", None, 0.9), StoryEdge((4,), "d", None, (5,), "e", None, 0.7)]
    resolved = resolve_stories(edges)
    for _ in range(10):
        rnd.shuffle(edges)
        assert resolve_stories(edges) == resolved
    assert resolved == {"a": ("a", 1.0), "b": ("a", 0.6), "c": ("a", 0.5), "d": ("d", 1.0), "e": ("d", 0.7)}


def test_a_chain_of_same_topic_pairs_does_not_glue_stories():
    # a~b and b~c, but c is not close to a: c does not join a's story through b
    edges = [StoryEdge((1,), "a", None, (2,), "b", None, 0.7), StoryEdge((2,), "b", None, (3,), "c", None, 0.7)]
    assert resolve_stories(edges) == {"a": ("a", 1.0), "b": ("a", 0.7)}
    # and c joins the most similar leader when it has a choice
    edges += [StoryEdge((0,), "z", None, (3,), "c", None, 0.5), StoryEdge((1,), "a", None, (3,), "c", None, 0.6)]
    assert resolve_stories(edges)["c"] == ("a", 0.6)


def test_a_story_never_spans_more_than_the_window():
    # an undated leader close to two dated articles ten days apart: only the first joins it
    edges = [StoryEdge((1,), "lead", None, (2,), "early", 100.0, 0.8),
             StoryEdge((1,), "lead", None, (3,), "late", 110.0, 0.7)]
    assert resolve_stories(edges, window_days=3.0) == {"lead": ("lead", 1.0), "early": ("lead", 0.8)}
    assert resolve_stories(edges, window_days=30.0)["late"] == ("lead", 0.7)


def test_candidates_come_from_rare_terms_and_oversized_buckets_are_dropped(fixtures):
    keys = candidate_keys(story_features(fixtures["bridge"]))
    assert len(keys) == S.TOP_TERMS and all(k.startswith("t:") for k in keys)
    assert "t:halvorsen" in keys and "t:said" not in keys and "t:the" not in keys
    assert bucket_pairs(["c", "a", "b", "a"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    assert bucket_pairs(["a", "b", "c"], max_bucket=2) == []
    assert bucket_pairs(["a"]) == []
    # with every bucket over the cap nothing is compared, so nothing is merged
    story = cluster(fixtures.values(), max_bucket=2)
    assert all(s == i for i, s in story.items())


def test_with_story_repoints_a_duplicate():
    dup = {"id": "d", "duplicate_of": "m", "story_id": "m"}
    assert with_story(dup, "lead") == {"id": "d", "duplicate_of": "m", "story_id": "lead"}
    assert with_story(dup, None) is dup and with_story(dup, "m") is dup


# --------------------------------------------------------------------------- Beam


def _counters(result) -> dict:
    found = result.metrics().query(MetricsFilter().with_namespace(S.STAGE))["counters"]
    return {c.key.metric.name: c.committed for c in found}


def test_assign_stories_beam(fixtures):
    articles = list(fixtures.values())
    expected = cluster(articles)
    p = beam.Pipeline(options=PipelineOptions(OPTIONS))
    out, story_of, _rejects = p | beam.Create(articles) | AssignStories()
    assert_that(out | "View" >> beam.Map(lambda a: (a["id"], a["story_id"], a["provenance"]["decisions"][-1])),
                equal_to([(i, s, f"story:{s}") for i, s in expected.items()]), label="articles")
    assert_that(story_of, equal_to(list(expected.items())), label="story_of")
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["stories"] == 8 and counters["multi_article_stories"] == 1
    assert counters["edges"] == 3 and counters["candidates"] >= 3
    assert counters.get("oversized_buckets", 0) == 0


def test_assign_stories_beam_counts_oversized_buckets_and_keeps_every_article(fixtures):
    articles = list(fixtures.values())
    p = beam.Pipeline(options=PipelineOptions(OPTIONS))
    out, _story_of, _rejects = p | beam.Create(articles) | AssignStories(
        StoryConfig(max_bucket=2, threshold=0.5, window_days=1.0))
    assert_that(out | beam.Map(lambda a: a["id"] == a["story_id"]), equal_to([True] * len(articles)))
    result = p.run()
    result.wait_until_finish()
    counters = _counters(result)
    assert counters["oversized_buckets"] > 0 and counters["stories"] == len(articles)


def test_assign_stories_beam_single_article_and_bad_options(fixtures):
    with pytest.raises(ValueError):
        StoryConfig(threshold=0)
    with pytest.raises(ValueError):
        StoryConfig(window_days=-1)
    with beam.Pipeline(options=PipelineOptions(OPTIONS)) as p:
        out, story_of, _rejects = p | beam.Create([fixtures["fire"]]) | AssignStories()
        assert_that(out | beam.Map(lambda a: a["story_id"]), equal_to([fixtures["fire"]["id"]]), label="one")
        assert_that(story_of, equal_to([(fixtures["fire"]["id"],) * 2]), label="pairs")


def test_duplicate_stories_beam():
    duplicates = [{"id": "d1", "duplicate_of": "m", "story_id": "m"},
                  {"id": "d2", "duplicate_of": "lead", "story_id": "lead"},
                  {"id": "d3", "duplicate_of": "gone", "story_id": "gone"}]
    with beam.Pipeline(options=PipelineOptions(OPTIONS)) as p:
        dups = p | "Dups" >> beam.Create(duplicates)
        story_of = p | "StoryOf" >> beam.Create([("m", "lead"), ("lead", "lead"), ("x", "x")])
        out = (dups, story_of) | DuplicateStories()
        assert_that(out | beam.Map(lambda d: (d["id"], d["story_id"])),
                    equal_to([("d1", "lead"), ("d2", "lead"), ("d3", "gone")]))


# --------------------------------------------------------------------------- seeds


def _seed_articles() -> dict:
    """The seeds through clean -> language -> identify -> entities, in plain Python."""
    from pipeline.io.sources import read_file
    from pipeline.stages.clean import to_clean_article
    from pipeline.stages.entities import EntityExtractor, ModelNotInstalled, summarise
    from pipeline.stages.language import add_language

    try:
        extractor = EntityExtractor()
        extractor.nlp
    except ModelNotInstalled as exc:  # pragma: no cover - the model is a project dependency
        pytest.skip(str(exc))
    out = {}
    for path in sorted(SEEDS.glob("*.txt")):
        for item in read_file(str(path), path.read_bytes()):
            article = identify(add_language(to_clean_article(item)))
            article["entities"] = summarise(extractor.extract(article["text"]))
            out[path.name[:3]] = article
    return out


@pytest.mark.skipif(not SEEDS.exists(), reason="../shared/corpus/seeds not present")
def test_seeds_story_grouping():
    seeds = _seed_articles()
    assert sorted(seeds) == ["000", "001", "002", "003", "004"]
    # dates as the seeds carry them: found in the text (000, 002: the story's date; 003: its
    # scrape date), so they do not block; 001 and 004 have none
    assert seeds["003"]["published_at"].startswith("2024-11-22") and not date_trusted(seeds["003"])

    # what reaches the stage: dedup keeps 002 and drops the excerpt 000
    canonical = [seeds[k] for k in ("001", "002", "003", "004")]
    story = cluster(canonical)
    assert story[seeds["001"]["id"]] == story[seeds["002"]["id"]] == story[seeds["003"]["id"]]
    assert story[seeds["002"]["id"]] == seeds["002"]["id"]  # the full wire story is canonical
    assert story[seeds["004"]["id"]] == seeds["004"]["id"]

    # the threshold has a margin on both sides
    feats = {k: story_features(a) for k, a in seeds.items()}
    same = [story_similarity(feats[a], feats[b]).score for a, b in (("001", "002"), ("001", "003"), ("002", "003"))]
    other = [story_similarity(feats["004"], feats[k]).score for k in ("000", "001", "002", "003")]
    assert min(same) >= S.DEFAULT_THRESHOLD + 0.05, same
    assert max(other) <= S.DEFAULT_THRESHOLD - 0.1, other

    # the excerpt, if it ever got here, would not pull 004 in either
    story = cluster(seeds.values())
    assert story[seeds["004"]["id"]] == seeds["004"]["id"]
    assert len({story[seeds[k]["id"]] for k in ("001", "002", "003")}) == 1


def test_features_survive_the_wire_exactly(fixtures):
    for article in fixtures.values():
        f = story_features(article)
        keys = S.candidate_keys(f)
        wire = T._to_wire(article["id"], f, keys)
        assert T._from_wire(wire) == f and list(T._from_wire(wire).terms) == list(f.terms)
        assert wire[1] == tuple(keys)
    empty = S.StoryFeatures((0, "", "", "", 0), {}, {}, None)
    assert T._from_wire(T._to_wire("x", empty, [])) == empty


def test_each_candidate_pair_is_owned_by_one_bucket():
    shared = frozenset({"t:ferry", "t:harbour", "t:oslo"})
    assert [k for k in sorted(shared) if S.owned_by(k, shared, 2)] == ["t:ferry"]
    assert not any(S.owned_by(k, frozenset({"t:ferry"}), 2) for k in ("t:ferry", "t:oslo"))
