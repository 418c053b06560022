"""The collection runtime every platform plugs into.

- `clock`: the runtime's time (the wall clock, or the simulator's compressed clock in the demo).
- `pacing`: requests of a platform spaced evenly within its per-minute budget.
- `fetch`: the one fetcher and its request policy (pacing, the circuit gate, retries within
  the source's deadline, counting) over a transport that only sends: `http` (aiohttp, one
  session per platform) or `browser` (a page of the site in Chromium).
- `circuit`: a stored circuit per platform, so a cool-down outlives the process.
- `sources`: a source is a named, scheduled unit of collection with a stored due time.
- `runner`: runs one source under the circuit; health alerts and the pass report.
- `scheduler`, `scorer`, `daemon`, `health`: `pingfan run` and its tasks.
"""
