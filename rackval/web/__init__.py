"""The station's web page (``rackval station serve``): live run, prompts, PASS/FAIL, history.

- :mod:`.app`: the ASGI app (Starlette) and its routes.
- :mod:`.runs`: ``rackval run`` as a child process; racks by serial; stop = SIGINT.
- :mod:`.events`: the run's event file folded into one view; batched server-sent events.
- :mod:`.auth`: operators (PIN/badge hashes from the station file) and sessions.
- :mod:`.cli`: the ``rackval station`` commands.
"""
