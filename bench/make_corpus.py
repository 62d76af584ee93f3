"""Near-duplicate benchmark corpus with known truth, built from the extraction benchmark's bodies.

Usage (from the repository root, virtualenv active)::

    python bench/make_corpus.py --n 20000 --out DIR [--seed 1]
                                [--corpus ../shared/corpus/extraction-benchmark]
                                [--html-fraction F] [--date-span-days D]

``--corpus`` holds ``ground-truth.json`` = ``{page_id: {"articleBody", "url"}}`` (only the bodies
and URLs are used; with ``--html-fraction`` also the pages ``html/<page_id>.html.gz``).  ``DIR`` receives:

* ``articles.jsonl``: ``url``, ``title``, ``text``, ``published`` (ISO 8601 UTC), ``source``
  (what ``pipeline.io.sources`` reads from a JSON article), in a seeded random order;
* ``truth.jsonl``: one line per article: ``id`` (newsbeam's id: hash of the URL), ``url``,
  ``kind``, ``group``, ``family`` (URL of the original a copy derives from; the original's own
  URL for an original; null for distinct articles), ``k`` (edit %), ``pct`` (excerpt %),
  ``chrome_words``;
* ``corpus.json``: the parameters and counts per kind.

Kinds (``group`` in brackets):

* ``original`` (original): each ground-truth body once, under its real URL;
* ``exact`` (exact): the same text on another site, half of them with a different layout
  (single newlines, straight quotes): same normalised text, so same content hash;
* ``edit_k`` (edit<=10 for k = 1..10, edit>=20 for k = 20, 25, 30): exactly round(k% x words)
  word operations at distinct random positions (60% substitution by another corpus word,
  20% deletion, 20% insertion).  The 20-30% edits are the hard cases, reported separately
  and not part of the acceptance;
* ``excerpt_P`` (excerpt>=50 / excerpt<50): a run of whole paragraphs (sentences when the body
  has fewer than three paragraphs) holding P% of the body's words, from the lead half the
  time, else from a random start;
* ``chrome`` (chrome): the full text with share rows, newsletter lines, "Read more" teasers
  (first sentences of *other* originals: cross-story overlap), credits and copyright lines
  prepended, appended and sometimes between paragraphs;
* ``distinct`` (distinct): synthetic articles from a word-bigram Markov chain trained on the
  English bodies (161 of 181; the other languages have too few bodies for a chain that does
  not copy them verbatim), with the paragraph lengths of a random English body: realistic vocabulary and common
  phrases, but no long verbatim runs.  Each is checked against every original (at most 20% of
  its 5-grams from one) and against all earlier synthetic articles (Jaccard of 1-in-8 sampled
  5-grams at most 0.15) and regenerated when it overlaps;
* ``mix`` (mix): hard negatives, "round-up" articles made of a run of sentences (15-80
  words) from one paragraph of each of 3-5 different bodies (never a lead paragraph, never
  one that an excerpt in the corpus uses, at most 30% of its body, at most half of the mix); two round-ups may share a paragraph, up to
  a 5-gram Jaccard of 0.15. Fewer than 2% of N when the bodies run out of such
  paragraphs (the rest are distinct articles).

Every copy has its own URL on another site, a title derived from the original's and a date
after the original's (a few minutes to three days; 5% of copies are dated before it).
Everything comes from ``random.Random(seed)`` and sorted inputs: the same arguments give
byte-identical files.

``--date-span-days D`` (default: none, five years from 2019-01-01: the files above byte for
byte): originals, round-ups and distinct articles are dated within D days instead (the same
random draws folded into the span, so the texts, kinds and order do not change, only the dates
and the URLs that carry them); copies keep their offsets (minutes to three days after the
original). A batch of news rather than an archive: about D + 3 day partitions instead of one
per day of five years (~930 for 600 articles).

``--html-fraction F`` (default 0: no pages; ``bench/perf.py`` uses 0.5): the corpus is built
exactly as above, then a seeded sample of ``round(F x N)`` articles (its own
``random.Random``, so the sample does not change the articles) is written as whole news pages
``html/NNNNN.html`` instead of lines of ``articles.jsonl``. Each page is a real page of the
extraction benchmark (``html/<id>.html.gz``; a seeded order of the usable ones, round robin)
with its article replaced: the outermost ``p``/``div``/``li``/``blockquote`` elements whose
whole text (>= 8 words) is part of that page's ground-truth ``articleBody`` are removed and the
generated article's paragraphs put in their place as ``<p>`` elements (where the first one
was); ``<title>`` ("title | site"), ``og:title`` and the first ``<h1>`` get the article's
title; the canonical link and ``og:url`` its URL (so newsbeam's id is unchanged);
``article:published_time`` (added when missing), the other date meta tags, ``<time datetime>``
and JSON-LD dates its date (JSON-LD ``headline``, ``articleBody`` and the story's ``url``
too). Everything else of the real page stays: head, scripts, styles, navigation, sidebars,
related links, footer; the page is written as UTF-8. A benchmark page is a template when at
least 3 such elements hold >= 80% of its body's words and at most 10% of its body's word
6-grams remain in its visible text without them (122 of the 181 pages). ``truth.jsonl`` then
also carries ``format`` ("html" or "jsonl"), ``file`` (the page's path relative to ``DIR``,
null for JSON lines) and ``template`` (the benchmark page id); ``corpus.json`` carries
``html_fraction``, ``html_pages`` and ``html_templates``. Checked on the perf corpus (3000
articles, 1500 pages, seed 1, 2026-12-06): trafilatura alone takes 16.1 CPU ms per generated page
(median) against 16.2 on the 181 real pages (the two interleaved); its output holds >= 80% of the
generated body's words on 1498 of 1500 pages (median 100%; the two others are short excerpts
where it picks a sidebar list instead), and words that are not the body's make 1.4% of it
(median; 15% at the 90th percentile: the real pages' captions, bylines, teasers). Originals keep
their real URLs, and a date in the URL path wins over the meta tags in trafilatura's metadata,
so their pages carry the real page's date (newsbeam then partitions them there).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
import zlib
from collections import defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Optional
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = REPO.parent / "shared" / "corpus" / "extraction-benchmark"

EDITS_SMALL = tuple(range(1, 11))
EDITS_HARD = (20, 25, 30)
#: one "family" of copies per original: kind -> how many (repeated round-robin over originals)
FAMILY = (["exact"] * 2 + [f"edit_{k}" for k in EDITS_SMALL] + [f"edit_{k}" for k in EDITS_HARD]
          + ["excerpt>=50"] * 3 + ["excerpt<50"] * 2 + ["chrome"] * 3)
COPY_FRACTION = 0.21  # copies / N  (the rest: originals, mixes, distinct articles)
MIX_FRACTION = 0.02

SITES = sorted("""
dailyledger-news.com morningpost-online.com thecitizen-herald.com metro-tribune.net
valleygazette.com harbourtimes.co.uk northernstar-news.com eveningrecord.com
thecapitalreview.com newswire-digest.com regionalobserver.org coastalchronicle.com
midlandsexpress.co.uk pacificbulletin.com the-daily-dispatch.com newsroundup.net
worldbriefing.info frontpage-aggregator.com headlinehub.net techandmarkets.com
sundaysentinel.com islandcourier.com prairiejournal.com rivercityreporter.com
lakeshoreledger.com theweeklyexaminer.com globalsyndicate-news.com summitmessenger.com
""".split())
AGENCIES = ("AP", "Reuters", "AFP", "Bloomberg", "Getty Images", "EPA")
NAMES = ("Maria Lopez", "John Smith", "Aisha Khan", "Lars Nilsen", "Chen Wei", "Ana Costa",
         "Tom Becker", "Priya Patel", "Olu Adeyemi", "Sara Berg")

_WORD = re.compile(r"\w+")
_SENT_SPLIT = re.compile(r"(?<=[.!?”\"])\s+(?=[A-Z“\"])")
_SENT_END = re.compile(r"[.!?][”\"’)]*$")


# --------------------------------------------------------------------------- helpers


def words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


def shingle_set(text: str, size: int = 5) -> set[str]:
    w = words(text)
    if len(w) < size:
        return {" ".join(w)} if w else set()
    return {" ".join(w[i:i + size]) for i in range(len(w) - size + 1)}


def sampled(sh: set[str], modulus: int = 8) -> set[int]:
    """Content-defined 1-in-``modulus`` sample of shingles (as small ints), for overlap checks."""
    hashes = (zlib.crc32(s.encode()) for s in sh)
    return {h for h in hashes if h % modulus == 0}


def paragraphs(body: str) -> list[str]:
    return [p.strip() for p in re.split(r"\n\s*\n", body) if p.strip()]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENT_SPLIT.split(text) if s.strip()]


def nwords(text: str) -> int:
    return len(_WORD.findall(text))


def title_of(body: str, max_words: int = 12) -> str:
    first = sentences(paragraphs(body)[0])[0] if body.strip() else "Untitled"
    toks = first.split()[:max_words]
    return " ".join(toks).rstrip(".,;:!?")


def slug(title: str) -> str:
    return "-".join(words(title)[:8]) or "story"


def iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def domain(url: str) -> str:
    host = urlsplit(url).netloc.lower()
    return host[4:] if host.startswith("www.") else host


def article_id(url: str) -> str:
    """newsbeam's id for an article with a URL (pipeline.stages.dedup.article_id)."""
    return hashlib.sha256(("url:" + url).encode("utf-8")).hexdigest()[:16]


