"""Streaming output with TestStream: windows, a late record, a duplicate across windows, TTL."""
import datetime as dt
import json

import apache_beam as beam
import pyarrow.parquet as pq
from apache_beam.options.pipeline_options import PipelineOptions, StandardOptions
from apache_beam.testing.test_pipeline import TestPipeline
from apache_beam.testing.test_stream import TestStream
from apache_beam.transforms.window import FixedWindows, GlobalWindow, IntervalWindow, TimestampedValue

from pipeline.io.live_sinks import CountLive, WriteLive, live_counts, stream_counts, window_label
from pipeline.io.unbounded import event_time
from pipeline.stages.dedup.streaming import StreamingDedup, StreamingDedupConfig
from tests.conftest import make_article

HOUR = 3600
DAY = 24 * HOUR
T0 = 1_700_000_000  # 2023-11-14T22:13:20Z: its hour window starts at 22:00

STORY = ("The harbour authority approved a new ferry terminal on Monday after three years of planning, "
         "officials said, ending a long dispute with residents of the old port district. Construction of "
         "the terminal, which will serve two new electric ferries, is expected to begin in June and to take "
         "eighteen months, according to the authority's director, who spoke to reporters at the port.")
OTHER = ("City libraries will open on Sunday afternoons from next month, the culture office announced, "
         "after a survey of more than four thousand residents asked for longer opening hours. The pilot "
         "will run for a year before the council decides whether to keep it, at a cost in staff time.")
THIRD = ("The covered market on the main square reopened on Saturday after a renovation that replaced the "
         "leaking glass roof and added stalls for twenty local producers, and traders said the first day "
         "brought more customers than any weekend last year.")


def art(text, url):
    return make_article(url=url, text=text)


def files_of(root, dataset):
    return sorted(p.relative_to(root / dataset).as_posix() for p in (root / dataset).glob("**/*.parquet"))


def read(root, dataset):
    rows = []
    for path in sorted((root / dataset).glob("**/*.parquet")):
        label = path.name.split("-")[1]
        rows += [dict(r, _window=label) for r in pq.read_table(path).to_pylist()]
    return rows


def test_windows_a_late_record_and_a_duplicate_across_windows(tmp_path):
    original = art(STORY, "https://wire.example/ferry")
    other = art(OTHER, "https://wire.example/library")
    copy_later = art(STORY.replace("on Monday", "on Monday evening"), "https://paper.example/ferry")
    late = art(THIRD, "https://wire.example/market")
    stream = (TestStream()
              .advance_watermark_to(T0)
              .add_elements([TimestampedValue(original, T0)])
              .add_elements([TimestampedValue(other, T0 + HOUR)])
              .advance_watermark_to(T0 + 3 * HOUR)
              .add_elements([TimestampedValue(copy_later, T0 + 2 * HOUR + 60)])  # next windows: a duplicate
              .add_elements([TimestampedValue(late, T0 + 60)])  # behind the watermark: late, still written
              .advance_watermark_to(T0 + 4 * HOUR))
    options = PipelineOptions()
    options.view_as(StandardOptions).streaming = True
    with TestPipeline(options=options) as p:
        canonical, _rejects, dups = p | stream | StreamingDedup(StreamingDedupConfig(timers=True))
        for name, records in (("articles", canonical), ("duplicates", dups)):
            (records
             | f"Window{name}" >> beam.WindowInto(FixedWindows(HOUR), allowed_lateness=DAY)
             | f"Write{name}" >> WriteLive(name, str(tmp_path)))
    articles = {r["url"]: r["_window"] for r in read(tmp_path, "articles")}
    assert articles == {original["url"]: "w20231114T220000", other["url"]: "w20231114T230000",
                        late["url"]: "w20231114T220000"}
    [dup] = read(tmp_path, "duplicates")
    assert dup["url"] == copy_later["url"] and dup["duplicate_of"] == original["id"] and dup["kind"] == "near"
    assert dup["_window"] == "w20231115T000000"
    # the late article landed in its own file (written when it arrived), in its window's name
    names = files_of(tmp_path, "articles")
    assert len(names) == 3 and all("/part-w2023111" in n for n in names)


