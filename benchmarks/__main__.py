"""`make bench`: run every benchmark and print its table."""

from benchmarks import fts, sentiment, store_writes

if __name__ == "__main__":
    sentiment.main()
    print()
    store_writes.main()
    print()
    fts.main()
