"""The floor of an acknowledgement: a standard-library script making the same two requests as
`claude-runner github` does (the requester's permission, then the tracking comment), over one
keep-alive connection, and nothing else. `ack_latency.py` runs it against the fake GitHub.

    GITHUB_API_URL=... GITHUB_REPOSITORY=owner/name GITHUB_TOKEN=... ACTOR=login NUMBER=5 python ack_floor.py
"""

import http.client
import json
import os
import urllib.parse

api = urllib.parse.urlsplit(os.environ["GITHUB_API_URL"])
repo, number = os.environ["GITHUB_REPOSITORY"], os.environ["NUMBER"]
headers = {"Authorization": f"Bearer {os.environ['GITHUB_TOKEN']}", "Accept": "application/vnd.github+json"}
conn = http.client.HTTPConnection(api.netloc, timeout=30)
conn.request(
    "GET", f"{api.path}/repos/{repo}/collaborators/{os.environ['ACTOR']}/permission", headers=headers
)
permission = json.loads(conn.getresponse().read())["permission"]
if permission in ("admin", "write"):
    body = json.dumps({"body": "**Claude is working…**\n\nI'll look into this and report back here."})
    conn.request(
        "POST",
        f"{api.path}/repos/{repo}/issues/{number}/comments",
        body=body,
        headers={**headers, "Content-Type": "application/json"},
    )
    conn.getresponse().read()
