"""A factory of stations: runs dispatched over Celery + RabbitMQ, results central in PostgreSQL.

Nothing here is imported by ``rackval run``: Celery is loaded only by the
factory commands (``rackval station worker``, ``rackval dispatch``,
``rackval factory ...``), so the embedded default needs no broker. See docs/factory.md.
"""
