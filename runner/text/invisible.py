"""Characters a reader never sees: removed from everything shown to the model, code included.

A character here renders as nothing (or changes the direction of what is around it), so text
written with it can carry instructions a reviewer of the page cannot read: Unicode tag characters
spell ASCII invisibly, variation selectors can encode bytes, zero-width and bidi controls hide or
reorder text (Trojan Source). Inside code they are just as invisible, so code loses them too.

Kept: tab, line feed and carriage return, and every character that draws something (private-use
characters draw a box or an icon). U+2028 and U+2029 (line and paragraph separators) become spaces.
"""

from __future__ import annotations

# Inclusive ranges of code points that render as nothing.
INVISIBLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x00, 0x08),  # C0 controls, except tab (09), line feed (0A) and carriage return (0D)
    (0x0B, 0x0C),
    (0x0E, 0x1F),
    (0x7F, 0x9F),  # DEL and the C1 controls
    (0xAD, 0xAD),  # soft hyphen
    (0x34F, 0x34F),  # combining grapheme joiner
    (0x61C, 0x61C),  # Arabic letter mark
    (0x115F, 0x1160),  # Hangul choseong and jungseong fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors and vowel separator
    (0x200B, 0x200F),  # zero width space, non-joiner, joiner; left-to-right and right-to-left marks
    (0x202A, 0x202E),  # bidi embeddings and overrides
    (0x2060, 0x206F),  # word joiner, invisible operators, bidi isolates, deprecated format characters
    (0x3164, 0x3164),  # Hangul filler
    (0xFDD0, 0xFDEF),  # noncharacters
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFEFF, 0xFEFF),  # zero width no-break space (byte order mark)
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFFB),  # unassigned specials, interlinear annotation controls
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical symbol format controls
    (0xE0000, 0xE007F),  # tag characters
    (0xE0100, 0xE01EF),  # variation selectors supplement
)
# The two noncharacters at the end of every plane (U+FFFE, U+FFFF, U+1FFFE, ...).
_PLANE_ENDS = tuple((plane << 16) | low for plane in range(17) for low in (0xFFFE, 0xFFFF))

_TABLE: dict[int, str | None] = {
    code: None for low, high in INVISIBLE_RANGES for code in range(low, high + 1)
}
_TABLE.update(dict.fromkeys(_PLANE_ENDS))
_TABLE.update({0x2028: " ", 0x2029: " "})

# Noncharacters U+FDD0..U+FDEF never occur in real text; the parsers use them as markers, so
# they are replaced (not removed: removing could join ``<!-`` and ``-`` into syntax) first.
_RESERVED = {code: "\ufffd" for code in range(0xFDD0, 0xFDF0)}


def strip_invisible(text: str) -> str:
    """``text`` without characters that render as nothing (see the module doc)."""
    return text.translate(_TABLE)


def reserve_markers(text: str) -> str:
    """``text`` with the noncharacters the parsers use as markers replaced by U+FFFD."""
    return text.translate(_RESERVED)
