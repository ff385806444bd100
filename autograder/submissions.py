"""Find the students' notebooks in what an instructor received, and make each one gradable.

``collect`` accepts a folder with one folder per student, a flat folder of
``<student_id>.ipynb`` files, or a ``.zip`` of either. ``rebuild`` puts a student's
answers into the released notebook, so that test and read-only cells are always the
course's own, whatever the student deleted, duplicated or edited; every such repair is
reported, never silent. A submission is rebuilt on the released notebook of its own
language (``edition``), whose read-only cells it holds.
"""

import copy
import json
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import nbformat

NOTEBOOK = "dropout.ipynb"
IGNORED = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}
MAX_UNZIPPED_BYTES = 512 * 2**20


class SubmissionsError(Exception):
    """The submissions as a whole cannot be read (not a single student can be graded)."""


@dataclass
class Submission:
    """One student's submission: a notebook to grade, or the problem that prevents it."""

    student_id: str
    notebook: Path | None = None
    problem: str | None = None
    remarks: list[str] = field(default_factory=list)


def _visible(path):
    return not (path.name.startswith(".") or path.name in IGNORED)


def _notebooks(folder):
    return sorted(
        p for p in folder.rglob("*.ipynb")
        if p.is_file() and all(_visible(Path(part)) for part in p.relative_to(folder).parts)
    )


def _unzip(archive, target):
    """Extract a zip safely: no paths outside target, no more than MAX_UNZIPPED_BYTES."""
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if sum(m.file_size for m in members) > MAX_UNZIPPED_BYTES:
                raise SubmissionsError(f"{archive} unpacks to more than {MAX_UNZIPPED_BYTES // 2**20} MiB")
            for member in members:
                parts = PurePosixPath(member.filename).parts
                if member.filename.startswith("/") or ".." in parts:
                    raise SubmissionsError(f"{archive} holds a path outside its folder: {member.filename}")
            zf.extractall(target)
    except zipfile.BadZipFile as error:
        raise SubmissionsError(f"{archive} is not a valid zip file: {error}") from None
    entries = [p for p in target.iterdir() if _visible(p)]
    if len(entries) == 1 and entries[0].is_dir() and not _has_student_layout(target, entries[0]):
        return entries[0]  # a zip of the submissions folder itself
    return target


def _has_student_layout(root, only_dir):
    """True when root's only folder is one student's folder rather than a wrapper around all of them."""
    return any(p.suffix == ".ipynb" for p in only_dir.iterdir()) and not any(p.is_dir() for p in only_dir.iterdir() if _visible(p))


def collect(path, workdir):
    """The submissions in path (a folder or a .zip), sorted by student id; zips unpack into workdir."""
    path = Path(path)
    if not path.exists():
        raise SubmissionsError(f"{path} does not exist")
    if path.is_file():
        if path.suffix.lower() != ".zip":
            raise SubmissionsError(f"{path} is a file but not a .zip: give a folder or a .zip of one")
        root = _unzip(path, Path(tempfile.mkdtemp(dir=workdir, prefix="unzipped-")))
    else:
        root = path
    found = {}
    for entry in sorted(root.iterdir()):
        if not _visible(entry):
            continue
        if entry.is_dir():
            submission = _from_folder(entry)
        elif entry.suffix == ".ipynb":
            submission = Submission(entry.stem, notebook=entry)
        else:
            continue
        if submission.student_id in found:
            submission = Submission(submission.student_id, problem="submitted twice, as a folder and as a file")
        found[submission.student_id] = submission
    if not found:
        raise SubmissionsError(f"{path} holds no student folders and no notebooks")
    return [found[key] for key in sorted(found)]


def _from_folder(folder):
    notebooks = _notebooks(folder)
    if not notebooks:
        return Submission(folder.name, problem="no notebook in the student's folder")
    if len(notebooks) > 1:
        names = ", ".join(p.relative_to(folder).as_posix() for p in notebooks)
        return Submission(folder.name, problem=f"{len(notebooks)} notebooks ({names}): submit one")
    submission = Submission(folder.name, notebook=notebooks[0])
    if notebooks[0].name != NOTEBOOK:
        submission.remarks.append(f"notebook was named {notebooks[0].name}")
    return submission


