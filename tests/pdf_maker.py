"""A minimal, valid multi-page PDF writer for tests (Helvetica text, correct xref table), so
the PDF loader is tested on real PDF bytes without a PDF-authoring dependency."""

from __future__ import annotations


def make_pdf(pages: list[str]) -> bytes:
    objects: list[bytes] = []
    n = len(pages)
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(n))
    objects.append(b"<< /Type /Catalog /Pages 2 0 R >>")
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {n} >>".encode())
    objects.append(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i, text in enumerate(pages):
        lines = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").split("\n")
        ops = "BT /F1 11 Tf 14 TL 72 720 Td " + " ".join(f"({line}) Tj T*" for line in lines)
        stream = (ops + " ET").encode("latin-1")
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>".encode()
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % off for off in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def make_flate_bomb(size: int = 80_000_000) -> bytes:
    """A one-page PDF whose content stream inflates to ``size`` bytes (~1000x its own): over
    pypdf's 75 MB limit by default, so reading it raises pypdf's ``LimitReachedError``."""
    import zlib

    pdf = make_pdf(["x"])
    bomb = zlib.compress(b" " * size, 9)
    start, end = pdf.index(b"stream\n") + len(b"stream\n"), pdf.index(b"\nendstream")
    head = pdf[:start].replace(
        b"<< /Length ", b"<< /Filter /FlateDecode /Length %d /X " % len(bomb)
    )
    return head + bomb + pdf[end:]  # offsets after it are off: pypdf repairs the xref
