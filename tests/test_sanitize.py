from runner.sanitize import REDACTED, Redactor


def test_exact_secret_values_are_redacted_everywhere():
    redactor = Redactor(["s3cr3t-value-123", "short"])
    event = {"a": ["token s3cr3t-value-123 here"], "s3cr3t-value-123": 1, "n": 5, "short": "short"}
    assert redactor.data(event) == {"a": [f"token {REDACTED} here"], REDACTED: 1, "n": 5, "short": "short"}


def test_token_shapes_are_redacted_without_knowing_the_value():
    redactor = Redactor()
    text = (
        "key sk-ant-api03-abcdefghijklmnop and ghp_"
        + "a" * 36
        + " and glpat-"
        + "b" * 20
        + " AKIAABCDEFGHIJKLMNOP"
    )
    cleaned = redactor.text(text)
    assert (
        "sk-ant" not in cleaned
        and "ghp_" not in cleaned
        and "glpat-" not in cleaned
        and "AKIA" not in cleaned
    )
    assert cleaned.count(REDACTED) == 4


def test_private_keys_are_redacted_whole():
    pem = "-----BEGIN RSA PRIVATE KEY-----\nMIIEabc\n-----END RSA PRIVATE KEY-----"
    assert Redactor().text(f"x {pem} y") == f"x {REDACTED} y"


def test_ordinary_text_is_untouched():
    text = "The function add() returns a + b; see docs/token.md for the key design."
    assert Redactor(["not-present-anywhere"]).text(text) == text
