"""--config FILE.toml: flags from a file, the command line over the file over the defaults."""
import pytest

from pipeline import config
from pipeline.cli import _run_parser, _every_option_parser


@pytest.fixture(scope="module")
def parser():
    return _every_option_parser()


def flags(parser, text, cli=(), tmp=None):
    return config.to_argv(__import__("tomllib").loads(text), parser, "c.toml", list(cli))


def test_values_become_flags(parser):
    argv = flags(parser, 'input = ["a/*", "b/*"]\nnear-threshold = 0.35\nformat = "both"\nrunner = "FnApiRunner"\n')
    assert argv == ["--input", "a/*", "--input", "b/*", "--near-threshold", "0.35", "--format", "both",
                    "--runner", "FnApiRunner"]


@pytest.mark.parametrize("text, expected", [("entities = false", ["--no-entities"]), ("entities = true", []),
                                            ("no-entities = true", ["--no-entities"]), ("no_entities = false", []),
                                            ("fetch-articles = true", ["--fetch-articles"]), ("quality = false", ["--no-quality"])])
def test_switches_by_either_name(parser, text, expected):
    assert flags(parser, text) == expected


def test_the_command_line_wins(parser):
    argv = flags(parser, 'input = ["a/*"]\nnear-threshold = 0.35\nentities = false', cli=["--input", "c/*", "--near-threshold=0.5"])
    assert argv == ["--no-entities"]


def test_parsed_precedence_end_to_end(parser):
    from pipeline.options import NewsbeamOptions

    file_argv = flags(parser, 'near-threshold = 0.35\nexcerpt-threshold = 0.7\n', cli=["--excerpt-threshold", "0.9"])
    options = NewsbeamOptions(file_argv + ["--excerpt-threshold", "0.9"])
    assert (options.near_threshold, options.excerpt_threshold, options.lsh_bands) == (0.35, 0.9, 24)


@pytest.mark.parametrize("text, message", [("near-treshold = 1", "did you mean 'near-threshold'"),
                                           ("entities = 'no'", "is a switch"),
                                           ("near-threshold = [1, 2]", "takes one value"),
                                           ("[section]\nx = 1", "is a table")])
def test_mistakes_say_what_to_do(parser, text, message):
    with pytest.raises(config.ConfigError, match=message):
        flags(parser, text)


def test_load_reports_bad_files(tmp_path):
    with pytest.raises(config.ConfigError, match="no such file"):
        config.load(str(tmp_path / "none.toml"))
    bad = tmp_path / "bad.toml"
    bad.write_text("x = [")
    with pytest.raises(config.ConfigError, match="not valid TOML"):
        config.load(str(bad))
    good = tmp_path / "good.toml"
    good.write_text("format = 'jsonl'\n")
    table, digest = config.load(str(good))
    assert table == {"format": "jsonl"} and len(digest) == 64


def test_every_run_flag_can_be_set_from_a_file(parser):
    """Each newsbeam flag in 'run --help' is a key the file understands."""
    names = [o[2:] for a in _run_parser()._actions for o in a.option_strings if o.startswith("--") and o != "--help"]
    lookup = config._lookup(parser)
    assert [n for n in names if n not in lookup and n not in ("config", "quiet", "verbose")] == []
