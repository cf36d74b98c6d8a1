"""course_lib: what the course notebooks import.

Keras model builders (`builders`), offline datasets (`datasets`), seeding
(`seeding`), plots (`plots`) and the visible checks (`checks`). Nothing here
downloads data or weights.
"""

__version__ = "0.1.0"
