"""Body paths with list indexes (``data[-1].id``): syntax checked at construction, and the page decoder
reading one element of a list without decoding the others."""

from __future__ import annotations

import pytest

from airflow_provider_dataeng.operators.rest_api_extract import RestApiExtractOperator
from airflow_provider_dataeng.pagination import (
    MISSING,
    CursorPaginator,
    GraphQLCursorPaginator,
    NextUrlPaginator,
    OffsetPaginator,
    PageDecoder,
    PageNumberPaginator,
    PageShapeError,
    describe_path,
    format_path,
    parse_path,
)


@pytest.mark.parametrize(
    ("text", "steps"),
    [
        ("data", ("data",)),
        ("data.items", ("data", "items")),
        ("data[-1].id", ("data", -1, "id")),
        ("data[0].id", ("data", 0, "id")),
        ("items[2].meta.cursor", ("items", 2, "meta", "cursor")),
        ("matrix[0][-1]", ("matrix", 0, -1)),
        ("[-1].id", (-1, "id")),  # the body is the list of records
        ("@odata.nextLink", ("@odata", "nextLink")),
    ],
)
def test_dotted_paths_with_list_indexes(text: str, steps: tuple) -> None:
    assert parse_path(text, name="cursor_path") == steps
    assert format_path(steps) == text


def test_a_list_gives_the_steps_as_they_are() -> None:
    assert parse_path(["@odata.nextLink"], name="next_url_path") == ("@odata.nextLink",)
    assert parse_path(["data", -1, "a[b]"], name="cursor_path") == ("data", -1, "a[b]")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("data[x].id", "cursor_path='data[x].id' is not a valid path: the list index [x] must be an integer, "
                       "e.g. data[0] (the first element) or data[-1] (the last)"),
        ("data[].id", "cursor_path='data[].id' is not a valid path: the list index [] must be an integer"),
        ("data[1.5]", "cursor_path='data[1.5]' is not a valid path: the list index [1.5] must be an integer"),
        ("data[-1", "cursor_path='data[-1' is not a valid path: 'data[-1' has a stray '[' or ']'; write list "
                    "indexes as data[0] or data[-1], or give a list of keys for keys that hold brackets or dots"),
        ("data]0[", "cursor_path='data]0[' is not a valid path: 'data]0[' has a stray '[' or ']'"),
        ("data[0]x", "cursor_path='data[0]x' is not a valid path: 'data[0]x' has a stray '[' or ']'"),
        ("data.[0].id", "cursor_path='data.[0].id' is not a valid path: a list index follows its key without a "
                        "dot, as in data[0].id, not data.[0].id"),
        ("data..id", "cursor_path='data..id' has an empty key: use a dotted path like 'data.items'"),
        ("", "cursor_path='' has an empty key"),
    ],
)
def test_bad_syntax_fails_naming_the_parameter(value: str, message: str) -> None:
    with pytest.raises(ValueError) as err:
        parse_path(value, name="cursor_path")
    assert str(err.value).startswith(message)


def test_a_list_of_other_things_is_a_type_error() -> None:
    with pytest.raises(TypeError, match=r"cursor_path must be a dotted string .* got \['data', True\]"):
        parse_path(["data", True], name="cursor_path")


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: CursorPaginator(cursor_path="data[x].id", has_more_path="has_more"), "cursor_path='data[x].id'"),
        (lambda: CursorPaginator(cursor_path="data[-1].id", has_more_path="has_more[0"), "has_more_path='has_more[0'"),
        (lambda: CursorPaginator(cursor_path="c", cursor_body_field="page[0].after"),
         "cursor_body_field='page[0].after' names a field of the JSON request body to set: list indexes are not "
         "supported there"),
        (lambda: PageNumberPaginator(total_pages_path="meta[a]"), "total_pages_path='meta[a]'"),
        (lambda: OffsetPaginator(limit=10, total_path="meta.[0]"), "total_path='meta.[0]'"),
        (lambda: NextUrlPaginator("links[]"), "next_url_path='links[]'"),
        (lambda: GraphQLCursorPaginator("data.x]"), "page_info_path='data.x]'"),
    ],
)
def test_paginators_check_path_syntax_at_construction(build, message: str) -> None:
    with pytest.raises(ValueError) as err:
        build()
    assert str(err.value).startswith(message)


def test_operator_checks_records_path_syntax_at_construction() -> None:
    with pytest.raises(ValueError, match=r"^records_path='data\[one\]' is not a valid path: the list index \[one\]"):
        RestApiExtractOperator(task_id="e", endpoint="/x", destination="s3://b/x/", records_path="data[one]")


STRIPE_BODY = b'{"object": "list", "data": [{"id": "ch_1", "n": 1}, {"id": "ch_2", "n": [2]}], "has_more": true}'


def test_index_into_the_records_picks_from_the_records_already_split() -> None:
    decoder = PageDecoder(("data",), [("data", -1, "id"), ("data", 0, "id"), ("has_more",)])
    records, fields = decoder.decode(STRIPE_BODY)
    assert [bytes(r) for r in records] == [b'{"id": "ch_1", "n": 1}', b'{"id": "ch_2", "n": [2]}']
    assert fields == {("data", -1, "id"): "ch_2", ("data", 0, "id"): "ch_1", ("has_more",): True}


