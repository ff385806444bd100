"""Print _config.yml for one edition or job: its language and, optionally, its execution cache.

jupyter-book 1.x has no command-line option for a Sphinx setting, and each build needs its
own doctree folder, so ``make book`` (the Korean edition) and ``make translations`` (the
gettext extraction, which reads the English build's executed notebooks from its cache)
build from this derived copy of _config.yml; _config.yml stays the one file anyone edits.

A translated edition's figures draw text from its catalogues, which jupyter-cache does not
see (it keys on the code alone), so its cache folder is named by a digest of them: a
changed translation re-executes the notebooks, an unchanged one reuses them.

Usage: ``python book/_ext/edition_config.py LANGUAGE [EXECUTION_CACHE] > FILE``
"""

import hashlib
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def edition_config(language, execution_cache=None):
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    sphinx = config.setdefault("sphinx", {})
    sphinx.setdefault("config", {})["language"] = language
    # local extension folders are relative to the configuration file: make them absolute
    sphinx["local_extensions"] = {name: str(ROOT / folder) for name, folder in sphinx.get("local_extensions", {}).items()}
    if execution_cache:
        cache = Path(execution_cache).resolve()
        if language != "en":
            cache = cache / catalogue_digest(language)
        config.setdefault("execute", {})["cache"] = str(cache)
    return config


def catalogue_digest(language):
    """A short digest of the chapters' catalogues of one language."""
    digest = hashlib.sha256()
    for po in sorted((ROOT / "locales" / language / "LC_MESSAGES" / "book").glob("*.po")):
        digest.update(po.name.encode() + b"\0" + po.read_bytes())
    return digest.hexdigest()[:16]


if __name__ == "__main__":
    yaml.safe_dump(edition_config(*sys.argv[1:]), sys.stdout, allow_unicode=True, sort_keys=False)
