"""pingfan's stand-in for Weibo and Douyin: the real paths and JSON shapes, a scripted
campaign on a simulated clock, and injected faults. See monitor/sim/README.md."""
