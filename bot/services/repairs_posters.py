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


def _qr_image(link: str) -> ImageReader:
    qr = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=10, border=2)
    qr.add_data(link)
    qr.make(fit=True)
    image = qr.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return ImageReader(buffer)


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
