"""A stdio "MCP server" that never answers and ignores SIGTERM: the runner must give up on it
within MCP_TIMEOUT and kill it. `python hang_server.py MARKER`"""

import signal
import time

signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    time.sleep(60)