_STOP = frozenset("the and of to in a is that for on with was said".split())


def is_english(text: str) -> bool:
    """Crude but dependency-free: English function words make >= 12% of the words."""
    w = words(text)
    return bool(w) and sum(t in _STOP for t in w) / len(w) >= 0.12


class Body:
    def __init__(self, page_id: str, url: str, text: str):
        self.page_id = page_id
        self.url = url
        self.text = text.strip()
        self.paras = paragraphs(self.text)
        self.words = nwords(self.text)
        self.title = title_of(self.text)
        self.shingles = shingle_set(self.text)
        # excerpt units: whole paragraphs, or sentences for bodies with fewer than 3 paragraphs
        self.units = self.paras if len(self.paras) >= 3 else sentences(self.text)
        self.unit_sep = "\n\n" if len(self.paras) >= 3 else " "


def load_bodies(corpus: Path) -> list[Body]:
    truth = json.loads((Path(corpus) / "ground-truth.json").read_text(encoding="utf-8"))
    bodies = [Body(pid, v["url"], v["articleBody"]) for pid, v in sorted(truth.items())
              if v.get("articleBody") and nwords(v["articleBody"]) >= 20]
    # two ground-truth pages with the same body would make "distinct" originals duplicates
    seen, out = set(), []
    for b in bodies:
        key = " ".join(words(b.text))
        if key not in seen:
            seen.add(key)
            out.append(b)
    return out