def test_index_into_decoded_records() -> None:
    decoder = PageDecoder(("data",), [("data", -1, "id"), ("has_more",)], raw_records=False)
    records, fields = decoder.decode(STRIPE_BODY)
    assert records == [{"id": "ch_1", "n": 1}, {"id": "ch_2", "n": [2]}]
    assert fields == {("data", -1, "id"): "ch_2", ("has_more",): True}


def test_only_the_indexed_element_is_decoded() -> None:
    """The other elements stay raw bytes: one that is not even an object does not matter."""
    decoder = PageDecoder(("data",), [("data", -1, "id"), ("items", 1, "cursor")])
    records, fields = decoder.decode(
        b'{"data": ["not an object", 7, {"id": 3}], "items": [[1, 2], {"cursor": "c"}, null]}')
    assert [bytes(r) for r in records] == [b'"not an object"', b"7", b'{"id": 3}']
    assert fields == {("data", -1, "id"): 3, ("items", 1, "cursor"): "c"}


@pytest.mark.parametrize(
    ("body", "value"),
    [
        (b'{"data": [], "has_more": true}', MISSING),  # past the end of an empty list
        (b'{"data": null}', MISSING),
        (b'{"data": [{"id": null}]}', None),
        (b'{"data": [{"x": 1}]}', MISSING),
        (b'{"data": ["ch_1"]}', MISSING),  # a key into a string: not there
        (b'{"data": [[1]]}', MISSING),
    ],
)
def test_an_index_or_key_that_does_not_fit_reads_as_missing(body: bytes, value: object) -> None:
    _, fields = PageDecoder(("data",), [("data", -1, "id")]).decode(body)
    assert fields[("data", -1, "id")] is value


def test_index_into_a_list_that_is_not_the_records() -> None:
    decoder = PageDecoder(("results",), [("pages", -1), ("meta", "cursors", 0, "next")])
    _, fields = decoder.decode(b'{"results": [], "pages": [1, 2, 3], "meta": {"cursors": [{"next": "n1"}, {}]}}')
    assert fields == {("pages", -1): 3, ("meta", "cursors", 0, "next"): "n1"}


def test_body_that_is_a_list_read_by_index() -> None:
    records, fields = PageDecoder(None, [(-1, "id")]).decode(b'[{"id": 1}, {"id": 2}]')
    assert ([bytes(r) for r in records], fields) == ([b'{"id": 1}', b'{"id": 2}'], {(-1, "id"): 2})


def test_records_inside_a_list_element() -> None:
    decoder = PageDecoder(("results", 0, "items"), [("results", 0, "next")])
    records, fields = decoder.decode(b'{"results": [{"items": [{"a": 1}], "next": "n"}, {"items": []}]}')
    assert ([bytes(r) for r in records], fields) == ([b'{"a": 1}'], {("results", 0, "next"): "n"})
    with pytest.raises(PageShapeError, match=r"records_path='results\[0\].items' is not in the body"):
        decoder.decode(b'{"results": []}')


def test_a_field_path_that_is_not_a_list_where_the_path_indexes() -> None:
    with pytest.raises(PageShapeError) as err:
        PageDecoder(("data",), [("pages", -1)]).decode(b'{"data": [], "pages": {"last": 3}}')
    assert str(err.value) == (
        "the body is not shaped as records_path='data' and the paginator's fields ['pages[-1]'] expect "
        "(Expected `array | null`, got `object` - at `$.pages`)"
    )


@pytest.mark.parametrize(
    ("records_path", "fields", "message"),
    [
        (("data",), [("data", "id")], "body paths overlap at 'data'"),
        (("data",), [("meta", "next"), ("meta", 0)], "body paths disagree at 'meta': one reads it as an object, "
                                                     "another as a list"),
        (None, [("next",)], "records_path=None means the body is the list of records, so the paginator cannot "
                            "read body fields ['next']: set records_path (or read a record by index, e.g. [-1].id)"),
    ],
)
def test_paths_that_cannot_both_hold_fail_before_any_request(records_path, fields, message: str) -> None:
    with pytest.raises(ValueError) as err:
        PageDecoder(records_path, fields)
    assert str(err.value).startswith(message)


@pytest.mark.parametrize(
    ("body", "path", "found"),
    [
        (b'{"data": [], "has_more": true}', ("next_cursor",),
         "the body has no key 'next_cursor' (its keys: ['data', 'has_more'])"),
        (b'{"data": [], "has_more": true}', ("data", -1, "id"), "data is an empty list"),
        (b'{"data": [{"id": 1}]}', ("data", 3, "id"), "data is a list of 1, no [3]"),
        (b'{"data": ["x"]}', ("data", -1, "id"), 'data[-1] is "x", not an object'),
        (b'{"data": {"id": 1}}', ("data", -1, "id"), "data is an object (keys: ['id']), not a list"),
        (b'{"meta": {"next": null}}', ("meta", "next"), "meta.next is null"),
        (b"<html>", ("next",), "the body is not JSON"),
    ],
)
def test_describe_path_says_where_the_path_stops(body: bytes, path: tuple, found: str) -> None:
    assert describe_path(body, path) == found
