"""`omnitui canned import|list|export` as a script meets them: real processes, real exit
codes; a bad file exits 2 naming it and its line, with nothing written."""

from __future__ import annotations

import json
from pathlib import Path

from tests.test_canned import GOOD, write
from tests.test_cli import run


def listed(data_dir: Path, store_url: str) -> list[dict[str, object]]:
    proc = run("canned", "list", "--json", data_dir=data_dir, db=store_url)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines()]


def test_import_list_export_and_import_again(tmp_path: Path, store_url: str) -> None:
    folder = write(tmp_path / "replies", GOOD)
    data = tmp_path / "data"
    proc = run("--agent", "leyla", "canned", "import", str(folder), data_dir=data, db=store_url)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ("4 canned replies from 5 files: 4 added, 0 updated, 0 unchanged")

    rows = listed(data, store_url)
    assert [r["shortcut"] for r in rows] == ["hello", "refund", "ret", "siparis"]
    ret = rows[2]
    assert ret["title"] == "Return: how to send it back"
    assert ret["languages"] == ["en", "az", "fa"]
    assert ret["tags"] == ["returns", "shipping"]
    assert ret["updated_by"] == "leyla"
    assert str(ret["updated_at"]).endswith("Z")

    table = run("canned", "list", data_dir=data, db=store_url)
    assert table.returncode == 0
    assert "::ret" in table.stdout and "Sipariş" in table.stdout
    assert "4 canned replies" in table.stderr

    again = run("canned", "import", str(folder), data_dir=data, db=store_url)
    assert again.stdout.strip().endswith("0 added, 0 updated, 4 unchanged")

    out = tmp_path / "exported"
    exported = run("canned", "export", str(out), data_dir=data, db=store_url)
    assert exported.returncode == 0, exported.stderr
    assert exported.stdout.strip() == f"exported 4 canned replies (8 files) to {out}"
    assert (out / "ret.fa.md").read_text("utf-8").startswith("---\nlanguage: fa\n---\n\nسلام")
    back = run("canned", "import", str(out), data_dir=data, db=store_url)
    assert back.stdout.strip() == "4 canned replies from 8 files: 0 added, 0 updated, 4 unchanged"


def test_a_bad_file_exits_2_with_file_and_line_and_writes_nothing(
    tmp_path: Path, store_url: str
) -> None:
    folder = write(
        tmp_path / "replies",
        {
            **GOOD,
            "broken.md": "---\ntitle: Broken\n---\n\nHello {customer.nmae}\n",
            "worse.toml": 'title = "x"\n[body]\nde = "nein"\n',
        },
    )
    data = tmp_path / "data"
    proc = run("canned", "import", str(folder), data_dir=data, db=store_url)
    assert proc.returncode == 2
    assert proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines == [
        f"omnitui: {folder}/broken.md:5:7: unknown variable {{customer.nmae}} "
        "(did you mean {customer.name}?)",
        f"omnitui: {folder}/worse.toml:3: body.de: not one of en, az, tr, fa",
        "omnitui: nothing imported",
    ]
    assert listed(data, store_url) == []


def test_an_empty_folder_and_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    proc = run("canned", "import", str(tmp_path / "empty"), data_dir=tmp_path / "data")
    assert proc.returncode == 0
    assert proc.stdout.strip() == f"no canned replies in {tmp_path / 'empty'} (*.toml, *.md files)"
    missing = run("canned", "import", str(tmp_path / "nope"), data_dir=tmp_path / "data")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
