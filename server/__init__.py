"""Central server of Mammo Workstation: FastAPI on PostgreSQL, behind nginx with TLS.

Build it with :func:`server.main.create_app`; run it with the ``mammo-server`` command.
"""
