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
                sinks._write_bytes(os.path.join(root, rel, "part-00000.jsonl.gz"), sinks.jsonl_gz_bytes(ordered))
            else:
                sinks._write_bytes(os.path.join(root, rel, "part-00000.parquet"),
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
