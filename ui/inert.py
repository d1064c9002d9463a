"""Text from outside the page (model answers, retrieved titles and snippets, rationales) made
inert before Streamlit renders it as Markdown.

A Markdown image is fetched by the browser as soon as the page draws it, so a source or answer
carrying ``![x](http://host/a.png)`` would make every clinician's browser call that host (and
tell it who is reading what). Raw HTML is not rendered by ``st.markdown`` unless asked, but
neither should it depend on that flag. So, outside code blocks (whose text is shown literally):

- the ``[`` that would open an image after ``!`` becomes the entity ``&#91;``: the text still
  reads ``![x](...)`` but no image can form, whatever backslashes precede it;
- a ``<`` that could open a tag, comment or autolink becomes ``&lt;``.

Links stay links: following one takes a click. Inside an inline code span the entity shows as
written, a small price for not re-writing the Markdown.
"""

from __future__ import annotations

import re

from markdown_it import MarkdownIt

_PARSER = MarkdownIt("commonmark")
_IMAGE_OPENER = re.compile(r"!\[")
_TAG_OPENER = re.compile(r"<(?=[A-Za-z/!?])")


def inert(text: str) -> str:
    """``text`` as Markdown that draws no image and no HTML."""
    if "![" not in text and "<" not in text:
        return text
    code_lines: set[int] = set()
    for token in _PARSER.parse(text):
        if token.type in ("fence", "code_block") and token.map:
            code_lines.update(range(*token.map))
    lines = text.split("\n")
    return "\n".join(line if number in code_lines else _TAG_OPENER.sub("&lt;", _IMAGE_OPENER.sub("!&#91;", line))
                     for number, line in enumerate(lines))
