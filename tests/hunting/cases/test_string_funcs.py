"""String functions: tolower/toupper, strlen (characters), substring (negative start counts from
the end), split (with an index returns a one-element array), strcat, replace_string (all
occurrences), replace_regex, trim* (regex semantics), indexof, countof (plain matches overlap,
regex matches don't), strcat_array, parse_url, base64."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.hunting.cases.conftest import CASE_ARGS, case


def p(expr: str) -> str:
    return f"print r = {expr}"


def r(value: Any) -> list[dict[str, Any]]:
    return [{"r": value}]


URL = '"scheme://username:password@host:1234/this/is/a/path?k1=v1&k2=v2#fragment"'

CASES = [
    case("tolower", p('tolower("AbC")'), r("abc")),
    case("toupper", p('toupper("AbC")'), r("ABC")),
    case("strlen", p('strlen("hello")'), r(5), columns=[("r", "long")]),
    case("strlen-empty", p('strlen("")'), r(0)),
    case("strlen-counts-characters", p('strlen("⒦⒰⒮⒯⒪")'), r(5)),
    case("substring-from-index", p('substring("123456", 1)'), r("23456")),
    case("substring-with-length", p('substring("123456", 2, 2)'), r("34")),
    case("substring-from-zero", p('substring("ABCD", 0, 2)'), r("AB")),
    case("substring-negative-start", p('substring("123456", -2, 2)'), r("56")),
    case("split", p('split("aa_bb", "_")'), r(["aa", "bb"]), columns=[("r", "dynamic")]),
    case("split-with-index-one-element-array", p('split("aaa_bbb_ccc", "_", 1)'), r(["bbb"])),
    case("split-empty-parts-kept", p('split("a__b", "_")'), r(["a", "", "b"])),
    case("split-no-delimiter", p('split("abc", ",")'), r(["abc"])),
    case("strcat", p('strcat("a", 1, "b", true)'), r("a1btrue")),
    case("strcat_delim", p('strcat_delim("-", "a", "b", "c")'), r("a-b-c")),
    case(
        "replace_string-doc",
        p('replace_string("A magic trick can turn a cat into a dog", "cat", "hamster")'),
        r("A magic trick can turn a hamster into a dog"),
    ),
    case("replace_string-all-occurrences", p('replace_string("aXbXc", "X", "-")'), r("a-b-c")),
    case("replace_regex", p('replace_regex("abc123def45", @"\\d+", "#")'), r("abc#def#")),
    case(
        "replace_regex-groups",
        p('replace_regex("2024-05-15", @"(\\d+)-(\\d+)-(\\d+)", @"\\3/\\2/\\1")'),
        r("15/05/2024"),
    ),
    case("trim-doc-literal", p('trim("--", "--https://bing.com--")'), r("https://bing.com")),
    case("trim-regex", p('trim(@"[^\\w]+", "-  Te st1//$")'), r("Te st1")),
    case("trim-repeated-matches", p('trim(" ", "   a b  ")'), r("a b")),
    case("trim_start", p('trim_start("x+", "xxabcxx")'), r("abcxx")),
    case("trim_end", p('trim_end(@"\\s+", "abc  ")'), r("abc")),
    case("indexof-found", p('indexof("abcdefg", "cde")'), r(2)),
    case("indexof-range-found", p('indexof("abcdefg", "cde", 1, 4)'), r(2)),
    case("indexof-range-too-short", p('indexof("abcdefg", "cde", 1, 2)'), r(-1)),
    case("indexof-start-after-match", p('indexof("abcdefg", "cde", 3, 4)'), r(-1)),
    case("indexof-negative-start", p('indexof("abcdefg", "cde", -5)'), r(2)),
    case("indexof-occurrence", p('indexof("abcdefgabcdefg", "cde", 1, 10, 2)'), r(9)),
    case("indexof-not-found", p('indexof("abcdefg", "z")'), r(-1)),
    case("countof-single-char", p('countof("aaa", "a")'), r(3)),
    case("countof-overlapping-plain", p('countof("aaaa", "aa")'), r(3)),
    case("countof-normal-kind", p('countof("ababa", "ab", "normal")'), r(2)),
    case("countof-overlapping-aba", p('countof("ababa", "aba")'), r(2)),
    case("countof-regex-no-overlap", p('countof("ababa", "aba", "regex")'), r(1)),
    case("countof-regex-pattern", p('countof("abcabc", "a.c", "regex")'), r(2)),
    case("strcat_array-numbers", p('strcat_array(dynamic([1, 2, 3]), "->")'), r("1->2->3")),
    case("strcat_array-strings", p('strcat_array(dynamic(["a", "b"]), ",")'), r("a,b")),
    case("parse_url-scheme", p(f"tostring(parse_url({URL}).Scheme)"), r("scheme")),
    case("parse_url-host", p(f"tostring(parse_url({URL}).Host)"), r("host")),
    case("parse_url-port-is-string", p(f"tostring(parse_url({URL}).Port)"), r("1234")),
    case(
        "parse_url-username-password",
        p(f'strcat(parse_url({URL}).Username, ":", parse_url({URL}).Password)'),
        r("username:password"),
    ),
    case("parse_url-fragment", p(f"tostring(parse_url({URL}).Fragment)"), r("fragment")),
    case("parse_url-query-parameter", p(f'tostring(parse_url({URL})["Query Parameters"].k2)'), r("v2")),
    case("base64_encode_tostring", p('base64_encode_tostring("Kusto")'), r("S3VzdG8=")),
    case("base64_decode_tostring", p('base64_decode_tostring("S3VzdG8=")'), r("Kusto")),
    case("reverse", p('reverse("abc")'), r("cba")),
]


@pytest.mark.parametrize(CASE_ARGS, CASES)
def test_string_funcs(check: Callable[..., Any], query: str, expected: list[Any], ordered: bool, columns: Any) -> None:
    check(query, expected, ordered=ordered, columns=columns)
