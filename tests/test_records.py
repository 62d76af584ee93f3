"""Reject rows keep the raw input losslessly and never crash on odd records."""
import base64

from pipeline.records import NULL_PARTITION, dumps, loads, make_reject


def test_raw_bytes_are_kept_in_full():
    text = make_reject("read", "bad", "héllo".encode(), "a.txt")
    assert (text["raw"], text["raw_encoding"]) == ("héllo", "utf-8")
    binary = make_reject("read", "bad", b"\xff\xfe\x00junk", "b.bin")
    assert binary["raw_encoding"] == "base64" and base64.b64decode(binary["raw"]) == b"\xff\xfe\x00junk"


def test_a_record_reject_takes_location_and_date_from_the_record():
    rec = {"text": "x", "dt": "2024-03-12", "provenance": {"input_uri": "in.jsonl", "offset": 7}}
    row = make_reject("clean", "empty", rec)
    assert (row["input_uri"], row["offset"], row["dt"]) == ("in.jsonl", 7, "2024-03-12")
    assert loads(row["raw"]) == rec and row["raw_encoding"] == "json"


def test_hostile_records_do_not_crash_the_reject_path():
    for rec in ({"provenance": "AP"}, {"offset": "abc"}, {"offset": -3, "dt": 5}, {"input_uri": 12}):
        row = make_reject("clean", "why", rec)
        assert row["offset"] == 0 and row["dt"] == NULL_PARTITION and isinstance(row["input_uri"], str)


def test_dumps_is_deterministic():
    assert dumps({"b": 1, "a": [2]}) == dumps({"a": [2], "b": 1}) == b'{"a":[2],"b":1}'
