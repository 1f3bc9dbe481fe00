"""Frames of at most 256 bytes, and a reader that resumes from the last good frame."""

from __future__ import annotations

import os

import pytest

from ctop_node.lock import frames
from ctop_node.lock.device import LockDevice
from ctop_node.lock.errors import FrameError


def test_every_frame_fits_and_the_blob_comes_back() -> None:
    data = os.urandom(5000)
    parts = frames.split(data)
    assert max(len(p) for p in parts) <= 256
    reader = frames.FrameReader()
    for p in parts:
        reader.feed(p)
    assert reader.done and reader.result() == data


def test_empty_blob() -> None:
    reader = frames.FrameReader()
    reader.feed(frames.split(b"")[0])
    assert reader.result() == b""


def test_resume_after_a_broken_link(travelled: LockDevice) -> None:
    expected = travelled.image().to_bytes()
    reader = frames.FrameReader()
    for p in travelled.frames()[:3]:  # the link drops after three frames
        reader.feed(p)
    assert not reader.done and reader.next_index == 3
    with pytest.raises(FrameError) as info:
        reader.result()
    assert info.value.code == "lock.frame.incomplete"
    for p in travelled.frames(reader.next_index):  # a new session asks from frame 3
        reader.feed(p)
    assert reader.result() == expected


def test_damaged_frame_is_refused_and_can_be_fetched_again() -> None:
    parts = frames.split(os.urandom(1000))
    reader = frames.FrameReader()
    reader.feed(parts[0])
    damaged = bytearray(parts[1])
    damaged[-1] ^= 0xFF
    with pytest.raises(FrameError) as info:
        reader.feed(bytes(damaged))
    assert info.value.code == "lock.frame.check"
    assert reader.next_index == 1
    for p in parts[1:]:
        reader.feed(p)
    assert reader.done


def test_frames_of_another_transfer_and_out_of_order() -> None:
    a, b = frames.split(os.urandom(600)), frames.split(os.urandom(600))
    reader = frames.FrameReader()
    reader.feed(a[0])
    with pytest.raises(FrameError) as info:
        reader.feed(b[1])
    assert info.value.code == "lock.frame.transfer"
    with pytest.raises(FrameError) as info:
        reader.feed(a[2])
    assert info.value.code == "lock.frame.order"


@pytest.mark.parametrize("blob", [b"", b"\x00", b"\x85" + b"\x00" * 5, b"\xff" * 300])
def test_garbage_frames(blob: bytes) -> None:
    with pytest.raises(FrameError):
        frames.FrameReader().feed(blob)


def test_frame_size_is_bounded() -> None:
    with pytest.raises(FrameError):
        frames.split(b"x", size=257)
    assert max(len(p) for p in frames.split(os.urandom(999), size=64)) <= 64
