"""dotenv -> names and values, and errors that give a line number but never a line."""

from __future__ import annotations

import pytest

from ironflow.core.dotenv import DotenvError, parse_dotenv


def test_given_common_dotenv_forms_when_parsed_then_values_are_exactly_what_the_file_says() -> None:
    text = (
        "# comment\n"
        "\n"
        "DB_PASSWORD=s3cr=t\n"
        "export API_TOKEN = tok  # trailing comment\n"
        "SINGLE='lit $HOME \\n'\n"
        'DOUBLE="a\\nb \\"q\\""\n'
        'MULTI="line1\n'
        'line2"\n'
        "EMPTY=\n"
        "tls.crt=abc#not-a-comment\n"
    )
    assert parse_dotenv(text) == {
        "DB_PASSWORD": "s3cr=t",
        "API_TOKEN": "tok",
        "SINGLE": "lit $HOME \\n",
        "DOUBLE": 'a\nb "q"',
        "MULTI": "line1\nline2",
        "EMPTY": "",
        "tls.crt": "abc#not-a-comment",
    }


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("NOEQUALS hunter2\n", "line 1: expected NAME=value"),
        ("A=1\nA=hunter2\n", "line 2: A is defined twice"),
        ('A="hunter2\n', "line 1: the double quote is never closed"),
        ("A='hunter2\n", "line 1: the single quote is never closed"),
        ("A='x' hunter2\n", "line 1: unexpected text after the closing quote"),
        ("BAD NAME=hunter2\n", "line 1: name 'BAD NAME' is not a valid"),
    ],
)
def test_given_malformed_dotenv_when_parsed_then_line_number_and_no_value(text: str, message: str) -> None:
    with pytest.raises(DotenvError) as caught:
        parse_dotenv(text)
    assert message in str(caught.value)
    assert "hunter2" not in str(caught.value)
