"""Put generated tables into a Markdown page: the text between ``<!-- begin NAME -->`` and
``<!-- end NAME -->`` is replaced by the file NAME of a results folder (markers whose file the
folder does not hold are left alone, so a page may draw on several folders).

    python docs/splice.py docs/VALIDATION.md results/calibration
"""

import re
import sys
from pathlib import Path


def splice(page: Path, folder: Path) -> None:
    text = page.read_text(encoding="utf-8")
    names = [n for n in re.findall(r"<!-- begin (\S+) -->", text) if (folder / n).is_file()]
    if not names:
        sys.exit(f"{page}: no <!-- begin NAME --> marker for a file of {folder}")
    for name in names:
        body = (folder / name).read_text(encoding="utf-8").rstrip("\n")
        text, n = re.subn(rf"(<!-- begin {re.escape(name)} -->\n)(?:.*?\n)?(<!-- end {re.escape(name)} -->)",
                          lambda m: m.group(1) + body + "\n" + m.group(2), text, flags=re.S)
        if n != 1:
            sys.exit(f"{page}: <!-- begin {name} --> needs one matching <!-- end {name} -->")
    tmp = page.with_name(page.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(page)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python docs/splice.py PAGE RESULTS_FOLDER")
    splice(Path(sys.argv[1]), Path(sys.argv[2]))
