"""nbgrader configuration of this course, read by every nbgrader command run from here.

The master notebooks live in solutions/ (nbgrader's source folder) and the student
versions that `nbgrader generate_assignment dropout --force` writes land in exercises/
(its release folder).
"""

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)
c.CourseDirectory.course_id = "dropout-module"
c.CourseDirectory.source_directory = "solutions"
c.CourseDirectory.release_directory = "exercises"
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", ".DS_Store"]
