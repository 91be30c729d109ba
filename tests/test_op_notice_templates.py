"""An operational notice's templates: per channel, kind and language, overridable from
``[notifications] templates_dir``; a hostile title and body reach no mail, in-app message or
feed raw (controls and bidi stripped from the plain text, escaped in HTML, Atom and JSON); a
broken override is refused before anything is recorded. Real tenant databases, SQLite and
PostgreSQL catalogs, a real SMTP server on loopback."""

from __future__ import annotations

import json
import re
from pathlib import Path
from xml.etree import ElementTree

import pytest
from test_op_notice_send import ACME, GLOBEX, REP, World, world
from test_op_notice_users import draft

from aptien_ops.config import load_settings
from aptien_ops.domain.op_notices import NoticeStatus, OpNoticeContent
from aptien_ops.errors import ConfigError, InvalidInput, PendingApproval
from aptien_ops.op_notice_texts import NoticeTemplates
from aptien_ops.services.op_notices import NoticeEdit

from hostile_data import escapes_in, hostile
from notice_reading import HIDDEN, SEEN, inapp_messages, read_mail

__all__ = ["world"]

C1, RLO, ZWSP = "\x9b", "\u202e", "\u200b"


def with_templates(config: Path, directory: Path) -> None:
    text, line = config.read_text(), f"templates_dir = {json.dumps(str(directory))}"
    if "\ntemplates_dir = " in text:
        config.write_text(re.sub(r"\ntemplates_dir = .*", lambda _: "\n" + line, text))
        return
    head, tail = text.split("[notifications.email]")
    config.write_text(f"{head}[notifications]\n{line}\n\n[notifications.email]{tail}")


def _inapp_texts(w: World) -> list[tuple[str, str]]:
    admin = w.console("ada")
    tenant = admin.tenants.show(ACME)
    with admin.ctx.store(tenant.cluster or "").connect(ACME) as conn:
        rows = conn.execute("SELECT subject, body FROM user_messages").fetchall()
    admin.close()
    return [(str(s), str(b)) for s, b in rows]


def test_each_kind_has_its_own_built_in_words_in_each_language() -> None:
    templates = NoticeTemplates()

    def body(kind: str, language: str) -> str:
        content = OpNoticeContent(
            "NOT-x", "Title", "", "", "", "", "", "NTC-2027-0001", kind, "scheduled",
            "2027-06-03T08:00:00Z", "", "Body.", "",
        )  # fmt: skip
        return templates.message(content, "email", language)[1]

    assert "During the window the service may be slow" in body("maintenance", "en")
    assert "We are working on it" in body("outage", "en")
    assert "concerns your own processes" in body("change", "en")
    assert "Wir arbeiten daran" in body("outage", "de")
    assert "until further notice" in body("outage", "en")  # open-ended


def test_a_hostile_title_and_body_reach_no_mail_in_app_message_or_feed_raw(
    world: World,
) -> None:
    w = world
    title = hostile("title") + ZWSP + " & <b>"
    body = hostile("body") + f"\n{C1}line two{RLO} </entry>"
    notice_id = draft(w, "both")
    olga = w.console()
    olga.op_notices.edit(notice_id, NoticeEdit(title=title, body=body))
    with pytest.raises(PendingApproval) as asked:
        olga.op_notice_sending.send(notice_id)
    approval = asked.value.approval_id
    sam = w.console("sam")
    sam.approvals.approve(approval)
    sam.close()
    olga.op_notice_sending.send(notice_id)
    assert len(w.server.messages) == 3
    for message in w.server.messages:
        subject, text = read_mail(message.raw)
        assert escapes_in(subject) == [] and escapes_in(text.replace("\r\n", "\n")) == []
        assert "pwned-rlo" in subject and "line two" in text and "& <b>" in subject
    for subject, text in _inapp_texts(w):
        assert escapes_in(subject) == [] and escapes_in(text) == []
        assert "line two" in text
    website = load_settings(w.config).notifications.website.dir / "eu"
    html = (website / "status.html").read_text()
    assert "&lt;b&gt;" in html and "<b>" not in html and "&lt;/entry&gt;" in html
    feed = json.loads((website / "status.json").read_text())
    assert feed["notices"][0]["title"] == title  # JSON keeps the text, the encoder escapes it
    assert escapes_in((website / "status.json").read_text()) == []
    atom = ElementTree.parse(website / "status.atom").getroot()
    ns = "{http://www.w3.org/2005/Atom}"
    [entry] = list(atom.iter(f"{ns}entry"))
    assert entry.findtext(f"{ns}content") is not None
    assert "</entry>" in (entry.findtext(f"{ns}content") or "")  # text, not markup
    olga.close()


