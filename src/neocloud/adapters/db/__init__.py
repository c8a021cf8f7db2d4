"""Relational storage (SQLAlchemy 2): rows, column types, repositories, unit of work, migrations."""