# --------------------------------------------------------------------------- mutations


def edit(body: Body, k: int, vocab: list[str], rnd: random.Random) -> str:
    """Exactly round(k% of words) operations at distinct positions; paragraph breaks kept."""
    paras = [p.split() for p in body.paras]
    positions = [(i, j) for i, p in enumerate(paras) for j in range(len(p))]
    n_ops = max(1, round(len(positions) * k / 100))
    chosen = rnd.sample(range(len(positions)), min(n_ops, len(positions)))
    ops: dict[tuple, str] = {}
    for idx in sorted(chosen):
        r = rnd.random()
        ops[positions[idx]] = "sub" if r < 0.6 else ("del" if r < 0.8 else "ins")
    out_paras = []
    for i, p in enumerate(paras):
        toks = []
        for j, tok in enumerate(p):
            op = ops.get((i, j))
            if op is None:
                toks.append(tok)
            elif op == "del":
                continue
            elif op == "ins":
                toks.extend([tok, rnd.choice(vocab)])
            else:
                m = re.match(r"^(\W*)(.*?)(\W*)$", tok)
                new = rnd.choice(vocab)
                while new.casefold() == m.group(2).casefold():
                    new = rnd.choice(vocab)
                toks.append(m.group(1) + new + m.group(3))
        if toks:
            out_paras.append(" ".join(toks))
    return "\n\n".join(out_paras)


def excerpt(body: Body, large: bool, rnd: random.Random) -> Optional[tuple[str, int, range]]:
    """A contiguous run of units with >= 50% (large) or < 50% of the body's words:
    (text, percentage of the body's words, the unit indices used)."""
    units = body.units
    counts = [nwords(u) for u in units]
    total = sum(counts)
    if len(units) < 2 or total < (40 if large else 100):
        return None
    lo, hi = (0.5, 0.9) if large else (0.15, 0.45)
    target = rnd.uniform(lo, hi)
    starts = list(range(len(units)))
    first = 0 if rnd.random() < 0.5 else rnd.choice(starts)
    for start in [first] + [s for s in starts if s != first]:
        got, end = 0, start
        while end < len(units) and got / total < target:
            got += counts[end]
            end += 1
        share = got / total
        if large and 0.5 <= share < 0.97:
            break
        if not large and got >= 20 and share < 0.5:
            if share >= 0.1:
                break
    else:
        return None
    text = body.unit_sep.join(units[start:end])
    return text, 100 * nwords(text) // total, range(start, end)


def chrome(body: Body, site: str, others: list[Body], rnd: random.Random) -> tuple[str, int]:
    name = site.split(".")[0].replace("-", " ").title()

    def teaser() -> str:
        other = rnd.choice(others)
        return rnd.choice(("Read more: ", "Related: ", "You may also like: ", "Most read: ")) + other.title

    lines_before = [
        lambda: rnd.choice(("Share this article", "Share on Facebook Share on Twitter Email",
                            "Facebook Twitter LinkedIn WhatsApp Email Print Copy link", "Share")),
        lambda: f"By {rnd.choice(NAMES)} | {name}",
        lambda: f"Photo: {rnd.choice(NAMES)}/{rnd.choice(AGENCIES)}",
        teaser,
    ]
    lines_after = [
        lambda: (f"Sign up for the {name} {rnd.choice(('Morning', 'Evening', 'Weekend', 'Daily'))} "
                 f"newsletter and get the top stories in your inbox."),
        lambda: f"© {rnd.randint(2019, 2024)} {name}. All rights reserved.",
        lambda: f"This article was originally published by {rnd.choice(AGENCIES)}.",
        lambda: rnd.choice(("Advertisement", "Comments", "Follow us on social media",
                            "Support independent journalism. Donate today.")),
        teaser, teaser,
    ]
    before = [rnd.choice(lines_before)() for _ in range(rnd.randint(1, 3))]
    after = [rnd.choice(lines_after)() for _ in range(rnd.randint(2, 5))]
    middle = list(body.paras)
    if len(middle) >= 4 and rnd.random() < 0.5:
        at = rnd.randint(1, len(middle) - 1)
        middle.insert(at, rnd.choice(("Advertisement", teaser())))
    text = "\n\n".join(before + middle + after)
    return text, nwords(text) - body.words


