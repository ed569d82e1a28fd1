"""Posts the first N signed incoming-call requests of a peers' requests file
to afureko, one after another on one connection, so the list benchmark reads
a store with exactly N callback records.

  python3 seed.py PORT REQUESTS_FILE N
"""
import http.client, sys

port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
sent = 0
with open(path) as lines:
    for line in lines:
        if sent == count:
            break
        if line.startswith("#"):
            continue
        signature, body = line.rstrip("\n").split("\t", 1)
        conn.request("POST", "/twilio/acme/voice", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "X-Twilio-Signature": signature})
        answer = conn.getresponse()
        answer.read()
        if answer.status != 200:
            sys.exit(f"seed: request {sent + 1} answered {answer.status}")
        sent += 1
if sent != count:
    sys.exit(f"seed: the file has only {sent} requests, {count} wanted")
