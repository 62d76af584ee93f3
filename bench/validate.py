"""Per-record validation benchmark: records/s of the validate stage's function.

Usage (from the repository root, virtualenv active)::

    python bench/validate.py [--n 20000] [--runs 5] [--json OUT] [--no-jsonschema]

Records: articles built with the pipeline's own ``identify`` (as the tests' ``make_article``),
with ~400-word texts, and duplicates of them (one in four): the shapes that reach the validate
stage. Two profiles (``PROFILES``): typical (5 entities, 8 mentions) and heavy (12, 30); nested
objects dominate the cost (each is converted and checked against ``additionalProperties``). Every tenth record is made invalid (a bad ``published_at``) so the
error path is measured in the mix too.

Reported, median of ``--runs`` (per wall second and per CPU second of the process: the machine
may be shared):

* ``validation_errors`` over the mix (the stage function without the Beam wrapper);
* valid records only, and invalid ones only (collecting errors costs more than ``is_valid``);
* the ``jsonschema`` library (Draft 2020-12, validator built once, format checks off) on a
  sample of the heavy profile, as the reference the ratio is taken against.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

WORDS = ("council bridge river mayor vote budget school harbour storm police court market "
         "station hospital election minister report festival museum library").split()


#: record shapes: (entities, mentions) per article. "typical" is about what the bundled examples
#: give (17 entity rows and 18 mentions over 5 articles, rounded up); "heavy" a long, name-dense story.
PROFILES = {"typical": (5, 8), "heavy": (12, 30)}


def make_records(n: int, n_entities: int = 5, n_mentions: int = 8) -> list[tuple[str, dict]]:
    from pipeline.stages.dedup import as_duplicate, identify

    records = []
    for i in range(n):
        text = " ".join(WORDS[(i + j * 7) % len(WORDS)] for j in range(400))
        entities = [{"text": f"Name {k}", "label": "PERSON" if k % 2 else "ORG", "canonical": f"Name {k}",
                     "count": 1 + k % 3, "first_offset": k * 10} for k in range(n_entities)]
        mentions = [{"start": k * 10, "end": k * 10 + 6, "text": f"Name {k % n_entities}",
                     "label": "PERSON" if k % 2 else "ORG", "canonical": f"Name {k % n_entities}"}
                    for k in range(n_mentions)]
        article = identify({
            "url": f"https://news{i % 50}.example.com/2024/03/{i}", "source": f"news{i % 50}.example.com",
            "site_name": "Example", "title": f"Story {i}", "text": text, "lang": "en",
            "published_at": "2024-03-12T18:30:00Z", "authors": ["A. Writer"],
            "provenance": {"input_uri": f"in/{i}.html", "offset": 0, "format": "html",
                           "clean": {"removed": {"share": 2}}, "lang_confidence": 0.99},
        })
        article = dict(article, entities=entities, mentions=mentions, story_id=article["id"])
        if i % 10 == 9:
            article["published_at"] = "last tuesday"
        if i % 4 == 3:
            dup = as_duplicate(dict(article, url=article["url"] + "?copy"), article["id"], "near", 0.9)
            records.append(("duplicates", dup))
        else:
            records.append(("articles", article))
    return records


def _time(fn, records) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for dataset, record in records:
        fn(record, dataset)
    return time.perf_counter() - wall, time.process_time() - cpu


def measure(fn, records, runs: int) -> dict:
    walls, cpus = [], []
    for _ in range(runs):
        w, c = _time(fn, records)
        walls.append(len(records) / w)
        cpus.append(len(records) / c if c > 0 else float("inf"))
    return {"records": len(records), "runs": runs, "per_wall_s": round(statistics.median(walls)),
            "per_cpu_s": round(statistics.median(cpus)), "all_wall": [round(x) for x in walls]}


def jsonschema_fn():
    import jsonschema
    from referencing import Registry, Resource

    from pipeline.stages.validate import SCHEMA_FILES, load_schema, public_view

    schemas = {d: load_schema(f) for d, f in SCHEMA_FILES.items()}
    registry = Registry().with_resources(
        [(s["$id"], Resource.from_contents(s)) for s in schemas.values()])
    validators = {d: jsonschema.Draft202012Validator(s, registry=registry) for d, s in schemas.items()}

    def errors(record, dataset):
        return sorted(e.message for e in validators[dataset].iter_errors(public_view(record)))
    return errors


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=20000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--jsonschema-n", type=int, default=2000)
    parser.add_argument("--no-jsonschema", action="store_true")
    parser.add_argument("--json", default=None)
    args = parser.parse_args(argv)

    from pipeline.stages.validate import validation_errors
    from importlib import metadata

    out = {"machine": {"python": platform.python_version(), "cores": os.cpu_count(),
                       "jsonschema_rs": metadata.version("jsonschema-rs"), "loadavg": os.getloadavg()}}
    for profile, (n_entities, n_mentions) in PROFILES.items():
        records = make_records(args.n, n_entities, n_mentions)
        validation_errors(records[0][1], records[0][0])  # compile outside the timing
        invalid = sum(1 for d, r in records if validation_errors(r, d))
        out[profile] = {
            "entities": n_entities, "mentions": n_mentions,
            "mix": {"invalid_share": round(invalid / len(records), 3),
                    **measure(validation_errors, records, args.runs)},
            "valid_only": measure(validation_errors, [x for x in records if not validation_errors(x[1], x[0])],
                                  args.runs),
            "invalid_only": measure(validation_errors, [x for x in records if validation_errors(x[1], x[0])],
                                    args.runs),
        }
    if not args.no_jsonschema:
        fn = jsonschema_fn()
        sample = make_records(args.jsonschema_n, *PROFILES["heavy"])
        assert [bool(fn(r, d)) for d, r in sample] == [bool(validation_errors(r, d)) for d, r in sample], \
            "jsonschema and jsonschema-rs disagree on validity"
        out["jsonschema"] = measure(fn, sample, max(1, min(args.runs, 3)))
        out["ratio_vs_jsonschema"] = round(out["heavy"]["mix"]["per_cpu_s"] / out["jsonschema"]["per_cpu_s"], 1)
    print(json.dumps(out, indent=2))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(out, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
