"""Photos and voice notes a web chat citizen uploads: checked by their first bytes, stored under a random name."""

from __future__ import annotations

import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

from aiohttp import BodyPartReader

# The first bytes decide what a file is; the browser's declared type only has to agree on photo vs voice.
# No SVG or HTML: nothing stored here may ever run as a script if someone later serves it.
PHOTO, VOICE = "photo", "voice"
NAME = re.compile(r"^[0-9a-f]{32}\.(jpg|png|gif|webp|heic|ogg|webm|mp3|m4a|wav|amr|aac)$")
KIND_OF_EXTENSION = {
    **dict.fromkeys(("jpg", "png", "gif", "webp", "heic"), PHOTO),
    **dict.fromkeys(("ogg", "webm", "mp3", "m4a", "wav", "amr", "aac"), VOICE),
}
_HEIF_BRANDS = (b"heic", b"heix", b"hevc", b"heim", b"heis", b"mif1", b"msf1")


def sniff(head: bytes, declared: str) -> str | None:
    """The file extension for these first bytes, or None when it is not a photo or voice format we take."""
    family = declared.split("/", 1)[0].strip().lower()
    found: str | None = None
    if head.startswith(b"\xff\xd8\xff"):
        found = "jpg"
    elif head.startswith(b"\x89PNG\r\n\x1a\n"):
        found = "png"
    elif head[:6] in (b"GIF87a", b"GIF89a"):
        found = "gif"
    elif head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        found = "webp"
    elif head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        found = "wav"
    elif head[4:8] == b"ftyp":
        # ISO media: HEIF photos by brand; otherwise only audio the browser says is audio (a phone's m4a).
        found = "heic" if head[8:12] in _HEIF_BRANDS else ("m4a" if family == "audio" else None)
    elif head.startswith(b"OggS"):
        found = "ogg"
    elif head.startswith(b"\x1a\x45\xdf\xa3"):
        found = "webm" if family == "audio" else None
    elif head.startswith(b"#!AMR"):
        found = "amr"
    elif head.startswith(b"ID3"):
        found = "mp3"
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xF6 == 0xF0:
        found = "aac"  # ADTS
    elif len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        found = "mp3"  # an MPEG audio frame without an ID3 tag
    if found is None:
        return None
    expected = "image" if KIND_OF_EXTENSION[found] == PHOTO else "audio"
    return found if family == expected else None


@dataclass(frozen=True)
class Stored:
    name: str
    kind: str
    size: int


class UploadRefused(Exception):
    def __init__(self, status: int, msgid: str) -> None:
        super().__init__(msgid)
        self.status, self.msgid = status, msgid


class Uploads:
    """`<data dir>/uploads/<chat id>/<32 hex>.<ext>`: a chat can only attach what it uploaded itself."""

    def __init__(self, root: Path, max_bytes: int, max_files: int) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self.max_files = max_files

    def folder(self, chat_id: str) -> Path:
        return self.root / chat_id

    def find(self, chat_id: str, name: str) -> Stored | None:
        if not NAME.fullmatch(name):
            return None
        path = self.folder(chat_id) / name
        if not path.is_file():
            return None
        return Stored(name=name, kind=KIND_OF_EXTENSION[name.rsplit(".", 1)[1]], size=path.stat().st_size)

    async def store(self, chat_id: str, part: BodyPartReader) -> Stored:
        """Stream one multipart part to disk; refuse a foreign type or an oversize file, leaving nothing behind."""
        declared = part.headers.get("Content-Type", "")
        if not declared.lower().startswith(("image/", "audio/")):
            raise UploadRefused(415, "webchat.upload_type")
        folder = self.folder(chat_id)
        folder.mkdir(parents=True, exist_ok=True)
        if sum(1 for f in folder.iterdir() if NAME.fullmatch(f.name)) >= self.max_files:
            raise UploadRefused(429, "webchat.upload_quota")
        partial = folder / f".{secrets.token_hex(16)}.part"
        size, extension = 0, None
        try:
            with partial.open("wb") as handle:
                while chunk := await part.read_chunk(64 * 1024):
                    if extension is None:
                        extension = sniff(chunk[:32], declared)
                        if extension is None:
                            raise UploadRefused(415, "webchat.upload_type")
                    size += len(chunk)
                    if size > self.max_bytes:
                        raise UploadRefused(413, "webchat.upload_too_large")
                    handle.write(chunk)
            if extension is None:
                raise UploadRefused(400, "webchat.upload_empty")
            name = f"{secrets.token_hex(16)}.{extension}"
            os.replace(partial, folder / name)
        finally:
            partial.unlink(missing_ok=True)
        return Stored(name=name, kind=KIND_OF_EXTENSION[extension], size=size)


def upload_path(root: Path, ref: str) -> Path | None:
    """The file behind an attachment ref `webchat:<chat id>/<name>`, for whoever needs to open it later."""
    prefix, _, rest = ref.partition(":")
    chat_id, _, name = rest.partition("/")
    if prefix != "webchat" or not re.fullmatch(r"w[0-9a-f]{40}", chat_id) or not NAME.fullmatch(name):
        return None
    path = root / chat_id / name
    return path if path.is_file() else None
