"""Shared fixtures: records that satisfy the contracts, built by the tests themselves."""
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
SEEDS = SHARED / "corpus" / "seeds"

needs_seeds = pytest.mark.skipif(not SEEDS.exists(), reason="../shared/corpus/seeds not present")


def make_article(**overrides) -> dict:
    from pipeline.stages.dedup import identify

    base = {
        "url": "https://news.example.com/2024/03/12/bridge",
        "source": "example.com",
        "site_name": "Example News",
        "title": "Council approves bridge",
        "text": "The council voted on Tuesday to build a bridge.\n\nThe mayor welcomed the vote.",
        "lang": "en",
        "published_at": "2024-03-12T18:30:00Z",
        "authors": ["Maria Lopez"],
        "provenance": {"input_uri": "in/a.html", "offset": 0, "format": "html",
                       "clean": {"removed": {"share": 2}}, "lang_confidence": 0.99},
    }
    base.update(overrides)
    return identify(base)


@pytest.fixture
def article():
    return make_article()


def table_rows(out, dataset: str, as_of=None) -> list[dict]:
    """A batch output's table as JSON records (what its JSON Schema describes), read through the
    catalog (``tables.read_table``), without the partition columns the table adds (``lang`` of
    articles is kept: the records have it; ``dt`` of entities and rejects is dropped)."""
    from pipeline.output import tables
    from pipeline.schemas import arrow_schema, json_record

    table = tables.read_table(out, dataset, as_of=as_of)
    keep = set(arrow_schema(dataset).names) | {"lang"}
    return [json_record({k: v for k, v in row.items() if k in keep}, dataset) for row in table.to_pylist()]


def dataset_records(out, dataset: str) -> list[dict]:
    """A dataset of an output directory as JSON records (what its JSON Schema describes): through
    the tables of a batch output (``_catalog.db``), else read from its Parquet files with Hive
    partitioning, or from its .jsonl.gz files when there is no Parquet (``--format jsonl``)."""
    import gzip
    import json

    from pipeline.schemas import json_record

    out = Path(out)
    if (out / "_catalog.db").is_file():
        return table_rows(out, dataset)
    if list((out / dataset).glob("**/*.parquet")):
        import pyarrow.dataset as pads

        table = pads.dataset(out / dataset, format="parquet", partitioning="hive",
                             exclude_invalid_files=True).to_table()
        return [json_record(row, dataset) for row in table.to_pylist()]
    rows = []
    for path in sorted(out.glob(f"{dataset}/**/*.jsonl.gz")):
        with gzip.open(path) as f:
            rows += [json.loads(line) for line in f]
    return rows
