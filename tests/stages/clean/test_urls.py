"""Tests for pipeline.stages.clean.urls: canonical_url and registered_domain (offline)."""
from __future__ import annotations

import socket

from pipeline.stages.clean import urls
from pipeline.stages.clean.urls import canonical_url, registered_domain


def test_canonical_url():
    assert (canonical_url("HTTPS://WWW.Example.com:443/world/quake?utm_source=rss&utm_medium=x&id=5&fbclid=abc#top")
            == "https://www.example.com/world/quake?id=5")
    assert canonical_url("https://apnews.com/article/abc?utm_campaign=x") == "https://apnews.com/article/abc"
    assert canonical_url("https://example.com") == "https://example.com/"
    for bad in ("ftp://example.com/x", "mailto:a@example.com", "example.com/x", "", None, "http://"):
        assert canonical_url(bad) is None


def test_registered_domain_is_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("tldextract tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    urls._tld_extractor.cache_clear()  # build a fresh extractor under the network ban
    try:
        assert registered_domain("https://apnews.com/article/putin-china") == "apnews.com"
        assert registered_domain("http://news.bbc.co.uk/1/hi/world") == "bbc.co.uk"
        assert registered_domain("https://WWW.Example.COM/x") == "example.com"
        assert registered_domain("http://127.0.0.1/x") is None
        assert registered_domain(None) is None
    finally:
        urls._tld_extractor.cache_clear()
