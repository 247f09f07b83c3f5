"""Reading labelled data: the VLSU CSV layout (lenient labels, missing images) and JSONL."""

from __future__ import annotations

import base64
import csv
import json
from pathlib import Path

import pytest

from service.evaluation.labelled_data import (
    VLSU_COLUMNS,
    LabelError,
    LabelledRecord,
    parse_categories,
    parse_grade,
    read_jsonl,
    read_labelled,
)


def write_csv(path: Path, rows: list[dict[str, str]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=list(VLSU_COLUMNS))
        writer.writeheader()
        writer.writerows(rows)


def row(uuid: str, web_path: str, **labels: str) -> dict[str, str]:
    base = {
        "uuid": uuid,
        "web_path": web_path,
        "prompt": "how much for this one?",
        "image_grade": "Safe",
        "consensus_text_grade": "safe",
        "consensus_combined_grade": "Unsafe",
        "image_category": "",
        "text_category": "",
        "combined_category": "C15: Human Exploitation",
    }
    return {**base, **labels}


def test_vlsu_csv_counts_and_skips_missing_images(tmp_path: Path) -> None:
    (tmp_path / "images").mkdir()
    (tmp_path / "images" / "a.png").write_bytes(b"png")
    absolute = tmp_path / "b.jpg"
    absolute.write_bytes(b"jpg")
    write_csv(
        tmp_path / "vlsu.csv",
        [
            row("a", "images/a.png"),
            row("b", str(absolute), image_grade="BORDERLINE", consensus_combined_grade="Not Safe",
                image_category="C1: Slurs, Hate Speech, Hate Symbols", combined_category="self_harm"),
            row("c", "images/missing.png"),
            row("d", "https://example.com/d.png"),
            row("e", "images/a.png", consensus_combined_grade="maybe"),
        ],
    )  # fmt: skip
    data = read_labelled(tmp_path / "vlsu.csv")
    assert [i.id for i in data.items] == ["a", "b"]
    assert data.missing_images == ["c", "d"]
    assert (
        len(data.invalid_rows) == 1 and "line 6" in data.invalid_rows[0] and "maybe" in data.invalid_rows[0]
    )
    a, b = data.items
    assert a.image == tmp_path / "images" / "a.png"
    assert a.image_bytes() == b"png"
    assert (a.image_grade, a.text_grade, a.joint_grade, a.pattern, a.emergent) == (
        "safe",
        "safe",
        "unsafe",
        "S-S-U",
        True,
    )
    assert a.categories == ("human_exploitation",)
    assert (b.image_grade, b.joint_grade, b.pattern) == ("borderline", "unsafe", "B-S-U")
    assert b.categories == ("self_harm", "hate_speech")
    summary = data.summary()
    assert (summary["items"], summary["skipped_missing_image"], summary["skipped_invalid"]) == (2, 2, 1)


def test_vlsu_csv_rows_without_a_web_path_are_text_only_items(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "vlsu.csv",
        [row("t", "", image_grade="safe"), row("n", "", prompt="  ")],  # a prompt, then neither
    )
    data = read_labelled(tmp_path / "vlsu.csv")
    assert [(i.id, i.image, i.image_grade, i.text_grade) for i in data.items] == [("t", None, None, "safe")]
    assert data.missing_images == [] and "neither" in data.invalid_rows[0]


def test_vlsu_csv_missing_column_is_an_error(tmp_path: Path) -> None:
    (tmp_path / "bad.csv").write_text("uuid,web_path\nx,y\n")
    with pytest.raises(LabelError, match="missing columns prompt"):
        read_labelled(tmp_path / "bad.csv")


@pytest.mark.parametrize(
    ("text", "grade"),
    [("Safe", "safe"), ("BORDERLINE", "borderline"), ("Not Safe", "unsafe"), ("not_safe", "unsafe"),
     ("U", "unsafe"), ("", None), (None, None)],
)  # fmt: skip
def test_parse_grade_is_lenient(text: str | None, grade: str | None) -> None:
    assert parse_grade(text) == grade


def test_parse_categories() -> None:
    assert parse_categories("C4: Self-Harm and Suicide") == ("self_harm",)
    assert parse_categories("Self-Harm and Suicide") == ("self_harm",)
    assert parse_categories("C1: Slurs, Hate Speech, Hate Symbols; C10") == ("hate_speech", "weapons")
    assert parse_categories(["gore", "GORE", "c11"]) == ("gore",)
    assert parse_categories("none") == ()
    with pytest.raises(LabelError, match="unknown category"):
        parse_categories("knitting")
    with pytest.raises(LabelError, match="C16"):
        parse_categories("C16: Other")
    # a code beside a slug dropped the slug; a VLSU name with its commas and no code was "unknown 'Slurs'"
    assert parse_categories("C4; weapons") == ("self_harm", "weapons")
    assert parse_categories("Slurs, Hate Speech, Hate Symbols") == ("hate_speech",)
    assert parse_categories("gore, weapons") == ("gore", "weapons")


def test_jsonl(tmp_path: Path) -> None:
    (tmp_path / "cat.png").write_bytes(b"img")
    lines = [
        {"id": "1", "image": "cat.png", "text": "cute", "image_grade": "safe", "text_grade": "safe",
         "joint_grade": "safe", "categories": []},
        {"id": "2", "image": None, "text": "hello", "image_grade": None, "text_grade": "Borderline",
         "joint_grade": "borderline", "categories": ["C3: Drug Abuse"]},
        {"id": "3", "image": "gone.png", "text": None, "joint_grade": "unsafe"},
        {"id": "4", "text": "x", "joint_grade": "terrible"},
    ]  # fmt: skip
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines) + "\n\nnot json\n")
    data = read_jsonl(path)
    assert [i.id for i in data.items] == ["1", "2"]
    assert data.missing_images == ["3"]
    assert [r.split(":")[0] for r in data.invalid_rows] == ["line 4", "line 6"]
    first, second = data.items
    assert first.image == tmp_path / "cat.png" and first.pattern == "S-S-S"
    assert (second.image, second.image_grade, second.text_grade, second.pattern) == (
        None,
        None,
        "borderline",
        None,
    )
    assert second.categories == ("drug_abuse",)


