"""The one door to weasyprint, so its process-wide side effects are undone in one place."""

from __future__ import annotations

from PIL import ImageFile
from weasyprint import HTML

# Importing weasyprint makes Pillow accept truncated images in the whole process; exception photos
# (domain/photos.py) must refuse a half-uploaded picture, and our own PDFs embed only complete images.
ImageFile.LOAD_TRUNCATED_IMAGES = False


def html_to_pdf(html: str) -> bytes:
    pdf = HTML(string=html).write_pdf()
    assert pdf is not None
    return pdf