class Markov:
    """Word bigram chain over all bodies; paragraphs start at sentence starts, end at sentence ends."""

    def __init__(self, bodies: list[Body]):
        self.next: dict[str, list[str]] = defaultdict(list)
        self.starts: list[str] = []
        for b in bodies:
            for p in b.paras:
                toks = p.split()
                if not toks:
                    continue
                self.starts.append(toks[0])
                for a, c in zip(toks, toks[1:]):
                    self.next[a].append(c)
                    if _SENT_END.search(a) and c[:1].isupper():
                        self.starts.append(c)
        self.ends = frozenset(t for t in self.next if _SENT_END.search(t))

    def paragraph(self, n_words: int, rnd: random.Random) -> str:
        rand, starts, nxt, ends = rnd.random, self.starts, self.next, self.ends
        cur = starts[int(rand() * len(starts))]
        toks = [cur]
        cap = n_words * 1.25 + 5
        while True:
            if len(toks) >= n_words and cur in ends:
                break
            if len(toks) >= cap:
                toks[-1] = cur.rstrip(",;:") + "."
                break
            succ = nxt.get(cur) or starts
            cur = succ[int(rand() * len(succ))]
            toks.append(cur)
        return " ".join(toks)


class OverlapIndex:
    """Checks a new synthetic article against the originals (exact 5-gram containment) and
    against every earlier synthetic article (Jaccard of 1-in-8 sampled 5-grams)."""

    def __init__(self, bodies: list[Body]):
        self.orig: dict[str, list[int]] = defaultdict(list)
        for i, b in enumerate(bodies):
            for s in b.shingles:
                self.orig[s].append(i)
        self.synth: dict[int, list[int]] = defaultdict(list)
        self.sizes: list[int] = []
        self.full: dict[str, list[int]] = defaultdict(list)
        self.full_sizes: list[int] = []

    def overlaps(self, text: str, max_orig: float, max_jaccard: float, exact: bool = False) -> bool:
        """True when the text shares more than ``max_orig`` of its 5-grams with one original or
        has a Jaccard above ``max_jaccard`` with an earlier synthetic article (sampled 5-grams;
        ``exact``: also all 5-grams against the earlier ``exact`` ones); else remember it."""
        sh = shingle_set(text)
        if not sh:
            return True
        per: dict[int, int] = defaultdict(int)
        for s in sh:
            for i in self.orig.get(s, ()):
                per[i] += 1
        if any(c / len(sh) > max_orig for c in per.values()):
            return True
        smp = sampled(sh)
        per = defaultdict(int)
        for h in smp:
            for j in self.synth.get(h, ()):
                per[j] += 1
        if any(c / (len(smp) + self.sizes[j] - c) > max_jaccard for j, c in per.items()):
            return True
        if exact:
            per = defaultdict(int)
            for x in sh:
                for j in self.full.get(x, ()):
                    per[j] += 1
            if any(c / (len(sh) + self.full_sizes[j] - c) > max_jaccard for j, c in per.items()):
                return True
            for x in sh:
                self.full[x].append(len(self.full_sizes))
            self.full_sizes.append(len(sh))
        for h in smp:
            self.synth[h].append(len(self.sizes))
        self.sizes.append(len(smp))
        return False


def mix(bodies: list[Body], used: dict[int, set], rnd: random.Random) -> Optional[tuple[str, list[int]]]:
    """3-5 paragraphs from different bodies: never a lead paragraph, never one an excerpt
    of the corpus used (so no excerpt is also inside a mix), at most 30% of its body."""
    eligible = [i for i, b in enumerate(bodies) if len(b.paras) >= 4]
    if len(eligible) < 3:
        return None
    picks = rnd.sample(eligible, min(len(eligible), rnd.randint(3, 5)))
    parts = []
    for i in picks:
        b = bodies[i]
        free = [j for j in range(1, len(b.paras)) if j not in used.get(i, ())
                and nwords(b.paras[j]) >= 15]
        if not free:
            continue
        sents = sentences(b.paras[rnd.choice(free)])
        start = rnd.randrange(len(sents))
        run = []
        for sent in sents[start:]:
            run.append(sent)
            if nwords(" ".join(run)) >= rnd.randint(15, 80):
                break
        part = " ".join(run)
        if 15 <= nwords(part) <= 0.3 * b.words:
            parts.append(part)
    if len(parts) < 3:
        return None
    rnd.shuffle(parts)
    return "\n\n".join(parts), picks


