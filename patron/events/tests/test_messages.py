"""Reading raw Segment messages: what is kept, what is dropped and why, and time correction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from patron.events.services.messages import (
    MAXIMUM_EVENT_BYTES,
    Problem,
    WarningCode,
    message_parse,
    messages_parse,
    parse_time,
)
from patron.events.wire import json_parse

RECEIVED = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def parse_one(item, **options):
    problems: list[Problem] = []
    message = message_parse(item, received_at=RECEIVED, problems=problems, **options)
    return message, problems


def dropped_code(item, **options):
    message, problems = parse_one(item, **options)
    assert message is None
    assert [problem.is_dropped for problem in problems] == [True]
    return problems[0].code, problems[0].field


def test_a_track_keeps_its_fields():
    message, problems = parse_one(
        {
            "type": "track",
            "event": "Viewed",
            "userId": 42,
            "anonymousId": "a-1",
            "messageId": "m-1",
            "properties": {"plan": "pro"},
            "context": {"ip": "10.0.0.1"},
        }
    )

    assert problems == []
    assert message is not None
    assert (message.type, message.name, message.user_id, message.anonymous_id) == (
        "track",
        "Viewed",
        "42",
        "a-1",
    )
    assert message.properties == {"plan": "pro"}
    assert message.context == {"ip": "10.0.0.1"}


def test_identify_and_group_keep_their_traits_as_properties():
    identify, _ = parse_one({"type": "identify", "userId": "u", "traits": {"email": "a@b.co"}})
    group, _ = parse_one({"type": "group", "userId": "u", "groupId": 7, "traits": {"name": "X"}})

    assert identify is not None and identify.properties == {"email": "a@b.co"}
    assert group is not None and group.properties == {"name": "X"}
    assert group.group_id == "7"
    assert group.context == {"message": {"groupId": 7}}


def test_unknown_top_level_fields_are_not_kept():
    message, _ = parse_one(
        {"type": "page", "userId": "u", "name": "Home", "category": "Docs", "evil": "x" * 10}
    )

    assert message is not None
    assert "evil" not in str(message)
    assert message.context == {"message": {"category": "Docs"}}


def test_a_missing_message_id_gets_one():
    first, _ = parse_one({"type": "track", "event": "A", "userId": "u"})
    second, _ = parse_one({"type": "track", "event": "A", "userId": "u"})

    assert first is not None and second is not None
    assert first.message_id.startswith("patron-")
    assert first.message_id != second.message_id


@pytest.mark.parametrize(
    ("item", "code", "field"),
    [
        ({"event": "A", "userId": "u"}, WarningCode.INVALID_EVENT, "type"),
        ({"type": "purchase", "userId": "u"}, WarningCode.INVALID_EVENT, "type"),
        ({"type": "track", "event": "A"}, WarningCode.MISSING_IDENTITY, "userId"),
        ({"type": "track", "event": "A", "userId": ""}, WarningCode.MISSING_IDENTITY, "userId"),
        ({"type": "track", "userId": "u"}, WarningCode.MISSING_EVENT_NAME, "event"),
        ({"type": "track", "userId": "u", "event": 5}, WarningCode.INVALID_EVENT, "event"),
        ({"type": "track", "event": "A", "userId": {"id": 1}}, WarningCode.INVALID_EVENT, "userId"),
        ({"type": "track", "event": "A", "userId": True}, WarningCode.INVALID_EVENT, "userId"),
        ({"type": "track", "event": "A", "userId": "u" * 256}, WarningCode.INVALID_EVENT, "userId"),
        (
            {"type": "track", "event": "A", "userId": "u", "properties": ["a"]},
            WarningCode.INVALID_EVENT,
            "properties",
        ),
        ({"type": "identify", "userId": "u", "traits": "x"}, WarningCode.INVALID_EVENT, "traits"),
        ({"type": "group", "userId": "u"}, WarningCode.INVALID_EVENT, "groupId"),
        ({"type": "alias", "userId": "u"}, WarningCode.INVALID_EVENT, "previousId"),
        (
            {"type": "alias", "anonymousId": "a", "previousId": "p"},
            WarningCode.INVALID_EVENT,
            "userId",
        ),
        ({"type": "track", "event": "e" * 256, "userId": "u"}, WarningCode.INVALID_EVENT, "event"),
        ("not an object", WarningCode.INVALID_EVENT, ""),
    ],
)
def test_broken_messages_are_dropped_naming_the_field(item, code, field):
    assert dropped_code(item) == (code, field)


def test_an_event_over_32_kb_is_dropped():
    item = {
        "type": "track",
        "event": "A",
        "userId": "u",
        "properties": {"x": "y" * MAXIMUM_EVENT_BYTES},
    }

    assert dropped_code(item) == (WarningCode.EVENT_TOO_LARGE, "")


def test_the_size_limit_counts_numbers_as_json_writes_them():
    # json writes 1e-07 where orjson writes 1e-7: these events differ by one byte a number.
    def sized(count: int) -> dict:
        return {"type": "track", "event": "A", "userId": "u", "properties": {"x": [1e-07] * count}}

    overhead = len('{"type":"track","event":"A","userId":"u","properties":{"x":[]}}')
    fits = sized((MAXIMUM_EVENT_BYTES - overhead + 1) // len("1e-07,"))
    over = sized((MAXIMUM_EVENT_BYTES - overhead + 1) // len("1e-07,") + 1)

    message, problems = parse_one(fits)
    assert message is not None and problems == []
    assert dropped_code(over) == (WarningCode.EVENT_TOO_LARGE, "")


def test_the_size_limit_counts_utf8_bytes_not_characters():
    def sized(text: str) -> dict:
        return {"type": "track", "event": "A", "userId": "u", "properties": {"x": text}}

    # The item's own JSON around the text: {"type":"track","event":"A","userId":"u",...}
    overhead = len('{"type":"track","event":"A","userId":"u","properties":{"x":""}}')
    fits = sized("é" * ((MAXIMUM_EVENT_BYTES - overhead) // 2))
    over = sized("é" * ((MAXIMUM_EVENT_BYTES - overhead) // 2 + 1))

    message, problems = parse_one(fits)
    assert message is not None and problems == []
    assert dropped_code(over) == (WarningCode.EVENT_TOO_LARGE, "")


def test_a_single_endpoint_imposes_its_type():
    message, _ = parse_one({"type": "identify", "event": "A", "userId": "u"}, forced_type="track")

    assert message is not None and message.type == "track"


def test_timestamp_is_corrected_for_client_clock_skew():
    # The client clock is an hour fast; the event happened 10 s before it was sent.
    message, _ = parse_one(
        {
            "type": "track",
            "event": "A",
            "userId": "u",
            "timestamp": "2026-03-01T12:59:50+00:00",
            "sentAt": "2026-03-01T13:00:00Z",
        }
    )

    assert message is not None
    assert message.original_timestamp == datetime(2026, 3, 1, 12, 59, 50, tzinfo=UTC)
    assert message.sent_at == datetime(2026, 3, 1, 13, 0, tzinfo=UTC)
    assert message.timestamp == RECEIVED - timedelta(seconds=10)
    assert message.is_timestamp_clamped is False


def test_the_batch_sent_at_applies_when_the_message_has_none():
    message, _ = parse_one(
        {"type": "track", "event": "A", "userId": "u", "timestamp": "2026-03-01T13:00:00Z"},
        batch_sent_at="2026-03-01T13:00:05Z",
    )

    assert message is not None and message.timestamp == RECEIVED - timedelta(seconds=5)


def test_original_timestamp_wins_over_timestamp_when_both_come():
    message, _ = parse_one(
        {
            "type": "track",
            "event": "A",
            "userId": "u",
            "originalTimestamp": "2026-02-01T00:00:00Z",
            "timestamp": "2026-02-05T00:00:00Z",
        }
    )

    assert message is not None
    assert message.timestamp == datetime(2026, 2, 1, tzinfo=UTC)


def test_historical_events_keep_their_time_without_sent_at():
    message, _ = parse_one(
        {"type": "track", "event": "A", "userId": "u", "timestamp": "2019-07-01T08:00:00"}
    )

    assert message is not None
    assert message.timestamp == datetime(2019, 7, 1, 8, 0, tzinfo=UTC)


def test_no_time_at_all_means_the_time_received():
    message, _ = parse_one({"type": "track", "event": "A", "userId": "u"})

    assert message is not None
    assert (message.timestamp, message.original_timestamp, message.sent_at) == (
        RECEIVED,
        None,
        None,
    )


def test_a_time_more_than_a_day_ahead_is_clamped_and_flagged():
    message, problems = parse_one(
        {"type": "track", "event": "A", "userId": "u", "timestamp": "2030-01-01T00:00:00Z"}
    )

    assert message is not None
    assert message.timestamp == RECEIVED
    assert message.is_timestamp_clamped is True
    assert message.original_timestamp == datetime(2030, 1, 1, tzinfo=UTC)
    assert [(problem.code, problem.is_dropped) for problem in problems] == [
        (WarningCode.INVALID_TIMESTAMP, False)
    ]


def test_a_time_less_than_a_day_ahead_is_kept():
    ahead = RECEIVED + timedelta(hours=23)
    message, _ = parse_one(
        {"type": "track", "event": "A", "userId": "u", "timestamp": ahead.isoformat()}
    )

    assert message is not None
    assert (message.timestamp, message.is_timestamp_clamped) == (ahead, False)


def test_an_unreadable_time_is_ignored_with_a_warning_and_the_event_kept():
    message, problems = parse_one(
        {"type": "track", "event": "A", "userId": "u", "timestamp": "yesterday", "sentAt": 5}
    )

    assert message is not None
    assert message.timestamp == RECEIVED
    assert sorted((problem.code, problem.field) for problem in problems) == [
        (WarningCode.INVALID_TIMESTAMP, "sentAt"),
        (WarningCode.INVALID_TIMESTAMP, "timestamp"),
    ]


def test_a_correction_beyond_the_calendar_falls_back_to_the_client_time():
    message, problems = parse_one(
        {
            "type": "track",
            "event": "A",
            "userId": "u",
            "timestamp": "0001-01-02T00:00:00Z",
            "sentAt": "9999-12-30T00:00:00Z",
        }
    )

    assert message is not None
    assert message.timestamp == datetime(1, 1, 2, tzinfo=UTC)
    assert [problem.field for problem in problems] == ["sentAt"]


def test_nul_characters_and_lone_surrogates_are_removed_with_a_warning():
    message, problems = parse_one(
        {
            "type": "track",
            "event": "Vie\x00wed",
            "userId": "u\ud800",
            "properties": {"k\x00ey": ["a\x00b"]},
        }
    )

    assert message is not None
    assert (message.name, message.user_id) == ("Viewed", "u")
    assert message.properties == {"key": ["ab"]}
    assert [(problem.code, problem.is_dropped) for problem in problems] == [
        (WarningCode.CHARACTERS_REMOVED, False)
    ]
    assert "\x00" not in problems[0].excerpt


def test_duplicate_message_ids_in_one_batch_are_kept_once():
    parsed = messages_parse(
        [
            {"type": "track", "event": "First", "userId": "u", "messageId": "m-1"},
            {"type": "track", "event": "Second", "userId": "u", "messageId": "m-1"},
            {"type": "track", "event": "Other", "userId": "u", "messageId": "m-2"},
        ],
        received_at=RECEIVED,
    )

    assert [(message.message_id, message.name) for message in parsed.messages] == [
        ("m-1", "First"),
        ("m-2", "Other"),
    ]


def test_parse_time_reads_iso_forms_and_refuses_others():
    assert parse_time("2026-03-01T12:00:00.123Z") == datetime(
        2026, 3, 1, 12, 0, 0, 123000, tzinfo=UTC
    )
    assert parse_time("2026-03-01") == datetime(2026, 3, 1, tzinfo=UTC)
    assert parse_time(None) is None
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time("01/03/2026")
    with pytest.raises(ValueError, match="ISO 8601"):
        parse_time(1700000000)


@pytest.mark.parametrize(
    ("text", "infinite"),
    [
        (b'{"price": 1e400}', True),
        (b'{"price": -1E+999}', True),
        (b'{"price": ' + b"9" * 400 + b".0}", True),
        (b'{"price": ' + b"1" * 300 + b"e10}", True),
        (b'{"p": [2, ' + b"1" * 250 + b".5E+60]}", True),
        (b"[1E400]", True),
        (b'{"price": ' + b"9" * 400 + b"}", False),  # an integer: Python's are exact
        (b'{"price": 1e300, "tiny": 1e-400, "id": "' + b"1" * 30 + b'"}', False),
        (b'{"price": 19.99}', False),
        (b'{"messageId": "9b1e4e51-1e23-4e56-8e789", "sku": "A1e400"}', False),
    ],
)
def test_parsing_notes_exactly_the_numbers_read_as_infinity(text: bytes, infinite: bool) -> None:
    # given a JSON text; when parsed; then it is flagged exactly when a value is infinite
    parsed = json_parse(text)

    assert parsed.has_infinite_numbers is infinite
    assert ("inf" in repr(parsed.value)) is infinite
