"""Starting points for students: copy a file, rename the class, and play it with ``pyrat play``.

* ``student_player.py``: a pyrat-game ``Player`` (the course's API), played unchanged::

      pyrat play agents/templates/student_player.py greedy --games 10

* ``agent_template.py``: an agent on this project's `Agent` interface (faster: numpy engine state).
"""