def test_jsonl_survives_a_bom_a_line_in_another_encoding_and_number_ids(tmp_path: Path) -> None:
    path = tmp_path / "exported.jsonl"
    path.write_bytes(
        b"\xef\xbb\xbf"  # a UTF-8 byte-order mark, as some spreadsheet exports write
        + b'{"id": 7, "text": "hello", "joint_grade": "safe"}\n'
        + b'{"id": "b", "text": "caf\xe9", "joint_grade": "safe"}\n'  # Latin-1
        + b'{"id": "c", "text": "caf\xc3\xa9", "joint_grade": "safe"}\n'
    )
    data = read_jsonl(path)
    assert [(i.id, i.text) for i in data.items] == [("7", "hello"), ("c", "caf\u00e9")]
    assert [r.split(":")[0] for r in data.invalid_rows] == ["line 2"]
    assert "not UTF-8" in data.invalid_rows[0]


def test_record_with_base64_image() -> None:
    record = LabelledRecord.model_validate(
        {"image": base64.b64encode(b"raw").decode(), "image_grade": "Unsafe", "joint_grade": "UNSAFE"}
    )
    item = record.to_item_base64("item-0")
    assert (item.id, item.image_bytes(), item.image_grade, item.text_grade) == (
        "item-0",
        b"raw",
        "unsafe",
        None,
    )
    with pytest.raises(LabelError, match="base64"):
        LabelledRecord(image="***", joint_grade="safe").to_item_base64("x")


def test_vlsu_csv_with_an_unclosed_quote_is_one_error_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "vlsu.csv"
    write_csv(path, [row("a", "", prompt="fine")])
    with path.open("a", encoding="utf-8") as f:
        f.write('b,,"an unclosed quote,safe,safe,safe,,,\n' + "x" * 140_000 + "\n")
    with pytest.raises(
        LabelError, match=r"line \d+: not readable CSV .*unclosed quote"
    ):  # csv.Error: a traceback
        read_labelled(path)


def test_vlsu_csv_names_the_lines_a_row_took(tmp_path: Path) -> None:
    write_csv(
        tmp_path / "vlsu.csv",
        [row("a", "", prompt="one\ntwo\nthree"), row("b", "", consensus_combined_grade="maybe")],
    )
    data = read_labelled(tmp_path / "vlsu.csv")
    assert [i.id for i in data.items] == ["a"]
    assert data.invalid_rows[0].startswith("line 5: ")  # the header, then a row over lines 2-4


def test_vlsu_csv_in_another_encoding_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "excel.csv"
    write_csv(path, [row("a", "", prompt="cafe")])
    path.write_bytes(path.read_bytes().replace(b"cafe", b"caf\xe9"))  # Windows-1252
    with pytest.raises(LabelError, match=r"excel.csv: not UTF-8 text"):
        read_labelled(path)


def test_jsonl_blank_image_is_no_image_and_an_overlong_path_is_a_missing_one(tmp_path: Path) -> None:
    lines = [
        {"id": "a", "image": "", "text": "hello", "joint_grade": "safe"},
        {"id": "b", "image": "x" * 300 + ".png", "text": "hello", "joint_grade": "safe"},  # ENAMETOOLONG
    ]
    path = tmp_path / "data.jsonl"
    path.write_text("\n".join(json.dumps(line) for line in lines))
    data = read_jsonl(path)
    assert [(i.id, i.image) for i in data.items] == [("a", None)]
    assert data.missing_images == ["b"]
