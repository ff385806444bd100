"""nbgrader's autograde steps, without the work they repeat on every notebook: the same checks, the same grades.

Outside the student's kernel, nbgrader's autograde spends much of its CPU on work that is
the same for every submission of a run:

- CheckCellMetadata validates each cell's nbgrader metadata with ``jsonschema.validate``
  (nbgrader/nbgraderformat/common.py), which checks the schema itself against JSON Schema's
  metaschema before every cell: nine tenths of the step. Here the schema is checked once
  per process, and metadata validated as nbformat validates notebooks, with fastjsonschema,
  and jsonschema saying what is wrong when fastjsonschema finds anything (CheckCellMetadataOnce).
- OverwriteCells asks the gradebook about each of the course's cells (two queries per
  graded cell, one per other cell) for each notebook, and OverwriteKernelspec for the
  course notebook's kernel; the answers, the course's own, do not change during a run.
  Here they are asked once per course (OverwriteCellsKnown, OverwriteKernelspecKnown).
- SaveAutoGrades and GetGrades look up each cell's grade and comment with a query of its
  own (six joins, built anew in Python each time: half a millisecond), and SaveAutoGrades
  commits after each cell, which makes SQLAlchemy load again what the next query needs.
  Here a submitted notebook's grades are read in one query, its comments in another
  (_GradesAtOnce), and SaveAutoGrades's commits made one (SaveAutoGradesOnce, one_commit).

And nbconvert's exporters, which nbgrader runs three times per submission, copy each
notebook twice where once is enough (CopiesOnce).
"""

import functools
import json
import os
import threading
import traceback
from contextlib import contextmanager
from pathlib import Path
from types import SimpleNamespace

from jsonschema.exceptions import best_match
from jsonschema.validators import validator_for
from nbconvert.exporters import Exporter, NotebookExporter
from nbformat.json_compat import FastJsonSchemaValidator
from nbgrader.api import Comment, Grade, Gradebook, MissingEntry
from nbgrader.nbgraderformat import SchemaTooNewError, SchemaTooOldError, ValidationError, common
from nbgrader.nbgraderformat.v3 import MetadataValidatorV3
from nbgrader.preprocessors import (CheckCellMetadata, GetGrades, OverwriteCells, OverwriteKernelspec,
                                    SaveAutoGrades)
from sqlalchemy.orm import joinedload


@functools.cache
def _schema_validators(version):
    """Validators of one version of nbgrader's schema (the file its validator reads), checked once: nbformat's
    fastjsonschema one, to accept, and jsonschema's, to say what is wrong as jsonschema.validate says it."""
    schema = json.loads(Path(common.root, f"v{version:d}.json").read_text())
    cls = validator_for(schema)
    cls.check_schema(schema)
    return FastJsonSchemaValidator(schema), cls(schema)


