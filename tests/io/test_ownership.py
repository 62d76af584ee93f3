"""What newsbeam may write into: its own outputs, new or empty directories, and nothing else."""
import pytest

from pipeline.io import ownership


def newsbeam_output(root):
    """A directory laid out as a finished newsbeam run leaves it."""
    for rel in ("articles/dt=2024-03-12/lang=en/part-00000.parquet", "articles/dt=__HIVE_DEFAULT_PARTITION__/lang=und/part-00000.parquet",
                "duplicates/dt=2024-03-12/part-00000.parquet", "entities/dt=2024-03-12/part-00000.jsonl.gz",
                "rejects/dt=__HIVE_DEFAULT_PARTITION__/part-00000.jsonl.gz",
                "articles/dt=2024-03-12/lang=en/part-w20240312T180000-0123456789abcdef.parquet",
                "_quality/report.html", "_state/feeds.json", "_stream/inputs-abc.json", ".staging-12-x/articles/a",
                ".staging-12-x/.newsbeam-staging"):
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    (root / "_manifest.json").write_text('{"counts": {}, "schema_version": "1.0.0"}')
    return root


def test_new_empty_and_own_directories_are_accepted(tmp_path):
    assert ownership.foreign_path(str(tmp_path / "new")) is None
    (tmp_path / "empty").mkdir()
    assert ownership.foreign_path(str(tmp_path / "empty")) is None
    assert ownership.foreign_path(str(newsbeam_output(tmp_path / "out"))) is None


@pytest.mark.parametrize("stray", ["articles/mydata.csv", "articles/dt=2024-03-12/notes.txt", "articles/raw/a.html",
                                   "README.md", "articles/dt=2024-03-12/lang=en/extra/part-0.parquet"])
def test_anything_else_in_an_output_is_named(tmp_path, stray):
    out = newsbeam_output(tmp_path / "out")
    (out / stray).parent.mkdir(parents=True, exist_ok=True)
    (out / stray).write_text("mine")
    named = ownership.foreign_path(str(out))
    assert str(out / stray).startswith(named) and len(named) > len(str(out / "articles"))  # the first stray path
    with pytest.raises(ownership.NotOurs, match="did not write"):
        ownership.check_output(str(out))


@pytest.mark.parametrize("folder", [".staging-notes", ".staging-99999999-x", ".old-photos", ".old-articles"])
def test_a_folder_named_like_a_leftover_is_not_ours_by_its_name(tmp_path, folder):
    """Issue 23: on 34b91f7 any ``.old-*`` or ``.staging-*`` folder counted as a killed run's
    leftover (and was deleted); now only a staging folder holding newsbeam's marker, or an old
    dataset of newsbeam's data files only, is."""
    out = newsbeam_output(tmp_path / "out")
    (out / folder).mkdir()
    (out / folder / "keep.txt").write_text("mine")
    assert ownership.foreign_path(str(out)) == str(out / folder)


def test_a_folder_without_newsbeam_marks_is_not_ours_even_with_dataset_names(tmp_path):
    home = tmp_path / "home"
    (home / "articles").mkdir(parents=True)
    (home / "articles" / "part-0.parquet").write_bytes(b"x")  # someone else's Hive dataset
    assert ownership.foreign_path(str(home)) is not None
    (home / "_manifest.json").write_text('{"something": "else"}')  # another tool's manifest
    assert ownership.foreign_path(str(home)) is not None


def test_a_file_is_not_an_output_directory(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    with pytest.raises(ownership.NotOurs, match="is a file"):
        ownership.check_output(str(target))


def test_adopt_marks_and_abandon_undoes_only_what_it_made(tmp_path):
    out = tmp_path / "out"
    assert ownership.adopt(str(out)) is True
    assert ownership.foreign_path(str(out)) is None and (out / ownership.MARKER).exists()
    ownership.abandon(str(out), True)
    assert not out.exists()
    out.mkdir()
    (out / "keep").write_text("x")
    ownership.abandon(str(out), True)  # not empty: kept
    assert (out / "keep").exists()


@pytest.mark.parametrize("pattern, inside", [
    ("{out}/articles/*.html", True), ("{out}", True), ("{base}/**/*", True), ("{base}/*.txt", False),
    ("{base}/other/*", False), ("gs://bucket/x/*", False)])
def test_inputs_inside_the_output_are_refused(tmp_path, pattern, inside):
    out = tmp_path / "out"
    pattern = pattern.format(out=out, base=tmp_path)
    if inside:
        with pytest.raises(ownership.NotOurs, match="inside --output"):
            ownership.check_inputs_outside(str(out), [pattern])
    else:
        ownership.check_inputs_outside(str(out), [pattern])
