"""`make bench`: run every benchmark and print its table.

`python -m benchmarks.douyin_browser_memory` (a long browser run) is left out; run it alone.
The growth benchmark runs here at 100,000 comments (about 2 minutes); its figures at 1,000,000
take about 10 minutes, and at 10,000,000 the synthesis alone takes about half an hour on a
loaded machine: `python -m benchmarks.growth --comments N` (README, Performance, "Growth").
"""

from benchmarks import (
    daemon_replay,
    demo,
    fts,
    growth,
    ingest,
    sentiment,
    shares,
    store_writes,
    web_console,
    worker_stalls,
    workers,
)

if __name__ == "__main__":
    sentiment.main()
    print()
    shares.main()
    print()
    store_writes.main()
    print()
    fts.main()
    print()
    web_console.main([])
    print()
    ingest.main()
    print()
    daemon_replay.main()
    print()
    demo.main(["--runs", "2", "--hogs", "2"])
    print()
    growth.main(["--comments", "100000", "--quiet"])
    print()
    workers.main([])
    print()
    worker_stalls.main([])
