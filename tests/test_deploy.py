"""deploy/: the Dataflow flex template translates offline, its parameters mirror the CLI, and the
container and Kubernetes recipes agree with the code and versions the tests run.

The Dataflow tests use ``--dry_run`` (translation without credentials or network): the graph is
pickled into the portable proto exactly as for a real launch, so an unpicklable stage fails here.
"""
import argparse
import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import REPO

DEPLOY = REPO / "deploy"
EXAMPLES = REPO / "examples" / "articles"
IMAGE = "us-docker.pkg.dev/newsbeam-test/newsbeam/newsbeam:test"
DRY_RUN = ["--runner=DataflowRunner", "--project=newsbeam-test", "--region=us-central1",
           "--temp_location=gs://newsbeam-test/tmp", "--dry_run=True", "--no_auth"]

#: CLI options the template leaves out, and why (a new CLI option must land in one of the two)
NOT_IN_TEMPLATE = {
    "feeds": "the feed list and feed state are local files; on Dataflow use Pub/Sub",
    "state": "feed state (local files), see feeds",
    "fetch_articles": "feeds only",
    "field_map": "read by --input files only so far (the Pub/Sub and --watch readers do not take it yet)",
    "allow_private_hosts": "feeds only",
    "fetch_timeout": "feeds only",
    "host_delay": "feeds only",
    "feed_budget": "feeds only (--fetch-articles)",
    "poll_interval": "feeds and watched folders only",
    "watch": "watches local folders",
    "watch_interval": "watched local folders only",
    "retry_now": "feeds only",
    "stop_after": "a Dataflow streaming job is drained or cancelled instead",
    "segment_seconds": "works around the local runner's memory growth; Dataflow keeps state in its backend",
    "segment_items": "works around the local runner holding a batch in memory; Dataflow spills to its shuffle",
    "quality": "the quality step runs after the job in the CLI, not in the template",
    "mode": "the table commit runs in the CLI after the job (a Beam commit step is not built yet, issue 20)",
}
#: Beam options a template parameter may set
BEAM_PARAMETERS = {"streaming"}


