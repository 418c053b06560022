"""`make bench`: run every benchmark and print its table."""

from benchmarks import sentiment

if __name__ == "__main__":
    sentiment.main()
