"""How much of the module is translated: per catalogue of locales/ko, its messages, their English
words and Korean characters, and how many are untranslated or fuzzy; then the check messages.

Usage: .venv/bin/python benchmarks/translation_statistics.py
"""

import re
import sys
from pathlib import Path

from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "autograder"))
import dropout_checks  # noqa: E402


def main():
    catalogues = ROOT / "locales" / "ko" / "LC_MESSAGES"
    print(f"{'catalogue':32} {'messages':>8} {'EN words':>8} {'KO chars':>8} {'empty':>5} {'fuzzy':>5}")
    totals = [0, 0, 0]
    for path in sorted(catalogues.rglob("*.po")):
        with path.open("rb") as file:
            messages = [m for m in read_po(file) if m.id]
        words = sum(len(re.findall(r"[A-Za-z]+", m.id)) for m in messages)
        characters = sum(len(m.string) for m in messages)
        empty, fuzzy = sum(not m.string for m in messages), sum(m.fuzzy for m in messages)
        print(f"{path.relative_to(catalogues).as_posix():32} {len(messages):8} {words:8} {characters:8} {empty:5} {fuzzy:5}")
        totals = [totals[0] + len(messages), totals[1] + words, totals[2] + characters]
    print(f"{'all catalogues':32} {totals[0]:8} {totals[1]:8} {totals[2]:8}")
    english, korean = dropout_checks.MESSAGES, dropout_checks.MESSAGES_KO
    print(f"{'check messages (MESSAGES_KO)':32} {len(korean):8} "
          f"{sum(len(re.findall(r'[A-Za-z]+', t)) for t in english.values()):8} "
          f"{sum(len(t) for t in korean.values()):8} {len(set(english) - set(korean)):5}")


if __name__ == "__main__":
    main()
