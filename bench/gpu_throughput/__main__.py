"""``python -m bench.gpu_throughput``: the command line."""

from __future__ import annotations

from bench.gpu_throughput.run import main

if __name__ == "__main__":
    raise SystemExit(main())
