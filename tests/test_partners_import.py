"""``partner import FILE.csv``: the diff first, one transaction or nothing, and a bad file
refused naming its line and column (header, country, date, duplicates, encoding)."""

from __future__ import annotations

import codecs
import gc
import random
from pathlib import Path

import pytest

from aptien_ops.domain.values import _email_fault, plain_email
from aptien_ops.partner_files import IMPORT_COLUMNS

from cli_runner import Result, run_cli

HEADER = ",".join(IMPORT_COLUMNS)
NORDIC = (
    "nordic-sales,Nordic Sales AB,sales,SE;NO;DK,,Ola Nordmann,ola@nordic.example,"
    "+47 22 00 00 00,PA-1,2020-01-01,2020-01-01,2099-12-31"
)
ALPINE = "alpine-experts,Alpine Experts GmbH,expert,eu,gdpr;payroll,,,,,,,"


def _second(old: str, new: str) -> str:
    """NORDIC as another partner (its name and agreement reference changed), ``old`` replaced
    by ``new``."""
    return NORDIC.replace("nordic-sales", "nordic-two", 1).replace("PA-1", "PA-2").replace(old, new)


#: Agreement dates seen on an earlier line, in the wrong order.
REVERSED = ("2020-01-01,2099-12-31", "2099-12-31,2020-01-01")
#: ALPINE with every cell quoted.
QUOTED = '"' + ALPINE.replace(",", '","') + '"'


@pytest.fixture
def sandbox(catalog_config: Path) -> Path:
    return catalog_config


def _file(tmp: Path, *lines: str, raw: bytes | None = None) -> Path:
    path = tmp / "register.csv"
    path.write_bytes(raw if raw is not None else ("\n".join(lines) + "\n").encode("utf-8"))
    return path


def _import(config: Path, path: Path, *extra: str) -> Result:
    return run_cli("--json", "partner", "import", path, *extra, config=config, operator="pat")


def _names(config: Path) -> list[tuple[str, str]]:
    result = run_cli("--json", "partner", "list", config=config)
    assert result.code == 0, result.stderr
    return [(r["name"], r["status"]) for r in result.json()]


def test_the_diff_comes_first_then_applies_in_one_go(sandbox: Path, tmp_path: Path) -> None:
    path = _file(tmp_path, HEADER, NORDIC, ALPINE)
    dry = _import(sandbox, path, "--dry-run")
    assert dry.code == 0, dry.stderr
    assert dry.json() == {
        "added": ["nordic-sales", "alpine-experts"],
        "changed": [],
        "ended": [],
        "unchanged": 0,
        "applied": False,
    }
    assert _names(sandbox) == []
    done = _import(sandbox, path)
    assert done.json()["applied"] is True
    assert _names(sandbox) == [("alpine-experts", "active"), ("nordic-sales", "active")]
    # Nordic's legal name changes, Alpine leaves the register.
    changed = _file(tmp_path, HEADER, NORDIC.replace("Nordic Sales AB", "Nordic Sales ASA"))
    again = _import(sandbox, changed)
    body = again.json()
    assert (body["changed"], body["ended"]) == (["nordic-sales"], ["alpine-experts"])
    assert _names(sandbox) == [("alpine-experts", "ended"), ("nordic-sales", "active")]


