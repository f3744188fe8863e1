import pytest

from services.timerange import DAY_MS, Span, day_spans, db_time, merge, parse_iso, to_iso

D0 = 1_763_942_400_000  # 2025-11-24T00:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-11-24T00:00:00Z", D0),
        ("2025-11-24T01:00:00+01:00", D0),
        ("2025-11-24T00:00:00", D0),
        ("2025-11-24", D0),
        ("2025-11-24T00:00:00.250Z", D0 + 250),
    ],
    ids=["zulu", "offset", "naive-is-utc", "date-only", "milliseconds"],
)
def test_parse_iso_normalises_to_utc_epoch_ms(text, expected):
    assert parse_iso(text) == expected


def test_to_iso_round_trips_with_and_without_milliseconds():
    assert to_iso(D0) == "2025-11-24T00:00:00Z"
    assert parse_iso(to_iso(D0 + 5)) == D0 + 5


def test_db_time_is_fixed_width_so_text_order_is_time_order():
    assert db_time(D0) == "2025-11-24T00:00:00.000Z"
    assert db_time(D0 + 999) > db_time(D0 + 1) > db_time(D0)


@pytest.mark.parametrize(
    ("span", "days"),
    [
        (Span(D0, D0 + DAY_MS), 1),
        (Span(D0 + 1, D0 + DAY_MS + 1), 2),
        (Span(D0 + 3_600_000, D0 + 7_200_000), 1),
        (Span(D0, D0 + 7 * DAY_MS), 7),
    ],
    ids=["exact-day", "straddles-midnight", "inside-a-day", "a-week"],
)
def test_day_spans_cover_whole_utc_days(span, days):
    spans = day_spans(span)
    assert len(spans) == days
    assert spans[0].start_ms <= span.start_ms and spans[-1].end_ms >= span.end_ms
    assert all(s.start_ms % DAY_MS == 0 and s.end_ms - s.start_ms == DAY_MS for s in spans)


def test_merge_joins_touching_spans_and_drops_empty_ones():
    assert merge([Span(5, 9), Span(0, 5), Span(20, 20), Span(8, 12)]) == [Span(0, 12)]