class _SchemaCheckedOnce(common.BaseMetadataValidator):
    """BaseMetadataValidator.validate_cell, with the schema's own check done once (_schema_validators)."""

    def validate_cell(self, cell):
        if "nbgrader" not in cell.metadata:
            return
        version = cell.metadata["nbgrader"].get("schema_version", 0)
        if version < self.schema_version:
            raise SchemaTooOldError(f"Outdated schema version: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        if version > self.schema_version:
            raise SchemaTooNewError(f"Schema version is too new: {version} (expected {self.schema_version})",
                                    version, self.schema_version)
        fast, thorough = _schema_validators(self.schema_version)
        if not fast.iter_errors(cell.metadata["nbgrader"]):
            return  # fastjsonschema accepts no metadata that jsonschema refuses (tests/test_nbgrader_steps.py)
        error = best_match(thorough.iter_errors(cell.metadata["nbgrader"]))
        if error is not None:  # as jsonschema.validate raises it
            raise error


class MetadataValidator(MetadataValidatorV3, _SchemaCheckedOnce):
    """nbgrader's MetadataValidator (v3), whose check of each cell calls _SchemaCheckedOnce's, not the base's."""


@functools.cache
def _validator():
    return MetadataValidator()


class CheckCellMetadataOnce(CheckCellMetadata):
    """nbgrader's CheckCellMetadata with MetadataValidator: the same checks, the schema checked once."""

    def preprocess(self, nb, resources):
        try:
            _validator().validate_nb(nb)
        except ValidationError:  # as nbgrader's CheckCellMetadata.preprocess reports it
            self.log.error(traceback.format_exc())
            msg = "Notebook failed to validate; the nbgrader metadata may be corrupted."
            self.log.error(msg)
            raise ValidationError(msg) from None
        return nb, resources


_known = {}  # (gradebook URL, assignment, notebook) -> _KnownCells
_known_lock = threading.Lock()


class _KnownCells:
    """What OverwriteCells and OverwriteKernelspec ask a gradebook about one notebook of the course, as plain data."""

    def __init__(self, db_url, assignment, notebook):
        with Gradebook(db_url) as gradebook:
            found = gradebook.find_notebook(notebook, assignment)
            self.source = {cell.name: SimpleNamespace(name=cell.name, cell_type=cell.cell_type, locked=cell.locked,
                                                      source=cell.source, checksum=cell.checksum)
                           for cell in found.source_cells}
            self.graded = {cell.name: SimpleNamespace(name=cell.name, max_score=cell.max_score)
                           for cell in [*found.grade_cells, *found.task_cells]}
            self.kernelspec = found.kernelspec  # JSON text, or None
        self.where = f"{assignment}/{notebook}"

    def find_source_cell(self, name, notebook, assignment):
        if name not in self.source:  # as nbgrader's Gradebook says it
            raise MissingEntry(f"No such source cell: {self.where}/{name}")
        return self.source[name]

    def find_graded_cell(self, name, notebook, assignment):
        if name not in self.graded:
            raise MissingEntry(f"No such graded cell: {self.where}/{name}")
        return self.graded[name]


def _known_cells(resources):
    """The _KnownCells of the notebook nbgrader's resources are about, read on first use."""
    key = (resources["nbgrader"]["db_url"], resources["nbgrader"]["assignment"], resources["nbgrader"]["notebook"])
    with _known_lock:
        if key not in _known:
            _known[key] = _KnownCells(*key)
        return _known[key]


def forget_course(db_url):
    """Let go of what OverwriteCellsKnown kept of the course whose gradebook is at db_url (its run has ended)."""
    with _known_lock:
        for key in [key for key in _known if key[0] == db_url]:
            del _known[key]


class OverwriteCellsKnown(OverwriteCells):
    """nbgrader's OverwriteCells, its questions about the course's cells answered from _KnownCells.

    Each notebook's cells are still checked and restored by nbgrader's own preprocess_cell;
    only the gradebook it asks is the course's cells kept, read once per course and process
    (the course is not changed while its submissions are graded: a run's course is made anew).
    """

    def preprocess(self, nb, resources):
        if self.add_missing_cells:  # nbgrader's own, which asks the gradebook for more
            return super().preprocess(nb, resources)
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.db_url = resources["nbgrader"]["db_url"]
        self.gradebook = _known_cells(resources)
        return super(OverwriteCells, self).preprocess(nb, resources)


class OverwriteKernelspecKnown(OverwriteKernelspec):
    """nbgrader's OverwriteKernelspec: a notebook gets the course notebook's kernelspec (_KnownCells), if any."""

    def preprocess(self, nb, resources):
        known = _known_cells(resources).kernelspec
        kernelspec = json.loads(known) if known is not None else None  # each notebook its own, as in nbgrader's
        if kernelspec:
            nb.metadata["kernelspec"] = kernelspec
        return nb, resources


class _Commits:
    """A session seen through, but for commit(), which only flushes or does nothing (one_commit, cells_together)."""

    def __init__(self, session, flush):
        self._session, self._flush = session, flush

    def __getattr__(self, name):
        return getattr(self._session, name)

    def commit(self):
        if self._flush:
            self._session.flush()


@contextmanager
def one_commit(gradebook):
    """Within, the Gradebook's commits only flush; at the end all is committed together, or all rolled back.

    nbgrader commits after each cell it saves, each time writing the database file anew.
    """
    session = gradebook.db
    gradebook.db = _Commits(session, flush=True)
    try:
        yield
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        gradebook.db = session


@contextmanager
def cells_together(gradebook):
    """Within, the Gradebook's commits do nothing; at the end what changed is flushed at once (in one_commit).

    SaveAutoGrades commits after each cell's grade or comment, with no query in between
    that needs it (_GradesAtOnce found them all before): the rows are updated together.
    """
    session = gradebook.db
    gradebook.db = _Commits(session, flush=False)
    try:
        yield
    finally:
        gradebook.db = session
    session.flush()


class _GradesAtOnce:
    """A Gradebook seen through, but find_grade and find_comment, which answer from all of a notebook's at once.

    What they return are the gradebook's own rows, in its session, as nbgrader's queries
    would find them (by the name of their cell); a name not found is asked of nbgrader's.
    """

    def __init__(self, gradebook):
        self._gradebook, self._rows = gradebook, {}

    def __getattr__(self, name):
        return getattr(self._gradebook, name)

    def __enter__(self):
        self._gradebook.__enter__()
        return self

    def __exit__(self, *exc):
        return self._gradebook.__exit__(*exc)

    def _all(self, model, notebook, assignment, student):
        """name of the cell -> row of model (Grade or Comment) of the student's submitted notebook."""
        key = (model, notebook, assignment, student)
        if key not in self._rows:
            try:
                submitted = self._gradebook.find_submission_notebook(notebook, assignment, student)
            except MissingEntry:
                self._rows[key] = {}
            else:
                rows = self._gradebook.db.query(model).options(joinedload(model.cell)).filter(
                    model.notebook_id == submitted.id)
                self._rows[key] = {row.cell.name: row for row in rows}
        return self._rows[key]

    def find_grade(self, grade_cell, notebook, assignment, student):
        found = self._all(Grade, notebook, assignment, student).get(grade_cell)
        return found if found is not None else self._gradebook.find_grade(grade_cell, notebook, assignment, student)

    def find_comment(self, solution_cell, notebook, assignment, student):
        found = self._all(Comment, notebook, assignment, student).get(solution_cell)
        return found if found is not None else self._gradebook.find_comment(solution_cell, notebook, assignment,
                                                                             student)


class _AtOnce:
    """An nbgrader preprocessor whose gradebook, once set, is seen through _GradesAtOnce."""

    @property
    def gradebook(self):
        return self._grades_at_once

    @gradebook.setter
    def gradebook(self, gradebook):
        self._grades_at_once = _GradesAtOnce(gradebook)


class GetGradesAtOnce(_AtOnce, GetGrades):
    """nbgrader's GetGrades, a notebook's grades and comments read at once (_GradesAtOnce)."""


class SaveAutoGradesOnce(_AtOnce, SaveAutoGrades):
    """nbgrader's SaveAutoGrades, a notebook's grades read at once (_GradesAtOnce), saved together (cells_together)."""

    def preprocess(self, nb, resources):
        self.notebook_id = resources["nbgrader"]["notebook"]
        self.assignment_id = resources["nbgrader"]["assignment"]
        self.student_id = resources["nbgrader"]["student"]
        self.db_url = resources["nbgrader"]["db_url"]
        with Gradebook(self.db_url) as gradebook, one_commit(gradebook), cells_together(gradebook):
            self.gradebook = gradebook
            return super(SaveAutoGrades, self).preprocess(nb, resources)


class CopiesOnce(Exporter):
    """nbconvert's Exporter.from_notebook_node without its first copy of the notebook, which is redundant:
    Exporter._preprocess copies it again before any step may change it, and what is returned is that copy.

    (A base of an exporter class after nbconvert's own, as in NotebookExporterCopyingOnce: their
    from_notebook_node call this one through super().)
    """

    def from_notebook_node(self, nb, resources=None, **kw):
        resources = self._init_resources(resources)
        if "language" in nb["metadata"]:
            resources["language"] = nb["metadata"]["language"].lower()
        nb_copy, resources = self._preprocess(nb, resources)  # a deep copy of nb
        metadata = resources.get("metadata", {}) if resources is not None else {}
        self._nb_metadata[os.path.join(metadata.get("path", ""), metadata.get("name", ""))] = nb_copy.metadata
        return nb_copy, resources


class NotebookExporterCopyingOnce(NotebookExporter, CopiesOnce):
    """nbconvert's NotebookExporter (nbgrader's autograde writes with it), copying each notebook once."""
