"""nbgrader's HTML feedback exporter, with its Jinja templates compiled once per process.

nbgrader makes a new exporter for every student, and Jinja would compile the same
templates again each time; a bytecode cache (Jinja's own mechanism) keeps them.
"""

from jinja2 import BytecodeCache
from nbconvert.exporters import HTMLExporter


class MemoryBytecodeCache(BytecodeCache):
    """Compiled templates, kept in memory; Jinja checks each against its source's checksum."""

    def __init__(self):
        self.compiled = {}

    def load_bytecode(self, bucket):
        if bucket.key in self.compiled:
            bucket.bytecode_from_string(self.compiled[bucket.key])

    def dump_bytecode(self, bucket):
        self.compiled[bucket.key] = bucket.bytecode_to_string()


CACHE = MemoryBytecodeCache()


class FeedbackExporter(HTMLExporter):
    """HTMLExporter whose templates are compiled once per process."""

    def _create_environment(self):
        environment = super()._create_environment()
        environment.bytecode_cache = CACHE
        return environment