def read_notebook(path):
    """The notebook at path as nbformat 4, plus remarks; raises ValueError saying why it is not one."""
    text = Path(path).read_text(encoding="utf-8", errors="replace")
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as error:
        raise ValueError(f"not a notebook: invalid JSON ({error.msg}, line {error.lineno})") from None
    if not isinstance(raw, dict) or "nbformat" not in raw:
        raise ValueError("not a notebook: JSON without an nbformat version")
    if raw["nbformat"] == 4 and not isinstance(raw.get("cells"), list):
        raise ValueError("not a notebook: it has no cells")
    remarks = []
    try:
        nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # noqa: BLE001 - nbformat raises many kinds; each means "not a notebook"
        raise ValueError(f"not a notebook: {type(error).__name__}: {error}"[:200]) from None
    if raw["nbformat"] != 4:
        remarks.append(f"converted from nbformat {raw['nbformat']}")
    return nb, remarks


def _meta(cell):
    return cell.get("metadata", {}).get("nbgrader", {})


def rebuild(student, released):
    """The released notebook with the student's answer cells and own extra cells in place.

    Test and read-only cells always come from the released notebook. Returns the new
    notebook and remarks on what had to be restored.
    """
    known = {_meta(c)["grade_id"]: c for c in released.cells if _meta(c).get("grade_id")}
    answers, extras, anchor, seen = {}, {None: []}, None, {}
    for cell in student.cells:
        grade_id = _meta(cell).get("grade_id")
        if grade_id in known:
            seen[grade_id] = seen.get(grade_id, 0) + 1
            anchor = grade_id
            if _meta(known[grade_id]).get("solution"):
                answers.setdefault(grade_id, cell)
        else:
            own = copy.deepcopy(cell)
            own.get("metadata", {}).pop("nbgrader", None)  # a student's own cell is never graded
            extras.setdefault(anchor, []).append(own)

    remarks = []
    deleted = [g for g in known if g not in seen]
    duplicated = [g for g, n in seen.items() if n > 1]
    edited = [g for g in seen if not _meta(known[g]).get("solution") and g not in duplicated
              and _source_of(student, g) != known[g].source]
    for label, ids in (("deleted", deleted), ("duplicated", duplicated), ("edited", edited)):
        if ids:
            remarks.append(f"{label} cells restored: {', '.join(ids)}")

    cells = list(extras[None])
    for cell in released.cells:
        grade_id = _meta(cell).get("grade_id")
        new = copy.deepcopy(cell)
        if grade_id in answers:
            new.source = answers[grade_id].source
        cells.append(new)
        cells.extend(extras.get(grade_id, []))
    rebuilt = copy.copy(released)  # its cells are the copies above
    rebuilt.metadata = copy.deepcopy(released.metadata)
    rebuilt.cells = cells
    for number, cell in enumerate(rebuilt.cells):
        cell.id = f"cell-{number}"  # unique and the same on every run
    nbformat.validate(rebuilt)
    return rebuilt, remarks


def _source_of(nb, grade_id):
    return next(c.source for c in nb.cells if _meta(c).get("grade_id") == grade_id)


def edition(student, released):
    """The language of the released notebook (language -> notebook) whose read-only cells the student's match most.

    A tie (a notebook with no read-only cell left as released) goes to the language its
    metadata names, else to the first.
    """
    sources = {_meta(c).get("grade_id"): c.source for c in student.cells if not _meta(c).get("solution")}

    def matches(language):
        return sum(1 for c in released[language].cells
                   if _meta(c).get("grade_id") and not _meta(c).get("solution") and sources.get(_meta(c)["grade_id"]) == c.source)

    named = student.metadata.get("lang")
    return max(released, key=lambda language: (matches(language), language == named))


def prepare(submission, released, destination):
    """Write the gradable notebook of one submission to destination; return (its language, remarks), or raise ValueError.

    released: language -> released notebook.
    """
    if submission.problem:
        raise ValueError(submission.problem)
    nb, remarks = read_notebook(submission.notebook)
    language = edition(nb, released)
    nb, repairs = rebuild(nb, released[language])
    destination.parent.mkdir(parents=True, exist_ok=True)
    # nbformat's JSON writer without nbformat.write's second validation of what rebuild validated
    destination.write_text(nbformat.v4.writes(nb) + "\n", encoding="utf-8")
    return language, [*submission.remarks, *remarks, *repairs]
