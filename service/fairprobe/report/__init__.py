"""The HTML report: one self-contained page per report, with inline SVG charts."""
