"""The website's breach notices: per region an English page with every notice, a page in each
other language the affected people of a notice read (German: its notices, in German words),
linked to each other, and a JSON feed; hostile text escaped in every language; written
atomically, never over a feed that is not ours. Through the engine, a region's languages come
from its affected people."""

from __future__ import annotations

import json
import os
import re
from dataclasses import replace
from pathlib import Path

import pytest

from aptien_ops import notice_texts
from aptien_ops.backends.notify_website import SiteFiles
from aptien_ops.backends.sql_catalog import SqlCatalog
from aptien_ops.config import CatalogSettings
from aptien_ops.domain.notices import LANGUAGES, Recipient, WebsiteNotice
from aptien_ops.errors import IntegrityFailure
from aptien_ops.notice_texts import BODY, LANGUAGE_NAMES, SUBJECT, WEBSITE, texts_digest
from aptien_ops.services.notify_engine import Channels, Engine

from notice_samples import CONTENT, NOW, start_campaign

HOSTILE = replace(
    CONTENT,
    incident_id="INC-2026-0002",
    title="<script>alert(1)</script>",
    nature='"><img src=x onerror=alert(2)>',
    published_at="2026-03-03T10:00:00Z",
)
LATER = replace(
    CONTENT, incident_id="INC-2026-0003", title="Printer left open", published_at="2026-03-04"
)


def articles(page: Path) -> list[str]:
    return re.findall(r'<article id="([^"]+)">', page.read_text(encoding="utf-8"))


def test_each_language_gets_a_page_of_its_notices_in_its_words_with_hostile_text_escaped(
    tmp_path: Path,
) -> None:
    site = SiteFiles(tmp_path / "site")
    site.publish(WebsiteNotice("eu", CONTENT, ("de", "en")))
    site.publish(WebsiteNotice("eu", HOSTILE, ("de", "en")))
    written = site.publish(WebsiteNotice("eu", LATER, ("en",)))
    eu = tmp_path / "site" / "eu"
    assert (
        sorted(p.name for p in written)
        == sorted(os.listdir(eu))
        == [
            "breach-notices.de.html",
            "breach-notices.html",
            "breach-notices.json",
        ]
    )
    en, de = eu / "breach-notices.html", eu / "breach-notices.de.html"
    assert articles(en) == [LATER.incident_id, HOSTILE.incident_id, CONTENT.incident_id]
    assert articles(de) == [HOSTILE.incident_id, CONTENT.incident_id]  # not the English-only
    english, german = en.read_text(encoding="utf-8"), de.read_text(encoding="utf-8")
    assert '<html lang="en">' in english and '<html lang="de">' in german
    for words in WEBSITE["de"].values():
        assert words in german and words not in english
    assert "<h3>What happened</h3>" in english and "What happened" not in german
    assert '<a href="breach-notices.de.html" hreflang="de" lang="de">Deutsch</a>' in english
    assert '<a href="breach-notices.html" hreflang="en" lang="en">English</a>' in german
    for page in (english, german):
        assert "<script>" not in page and "<img" not in page
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        assert "&#34;&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    feed = json.loads((eu / "breach-notices.json").read_text())["notices"]
    assert [(e["incident_id"], e["languages"]) for e in feed] == [
        (LATER.incident_id, ["en"]),
        (HOSTILE.incident_id, ["de", "en"]),
        (CONTENT.incident_id, ["de", "en"]),
    ]
    assert feed[1]["title"] == HOSTILE.title  # the feed is JSON: the text as it is
    site.publish(WebsiteNotice("eu", HOSTILE, ("de", "en")))  # a rerun replaces, never appends
    assert articles(de) == [HOSTILE.incident_id, CONTENT.incident_id]
    assert len(json.loads((eu / "breach-notices.json").read_text())["notices"]) == 3


def test_a_region_whose_people_read_english_only_gets_the_english_page_alone(
    tmp_path: Path,
) -> None:
    written = SiteFiles(tmp_path / "site").publish(WebsiteNotice("us", CONTENT, ("en",)))
    assert [p.name for p in written] == ["breach-notices.html", "breach-notices.json"]
    assert sorted(os.listdir(tmp_path / "site" / "us")) == [
        "breach-notices.html",
        "breach-notices.json",
    ]
    assert "<nav>" not in (tmp_path / "site" / "us" / "breach-notices.html").read_text()


def test_a_feed_that_is_not_ours_is_left_alone(tmp_path: Path) -> None:
    (tmp_path / "site" / "us").mkdir(parents=True)
    (tmp_path / "site" / "us" / "breach-notices.json").write_text("<html>")
    with pytest.raises(IntegrityFailure):
        SiteFiles(tmp_path / "site").publish(WebsiteNotice("us", CONTENT, ("en",)))
    assert (tmp_path / "site" / "us" / "breach-notices.json").read_text() == "<html>"
    assert os.listdir(tmp_path / "site" / "us") == ["breach-notices.json"]


def test_the_engine_gives_each_region_the_languages_of_its_affected_people(
    tmp_path: Path,
) -> None:
    people = [
        Recipient("acme-gmbh", "eu", "1", "a@acme.example", "de-AT"),
        Recipient("acme-gmbh", "eu", "2", "b@acme.example", "fr"),  # no French texts: English
        Recipient("globex", "us", "5", "c@globex.example", None),
        Recipient("globex", "us", "6", "d@globex.example", "fr-CA"),
    ]
    catalog = SqlCatalog(CatalogSettings(url=f"sqlite:///{tmp_path / 'catalog.db'}"))
    catalog.ensure_schema()
    campaign = start_campaign(catalog, ("website",), people)
    with catalog.read() as tx:
        rows = tx.breach_outbox.pending(CONTENT.incident_id, "website")
    assert [(r.region, r.language) for r in rows] == [("eu", "de,en"), ("us", "en")]
    site = tmp_path / "site"
    channels = Channels(website=SiteFiles(site))
    Engine(catalog, campaign, channels, now=lambda: NOW, sleep=lambda s: None).run()
    assert sorted(os.listdir(site / "eu")) == [
        "breach-notices.de.html",
        "breach-notices.html",
        "breach-notices.json",
    ]
    assert sorted(os.listdir(site / "us")) == ["breach-notices.html", "breach-notices.json"]
    catalog.dispose()


def test_every_language_has_all_its_texts_and_the_website_words_are_in_the_digest(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for language in LANGUAGES:
        assert language in SUBJECT and language in BODY and language in LANGUAGE_NAMES
        assert WEBSITE[language].keys() == WEBSITE["en"].keys(), language
    # A region's website row keeps its languages in the outbox's language column (16 wide).
    assert len(",".join(LANGUAGES)) <= 16
    before = texts_digest(CONTENT)
    changed = {**WEBSITE, "de": {**WEBSITE["de"], "nature": "Was passiert ist"}}
    monkeypatch.setattr(notice_texts, "WEBSITE", changed)
    assert texts_digest(CONTENT) != before  # an approval is bound to the page's words too
