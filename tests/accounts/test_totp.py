"""TOTP codes against RFC 6238 and the ±1 step window with replay refusal."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from studyhall.accounts import totp

# RFC 6238 Appendix B: the seeds are ASCII digits, one length per hash function.
SEEDS: dict[str, tuple[Any, bytes]] = {
    "SHA1": (hashlib.sha1, b"12345678901234567890"),
    "SHA256": (hashlib.sha256, b"12345678901234567890123456789012"),
    "SHA512": (
        hashlib.sha512,
        b"1234567890123456789012345678901234567890123456789012345678901234",
    ),
}

RFC_6238_VECTORS = [
    (59, "SHA1", "94287082"),
    (59, "SHA256", "46119246"),
    (59, "SHA512", "90693936"),
    (1111111109, "SHA1", "07081804"),
    (1111111109, "SHA256", "68084774"),
    (1111111109, "SHA512", "25091201"),
    (1111111111, "SHA1", "14050471"),
    (1111111111, "SHA256", "67062674"),
    (1111111111, "SHA512", "99943326"),
    (1234567890, "SHA1", "89005924"),
    (1234567890, "SHA256", "91819424"),
    (1234567890, "SHA512", "93441116"),
    (2000000000, "SHA1", "69279037"),
    (2000000000, "SHA256", "90698825"),
    (2000000000, "SHA512", "38618901"),
    (20000000000, "SHA1", "65353130"),
    (20000000000, "SHA256", "77737706"),
    (20000000000, "SHA512", "47863826"),
]


@pytest.mark.parametrize(("at", "mode", "expected"), RFC_6238_VECTORS)
def test_code_at_matches_rfc_6238_appendix_b(at: int, mode: str, expected: str) -> None:
    digest, seed = SEEDS[mode]
    assert totp.code_at(totp.b32(seed), at, digits=8, digest=digest) == expected


def test_default_codes_are_six_digit_sha1_truncations_of_the_rfc_values() -> None:
    # A six-digit SHA1 code is the last six digits of the eight-digit one (same HOTP value).
    secret = totp.b32(SEEDS["SHA1"][1])
    for at, mode, expected in RFC_6238_VECTORS:
        if mode == "SHA1":
            assert totp.code_at(secret, at) == expected[-6:]


SECRET = totp.b32(b"studyhall-secret-20b")  # 20 bytes: no base32 padding
NOW = 1_700_000_015.0  # 15 s into a step, so ±1 step is unambiguous
STEP = int(NOW // totp.STEP_SECONDS)


def code(step: int) -> str:
    return totp.code_at(SECRET, step * totp.STEP_SECONDS)


@pytest.mark.parametrize("offset", [-1, 0, 1])
def test_matching_step_accepts_one_step_either_side(offset: int) -> None:
    assert totp.matching_step(SECRET, code(STEP + offset), 0, now=NOW) == STEP + offset


@pytest.mark.parametrize("offset", [-3, -2, 2, 3])
def test_matching_step_refuses_codes_outside_the_window(offset: int) -> None:
    assert code(STEP + offset) not in {code(STEP - 1), code(STEP), code(STEP + 1)}
    assert totp.matching_step(SECRET, code(STEP + offset), 0, now=NOW) is None


def test_matching_step_refuses_steps_at_or_below_the_last_used_one() -> None:
    assert totp.matching_step(SECRET, code(STEP), STEP, now=NOW) is None
    assert totp.matching_step(SECRET, code(STEP - 1), STEP, now=NOW) is None
    assert totp.matching_step(SECRET, code(STEP - 1), STEP - 1, now=NOW) is None
    assert totp.matching_step(SECRET, code(STEP), STEP - 1, now=NOW) == STEP
    assert totp.matching_step(SECRET, code(STEP + 1), STEP, now=NOW) == STEP + 1


def test_matching_step_normalizes_input_and_rejects_malformed_codes() -> None:
    valid = code(STEP)
    assert totp.matching_step(SECRET, f" {valid[:3]} {valid[3:]} ", 0, now=NOW) == STEP
    for malformed in ("", "12345", "1234567", "abcdef", valid[:5] + "x"):
        assert totp.matching_step(SECRET, malformed, 0, now=NOW) is None


def test_is_replay_only_for_genuine_already_used_codes() -> None:
    assert totp.is_replay(SECRET, code(STEP), STEP, now=NOW)
    assert totp.is_replay(SECRET, code(STEP - 1), STEP, now=NOW)
    assert not totp.is_replay(SECRET, code(STEP + 1), STEP, now=NOW)
    assert not totp.is_replay(SECRET, code(STEP), STEP - 1, now=NOW)


def test_backup_codes_are_ten_distinct_formatted_codes() -> None:
    codes = totp.new_backup_codes()
    assert len(codes) == totp.BACKUP_CODE_COUNT == 10
    assert len(set(codes)) == 10
    for backup in codes:
        parts = backup.split("-")
        assert [len(part) for part in parts] == [4, 4, 4]
        assert totp.looks_like_backup_code(backup)
        assert totp.looks_like_backup_code(backup.lower().replace("-", " "))
    assert not totp.looks_like_backup_code("123456")


def test_backup_code_hash_ignores_case_and_separators_but_depends_on_the_key() -> None:
    hashed = totp.hash_backup_code("key", "ABCD-EFGH-JKLM")
    assert totp.hash_backup_code("key", "abcd efgh jklm") == hashed
    assert totp.hash_backup_code("other key", "ABCD-EFGH-JKLM") != hashed


def test_otpauth_uri_and_qr_code() -> None:
    uri = totp.otpauth_uri(SECRET, "sam@example.com")
    assert uri.startswith("otpauth://totp/Studyhall:sam%40example.com?")
    assert f"secret={SECRET}" in uri
    assert "issuer=Studyhall" in uri
    svg = totp.qr_svg(uri)
    assert svg.startswith("<svg") and "QR code" in svg
