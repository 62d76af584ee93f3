"""Articles the dedup tests share: generated stories, edited copies, identified articles."""
import random

from pipeline.stages.identify import identify


WORDS = ("council river bridge budget mayor vote transit library grant design engineer station "
         "harbour school teacher parent market festival storm road police court judge report "
         "hospital doctor nurse patient farmer harvest price energy wind solar turbine cable").split()


def story(seed: int, n: int = 200) -> str:
    rnd = random.Random(seed)
    sentences = []
    for _ in range(n // 10):
        sentences.append(" ".join(rnd.choice(WORDS) for _ in range(10)).capitalize() + ".")
    return " ".join(sentences)


def edited(text: str, share: float, seed: int = 0) -> str:
    """Exactly round(share x words) substitutions at distinct random positions."""
    words = text.split()
    rnd = random.Random(seed)
    for i in rnd.sample(range(len(words)), round(share * len(words))):
        words[i] = "edited" + str(i)
    return " ".join(words)


def article(text: str, url=None, published_at=None, uri="in.txt", offset=0, fetched_at=None) -> dict:
    return identify({"url": url, "title": None, "text": text, "lang": "en", "source": None,
                     "published_at": published_at, "fetched_at": fetched_at, "authors": [],
                     "provenance": {"input_uri": uri, "offset": offset, "format": "txt"}})


OPTIONS = ["--runner=FnApiRunner"]
