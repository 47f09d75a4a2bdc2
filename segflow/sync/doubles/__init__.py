"""Local doubles of the e-mail platforms' documented HTTP APIs, for tests, the demo and the
benchmark: the official clients are pointed at them through their base URL."""
