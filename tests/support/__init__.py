"""Test support that is not part of the runtime package: a throw-away PostgreSQL + pgstac + STAC API stack.

``pgstac_server`` is the entry point (``pgstac_api()``, ``check_stack_requirements()``); ``postgres``,
``stac_api`` and ``processes`` hold its pieces. The test suite and ``benchmarks/bench_search.py`` use it.
"""