# --------------------------------------------------------------------------- corpus


def build(bodies: list[Body], n: int, seed: int,
          date_span_days: Optional[int] = None) -> tuple[list[dict], list[dict], dict]:
    rnd = random.Random(seed)
    if len(bodies) < 3:
        raise SystemExit("need at least 3 ground-truth bodies")
    n_orig = min(len(bodies), n)
    originals = bodies[:n_orig]
    n_copies = min(n - n_orig, round(COPY_FRACTION * n))
    n_mix = min(n - n_orig - n_copies, round(MIX_FRACTION * n))
    n_distinct = n - n_orig - n_copies - n_mix

    vocab = sorted({t for b in bodies for t in _WORD.findall(b.text) if t.isalpha() and len(t) > 2})
    base = datetime(2019, 1, 1, tzinfo=timezone.utc)
    five_years = 5 * 365 * 24 * 60

    def a_date() -> datetime:
        # the same draw with or without a span (the random stream, so the texts, do not change);
        # a span folds it into its first D days
        minutes = rnd.randrange(0, five_years)
        if date_span_days:
            minutes %= date_span_days * 24 * 60
        return base + timedelta(minutes=minutes)

    orig_dates = [a_date() for _ in originals]

    articles: list[dict] = []
    truth: list[dict] = []
    used_urls: set[str] = set()
    used: dict[int, set] = defaultdict(set)  # paragraphs of a body that an excerpt used

    def new_url(site: str, title: str, when: datetime) -> str:
        while True:
            url = (f"https://www.{site}/{when:%Y/%m/%d}/{slug(title)}-"
                   f"{rnd.randrange(16 ** 6):06x}")
            if url not in used_urls:
                used_urls.add(url)
                return url

    def add(url, title, text, when, kind, group, family, **extra):
        articles.append({"url": url, "title": title, "text": text, "published": iso(when),
                         "source": domain(url)})
        t = {"id": article_id(url), "url": url, "kind": kind, "group": group, "family": family,
             "k": None, "pct": None, "chrome_words": None}
        t.update(extra)
        truth.append(t)

    for b, when in zip(originals, orig_dates):
        used_urls.add(b.url)
        add(b.url, b.title, b.text, when, "original", "original", b.url)

    # copies: the FAMILY schedule repeated, each slot on the next original (round robin)
    order = list(range(n_orig))
    rnd.shuffle(order)
    for slot in range(n_copies):
        kind = FAMILY[slot % len(FAMILY)]
        oi = order[slot % n_orig]
        for attempt in range(n_orig):
            b = originals[order[(slot + attempt) % n_orig]]
            when = orig_dates[order[(slot + attempt) % n_orig]]
            site = rnd.choice([s for s in SITES if s != domain(b.url)])
            if rnd.random() < 0.05:
                date = when - timedelta(minutes=rnd.randint(5, 600))
            else:
                date = when + timedelta(minutes=rnd.randint(10, 3 * 24 * 60))
            title = b.title if rnd.random() < 0.5 else f"{b.title} | {site.split('.')[0].title()}"
            if kind == "exact":
                text = b.text
                if rnd.random() < 0.5:
                    text = (text.replace("\n\n", "\n").replace("“", '"').replace("”", '"')
                            .replace("’", "'"))
                add(new_url(site, title, date), title, text, date, "exact", "exact", b.url)
            elif kind.startswith("edit_"):
                k = int(kind.split("_")[1])
                text = edit(b, k, vocab, rnd)
                group = "edit<=10" if k <= 10 else "edit>=20"
                add(new_url(site, title, date), title, text, date, kind, group, b.url, k=k)
            elif kind.startswith("excerpt"):
                got = excerpt(b, kind == "excerpt>=50", rnd)
                if got is None:
                    continue  # this body cannot give that excerpt: try the next original
                text, pct, units = got
                if b.units is b.paras:
                    used[order[(slot + attempt) % n_orig]].update(units)
                group = "excerpt>=50" if pct >= 50 else "excerpt<50"
                add(new_url(site, title, date), title, text, date, f"excerpt_{pct}", group, b.url,
                    pct=pct)
            else:
                others = [o for o in originals if o is not b]
                text, extra = chrome(b, site, others, rnd)
                add(new_url(site, title, date), title, text, date, "chrome", "chrome", b.url,
                    chrome_words=extra)
            break
        del oi

    index = OverlapIndex(bodies)
    made = attempts = 0
    while made < n_mix and attempts < 20 * n_mix:
        attempts += 1
        got = mix(bodies, used, rnd)
        if got is None:
            continue
        text, _picks = got
        if nwords(text) < 60 or index.overlaps(text, max_orig=0.5, max_jaccard=0.15, exact=True):
            continue
        when = a_date()
        title = title_of(text)
        add(new_url(rnd.choice(SITES), title, when), title, text, when, "mix", "mix", None)
        made += 1
    n_distinct += n_mix - made  # bodies too short for round-ups: distinct articles instead
    n_mix = made

    english = [b for b in bodies if is_english(b.text)] or bodies
    chain = Markov(english)
    made = attempts = 0
    while made < n_distinct:
        attempts += 1
        if attempts > 50 * n_distinct + 1000:
            raise SystemExit(f"only {made} of {n_distinct} distinct articles could be generated "
                             "without overlapping earlier ones: too few or too repetitive bodies")
        template = rnd.choice(english)
        text = "\n\n".join(chain.paragraph(max(8, nwords(p)), rnd) for p in template.paras)
        if index.overlaps(text, max_orig=0.2, max_jaccard=0.15):
            continue
        when = a_date()
        title = title_of(text)
        add(new_url(rnd.choice(SITES), title, when), title, text, when, "distinct", "distinct", None)
        made += 1

    perm = list(range(len(articles)))
    rnd.shuffle(perm)
    articles = [articles[i] for i in perm]
    truth = [truth[i] for i in perm]
    counts: dict[str, int] = defaultdict(int)
    for t in truth:
        counts[t["group"]] += 1
    meta = {"n": len(articles), "seed": seed, "originals": n_orig, "copies": n_copies,
            "mix": n_mix, "distinct": n_distinct, "groups": dict(sorted(counts.items()))}
    return articles, truth, meta