def test_a_retried_bundle_overwrites_its_file_and_counts_add_up(tmp_path):
    records = [art(STORY, "https://wire.example/ferry"), art(OTHER, "https://wire.example/library")]
    for _attempt in range(2):  # the same bundle written twice (a retry) gives the same file names
        with TestPipeline() as p:
            items = p | beam.Create(records)
            items | WriteLive("articles", str(tmp_path))
            items | CountLive("inputs", str(tmp_path))
    assert len(files_of(tmp_path, "articles")) == 1
    row, counts, _skipped, files = live_counts(str(tmp_path))
    assert row["inputs"] == 2 and counts["articles"] == 2 and files[0]["rows"] == 2
    assert stream_counts(str(tmp_path)) == {"inputs": {"inputs": 2}}


def test_window_labels():
    start = dt.datetime(2024, 3, 12, 18, tzinfo=dt.timezone.utc).timestamp()
    assert window_label(IntervalWindow(start, start + HOUR)) == "w20240312T180000"
    assert window_label(GlobalWindow()) == "wall"


def test_window_label_never_fails_on_a_window_beyond_datetime():
    """A window near MAX_TIMESTAMP (what FixedWindows made of an element stamped at the end of the
    global window) has no calendar date: it still gets a label, and the writer does not crash."""
    from apache_beam.transforms.window import GlobalWindow as GW
    from apache_beam.utils.timestamp import MAX_TIMESTAMP, MIN_TIMESTAMP

    end = GW().max_timestamp()
    far = IntervalWindow(end - HOUR, end)
    label = window_label(far)
    assert label.startswith("w") and "/" not in label and label != window_label(IntervalWindow(0, HOUR))
    assert window_label(IntervalWindow(MIN_TIMESTAMP, MIN_TIMESTAMP + HOUR)).startswith("w")
    assert window_label(IntervalWindow(MAX_TIMESTAMP - HOUR, MAX_TIMESTAMP)).startswith("w")


def test_event_time_is_the_publication_time_when_plausible():
    fetched = dt.datetime(2024, 3, 12, 18, 0, tzinfo=dt.timezone.utc)
    record = {"published_at": "2024-03-12T09:00:00Z", "fetched_at": "2024-03-12T18:00:00Z"}
    assert event_time(record, fetched, 600) == (dt.datetime(2024, 3, 12, 9, tzinfo=dt.timezone.utc), "published")
    # a few minutes in the future (clock skew): clamped to the fetch time
    skewed = dict(record, published_at="2024-03-12T18:05:00Z")
    assert event_time(skewed, fetched, 600) == (fetched, "published")
    # days in the future, or before 1990, or absent: the fetch time
    assert event_time(dict(record, published_at="2024-03-20T00:00:00Z"), fetched, 600)[1].startswith("fetched")
    assert event_time(dict(record, published_at="1970-01-01T00:00:00Z"), fetched, 600)[1] == "fetched"
    received = dt.datetime(2024, 3, 13, tzinfo=dt.timezone.utc)
    assert event_time({"published_at": None}, received, 600) == (received, "fetched")


def test_stream_counts_skip_a_file_being_replaced(tmp_path):
    (tmp_path / "_stream").mkdir()
    (tmp_path / "_stream" / "skipped-a.json").write_text(json.dumps({"kind": "skipped", "counts": {"x": 2}}))
    (tmp_path / "_stream" / "skipped-b.json").write_text("{not json")
    assert stream_counts(str(tmp_path)) == {"skipped": {"x": 2}}


def test_local_stream_segments_are_whole_poll_intervals():
    from pipeline.run.streaming import segment_bounds

    assert segment_bounds(100.0, None, 120, True, 300) == (100.0, 400.0, False)  # never polls early
    assert segment_bounds(100.0, 150.0, 120, True, 2) == (100.0, 150.0, True)
    assert segment_bounds(100.0, None, 120, False, 2) == (100.0, None, True)  # other runners: one job
    # folders only: whole --watch-interval scans; feeds and folders: whole feed polls
    assert segment_bounds(100.0, None, 120, True, watch_interval=7) == (100.0, 226.0, False)
    assert segment_bounds(100.0, None, 120, True, poll_interval=300, watch_interval=5) == (100.0, 400.0, False)
    assert segment_bounds(100.0, None, 120, True) == (100.0, 220.0, False)
