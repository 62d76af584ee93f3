"""Texts the clean tests share: article paragraphs, a news page, a reader item."""
from __future__ import annotations


# A few real-looking article paragraphs (>= 20 words, sentence punctuation) to surround rules.
P1 = ("A strong earthquake struck the coastal city early on Tuesday, damaging dozens of buildings "
      "and cutting power to thousands of homes, officials said.")


P2 = ("Rescue teams worked through the night to search collapsed structures, and the mayor said "
      "schools would remain closed for the rest of the week while engineers inspect them.")


P3 = ("The national seismology institute measured the quake at magnitude 6.1, with its epicentre "
      "about 20 kilometres offshore at a depth of 10 kilometres below the seabed.")


P4 = ("Residents who spent the night outdoors said aftershocks continued until dawn, and several "
      "shops near the harbour stayed shut on Wednesday as owners cleared broken glass.")


BODY = [P1, P2, P3, P4]


def doc(*lines: str) -> str:
    return "\n".join(lines)


def paragraphs(text: str) -> list[str]:
    return text.split("\n\n") if text else []


ARTICLE_HTML = f"""<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">
<title>Quake hits coastal city | Example News</title>
<meta property="og:title" content="Quake hits coastal city">
<meta name="author" content="Jane Doe; John Roe">
<meta property="article:published_time" content="2023-10-17T08:30:00+02:00">
<link rel="canonical" href="https://www.example.com/world/quake-hits-city?utm_source=rss">
<meta property="og:site_name" content="Example News">
</head><body>
<nav><ul><li><a href="/">Home</a></li><li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li></ul></nav>
<main><article><h1>Quake hits coastal city</h1>
<p>{P1}</p><p>{P2}</p><p>{P3}</p><p>Share this article</p>
</article></main>
<footer><p>Sign up for our newsletter</p><p>© 2023 Example News. All rights reserved.</p>
<a href="/privacy">Privacy policy</a></footer></body></html>"""


def item(**fields) -> dict:
    base = {"input_uri": "file:///in/a.txt", "offset": 0, "format": "txt", "url": None, "title": None,
            "text": None, "html": None, "published_at": None, "authors": [], "source": None}
    base.update(fields)
    return base
