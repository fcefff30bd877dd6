#!/usr/bin/env bash
# Creates the two streams of the example with the nats CLI (natscli):
#   AUDIT  audit.ehr.>  the records, 8 partitions audit.ehr.0 .. audit.ehr.7
#                       (trailwatch forward: subject audit.ehr, partitions 8)
#   ALERTS alerts.>     the alerts of every instance; a 2-minute duplicate
#                       window drops the same alert raised twice (Nats-Msg-Id)
# Retention: AUDIT keeps 7 days (the window a replay or a late instance may
# need); size it for your volume (docs/scaling.md).
set -euo pipefail
server=${NATS_URL:-nats://127.0.0.1:4222}
nats --server "$server" stream add AUDIT --subjects 'audit.ehr.>' --storage file \
  --retention limits --max-age 7d --discard old --dupe-window 2m --replicas 1 \
  --max-msg-size 1MB --defaults
nats --server "$server" stream add ALERTS --subjects 'alerts.>' --storage file \
  --retention limits --max-age 90d --discard old --dupe-window 2m --replicas 1 --defaults
