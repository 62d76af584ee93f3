"""Schema evolution: an output written before optional fields were added still validates and reads.

``fixtures/v1.0.0`` was written by schema 1.0.0 writers before the duplicates' ``diff`` and the
newer optional provenance fields (date_source, update_of, warnings, entry_id, feed_url, entities)
existed, with a manifest from before quality checks (no ``quality`` key). Keep it as it is: it
stands for data consumers already hold.
"""
import copy
import shutil
from pathlib import Path

import jsonschema_rs

from pipeline.cli import main
from pipeline.io.sinks import arrow_schema
from pipeline.quality import runner
from pipeline.stages.validate import SCHEMA_FILES, load_schema, readable_versions

FIXTURE = Path(__file__).parent / "fixtures" / "v1.0.0"


def test_the_old_fixture_validates_with_every_check(tmp_path, capsys):
    out = tmp_path / "old"
    shutil.copytree(FIXTURE, out)
    assert "1.0.0" in readable_versions()
    assert main(["validate", str(out)]) == 0, capsys.readouterr()


def test_the_old_fixture_reads_in_the_current_schema_with_nulls_for_new_fields():
    part = next(p for p in runner.discover(str(FIXTURE)) if p.dataset == "duplicates")
    table = runner.read_partition(str(FIXTURE), part)
    assert "diff" in table.column_names and table.column("diff").null_count == table.num_rows
    assert set(arrow_schema("duplicates").names) <= set(table.column_names)


def test_adding_an_optional_field_is_backward_compatible():
    """A schema with one more optional field accepts every old row, and readers fill it with null."""
    schemas = {d: copy.deepcopy(load_schema(f)) for d, f in SCHEMA_FILES.items()}
    schemas["articles"]["$defs"]["fields"]["properties"]["sentiment"] = {"type": ["number", "null"]}
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in schemas.values()])
    for part in runner.discover(str(FIXTURE), ("articles", "duplicates")):
        table = runner.read_partition(str(FIXTURE), part)
        node, root = runner._dataset_node(part.dataset)
        validator = jsonschema_rs.validator_for(schemas[part.dataset], registry=registry)
        drop = [c for c in part.values if c not in node["properties"]]
        for row in table.drop_columns(drop).to_pylist():
            assert validator.is_valid(runner._json_row(row, node, root)), part.path
    import pyarrow as pa

    grown = arrow_schema("articles").append(pa.field("sentiment", pa.float64()))
    part = runner.discover(str(FIXTURE), ("articles",))[0]
    import pyarrow.parquet as pq

    old = pq.read_table(FIXTURE / part.files[0])
    assert runner.conform(old, grown).column("sentiment").null_count == old.num_rows


def test_making_a_field_required_would_break_the_old_fixture():
    """The check above can fail: a new *required* field is not backward compatible."""
    schemas = {d: copy.deepcopy(load_schema(f)) for d, f in SCHEMA_FILES.items()}
    fields = schemas["articles"]["$defs"]["fields"]
    fields["properties"]["sentiment"] = {"type": "number"}
    fields["required"] = fields["required"] + ["sentiment"]
    registry = jsonschema_rs.Registry([(s["$id"], s) for s in schemas.values()])
    validator = jsonschema_rs.validator_for(schemas["articles"], registry=registry)
    part = runner.discover(str(FIXTURE), ("articles",))[0]
    node, root = runner._dataset_node("articles")
    row = runner.read_partition(str(FIXTURE), part).drop_columns(["dt"]).to_pylist()[0]
    assert not validator.is_valid(runner._json_row(row, node, root))