# --------------------------------------------------------------------------- HTML pages

HTML_SALT = 0x5EED_0F_4713  # the page sample and the template order: their own random stream
#: elements that can carry an article paragraph of a real page
_BLOCKS = frozenset(("p", "div", "li", "blockquote"))
MIN_PARA_WORDS = 8  # a real page's element is one of its article paragraphs from this many words
MIN_TEMPLATE_PARAS = 3  # fewer replaced paragraphs: the page is not used as a template
MIN_TEMPLATE_COVER = 0.8  # ... or they hold less of its body's words
MAX_TEMPLATE_LEFT = 0.1  # ... or more of its body's word 6-grams stay in the page without them
_SKIP_TEXT = ("script", "style", "head", "noscript", "template")
_DATE_META = re.compile(r"(publish|pubdate|date|created|modified|updated)", re.I)
_LD_DATES = frozenset(("datePublished", "dateCreated", "dateModified", "uploadDate"))
_SPACE = re.compile(r"\s+")


def site_name(host: str) -> str:
    return host.split(".")[0].replace("-", " ").title()


def _paras_of(text: str) -> list[str]:
    paras = paragraphs(text)
    if len(paras) == 1 and "\n" in paras[0]:  # "exact" copies with single newlines
        paras = [p.strip() for p in paras[0].split("\n") if p.strip()]
    return paras


def _squash(text: str) -> str:
    """Containment key: no whitespace at all (markup joins or splits words' spacing), casefolded."""
    return _SPACE.sub("", text).casefold()