@pytest.mark.parametrize(
    ("lines", "where"),
    [
        ((HEADER.replace("legal_name", "legal"), NORDIC), "line 1, column 2"),
        ((HEADER, NORDIC, ALPINE.replace(",eu,", ",XX,")), "line 3, column coverage"),
        ((HEADER, NORDIC.replace("2099-12-31", "2099-13-01")), "line 2, column expires_on"),
        ((HEADER, NORDIC, NORDIC), "line 3, column name"),
        # a cell repeated from row to row is checked once, still refused on its first line
        (
            (
                HEADER,
                NORDIC,
                *[ALPINE.replace("s,A", f"s{i},A").replace(",eu,", ",XX,") for i in (1, 2)],
            ),
            "line 3, column coverage",
        ),
        (
            (
                HEADER,
                NORDIC,
                NORDIC.replace("s,", "s2,", 1).replace("PA-1,2020-01-01", "PA-1,2020-02-30"),
            ),
            "line 3, column signed_on",
        ),
        ((HEADER, ALPINE.replace(",,,,,,,", ",,,,,,2020-01-01,")), "line 2, column effective_from"),
        ((HEADER, NORDIC.replace("PA-1,2020-01-01,", "PA-1,,")), "line 2, column signed_on"),
        ((HEADER, NORDIC.replace("2099-12-31", "2019-12-31")), "line 2, column expires_on"),
        ((HEADER, NORDIC + ",extra"), "line 2: 13 cells"),
        ((HEADER, ALPINE.replace("Alpine", "Alp\x1bine")), "line 2, column legal_name"),
        ((HEADER, ALPINE.replace("Alpine", "Alp\u202eine")), "line 2, column legal_name"),
        # the rows past the first take a quicker path; what it refuses is still named
        (
            (HEADER, NORDIC, _second("@nordic.example", "@nordic")),
            "line 3, column contact_email",
        ),
        ((HEADER, NORDIC, _second("sales,SE", "salez,SE")), "line 3, column kinds"),
        (
            (
                HEADER,
                NORDIC,
                _second(*REVERSED),
            ),
            "line 3, column expires_on",
        ),
        # columns are checked whole: an early column refused on a later line does not hide
        # a later column refused on an earlier one
        (
            (HEADER, NORDIC.replace("+47 22", "phone"), _second("nordic-two", "Nordic-Two")),
            "line 2, column contact_phone",
        ),
        (
            (HEADER, NORDIC, _second("PA-2", "P" * 81), ALPINE.replace("gdpr", "GDPR")),
            "line 3, column agreement_reference",
        ),
        ((HEADER, ALPINE.replace("Alpine", "Alp\tine")), "line 2, column legal_name"),
        ((HEADER, NORDIC, ALPINE.replace("Alpine", "A" * 2001)), "line 3, column legal_name"),
        (
            (HEADER, QUOTED.replace("Alpine", "A\nB")),
            "line 2, column legal_name",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_line_and_column_and_nothing_changes(
    sandbox: Path, tmp_path: Path, lines: tuple[str, ...], where: str
) -> None:
    result = _import(sandbox, _file(tmp_path, *lines))
    assert result.code == 2
    assert where in result.error()["message"]
    assert _names(sandbox) == []
    assert gc.isenabled()  # the import pauses the cycle collector, and resumes it on failure


def test_a_bom_is_fine_other_encodings_are_refused_clearly(sandbox: Path, tmp_path: Path) -> None:
    text = "\n".join((HEADER, ALPINE.replace("Alpine", "Älpine"))) + "\n"
    bom = _import(sandbox, _file(tmp_path, raw=codecs.BOM_UTF8 + text.encode("utf-8")))
    assert bom.code == 0, bom.stderr
    latin = _import(sandbox, _file(tmp_path, raw=text.encode("latin-1")))
    assert latin.code == 2
    assert "line 2" in latin.error()["message"]
    assert "not UTF-8" in latin.error()["message"]
    utf16 = _import(sandbox, _file(tmp_path, raw=text.encode("utf-16")))
    assert utf16.code == 2 and "UTF-16" in utf16.error()["message"]


def test_a_row_that_fails_in_the_catalog_leaves_the_register_as_it_was(
    sandbox: Path, tmp_path: Path
) -> None:
    assert _import(sandbox, _file(tmp_path, HEADER, NORDIC)).code == 0
    ended = run_cli(
        "partner", "end", "nordic-sales", "--reason", "gone", config=sandbox, operator="pat"
    )
    assert ended.code == 0
    result = _import(sandbox, _file(tmp_path, HEADER, ALPINE, NORDIC))
    assert result.code == 2
    assert "line 3" in result.error()["message"]
    assert _names(sandbox) == [("nordic-sales", "ended")]


@pytest.mark.parametrize("dry_run", [False, True])
def test_without_the_role_a_bad_file_is_refused_before_it_is_read(
    sandbox: Path, tmp_path: Path, dry_run: bool
) -> None:
    path = _file(tmp_path, "not,the,header", "=cmd|calc,\x1b]52;c;aGk=\x07")
    extra = ("--dry-run",) if dry_run else ()
    for who in ("vic", "olga", "ada"):
        refused = run_cli("partner", "import", path, *extra, config=sandbox, operator=who)
        assert refused.code == 4, (who, refused.stderr)
        assert "header" not in refused.stderr and "line" not in refused.stderr
    entries = run_cli("--json", "ops-log", "list", "--limit", "1000", config=sandbox).json()
    denied = [e for e in entries if e["action"] == "partner.import"]
    assert [e["outcome"] for e in denied] == ["denied"] * 3
    assert _import(sandbox, path).code == 2  # the partner manager is told what is wrong


def test_the_quick_e_mail_check_never_accepts_what_the_rule_refuses() -> None:
    rng = random.Random(12)
    letters = "ab.@-_+ é\t"
    cases = ["a@b.cd", "a@b.c", "a@.cd", "a@b..cd", "@b.cd", "a@@b.cd", "x" * 65 + "@b.cd"]
    cases += ["".join(rng.choice(letters) for _ in range(rng.randint(1, 9))) for _ in range(20000)]
    accepted = [c for c in cases if plain_email(c)]
    assert accepted and all(_email_fault(c) is None for c in accepted)


def test_a_second_import_adds_only_the_new_partners_and_agreements(
    sandbox: Path, tmp_path: Path
) -> None:
    assert _import(sandbox, _file(tmp_path, HEADER, NORDIC)).code == 0
    # Known and unchanged, new with an agreement, new without; an address the quick check
    # leaves to the full e-mail rule is still taken.
    second = _second("ola@nordic.example", "åsa@nordic.example")
    result = _import(sandbox, _file(tmp_path, HEADER, NORDIC, second, ALPINE))
    assert result.code == 0, result.stderr
    body = result.json()
    assert (body["added"], body["changed"], body["unchanged"]) == (
        ["nordic-two", "alpine-experts"],
        [],
        1,
    )
    shown = {
        name: run_cli("--json", "partner", "show", name, config=sandbox).json()
        for name in ("nordic-sales", "nordic-two", "alpine-experts")
    }
    assert [a["reference"] for a in shown["nordic-sales"]["agreements"]] == ["PA-1"]
    agreements = shown["nordic-two"]["agreements"]
    assert [(a["reference"], a["effective_from"], a["expires_on"]) for a in agreements] == [
        ("PA-2", "2020-01-01", "2099-12-31")
    ]
    assert shown["nordic-two"]["contact_email"] == "åsa@nordic.example"
    assert shown["nordic-two"]["kinds"] == ["sales"]
    assert shown["alpine-experts"]["agreements"] == []
    assert shown["alpine-experts"]["expertise"] == ["gdpr", "payroll"]
