"""RSS/Atom feeds: feed documents, and live feeds polled over HTTP.

* ``parse``: a feed document -> one item per entry (for input files and live feeds alike);
* ``state``: what is remembered about each polled feed between runs (``feeds.json``);
* ``lists``: feed lists (OPML, or one URL per line);
* ``poll``: one poll of one feed, with conditional requests and back-off;
* ``articles``: the article pages of entries that carry only a summary;
* ``fetch``: the Beam transform that polls every listed feed once (a batch run).

Each module imports only those above it.  Only the document parser's names are re-exported
here (``pipeline.io.feeds`` was that module; the file readers import it without the poller's
Beam and HTTP code).
"""
from pipeline.io.feeds.parse import (FEED_ROOTS, REASON_EMPTY_ENTRY, REASON_ENTITIES, REASON_NO_ENTRIES, STAGE,
                                     declares_entities, entry_fingerprint, feed_root, looks_like_feed, parse_feed)

__all__ = ["FEED_ROOTS", "REASON_EMPTY_ENTRY", "REASON_ENTITIES", "REASON_NO_ENTRIES", "STAGE", "declares_entities",
           "entry_fingerprint", "feed_root", "looks_like_feed", "parse_feed"]