def _launch():
    spec = importlib.util.spec_from_file_location("newsbeam_dataflow_launch",
                                                  DEPLOY / "dataflow" / "launch.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _metadata() -> dict:
    return json.loads((DEPLOY / "dataflow" / "metadata.json").read_text())


def _cli_actions() -> dict[str, argparse.Action]:
    from pipeline.options import NewsbeamOptions

    parser = argparse.ArgumentParser()
    NewsbeamOptions._add_argparse_args(parser)
    return {a.dest: a for a in parser._actions if a.dest != "help"}


def _dry_run(monkeypatch, *args):
    """Translate the job as the flex-template launcher would, with the template image baked in."""
    monkeypatch.setenv("NEWSBEAM_WORKER_IMAGE", IMAGE)
    pipeline, options = _launch().build([*DRY_RUN, *args])
    result = pipeline.run()
    proto = pipeline.runner.proto_pipeline
    names = {t.unique_name.split("/")[0] for t in proto.components.transforms.values()}
    return result.job.proto, proto, names


def _staged(proto) -> list[str]:
    """Names of the files workers would download and pip-install at start-up."""
    from apache_beam.portability.api import beam_runner_api_pb2

    names = []
    for env in proto.components.environments.values():
        for dep in env.dependencies:
            payload = beam_runner_api_pb2.ArtifactStagingToRolePayload.FromString(dep.role_payload)
            names.append(payload.staged_name)
    return names


# --------------------------------------------------------------------------- Dataflow


def test_template_metadata_is_valid_dataflow_template_metadata():
    from google.cloud import dataflow_v1beta3 as dataflow

    text = (DEPLOY / "dataflow" / "metadata.json").read_text()
    meta = dataflow.TemplateMetadata.from_json(text)  # strict: an unknown field raises
    assert meta.name and meta.description and meta.streaming
    names = [p.name for p in meta.parameters]
    assert len(names) == len(set(names))
    for p in meta.parameters:
        assert p.label and p.help_text, f"{p.name}: label and helpText are required by the API"
        assert re.fullmatch(r"[a-z][a-z0-9_]*", p.name), p.name
        for rx in p.regexes:
            re.compile(rx)
        if p.default_value:
            assert all(re.search(rx, p.default_value) for rx in p.regexes), p.name
        if p.param_type == dataflow.ParameterType.ENUM:
            assert p.default_value in [o.value for o in p.enum_options]
    required = [p.name for p in meta.parameters if not p.is_optional]
    assert required == ["output"]


def test_template_parameters_mirror_the_cli():
    from pipeline.options import NewsbeamOptions

    actions = _cli_actions()
    params = {p["name"]: p for p in _metadata()["parameters"]}
    assert set(params) - BEAM_PARAMETERS <= set(actions), "a parameter that is no CLI option"
    missing = set(actions) - set(params) - set(NOT_IN_TEMPLATE)
    assert not missing, f"CLI options neither in metadata.json nor in NOT_IN_TEMPLATE: {missing}"
    assert not set(NOT_IN_TEMPLATE) & set(params)

    launch = _launch()
    for name, p in params.items():
        if name in BEAM_PARAMETERS:
            continue
        action = actions[name]
        if action.choices:
            assert sorted(o["value"] for o in p["enumOptions"]) == sorted(action.choices), name
        if "defaultValue" in p:  # the template's default is the CLI's default, after translation
            parsed = NewsbeamOptions(launch.translate([f"--{name}={p['defaultValue']}"]))
            assert getattr(parsed, name) == action.default, name


def test_template_parameters_reach_the_options_workers_get():
    from apache_beam.options.pipeline_options import StandardOptions
    from pipeline.options import NewsbeamOptions

    argv = _launch().translate(["--entities=false", "--near_threshold=0.55", "--format=both",
                                "--lsh_bands=12", "--streaming=true", "--input=gs://b/in/*",
                                "--output=gs://b/out", "--max_num_workers=5"])
    options = NewsbeamOptions(argv)
    assert (options.entities, options.near_threshold, options.format, options.lsh_bands) == \
        (False, 0.55, "both", 12)
    assert options.view_as(StandardOptions).streaming is True
    assert "--max_num_workers=5" in argv  # Beam/Dataflow options pass through untouched
    off = NewsbeamOptions(_launch().translate(["--entities=true", "--streaming=false", "--output=x"]))
    assert off.entities is True and not off.view_as(StandardOptions).streaming


def test_template_ner_model_takes_a_model_per_language():
    """One template parameter holds every model: the launcher gives the CLI one --ner-model each."""
    from pipeline.options import NewsbeamOptions

    value = "en=en_core_web_sm,fr=fr_core_news_sm"
    param = {p["name"]: p for p in _metadata()["parameters"]}["ner_model"]
    assert all(re.fullmatch(rx, value) for rx in param["regexes"])
    assert not any(re.fullmatch(rx, "fr=fr core") for rx in param["regexes"])
    options = NewsbeamOptions(_launch().translate([f"--ner_model={value}", "--output=x"]))
    assert options.ner_model == ["en=en_core_web_sm", "fr=fr_core_news_sm"]


def test_dataflow_batch_job_translates_offline(monkeypatch):
    job, proto, names = _dry_run(monkeypatch, f"--input={EXAMPLES}/*", "--output=gs://newsbeam-test/out")
    assert job.type_.name == "JOB_TYPE_BATCH"
    stages = {"Read", "Clean", "Language", "ExactDedup", "NearDedup", "Entities", "Stories",
              "ValidateArticles", "WriteArticles", "WriteDuplicates", "WriteEntities", "WriteRejects"}
    assert stages <= names, stages - names
    images = {env.payload for env in proto.components.environments.values()}
    assert all(IMAGE.encode() in payload for payload in images), "workers must run the template image"
    # newsbeam and the model are in the image: nothing to pip-install when a worker starts
    assert not [n for n in _staged(proto) if n.endswith((".whl", ".tar.gz", ".zip"))], _staged(proto)


def test_dataflow_streaming_job_translates_offline(monkeypatch, tmp_path):
    from pipeline import graph

    if "pubsub_subscription" in _cli_actions():
        source = ["--pubsub_subscription=projects/newsbeam-test/subscriptions/articles"]
    else:  # before Pub/Sub exists: the live-feed source
        feeds = tmp_path / "feeds.txt"
        feeds.write_text("https://news.example.com/feed.xml\n")
        source = [f"--feeds={feeds}"]
    job, _proto, names = _dry_run(monkeypatch, "--streaming=true", *source,
                                  "--output=gs://newsbeam-test/live", "--enable_streaming_engine")
    assert job.type_.name == "JOB_TYPE_STREAMING"
    assert {"Clean", "Language", "Identify", "WriteArticles"} <= names
    assert "Entities" in names  # entities on (the default) in the streaming graph too
    if hasattr(graph, "build_streaming"):  # the streaming graph, not the batch one in streaming mode
        assert "StreamingDedup" in names and "Stories" not in names


def test_launcher_refuses_local_paths_before_submitting():
    launch = _launch()
    for args, flag in ((["--output=/tmp/out"], "--output"),
                       (["--input=/data/in/*", "--output=gs://b/out"], "--input")):
        argv = ["--runner=DataflowRunner", "--project=p-1", "--region=us-central1", *args]
        with pytest.raises(SystemExit) as err:
            launch.build(argv)
        assert flag in str(err.value) and "gs://" in str(err.value)


# --------------------------------------------------------------------------- images and Kubernetes


def _dockerfiles() -> list[Path]:
    return sorted(DEPLOY.glob("*/Dockerfile"))


def test_dockerfiles_copy_files_that_exist_and_pin_the_tested_beam():
    import apache_beam

    assert {p.parent.name for p in _dockerfiles()} >= {"dataflow", "docker"}
    for dockerfile in _dockerfiles():
        text = dockerfile.read_text()
        for line in text.splitlines():
            parts = line.split()
            if parts[:1] == ["COPY"] and not any(p.startswith("--from") for p in parts):
                for src in parts[1:-1]:
                    assert (REPO / src).exists(), f"{dockerfile}: COPY {src} (build context is the repo root)"
        assert f"ARG BEAM_VERSION={apache_beam.__version__}" in text, dockerfile
        assert f"apache/beam_python{sys.version_info.major}.{sys.version_info.minor}_sdk:" in text, \
            f"{dockerfile}: workers must run the Python the pickles are made with"
        assert "--require-hashes -r requirements-model.txt" in text, "the NER model, by hash"


def test_flink_manifests_wire_job_server_sidecar_and_shared_volume():
    import apache_beam

    docs = [d for f in sorted((DEPLOY / "flink").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text())]
    by_kind = {d["kind"]: d for d in docs}
    flink = by_kind["FlinkDeployment"]
    tm = flink["spec"]["podTemplate"]["spec"]["containers"]
    sidecar = next(c for c in tm if c["name"] == "beam-worker-pool")
    assert sidecar["args"] == ["--worker_pool"] and sidecar["ports"][0]["containerPort"] == 50000

    server = by_kind["Deployment"]["spec"]["template"]["spec"]["containers"][0]
    flink_version = flink["spec"]["flinkVersion"].removeprefix("v").replace("_", ".")
    assert server["image"] == f"apache/beam_flink{flink_version}_job_server:{apache_beam.__version__}"
    assert f"--flink-master={flink['metadata']['name']}-rest:8081" in server["args"]
    assert flink["spec"]["image"].startswith(f"flink:{flink_version}")

    job = by_kind["Job"]["spec"]["template"]["spec"]["containers"][0]
    assert job["image"] == sidecar["image"], "submitter and SDK harness must be the same build"
    assert "--environment_type=EXTERNAL" in job["args"] and "--environment_config=localhost:50000" in job["args"]
    service = by_kind["Service"]
    assert f"--job_endpoint={service['metadata']['name']}:8099" in job["args"]
    # every newsbeam path lives on the one ReadWriteMany claim, mounted at /data everywhere
    claim = by_kind["PersistentVolumeClaim"]
    assert claim["spec"]["accessModes"] == ["ReadWriteMany"]
    for container in (sidecar, server, job):
        assert {"name": "data", "mountPath": "/data"} in container["volumeMounts"]
    assert all(a.split("=", 1)[1].startswith("/data/") for a in job["args"] if a.startswith(("--input", "--output")))