def _decode(data: bytes) -> str:
    for encoding in ("utf-8", "cp1252"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def _parse(page: str):
    import lxml.html

    return lxml.html.document_fromstring(page)


def _article_elements(doc, body: str) -> list:
    """The outermost p/div/li/blockquote elements whose whole text (>= MIN_PARA_WORDS words) is
    part of the page's ground-truth body, in document order."""
    key = _squash(body)
    found = []

    def walk(el) -> None:
        for child in el:
            tag = child.tag if isinstance(child.tag, str) else None
            if tag in _SKIP_TEXT:
                continue
            if tag in _BLOCKS:
                text = child.text_content()
                if nwords(text) >= MIN_PARA_WORDS and _squash(text) in key:
                    found.append(child)
                    continue
            if tag is not None:
                walk(child)

    body_el = doc.find("body")
    walk(body_el if body_el is not None else doc)
    return found


def _visible_text(doc) -> str:
    parts = []

    def walk(el) -> None:
        if el.text:
            parts.append(el.text)
        for child in el:
            if isinstance(child.tag, str) and child.tag not in _SKIP_TEXT:
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(doc)
    return " ".join(parts)


def _grams(text: str, size: int = 6) -> set[str]:
    w = words(text)
    return {" ".join(w[i:i + size]) for i in range(len(w) - size + 1)}


def template_fit(page: str, body: str) -> tuple[int, float, float]:
    """``(paragraph elements found, share of the body's words in them, share of the body's
    word 6-grams still in the page's visible text once they are removed)``."""
    doc = _parse(page)
    found = _article_elements(doc, body)
    cover = sum(nwords(el.text_content()) for el in found) / max(1, nwords(body))
    for el in found:
        el.drop_tree()
    grams = _grams(body)
    left = len(grams & _grams(_visible_text(doc))) / max(1, len(grams))
    return len(found), cover, left


class Template:
    """A real benchmark page whose article paragraphs can be replaced."""

    def __init__(self, page_id: str, page: str, n_paras: int):
        self.page_id, self.page, self.n_paras = page_id, page, n_paras


def load_templates(corpus: Path) -> list[Template]:
    """The benchmark pages (sorted by id) that work as templates: >= MIN_TEMPLATE_PARAS
    paragraph elements holding >= MIN_TEMPLATE_COVER of the body's words, and at most
    MAX_TEMPLATE_LEFT of the body's 6-grams left in the page without them (bodies in markup that
    is not p/div/li/blockquote, or repeated elsewhere on the page, would stay in the output)."""
    import gzip

    truth = json.loads((Path(corpus) / "ground-truth.json").read_text(encoding="utf-8"))
    out = []
    for page_id, v in sorted(truth.items()):
        path = Path(corpus) / "html" / f"{page_id}.html.gz"
        if not v.get("articleBody") or not path.is_file():
            continue
        page = _decode(gzip.decompress(path.read_bytes()))
        try:
            n, cover, left = template_fit(page, v["articleBody"])
        except Exception:  # noqa: BLE001 - an unparsable page is no template
            continue
        if n >= MIN_TEMPLATE_PARAS and cover >= MIN_TEMPLATE_COVER and left <= MAX_TEMPLATE_LEFT:
            out.append(Template(page_id, page, n))
    return out


def _meta(doc, head, attr: str, name: str, content: str) -> None:
    """Set every ``<meta attr=name>`` of the page (the parser moves late ones into the body; add
    one to ``<head>`` when there is none)."""
    import lxml.html

    found = [m for m in doc.iter("meta") if (m.get(attr) or "").strip().lower() == name.lower()]
    for m in found:
        m.set("content", content)
    if not found:
        m = lxml.html.Element("meta")
        m.set(attr, name)
        m.set("content", content)
        head.append(m)


def _ld_rewrite(node, title: str, url: str, published: str, text: str):
    if isinstance(node, list):
        return [_ld_rewrite(x, title, url, published, text) for x in node]
    if not isinstance(node, dict):
        return node
    out = {}
    story = "headline" in node or "datePublished" in node or "articleBody" in node
    for k, v in node.items():
        if k in _LD_DATES and isinstance(v, str):
            out[k] = published
        elif k == "headline" and isinstance(v, str):
            out[k] = title
        elif k == "articleBody" and isinstance(v, str):
            out[k] = text
        elif story and k in ("url", "mainEntityOfPage") and isinstance(v, str):
            out[k] = url
        else:
            out[k] = _ld_rewrite(v, title, url, published, text)
    return out


def render_from_template(article: dict, template: Template, body: str) -> str:
    """The real page ``template`` with its article replaced by ``article``: its paragraph
    elements removed, the article's paragraphs as ``<p>`` where the first one was; title,
    og:title, the first ``<h1>``, canonical link, og:url, the publication dates (meta tags,
    ``<time datetime>``, JSON-LD) set to the article's; everything else of the page kept."""
    import lxml.html
    from lxml import etree

    url, title, published = article["url"], article["title"], article["published"]
    doc = _parse(template.page)
    old = _article_elements(doc, body)
    first = old[0]
    parent = first.getparent()
    at = parent.index(first)
    for i, text in enumerate(_paras_of(article["text"])):
        p = lxml.html.Element("p")
        p.text = text
        p.tail = "\n"
        parent.insert(at + i, p)
    for el in old:
        el.drop_tree()

    head = doc.find("head")
    if head is None:
        head = lxml.html.Element("head")
        doc.insert(0, head)
    for m in doc.iter("meta"):
        if m.get("charset") is not None:
            m.set("charset", "utf-8")
        elif (m.get("http-equiv") or "").lower() == "content-type":
            m.set("content", "text/html; charset=utf-8")
    title_el = doc.find(".//title")
    if title_el is None:
        title_el = lxml.html.Element("title")
        head.insert(0, title_el)
    title_el.text = f"{title} | {site_name(article['source'])}"
    for el in title_el:
        el.drop_tree()
    h1 = next(doc.iter("h1"), None)
    if h1 is not None:
        for child in list(h1):
            h1.remove(child)
        h1.text = title
    _meta(doc, head, "property", "og:title", title)
    _meta(doc, head, "property", "og:url", url)
    _meta(doc, head, "property", "article:published_time", published)
    for m in doc.iter("meta"):
        key = " ".join(m.get(a) or "" for a in ("name", "property", "itemprop"))
        if m.get("content") and _DATE_META.search(key):
            m.set("content", published)
    for t in doc.iter("time"):
        if t.get("datetime"):
            t.set("datetime", published)
    links = [link for link in doc.iter("link") if (link.get("rel") or "").lower() == "canonical"]
    for link in links:
        link.set("href", url)
    if not links:
        link = lxml.html.Element("link")
        link.set("rel", "canonical")
        link.set("href", url)
        head.append(link)
    for script in doc.iter("script"):
        if (script.get("type") or "").lower() == "application/ld+json" and script.text:
            try:
                data = json.loads(script.text)
            except ValueError:
                continue
            script.text = json.dumps(_ld_rewrite(data, title, url, published, article["text"]),
                                     ensure_ascii=False, sort_keys=False)
    return etree.tostring(doc.getroottree(), method="html", encoding="unicode", doctype="<!DOCTYPE html>") + "\n"


def split_html(articles: list[dict], truth: list[dict], fraction: float, seed: int,
               templates: list[Template], bodies: dict[str, str]) -> tuple[list[dict], list[tuple[str, str]], list[dict]]:
    """``round(fraction x N)`` articles (a seeded sample) as pages made from the real
    ``templates`` (a seeded order, round robin): ``(JSON-lines articles, [(relative path, page)],
    truth with format, file and template)``. Its own random stream."""
    if not templates:
        raise SystemExit("no benchmark page can serve as a template (html/*.html.gz with "
                         f">= {MIN_TEMPLATE_PARAS} paragraphs of its ground-truth body)")
    rnd = random.Random(seed * 1_000_003 + HTML_SALT)
    n_html = min(len(articles), max(0, round(fraction * len(articles))))
    chosen = set(rnd.sample(range(len(articles)), n_html))
    order = list(templates)
    rnd.shuffle(order)
    kept, pages, new_truth = [], [], []
    k = 0
    for i, (a, t) in enumerate(zip(articles, truth)):
        t = dict(t)
        if i in chosen:
            template = order[k % len(order)]
            k += 1
            rel_path = f"html/{i:05d}.html"
            pages.append((rel_path, render_from_template(a, template, bodies[template.page_id])))
            t.update(format="html", file=rel_path, template=template.page_id)
        else:
            kept.append(a)
            t.update(format="jsonl", file=None, template=None)
        new_truth.append(t)
    return kept, pages, new_truth


def write(out: Path, articles: list[dict], truth: list[dict], meta: dict) -> None:
    out.mkdir(parents=True, exist_ok=True)

    def dump(path: Path, rows: list[dict]) -> None:
        with open(path, "w", encoding="utf-8", newline="\n") as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False, sort_keys=True) + "\n")

    dump(out / "articles.jsonl", articles)
    dump(out / "truth.jsonl", truth)
    (out / "corpus.json").write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n", encoding="utf-8")


