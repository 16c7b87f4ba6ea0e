"""The demo: its data (``data/``, read by ``plans``), its loader (``loader``), a province of
many units for the benchmarks (``province``) and what ``thidua demo`` prints (``show``)."""
