"""Printable A4 QR posters: one page per place, Chinese text, the place's name and its deep link."""

from __future__ import annotations

import io
from dataclasses import dataclass

import qrcode
from reportlab.lib.pagesizes import A4
from reportlab.lib.units import mm
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfgen import canvas

FONT = "STSong-Light"


@dataclass(frozen=True)
class Poster:
    place: str
    link: str
    compound: str
    duty_phone: str | None = None


@dataclass(frozen=True)
class PosterText:
    """The printed words (from the catalogue, so they can be changed without touching code)."""

    title: str
    steps: str  # may hold {place}
    phone: str  # holds {phone}
    no_phone: str


def qr_png(link: str, caption: str = "") -> bytes:
    """A QR code PNG; `caption` (ASCII, e.g. an invite code) is printed under it so it can be typed too."""
    from PIL import Image, ImageDraw, ImageFont

    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    qr.add_data(link)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white").get_image().convert("RGB")
    if caption:
        font = ImageFont.load_default(size=36)
        framed = Image.new("RGB", (image.width, image.height + 60), "white")
        framed.paste(image, (0, 0))
        ImageDraw.Draw(framed).text(
            (image.width // 2, image.height + 25), caption, fill="black", font=font, anchor="mm"
        )
        image = framed
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _qr_image(link: str) -> ImageReader:
    return ImageReader(io.BytesIO(qr_png(link)))


@dataclass(frozen=True)
class InviteCard:
    place: str
    code: str
    link: str


def render_invite_cards(cards: list[InviteCard], compound: str, hint: str) -> bytes:
    """A4 pages of cut-out invite cards, six to a page: the place, the QR and the code to type."""
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    width, height = A4
    card_w, card_h = width / 2, height / 3
    for index, card in enumerate(cards):
        if index and index % 6 == 0:
            pdf.showPage()
        column, row = index % 2, (index % 6) // 2
        x, top = column * card_w, height - row * card_h
        pdf.setDash(2, 3)
        pdf.rect(x, top - card_h, card_w, card_h)
        pdf.setDash()
        centre = x + card_w / 2
        pdf.setFont(FONT, 11)
        pdf.drawCentredString(centre, top - 10 * mm, compound)
        pdf.setFont(FONT, 16)
        pdf.drawCentredString(centre, top - 18 * mm, card.place)
        size = 52 * mm
        pdf.drawImage(_qr_image(card.link), centre - size / 2, top - 21 * mm - size, size, size)
        pdf.setFont("Helvetica-Bold", 18)
        pdf.drawCentredString(centre, top - 28 * mm - size, card.code)
        pdf.setFont(FONT, 9)
        pdf.drawCentredString(centre, top - 34 * mm - size, hint)
    pdf.save()
    return buffer.getvalue()


def _centered(pdf: canvas.Canvas, text: str, y: float, size: int) -> None:
    pdf.setFont(FONT, size)
    pdf.drawCentredString(A4[0] / 2, y, text)


def render_posters(posters: list[Poster], text: PosterText) -> bytes:
    if FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4)
    pdf.setTitle(text.title)
    width, height = A4
    for poster in posters:
        _centered(pdf, poster.compound, height - 30 * mm, 20)
        _centered(pdf, text.title, height - 52 * mm, 40)
        _centered(pdf, poster.place, height - 75 * mm, 30)
        size = 110 * mm
        pdf.drawImage(
            _qr_image(poster.link), (width - size) / 2, height - 75 * mm - 10 * mm - size, size, size
        )
        y = height - 75 * mm - 20 * mm - size
        for line in text.steps.format(place=poster.place).splitlines():
            _centered(pdf, line, y, 16)
            y -= 9 * mm
        phone = text.phone.format(phone=poster.duty_phone) if poster.duty_phone else text.no_phone
        _centered(pdf, phone, y - 4 * mm, 16)
        pdf.setFont("Helvetica", 9)
        pdf.drawCentredString(width / 2, 15 * mm, poster.link)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()
