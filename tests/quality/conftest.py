"""Small newsbeam outputs written with the pipeline's own writers (no Beam run: fast)."""
import json
import os
from collections import defaultdict

import pytest

from pipeline.io import sinks
from pipeline.records import make_reject
from pipeline.stages.dedup import as_duplicate
from tests.conftest import make_article


def write_output(root, datasets: dict, manifest: bool = True) -> str:
    """Write rows per dataset into Hive partitions, plus a manifest as 'newsbeam run' writes it."""
    root = str(root)
    for dataset, rows in datasets.items():
        groups = defaultdict(list)
        for row in rows:
            groups[sinks.partition_path(dataset, row)].append(row)
        for rel, group in groups.items():
            ordered = sinks.file_rows(dataset, group)
            if dataset == "rejects":
                sinks.write_bytes(os.path.join(root, rel, "part-00000.jsonl.gz"), sinks.jsonl_gz_bytes(ordered))
            else:
                sinks.write_bytes(os.path.join(root, rel, "part-00000.parquet"),
                                   sinks.parquet_bytes(dataset, ordered))
    for dataset in sinks.DATASETS:
        os.makedirs(os.path.join(root, dataset), exist_ok=True)
    if manifest:
        write_manifest(root)
    return root


def write_manifest(root, **extra) -> dict:
    counts, files = sinks.dataset_counts(root)
    row = {"inputs": counts["articles"] + counts["duplicates"] + counts["rejects"],
           "articles": counts["articles"], "duplicates": counts["duplicates"],
           "rejects": counts["rejects"], "skipped": 0}
    manifest = {"status": "ok", "counts": row, "datasets": {d: {"rows": counts[d]} for d in sinks.DATASETS},
                "skipped_by_reason": {}, "conservation": {"inputs": row["inputs"], "accounted": row["inputs"],
                                                          "holds": True},
                "files": files, "options": {}, "versions": {"python": "3.11"}, "schema_version": "1.0.0",
                **extra}
    sinks.write_manifest(root, manifest)
    return manifest


def sample_datasets() -> dict:
    """Two days, two languages, an exact copy, entities and a reject: every suite has rows."""
    a = make_article()
    b = make_article(url="https://news.example.fr/pont", lang="fr", published_at="2024-03-13T08:00:00Z",
                     text="Le conseil a voté pour le pont.\n\nLe maire a salué le vote.")
    copy = as_duplicate(make_article(url="https://copy.example.net/bridge"), a["id"], "exact", 1.0)
    copy["story_id"] = a["id"]
    entity = {"article_id": a["id"], "canonical": "Maria Lopez", "label": "PERSON", "count": 1,
              "first_offset": 0, "text": "Maria Lopez", "lang": "en", "source": "example.com", "dt": a["dt"]}
    reject = make_reject("read", "empty input file", b"", "in/empty.txt")
    return {"articles": [a, b], "duplicates": [copy], "entities": [entity], "rejects": [reject]}


@pytest.fixture
def output(tmp_path):
    return write_output(tmp_path / "out", sample_datasets())


def read_json(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)


#: names as long as real ones get: a regional paper's domain, a wide capitalised one, an agency
LONG_SOURCES = ["the-very-long-regional-daily-newspaper-and-gazette.example.co.uk",
                "WWW.MMMMMMMMMMWWWWWWWWWWMMMMMMMMMMWWWWWWWWWW.EXAMPLE", "short.example",
                "agence-de-presse-internationale-francophone.example.fr"]
LONG_ENTITIES = [("Organisation for Economic Co-operation and Development", "ORG"),
                 ("Wolfgang Amadeus Mozart-Württemberg von Hohenzollern-Sigmaringen", "PERSON"),
                 ("Maria Lopez", "PERSON")]


def many_days_datasets(days: int, start: str = "2024-01-01") -> dict:
    """``days`` consecutive days of articles (1-5 a day, some with no source), long source and
    entity names, duplicates and rejects with long reasons: what a long-running archive looks like."""
    import datetime as dt

    first = dt.date.fromisoformat(start)
    articles, duplicates, entities, rejects = [], [], [], []
    for d in range(days):
        day = (first + dt.timedelta(days=d)).isoformat()
        for k in range(1 + (d * 7) % 3):
            n = len(articles)
            source = None if n % 11 == 5 else LONG_SOURCES[(0, 0, 0, 1, 1, 2, 3)[n % 7]]
            a = make_article(url=f"https://news.example.com/{day}/{k}", source=source,
                             lang="fr" if n % 10 == 3 else "en", published_at=f"{day}T{8 + k:02d}:00:00Z",
                             text=f"Article {n} of the archive.\n\nThe council met on day {d}.")
            if source is None:
                a["source"] = None
            articles.append(a)
            if n % 9 == 0:
                canonical, label = LONG_ENTITIES[(n // 9) % len(LONG_ENTITIES)]
                entities.append({"article_id": a["id"], "canonical": canonical, "label": label, "count": 1,
                                 "first_offset": 0, "text": canonical, "lang": a["lang"],
                                 "source": a["source"], "dt": a["dt"]})
            if n % 13 == 0:
                copy = as_duplicate(make_article(url=f"https://copy.example.net/{day}/{k}",
                                                 published_at=a["published_at"], text=a["text"]),
                                    a["id"], "exact", 1.0)
                copy["story_id"] = a["id"]
                duplicates.append(copy)
    rejects.append(make_reject("read", "empty input file", b"", "in/empty.txt"))
    rejects.append(make_reject("validate", "does not match article.schema.json: /published_at: "
                               "'yesterday afternoon, shortly after the regional council meeting' is not a date-time",
                               b"{}", "in/bad.jsonl"))
    return {"articles": articles, "duplicates": duplicates, "entities": entities, "rejects": rejects}


@pytest.fixture(scope="module", params=[60, 365], ids=lambda n: f"{n}days")
def many_days_output(request, tmp_path_factory):
    """Written once per module (tests read it; the report they write is the same for the same run)."""
    return write_output(tmp_path_factory.mktemp(f"out{request.param}"), many_days_datasets(request.param))
