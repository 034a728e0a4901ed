"""Text formatting (parse_mode) and keyboard validation as Telegram does it.

The parsers turn formatted text into ``(plain_text, entities)`` with UTF-16 offsets and reject what the
Bot API rejects, raising :class:`EntityParseError` with tdlib's wording (the caller prefixes it with
``"Bad Request: can't parse entities: "``).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from typing import Any


class EntityParseError(ValueError):
    """Formatted text that Telegram refuses; ``str(exc)`` is tdlib's message."""


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def _byte_offset(src: str, index: int) -> int:
    return len(src[:index].encode("utf-8"))


@dataclass
class _Open:
    tag: str
    start: int  # UTF-16 offset in the output text
    attrs: dict[str, str] = field(default_factory=dict)
    begin: int = 0  # index in the source, for error messages


_HTML_TAGS = {
    "a": "text_link",
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}
_ATTR_RE = re.compile(r"""\s*([a-zA-Z-]+)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?""")
_HTML_ENTITY_RE = re.compile(r"&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|lt|gt|amp|quot);")


def parse_html(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    pos = 0  # UTF-16 length of the output so far
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "&":
            m = _HTML_ENTITY_RE.match(src, i)
            ch = html.unescape(m.group(0)) if m else "&"
            out.append(ch)
            pos += utf16_len(ch)
            i = m.end() if m else i + 1
            continue
        if c != "<":
            out.append(c)
            pos += utf16_len(c)
            i += 1
            continue
        begin = i
        if i + 1 < n and src[i + 1] == "/":
            if not stack:
                raise EntityParseError(f"Unexpected end tag at byte offset {_byte_offset(src, begin)}")
            j = i + 2
            while j < n and not src[j].isspace() and src[j] != ">":
                j += 1
            end_tag = src[i + 2 : j].lower()
            while j < n and src[j].isspace():
                j += 1
            if j >= n or src[j] != ">":
                raise EntityParseError(f"Unclosed end tag at byte offset {_byte_offset(src, begin)}")
            top = stack[-1]
            if end_tag and end_tag != top.tag:
                raise EntityParseError(
                    f'Unmatched end tag at byte offset {_byte_offset(src, begin)}, expected "</{top.tag}>", '
                    f'found "</{end_tag}>"'
                )
            stack.pop()
            _close_html(top, pos, entities, "".join(out))
            i = j + 1
            continue
        j = i + 1
        while j < n and not src[j].isspace() and src[j] != ">":
            j += 1
        if j >= n:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        tag = src[i + 1 : j].lower()
        if tag not in _HTML_TAGS:
            raise EntityParseError(f'Unsupported start tag "{tag}" at byte offset {_byte_offset(src, begin)}')
        k = src.find(">", j)
        if k == -1:
            raise EntityParseError(f"Unclosed start tag at byte offset {_byte_offset(src, begin)}")
        attrs: dict[str, str] = {}
        for m in _ATTR_RE.finditer(src[j:k]):
            if m.group(1):
                attrs[m.group(1).lower()] = html.unescape(m.group(2) or m.group(3) or m.group(4) or "")
        if tag == "span" and attrs.get("class") != "tg-spoiler":
            raise EntityParseError('Tag "span" must have class "tg-spoiler"')
        stack.append(_Open(tag, pos, attrs, begin))
        i = k + 1
    if stack:
        raise EntityParseError(f'Can\'t find end tag corresponding to start tag "{stack[-1].tag}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _close_html(top: _Open, pos: int, entities: list[dict[str, Any]], text: str) -> None:
    length = pos - top.start
    if length <= 0:
        return
    kind = _HTML_TAGS[top.tag]
    entity: dict[str, Any] = {"type": kind, "offset": top.start, "length": length}
    if kind == "text_link":
        href = top.attrs.get("href", "")
        m = re.fullmatch(r"tg://user\?id=(\d+)", href)
        if m:
            entity = {
                "type": "text_mention",
                "offset": top.start,
                "length": length,
                "user": {"id": int(m.group(1)), "is_bot": False, "first_name": ""},
            }
        elif not href:
            return  # <a> without href is plain text
        else:
            entity["url"] = href
    elif kind == "blockquote" and "expandable" in top.attrs:
        entity["type"] = "expandable_blockquote"
    elif kind == "custom_emoji":
        entity["custom_emoji_id"] = top.attrs.get("emoji-id", "")
    elif kind == "code" and top.attrs.get("class", "").startswith("language-"):
        # <pre><code class="language-x"> becomes a pre entity with a language
        for e in entities:
            if e["type"] == "pre" and e["offset"] == top.start:
                e["language"] = top.attrs["class"][len("language-") :]
        entities.append(
            {
                "type": "pre",
                "offset": top.start,
                "length": length,
                "language": top.attrs["class"][len("language-") :],
            }
        )
        return
    entities.append(entity)


_MDV2_RESERVED = set("_*[]()~`>#+-=|{}.!")
_MDV2_NAMES = {
    "*": "Bold",
    "_": "Italic",
    "__": "Underline",
    "~": "Strikethrough",
    "||": "Spoiler",
    "[": "TextUrl",
    "`": "Code",
    "```": "Pre",
}
_MDV2_TYPES = {"*": "bold", "_": "italic", "__": "underline", "~": "strikethrough", "||": "spoiler"}


def parse_markdown_v2(src: str) -> tuple[str, list[dict[str, Any]]]:
    out: list[str] = []
    pos = 0
    stack: list[_Open] = []
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)

    def emit(ch: str) -> None:
        nonlocal pos
        out.append(ch)
        pos += utf16_len(ch)

    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and ord(src[i + 1]) <= 126:
            emit(src[i + 1])
            i += 2
            continue
        if c == "`":
            begin = i
            if src.startswith("```", i):
                end = src.find("```", i + 3)
                while end != -1 and src[end - 1] == "\\":
                    end = src.find("```", end + 1)
                if end == -1:
                    raise EntityParseError(
                        f"Can't find end of Pre entity at byte offset {_byte_offset(src, begin)}"
                    )
                body = src[i + 3 : end]
                language = ""
                if "\n" in body:
                    first, rest = body.split("\n", 1)
                    if first and " " not in first:
                        language, body = first, rest
                body = re.sub(r"\\([`\\])", r"\1", body)
                start = pos
                for ch in body:
                    emit(ch)
                if pos > start:
                    ent: dict[str, Any] = {"type": "pre", "offset": start, "length": pos - start}
                    if language:
                        ent["language"] = language
                    entities.append(ent)
                i = end + 3
                continue
            j = i + 1
            start = pos
            while j < n and src[j] != "`":
                if src[j] == "\\" and j + 1 < n:
                    j += 1
                emit(src[j])
                j += 1
            if j >= n:
                raise EntityParseError(
                    f"Can't find end of Code entity at byte offset {_byte_offset(src, begin)}"
                )
            if pos > start:
                entities.append({"type": "code", "offset": start, "length": pos - start})
            i = j + 1
            continue
        if c in "*~_" or (c == "|" and src.startswith("||", i)):
            token = "||" if c == "|" else ("__" if src.startswith("__", i) else c)
            if stack and stack[-1].tag == token:
                top = stack.pop()
                if pos > top.start:
                    entities.append(
                        {"type": _MDV2_TYPES[token], "offset": top.start, "length": pos - top.start}
                    )
            else:
                stack.append(_Open(token, pos, begin=i))
            i += len(token)
            continue
        if c == "[":
            stack.append(_Open("[", pos, begin=i))
            i += 1
            continue
        if c == "]" and stack and stack[-1].tag == "[":
            top = stack.pop()
            if not src.startswith("(", i + 1):
                raise EntityParseError(
                    f"Can't find end of TextUrl entity at byte offset {_byte_offset(src, top.begin)}"
                )
            j = i + 2
            url_chars: list[str] = []
            while j < n and src[j] != ")":
                if src[j] == "\\" and j + 1 < n:
                    j += 1
                url_chars.append(src[j])
                j += 1
            if j >= n:
                raise EntityParseError(f"Can't find end of a URL at byte offset {_byte_offset(src, i + 2)}")
            if pos > top.start:
                entities.append(
                    {
                        "type": "text_link",
                        "offset": top.start,
                        "length": pos - top.start,
                        "url": "".join(url_chars),
                    }
                )
            i = j + 1
            continue
        if c == ">" and (i == 0 or src[i - 1] == "\n"):
            i += 1  # blockquote marker at a line start
            continue
        if c in _MDV2_RESERVED:
            raise EntityParseError(f"Character '{c}' is reserved and must be escaped with the preceding '\\'")
        emit(c)
        i += 1
    if stack:
        top = stack[-1]
        raise EntityParseError(
            f"Can't find end of {_MDV2_NAMES[top.tag]} entity at byte offset {_byte_offset(src, top.begin)}"
        )
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def parse_markdown(src: str) -> tuple[str, list[dict[str, Any]]]:
    """Legacy ``Markdown``: *bold*, _italic_, `code`, ```pre```, [text](url)."""
    out: list[str] = []
    pos = 0
    entities: list[dict[str, Any]] = []
    i, n = 0, len(src)
    while i < n:
        c = src[i]
        if c == "\\" and i + 1 < n and src[i + 1] in "_*`[":
            out.append(src[i + 1])
            pos += 1
            i += 2
            continue
        if c in "*_`" or c == "[":
            begin = i
            if src.startswith("```", i):
                end = src.find("```", i + 3)
                token_len, kind = 3, "pre"
            elif c == "[":
                end = src.find("]", i + 1)
                token_len, kind = 1, "text_link"
            else:
                end = src.find(c, i + 1)
                token_len, kind = 1, {"*": "bold", "_": "italic", "`": "code"}[c]
            if end == -1:
                raise EntityParseError(
                    f"Can't find end of the entity starting at byte offset {_byte_offset(src, begin)}"
                )
            body = src[i + token_len : end]
            url = ""
            nxt = end + token_len
            if kind == "text_link":
                if not src.startswith("(", end + 1) or src.find(")", end + 2) == -1:
                    out.append(c)
                    pos += utf16_len(c)
                    i += 1
                    continue
                close = src.find(")", end + 2)
                url = src[end + 2 : close]
                nxt = close + 1
            start = pos
            out.append(body)
            pos += utf16_len(body)
            if pos > start:
                ent: dict[str, Any] = {"type": kind, "offset": start, "length": pos - start}
                if url:
                    ent["url"] = url
                entities.append(ent)
            i = nxt
            continue
        out.append(c)
        pos += utf16_len(c)
        i += 1
    return "".join(out), entities


def parse_formatted(text: str, parse_mode: str | None) -> tuple[str, list[dict[str, Any]]]:
    """Dispatch on parse_mode; unknown modes raise with Telegram's wording."""
    if not parse_mode:
        return text, []
    mode = parse_mode.lower()
    if mode == "html":
        return parse_html(text)
    if mode == "markdownv2":
        return parse_markdown_v2(text)
    if mode == "markdown":
        return parse_markdown(text)
    raise UnsupportedParseMode(parse_mode)


class UnsupportedParseMode(ValueError):
    pass


# ----------------------------------------------------------------------------------------------------------
# keyboards


class MarkupError(ValueError):
    """Invalid reply_markup; ``str(exc)`` is the full Bot API description (with "Bad Request: ")."""


_INLINE_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "callback_game",
    "pay",
    "copy_text",
)
_URL_RE = re.compile(
    r"^(https?://)?[A-Za-z0-9.-]+\.[A-Za-z]{2,}(:\d+)?([/?#].*)?$|^tg://\S+$|^https?://"
    r"(localhost|127\.0\.0\.1|\[::1\])(:\d+)?([/?#].*)?$"
)