def write_pages(out: Path, pages: list[tuple[str, str]]) -> None:
    """The HTML pages; an ``html/`` left by an earlier build is replaced."""
    folder = out / "html"
    if folder.is_dir():
        for old in folder.glob("*.html"):
            old.unlink()
    folder.mkdir(parents=True, exist_ok=True)
    for rel, page in pages:
        with open(out / rel, "w", encoding="utf-8", newline="\n") as f:
            f.write(page)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="number of articles")
    ap.add_argument("--out", required=True, type=Path, help="output directory")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS,
                    help="directory with ground-truth.json")
    ap.add_argument("--html-fraction", type=float, default=0.0,
                    help="share of the articles written as whole HTML pages (html/*.html) instead of "
                         "lines of articles.jsonl (default 0: no pages)")
    ap.add_argument("--date-span-days", type=int, default=None,
                    help="originals (and mixes, distinct articles) dated within this many days "
                         "(default: five years); copies keep their offsets")
    args = ap.parse_args(argv)
    if not 0.0 <= args.html_fraction <= 1.0:
        ap.error("--html-fraction must be between 0 and 1")
    if args.date_span_days is not None and args.date_span_days < 1:
        ap.error("--date-span-days must be at least 1")
    bodies = load_bodies(args.corpus)
    articles, truth, meta = build(bodies, args.n, args.seed, args.date_span_days)
    if args.date_span_days:
        meta = dict(meta, date_span_days=args.date_span_days)
    if args.html_fraction > 0:
        templates = load_templates(args.corpus)
        real = {pid: v["articleBody"] for pid, v in json.loads(
            (Path(args.corpus) / "ground-truth.json").read_text(encoding="utf-8")).items()}
        articles, pages, truth = split_html(articles, truth, args.html_fraction, args.seed, templates, real)
        meta = dict(meta, html_fraction=args.html_fraction, html_pages=len(pages),
                    html_templates=len(templates))
        write_pages(args.out, pages)
    write(args.out, articles, truth, meta)
    print(json.dumps(meta, sort_keys=True), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
