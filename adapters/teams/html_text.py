"""The text of a Teams message body, which Teams hands a message action as HTML.

A message action receives the message as ``messagePayload.body`` with ``contentType`` "html" (most
messages: ``<p>``, ``<div>``, ``<at>`` mentions, emoji as images) or "text". What Touchpoint keeps of it
is what a person reads: the words, a line per paragraph or line break, mentions as the names shown,
emoji as themselves, entities decoded; tags, scripts and styles dropped. Pure functions, no I/O.
"""

from __future__ import annotations

from html.parser import HTMLParser

MAX_HTML_CHARS = 100_000  # Teams messages are about 28 KB at most; a longer body was made by hand
BREAKS = frozenset(
    {"br", "p", "div", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "blockquote", "pre", "table"}
)
HIDDEN = frozenset({"script", "style", "template", "head", "title"})


class _Text(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in HIDDEN:
            self._hidden += 1
        elif tag in BREAKS:
            self.parts.append("\n")
        elif tag in ("img", "emoji") and not self._hidden:
            # Teams writes an emoji as an image whose alt text is the emoji itself (assumed from the
            # bodies Teams sends: itemtype ".../Emoji"); other images have no text worth keeping.
            found = dict(attrs)
            if tag == "emoji" or "emoji" in (found.get("itemtype") or "").lower():
                self.parts.append(found.get("alt") or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)  # <br/> is one break, not an opening and a closing

    def handle_endtag(self, tag: str) -> None:
        if tag in HIDDEN:
            self._hidden = max(0, self._hidden - 1)
        elif tag in BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            # In HTML a line break in the text is a space; only the tags above break lines.
            self.parts.append(data.replace("\r", " ").replace("\n", " "))


def html_text(html: str) -> str:
    """The readable text of ``html``: one line per paragraph or break, spaces collapsed, no blank
    lines."""
    parser = _Text()
    parser.feed(html[:MAX_HTML_CHARS])
    parser.close()
    lines = (" ".join(line.split()) for line in "".join(parser.parts).split("\n"))
    return "\n".join(line for line in lines if line)


def body_text(body: object) -> str:
    """The text of a message body ``{"contentType": "html" | "text", "content": ...}``; an unknown or
    missing type is read as HTML, which plain text survives (but for its ``<`` and ``&``)."""
    if not isinstance(body, dict) or not isinstance(body.get("content"), str):
        return ""
    content = str(body["content"])
    if str(body.get("contentType") or "").lower() == "text":
        return content[:MAX_HTML_CHARS].strip()
    return html_text(content)
