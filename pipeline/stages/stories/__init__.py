"""Stories: articles about the same event share a ``story_id``, even when reworded.

Near-duplicate dedup (:mod:`pipeline.stages.dedup`) finds copies by shared word 5-grams; a
paraphrase or a machine rewrite shares almost none (seeds: 003 shares under 5% with any copy),
so stories are found on *what* an article is about:

* **Term vector** (:func:`term_weights`): content words of the title and text, casefolded,
  numbers and stopwords dropped (stopwords = the language's most frequent words, zipf >= 6, so
  the rule is the same in every language wordfreq knows). Weight = (1 + ln tf) x rarity,
  rarity = ``max(0, 7 - zipf) ** 2`` from wordfreq's list for the article's ``lang``: "week" 2.1,
  "China" 3.6, "Putin" 8.2, "Harbin" 19, a word not in the list (a rare name) 49. No single
  word may hold more than 0.2 of the unit vector (:func:`capped`), so one shared quote or byline
  is not a story. Languages without a list: every word of 4+ letters weighs 1 (plain tf), and
  the ``unweighted_language`` counter says how often that happened.
* **Entity overlap** (:func:`entity_overlap`): the canonical names of ``entities``, weighted by
  label (PERSON/ORG/GPE/EVENT 1, FAC/LOC 0.8, PRODUCT/WORK_OF_ART/LAW 0.6, NORP 0.3), by count and
  by the rarity of the name; a cosine in which each article also has a private "background"
  component (:data:`ENTITY_BACKGROUND`), so sharing only famous names (Putin, Xi, Beijing) earns
  little while sharing rare ones (Gabuev, Halvorsen & Pike) earns a lot. Used only when both
  articles have at least :data:`MIN_ENTITIES` names.
* **Score** = ``(1 - ENTITY_SHARE) * cosine + ENTITY_SHARE * entity_overlap`` (cosine alone when
  entities are missing); an edge needs ``score >= threshold``.
* **Time**: two articles whose dates both come from metadata and lie more than ``window_days``
  apart are never one story. A date found in the *text* of a plain-text input does not count:
  it is as often a page banner or the scrape date as the story's date (seed 003 carries its
  scrape date, 13 months after the story); see :func:`date_trusted`. Unknown dates never block.

Measured (seeds through clean/language/identify/entities; the extraction benchmark's 181 pages
with 72 hand-labelled pairs; short fixtures of different events sharing every entity): the
default threshold 0.40 sits between the highest different-event score (0.30) and the lowest
rewrite/paraphrase score (0.49); see ``tests/stages/stories/test_similarity.py`` and the stage's report.

**Candidates** come from an inverted index, never from all pairs: each article emits its
``top_terms`` heaviest terms as keys; articles sharing at least ``min_shared`` keys are compared;
a bucket above ``max_bucket`` articles is a common word, not evidence, and is dropped (counted).

**Clustering** is leader clustering, not connected components: articles are visited in
:func:`~pipeline.stages.dedup.canonical_rank` order (most complete, earliest published,
smallest id); each joins the most similar *leader* it has an edge to (whose story it does not
stretch beyond the time window), else leads a new story. Every member is therefore close to its
story's canonical member, and a chain A~B~C of "same topic" pairs never glues A and C together
unless C is itself close to A. The result depends on the edges only, never on input order.
``story_id`` = the id of the leader, the story's canonical member.

Modules: :mod:`.terms` (word and entity weights), :mod:`.similarity` (features, score,
clustering), :mod:`.transform` (the Beam stage and its config).
"""
from pipeline.stages.stories.terms import (
    ENTITY_BACKGROUND,
    ENTITY_SHARE,
    FALLBACK_MIN_LEN,
    LABEL_WEIGHTS,
    MAX_TERMS,
    MAX_TERM_SHARE,
    MAX_ZIPF,
    MIN_ENTITIES,
    MIN_WORD_LEN,
    RARITY_POWER,
    STOPWORD_ZIPF,
    TITLE_BOOST,
    UNKNOWN_ZIPF,
    base_language,
    capped,
    cosine,
    entity_overlap,
    entity_weights,
    frequency_list,
    is_stopword,
    name_rarity,
    normalise,
    rarity,
    term_counts,
    term_weights,
    words,
    zipf,
)
from pipeline.stages.stories.similarity import (
    DEFAULT_THRESHOLD,
    DEFAULT_WINDOW_DAYS,
    INDEX_TERMS,
    MAX_BUCKET,
    MIN_SHARED_KEYS,
    Scores,
    STORED_RANK,
    StoredLeaders,
    StoryEdge,
    StoryFeatures,
    TOP_TERMS,
    bucket_pairs,
    candidate_keys,
    cluster,
    date_days,
    date_trusted,
    index_row,
    resolve_stories,
    story_features,
    story_similarity,
    stored_edges,
    stored_leaders,
    verify_pair,
    within_window,
)
from pipeline.stages.stories.transform import (
    AssignFn,
    AssignStories,
    AssignedStories,
    DistinctUpTo,
    DuplicateStories,
    STAGE,
    Stories,
    StoryConfig,
    StoryIndex,
    leader_index_row,
    owned_by,
    with_story,
)

__all__ = [
    'ENTITY_BACKGROUND',
    'ENTITY_SHARE',
    'FALLBACK_MIN_LEN',
    'LABEL_WEIGHTS',
    'MAX_TERM_SHARE',
    'MAX_ZIPF',
    'MIN_ENTITIES',
    'MIN_WORD_LEN',
    'RARITY_POWER',
    'STOPWORD_ZIPF',
    'TITLE_BOOST',
    'UNKNOWN_ZIPF',
    'base_language',
    'capped',
    'cosine',
    'entity_overlap',
    'entity_weights',
    'frequency_list',
    'is_stopword',
    'name_rarity',
    'normalise',
    'rarity',
    'term_counts',
    'term_weights',
    'words',
    'zipf',
    'DEFAULT_THRESHOLD',
    'DEFAULT_WINDOW_DAYS',
    'INDEX_TERMS',
    'MAX_BUCKET',
    'MAX_TERMS',
    'MIN_SHARED_KEYS',
    'Scores',
    'STORED_RANK',
    'StoredLeaders',
    'StoryEdge',
    'StoryFeatures',
    'TOP_TERMS',
    'bucket_pairs',
    'candidate_keys',
    'cluster',
    'date_days',
    'date_trusted',
    'index_row',
    'resolve_stories',
    'story_features',
    'story_similarity',
    'stored_edges',
    'stored_leaders',
    'verify_pair',
    'within_window',
    'AssignFn',
    'AssignStories',
    'AssignedStories',
    'DistinctUpTo',
    'DuplicateStories',
    'STAGE',
    'Stories',
    'StoryConfig',
    'StoryIndex',
    'leader_index_row',
    'owned_by',
    'with_story',
]
