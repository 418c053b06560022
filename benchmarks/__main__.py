"""`make bench`: run every benchmark and print its table.

`python -m benchmarks.douyin_browser_memory` (a long browser run) is left out; run it alone.
"""

from benchmarks import daemon_replay, demo, fts, ingest, sentiment, store_writes, web_console

if __name__ == "__main__":
    sentiment.main()
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
