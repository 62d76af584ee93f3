"""Streaming dedup with TestStream: first copy canonical, a late copy, TTL expiry."""
import random

import apache_beam as beam
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.testing.util import assert_that, equal_to
from apache_beam.transforms.window import TimestampedValue

from pipeline.stages.dedup.hashing import minhash, shingles
from pipeline.stages.dedup.streaming import (
    Entry,
    StreamingDedup,
    Verdict,
    best_match,
    combine_verdicts,
    estimated_jaccard,
    pack_signature,
    sketch,
)
from tests.conftest import make_article

WORDS = ("harbour ferry council vote budget storm road school market energy wind court judge police "
         "hospital library bridge station river farmer price solar cable port mayor grant").split()
HOUR = 3600
DAY = 24 * HOUR
T0 = 1_700_000_000


def story(seed, n=200):
    rnd = random.Random(seed)
    return " ".join(rnd.choice(WORDS) for _ in range(n)) + "."


def copy_of(text, edits=3, seed=0):
    words = text.split()
    rnd = random.Random(seed)
    for _ in range(edits):
        words[rnd.randrange(len(words))] = "changed"
    return " ".join(words)


def art(text, url):
    return make_article(url=url, text=text, published_at=None)


def test_two_bit_signatures_estimate_jaccard():
    a, b, c = story(1), copy_of(story(1), 4), story(2)
    sa, sb, sc = (pack_signature(minhash(shingles(t))) for t in (a, b, c))
    assert len(sa) == 32
    assert estimated_jaccard(sa, sa) == 1.0
    assert estimated_jaccard(sa, sb) > 0.75 and estimated_jaccard(sa, sc) < 0.3


def test_entry_round_trips_in_56_bytes():
    _key, buckets, entry = sketch(art(story(3), "https://a.example/1"))
    entry = entry._replace(micros=123)
    assert Entry.decode(entry.encode()) == entry and len(entry.encode()) == 56
    assert len(buckets) == 18 and len(buckets) * len(entry.encode()) <= 1024


def test_best_match_respects_the_horizon_and_prefers_exact():
    _k, _b, old = sketch(art(story(4), "https://a.example/1"))
    _k, _b, new = sketch(art(copy_of(story(4), 2), "https://b.example/1"))
    old, new = old._replace(micros=0), new._replace(micros=10)
    assert best_match(new, [old], horizon_micros=100, threshold=0.8).duplicate_of == old.article_id
    assert best_match(new, [old], horizon_micros=5, threshold=0.8).duplicate_of is None
    same = new._replace(content=old.content)
    assert best_match(same, [old], 100, 0.8).kind == "exact"
    assert combine_verdicts([Verdict(None, None, 0), Verdict("b", "near", 0.9), Verdict("a", "exact", 1.0)]) \
        == Verdict("a", "exact", 1.0)


def test_first_copy_wins_late_copy_is_caught_and_state_expires():
    original = art(story(10), "https://wire.example/a")
    copy = art(copy_of(story(10), 3, 1), "https://paper.example/a")
    late = art(copy_of(story(10), 3, 2), "https://late.example/a")
    after_ttl = art(copy_of(story(10), 3, 3), "https://later.example/a")
    # event time within the horizon of the original, but it arrives after the watermark passed
    # the original's TTL: the state is gone, so it cannot be matched (memory stays bounded)
    very_late = art(copy_of(story(10), 3, 4), "https://very-late.example/a")
    other = art(story(11), "https://wire.example/b")

    stream = (TestStream()
              .advance_watermark_to(T0)
              .add_elements([TimestampedValue(original, T0)])
              .add_elements([TimestampedValue(copy, T0 + HOUR), TimestampedValue(other, T0 + HOUR)])
              .advance_watermark_to(T0 + 3 * HOUR)
              .add_elements([TimestampedValue(late, T0 + 2 * HOUR)])  # behind the watermark: late
              .advance_watermark_to(T0 + 8 * DAY)  # past the 7-day horizon: the original is forgotten
              .add_elements([TimestampedValue(after_ttl, T0 + 8 * DAY + HOUR)])
              .add_elements([TimestampedValue(very_late, T0 + 3 * HOUR)])
              .advance_watermark_to(T0 + 9 * DAY))
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    p = TestPipeline(options=options)
    canonical, _rejects, dups = p | stream | StreamingDedup()
    assert_that(canonical | "CanonicalUrls" >> beam.Map(lambda a: a["url"]),
                equal_to([original["url"], other["url"], after_ttl["url"], very_late["url"]]), label="canonical")
    assert_that(dups | "DupPairs" >> beam.Map(lambda d: (d["url"], d["duplicate_of"], d["kind"])),
                equal_to([(copy["url"], original["id"], "near"), (late["url"], original["id"], "near")]),
                label="duplicates")
    p.run().wait_until_finish()