def validate_reply_markup(markup: Any, *, private_chat: bool, inline_only: bool = False) -> dict[str, Any]:
    if not isinstance(markup, dict):
        raise MarkupError("Bad Request: can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        _validate_inline(markup["inline_keyboard"])
        return markup
    if inline_only:
        raise MarkupError("Bad Request: can't parse inline keyboard markup JSON object")
    if "keyboard" in markup:
        rows = markup["keyboard"]
        if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
            raise MarkupError(
                'Bad Request: field "keyboard" of the ReplyKeyboardMarkup should be an Array of Arrays'
            )
        for row in rows:
            for button in row:
                if isinstance(button, str):
                    continue
                if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                    raise MarkupError(
                        'Bad Request: can\'t parse keyboard button: Field "text" must be of type String'
                    )
                if button.get("request_contact") and not private_chat:
                    raise MarkupError(
                        "Bad Request: can't parse keyboard button: "
                        "Phone number can be requested in private chats only"
                    )
                if button.get("request_location") and not private_chat:
                    raise MarkupError(
                        "Bad Request: can't parse keyboard button: "
                        "Location can be requested in private chats only"
                    )
        return markup
    if "remove_keyboard" in markup:
        if markup["remove_keyboard"] is not True:
            raise MarkupError('Bad Request: field "remove_keyboard" of the ReplyKeyboardRemove must be true')
        return markup
    if "force_reply" in markup:
        if markup["force_reply"] is not True:
            raise MarkupError('Bad Request: field "force_reply" of the ForceReply must be true')
        return markup
    raise MarkupError("Bad Request: can't parse reply keyboard markup JSON object")


def _validate_inline(rows: Any) -> None:
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise MarkupError(
            'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup should be an Array of Arrays'
        )
    for row in rows:
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise MarkupError(
                    'Bad Request: can\'t parse inline keyboard button: Field "text" must be of type String'
                )
            actions = [a for a in _INLINE_ACTIONS if a in button]
            if not actions:
                raise MarkupError(
                    "Bad Request: can't parse inline keyboard button: "
                    "Text buttons are unallowed in the inline keyboard"
                )
            if len(actions) > 1:
                raise MarkupError(
                    "Bad Request: can't parse inline keyboard button: "
                    "InlineKeyboardButton must have exactly one optional field"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not data or len(data.encode("utf-8")) > 64:
                    raise MarkupError("Bad Request: BUTTON_DATA_INVALID")
            if "url" in button:
                url = button["url"]
                if not isinstance(url, str) or not _URL_RE.match(url):
                    raise MarkupError(
                        f"Bad Request: inline keyboard button URL '{url}' is invalid: Wrong HTTP URL"
                    )
