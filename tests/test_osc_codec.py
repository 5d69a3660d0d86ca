"""The fast OSC codec, checked byte for byte against python-osc's builder and parser."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from pdbridge.core.errors import BadInputError
from pdbridge.serve.osc_codec import OscError, decode, encode, read_address


def python_osc(address: str, *args: object, types: str | None = None) -> bytes:
    builder = OscMessageBuilder(address)
    for i, arg in enumerate(args):
        builder.add_arg(arg, types[i] if types else None)
    return builder.build().dgram


def test_encode_matches_python_osc_bytes_for_every_reply_type():
    rng = np.random.default_rng(1)
    pattern = rng.random(864).astype(np.float32)
    ours = encode("/pattern", 32, pattern)
    theirs = python_osc("/pattern", 32, *[float(x) for x in pattern])
    assert ours == theirs
    mixed = encode("/error", "/decode", "expects 64 floats", 3, -1.5, "ü")
    assert mixed == python_osc("/error", "/decode", "expects 64 floats", 3, -1.5, "ü")
    assert encode("/ok") == python_osc("/ok")


def test_python_osc_parses_what_we_encode():
    z = np.linspace(-3, 3, 64, dtype=np.float32)
    parsed = OscMessage(encode("/z", 64, z))
    assert parsed.address == "/z"
    assert parsed.params[0] == 64
    assert np.array_equal(np.asarray(parsed.params[1:], np.float32), z)


def test_encode_writes_only_f_i_s_tags():
    data = encode("/x", np.int64(3), np.float64(0.5), "s", [1, 2])
    assert decode(data).tags == "ifsff"
    with pytest.raises(TypeError):
        encode("/x", True)
    with pytest.raises(TypeError):
        encode("/x", np.zeros((2, 2)))


def test_decode_reads_python_osc_messages_of_every_type():
    data = python_osc(
        "/all",
        1.5,
        -7,
        "word",
        b"\x01\x02\x03",
        True,
        False,
        None,
        2.25,
        2**40,
        types="fisbTFNdh",
    )
    message = decode(data)
    assert message.address == "/all"
    assert message.tags == "fisbTFNdh"
    assert message.args == [1.5, -7, "word", b"\x01\x02\x03", True, False, None, 2.25, 2**40]
    assert message.args == OscMessage(data).params


def test_floats_fast_path_equals_python_osc_params():
    rng = np.random.default_rng(2)
    values = (rng.standard_normal(864) * 100).astype(np.float32)
    data = python_osc("/encode", *[float(v) for v in values])
    floats = decode(data).floats()
    assert floats.dtype == np.float32 and floats.flags.writeable
    assert np.array_equal(floats, np.asarray(OscMessage(data).params, np.float32))


def test_floats_mixes_ints_and_floats_and_slices():
    message = decode(encode("/store", "a", 1, 2, 3.5, [4.0, 5.0]))
    assert message.floats(1).tolist() == [1.0, 2.0, 3.5, 4.0, 5.0]
    assert message.floats(2, 4).tolist() == [2.0, 3.5]
    with pytest.raises(BadInputError, match="argument 1 should be a number"):
        message.floats()


def test_message_without_type_tags_has_no_arguments():
    message = decode(b"/ping\0\0\0")
    assert message.address == "/ping" and message.tags == "" and message.args == []


@pytest.mark.parametrize(
    "data, reason",
    [
        (b"", "empty"),
        (b"#bundle\0" + bytes(8), "bundles"),
        (b"ping\0\0\0\0", "must start with '/'"),
        (b"/ping\0", "multiple of 4"),
        (b"/ping\0\0\0ff\0\0", "type tag string missing"),
        (b"/x\0\0,ff\0" + struct.pack(">f", 1.0), "too short"),
        (b"/x\0\0,s\0\0abcd", "not NUL-terminated"),
        (b"/x\0\0,q\0\0", "unknown OSC type tag"),
        (b"/\xff\xfe\0", "UTF-8"),
        (b"/x\0\0,b\0\0" + struct.pack(">i", 100) + b"abcd", "blob size 100 larger"),
        (b"/x\0\0,b\0\0" + struct.pack(">i", 2**31 - 1), "blob size 2147483647 larger"),
        (b"/x\0\0,b\0\0" + struct.pack(">i", -4), "negative blob size"),
        (b"/x\0\0,f" + b"f" * 10_000 + b"\0\0", "too short for its 10001 floats"),
        (b"/x\0\0,fsf\0\0\0\0" + struct.pack(">f", 1.0), "not NUL"),
        (b"/x\0\0,ih\0" + struct.pack(">i", 1), "too short"),
    ],
)
def test_malformed_datagrams_raise_one_line_errors(data, reason):
    with pytest.raises(OscError, match=reason):
        decode(data)


def test_read_address_for_error_replies():
    assert read_address(encode("/decode", 1.0)) == "/decode"
    assert read_address(b"") == "?"
    assert read_address(b"garbage!") == "?"
    assert read_address(b"/" + b"x" * 1000) == "?"  # no NUL in the first 256 bytes
