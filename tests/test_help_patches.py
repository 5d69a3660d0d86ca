"""Every abstraction has a help patch like vanilla's: it opens clean in Pd, holds a working
example (the abstraction itself), a reference section (inlets, outlets, arguments), and names
every message the abstraction routes from its inlets.

The messages are read from the abstraction itself: from each [inlet], through [list trim],
[t ...] and [route ...] objects, every word a [route] selects is a message that inlet takes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from pd_harness import PATCHES, error_lines, run_batch

pytestmark = pytest.mark.pd


@dataclass
class Box:
    index: int
    kind: str  # obj, msg, text, ...
    x: int
    y: int
    words: list[str]
    outs: list[tuple[int, int]] = field(default_factory=list)  # (outlet, target box)


def top_level(path: Path) -> list[Box]:
    """The boxes of a patch's top-level canvas, with their connections (subpatches are one box)."""
    boxes: list[Box] = []
    depth = 0
    text = path.read_text()
    # records end with an unescaped ';'
    for record in re.split(r"(?<!\\);\s*\n", text):
        words = record.split()
        if not words:
            continue
        head = words[:2]
        if head == ["#N", "canvas"]:
            depth += 1
            continue
        if head == ["#X", "restore"]:
            depth -= 1
            if depth == 1:
                boxes.append(Box(len(boxes), "obj", int(words[2]), int(words[3]), words[4:]))
            continue
        if depth != 1 or len(words) < 2:
            continue
        if words[1] == "connect":
            if depth == 1:
                a, ao, b, _ = (int(w) for w in words[2:6])
                boxes[a].outs.append((ao, b))
        elif words[1] in {"obj", "msg", "text", "floatatom", "symbolatom", "listbox"}:
            boxes.append(Box(len(boxes), words[1], int(words[2]), int(words[3]), words[4:]))
    return boxes


PASS_THROUGH = {"list", "t", "trigger", "route"}


def routed_messages(path: Path) -> dict[int, set[str]]:
    """For each inlet (0 = leftmost), the words its [route]s select."""
    boxes = top_level(path)
    inlets = sorted(
        (b for b in boxes if b.kind == "obj" and b.words[:1] in (["inlet"], ["inlet~"])),
        key=lambda b: b.x,
    )
    out: dict[int, set[str]] = {}
    for n, inlet in enumerate(inlets):
        words: set[str] = set()
        seen, todo = set(), [inlet.index]
        while todo:
            i = todo.pop()
            if i in seen:
                continue
            seen.add(i)
            box = boxes[i]
            if box.words and box.words[0] == "route":
                words |= {w for w in box.words[1:] if not re.fullmatch(r"-?[\d.]+", w)}
            if i == inlet.index or (box.words and box.words[0] in PASS_THROUGH):
                if box.words[:2] == ["list", "split"]:
                    continue
                todo += [b for _, b in box.outs]
        out[n] = words
    return out


def abstractions() -> list[Path]:
    """Every patches/pdbridge-*.pd that has an inlet or outlet (a patch to use as an object)."""
    found = []
    for p in sorted(PATCHES.glob("pdbridge-*.pd")):
        if p.stem.endswith("-help"):
            continue
        boxes = top_level(p)
        if any(
            b.kind == "obj" and b.words[:1] in (["inlet"], ["inlet~"], ["outlet"], ["outlet~"])
            for b in boxes
        ):
            found.append(p)
    return found


def help_words(path: Path) -> str:
    """All the words of a help patch's comments and message boxes, subpatches included."""
    text = path.read_text().replace("\\", "")
    parts = re.findall(r"^#X (?:text|msg) -?\d+ -?\d+ (.*?)(?:, f \d+)?;$", text, flags=re.M)
    return " ".join(parts)


def test_every_abstraction_is_found():
    names = {p.stem for p in abstractions()}
    assert {
        "pdbridge-client",
        "pdbridge-player",
        "pdbridge-kit~",
        "pdbridge-groove",
        "pdbridge-voice~",
    } <= names, names


def test_the_parser_reads_routed_messages():
    """A check on the check: the kit's and the player's inlets route these words."""
    kit = routed_messages(PATCHES / "pdbridge-kit~.pd")
    assert kit[0] >= {"level", "notes", "channel", "midi", "synth"}
    player = routed_messages(PATCHES / "pdbridge-player.pd")
    assert player[0] >= {"play", "stop", "bpm", "swap", "midiclock"}


@pytest.mark.parametrize("abstraction", abstractions(), ids=lambda p: p.stem)
def test_help_patch_documents_the_abstraction(abstraction):
    helpfile = abstraction.with_name(abstraction.stem + "-help.pd")
    assert helpfile.exists(), f"{abstraction.name} has no help patch"
    err = run_batch(helpfile, search_path=False)
    assert error_lines(err) == [], err
    words = help_words(helpfile)
    # the reference section, as in vanilla's help patches
    for heading in ("Inlets", "Outlets", "Arguments"):
        assert re.search(rf"\b{heading}\b", words), f"{helpfile.name}: no '{heading}' section"
    # a working example: the abstraction itself is in the help
    boxes = top_level(helpfile)
    assert any(b.kind == "obj" and b.words[:1] == [abstraction.stem] for b in boxes), (
        f"{helpfile.name} has no [{abstraction.stem}] example"
    )
    # every message an inlet routes is named in the help
    missing = {
        n: sorted(w for w in msgs if not re.search(rf"(?<![\w-]){re.escape(w)}(?![\w-])", words))
        for n, msgs in routed_messages(abstraction).items()
    }
    missing = {n: m for n, m in missing.items() if m}
    assert not missing, f"{helpfile.name} does not name these inlet messages: {missing}"
