"""Logo uploads: raster images only, recognised by their bytes whatever the file is called."""

from __future__ import annotations

import pytest

from kessai.core.link.logo import content_type_of
from kessai.kit.errors import InvalidRequest


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"\x89PNG\r\n\x1a\n....", "image/png"),
        (b"\xff\xd8\xff\xe0..JFIF", "image/jpeg"),
        (b"GIF89a....", "image/gif"),
        (b"GIF87a....", "image/gif"),
        (b"RIFF\x10\x00\x00\x00WEBPVP8 ", "image/webp"),
    ],
)
def test_raster_images_are_recognised(data, expected):
    assert content_type_of(data) == expected


@pytest.mark.parametrize(
    "data",
    [
        b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>',
        b"<!DOCTYPE html><html>",
        b"RIFF\x10\x00\x00\x00WAVEfmt ",
        b"%PDF-1.7",
        b"",
    ],
)
def test_anything_else_is_refused(data):
    with pytest.raises(InvalidRequest) as refused:
        content_type_of(data)
    assert (refused.value.code, refused.value.field) == ("P010", "logo")