def test_templates_from_the_configured_directory_replace_the_built_in_ones(
    world: World, tmp_path: Path
) -> None:
    w = world
    mine = tmp_path / "templates"
    (mine / "email").mkdir(parents=True)
    (mine / "inapp").mkdir()
    (mine / "website").mkdir()
    (mine / "email/maintenance.en.subject.txt").write_text("[{{ c.notice_id }}] {{ c.title }}")
    (mine / "inapp/notice.de.body.txt").write_text("Kurz: {{ c.title }} ({{ status }})\n")
    (mine / "website/status.html").write_text(
        "<h1>{{ region }}</h1>{% for t, g in groups %}{% for e in g %}"
        "<p class=mine>{{ e.title }}</p>{% endfor %}{% endfor %}\n"
    )
    with_templates(w.config, mine)
    notice_id = draft(w, "representatives")
    olga = w.console()
    dry = olga.op_notice_sending.send(notice_id, dry_run=True)
    assert dry.sample is not None and dry.sample[0] == f"[{notice_id}] Database upgrade"
    olga.op_notices.edit(notice_id, NoticeEdit(title="<script>x</script>"))
    olga.op_notice_sending.send(notice_id)
    mails = {m.to: read_mail(m.raw) for m in w.server.messages}
    assert mails[REP[GLOBEX]][0] == f"[{notice_id}] <script>x</script>"  # English: the override
    assert mails[REP[ACME]][0] == "Geplante Wartung: <script>x</script>"  # German: built in
    [(_, inapp_body)] = _inapp_texts(w)
    assert inapp_body == "Kurz: <script>x</script> (geplant)\n"
    html = (load_settings(w.config).notifications.website.dir / "us/status.html").read_text()
    assert html.rstrip() == "<h1>us</h1><p class=mine>&lt;script&gt;x&lt;/script&gt;</p>"
    # The texts were rendered when the delivery was recorded: a rerun after the directory
    # changed sends nothing new, and what it would send is what the campaign recorded.
    (mine / "email/maintenance.en.subject.txt").write_text("changed {{ c.title }}")
    assert olga.op_notice_sending.send(notice_id).resumed
    assert len(w.server.messages) == 2
    olga.close()


def test_a_broken_template_is_refused_before_anything_is_recorded(
    world: World, tmp_path: Path
) -> None:
    w = world
    mine = tmp_path / "templates"
    (mine / "email").mkdir(parents=True)
    (mine / "email/notice.en.body.txt").write_text("Hello {{ c.no_such_field }}\n")
    with_templates(w.config, mine)
    notice_id = draft(w, "representatives")
    olga = w.console()
    with pytest.raises(InvalidInput, match=r"notice template email/notice\.en\.body\.txt"):
        olga.op_notice_sending.send(notice_id)
    assert w.server.messages == [] and olga.op_notice_sending.deliveries(notice_id) == ()
    assert olga.op_notices.show(notice_id).notice.status == NoticeStatus.DRAFT
    olga.close()
    with_templates(w.config, tmp_path / "nowhere")
    with pytest.raises(ConfigError, match="templates_dir"):
        load_settings(w.config)


def test_a_title_s_hidden_characters_reach_neither_mail_nor_inapp(world: World) -> None:
    w = world
    notice_id = w.draft(HIDDEN, f"Body {HIDDEN}")
    console = w.console()
    sent = w.sending(console, []).send(notice_id, ["email", "inapp"])
    console.close()
    assert not sent.undelivered
    subject, body = read_mail({m.to: m for m in w.server.messages}[REP[ACME]].raw)
    [(_, _, inapp_subject, inapp_body)] = inapp_messages(w)
    assert subject == inapp_subject == f"Geplante Wartung: {SEEN} second"
    assert escapes_in(subject) == []
    for text in (body.replace("\r\n", "\n"), inapp_body):
        assert escapes_in(text) == [] and f"Body {SEEN}\nsecond" in text
