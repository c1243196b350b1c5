"""Write style/reference.docx, the Word styles both engines use for review.docx.

_quarto.yml names the file as the docx format's `reference-doc`; Quarto and the built-in
renderer pass it to pandoc, which takes the styles and the page set-up from it and nothing
else. It is pandoc's own default reference document with these changes: A4 with 2.5 cm
margins, Times New Roman 12 pt at 1.5 lines for the text, Arial for headings in black,
captions and tables smaller, tables ruled above and below, links in the PDF's blue.

    .venv/bin/python style/reference_docx.py      # rewrites style/reference.docx

The output is the same bytes for the same pandoc version (fixed zip dates and order); a test
regenerates it and compares.
"""

from __future__ import annotations

import re
import subprocess
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEXT_FONT, HEADING_FONT = "Times New Roman", "Arial"
# twentieths of a point: A4 is 11906 x 16838; 2.5 cm is 1417
PAGE = ('<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="1417" w:right="1417" '
        'w:bottom="1417" w:left="1417" w:header="709" w:footer="709" w:gutter="0"/></w:sectPr>')


def _fonts(name: str) -> str:
    return f'<w:rFonts w:ascii="{name}" w:hAnsi="{name}" w:eastAsia="{name}" w:cs="{name}" />'


def _style(xml: str, style_id: str, edit) -> str:
    pattern = re.compile(rf'<w:style [^>]*w:styleId="{style_id}".*?</w:style>', re.S)
    match = pattern.search(xml)
    if match is None:
        raise SystemExit(f"pandoc's reference.docx has no style {style_id}")
    return xml[:match.start()] + edit(match.group(0)) + xml[match.end():]


def _run_props(style: str, props: str) -> str:
    """Replace a style's run properties (fonts, size, colour) with `props`."""
    if "<w:rPr>" in style:
        return re.sub(r"<w:rPr>.*?</w:rPr>", f"<w:rPr>{props}</w:rPr>", style, flags=re.S)
    return style.replace("</w:style>", f"<w:rPr>{props}</w:rPr></w:style>")


def _size(points: float) -> str:
    return f'<w:sz w:val="{round(points * 2)}" /><w:szCs w:val="{round(points * 2)}" />'


def styles(xml: str) -> str:
    xml = re.sub(r"<w:rFonts [^>]*/>\s*<w:sz w:val=\"24\" />", _fonts(TEXT_FONT) + '<w:sz w:val="24" />', xml, count=1)
    xml = _style(xml, "BodyText", lambda s: s.replace(
        '<w:spacing w:before="180" w:after="180" />', '<w:spacing w:before="0" w:after="160" w:line="360" w:lineRule="auto" />'))
    heading = {"Heading1": 14, "Heading2": 12, "Heading3": 12, "Heading4": 11, "Heading5": 11, "Heading6": 11}
    for sid, pt in heading.items():
        italic = "<w:i />" if sid != "Heading1" and sid != "Heading2" else ""
        xml = _style(xml, sid, lambda s, pt=pt, italic=italic: _run_props(
            s, _fonts(HEADING_FONT) + "<w:b />" + italic + '<w:color w:val="000000" />' + _size(pt)))
    for sid in ("Title", "Subtitle"):
        xml = _style(xml, sid, lambda s, sid=sid: _run_props(
            s, _fonts(HEADING_FONT) + "<w:b />" * (sid == "Title") + _size(18 if sid == "Title" else 13)))
    xml = _style(xml, "Caption", lambda s: _run_props(s, _size(10)))
    xml = _style(xml, "Abstract", lambda s: _run_props(s, _size(11)))
    xml = _style(xml, "Hyperlink", lambda s: _run_props(s, '<w:color w:val="1B5E9E" />'))
    rule = '<w:top w:val="single" w:sz="8" w:space="0" w:color="000000" />'
    xml = _style(xml, "Table", lambda s: s.replace(
        "<w:tblCellMar>", "<w:tblBorders>" + rule + rule.replace("w:top", "w:bottom") + "</w:tblBorders><w:tblCellMar>")
        .replace("<w:tblPr>", f"<w:rPr>{_size(9)}</w:rPr><w:tblPr>", 1))  # rPr comes before tblPr
    return xml


def document(xml: str) -> str:
    if "<w:sectPr" in xml:
        return re.sub(r"<w:sectPr.*?</w:sectPr>", PAGE, xml, flags=re.S)
    return xml.replace("</w:body>", PAGE + "</w:body>")


def default_reference() -> bytes:
    import pypandoc

    return subprocess.run([pypandoc.get_pandoc_path(), "--print-default-data-file", "reference.docx"],
                          capture_output=True, check=True).stdout


def build(out: Path) -> None:
    import io

    src = zipfile.ZipFile(io.BytesIO(default_reference()))
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename == "word/styles.xml":
                data = styles(data.decode("utf-8")).encode("utf-8")
            elif info.filename == "word/document.xml":
                data = document(data.decode("utf-8")).encode("utf-8")
            entry = zipfile.ZipInfo(info.filename, date_time=(1980, 1, 1, 0, 0, 0))
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, data)


if __name__ == "__main__":
    build(Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "reference.docx")
