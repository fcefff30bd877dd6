#!/usr/bin/env bash
# Writes synthetic EHR audit events (JSON lines) into DIR/ehr.ndjson, a few
# per second, forever; mostly routine chart reads, with now and then a
# break-the-glass access, a bulk export, a marketing disclosure, denied
# reads, an access from outside the network, a terminated account, a VIP
# chart opened outside its care team, a user opening their own or a
# coworker's chart (users and patients of deploy/lookups/), so the shipped
# rules have something to find. Rotates the file (rename and create) every 2000 lines.
# Usage: deploy/sample-writer.sh DIR [EVENTS_PER_SECOND]
set -euo pipefail
dir=${1:?usage: sample-writer.sh DIR [EVENTS_PER_SECOND]}
rate=${2:-5}
mkdir -p "$dir"
file="$dir/ehr.ndjson"
users=(u1001:nurse u1002:physician u1003:clerk u1004:billing u1005:physician u2001:researcher)
lines=0
seq=0
while true; do
  for ((i = 0; i < rate; i++)); do
    seq=$((seq + 1))
    idx=$((RANDOM % ${#users[@]}))
    IFS=: read -r user role <<<"${users[idx]}"
    patient="p-$((1300 + idx * 20 + RANDOM % 12))"  # each user works on a panel of 12 patients
    action=read outcome=success purpose=TREAT ip="10.0.$((RANDOM % 8)).$((RANDOM % 250 + 2))"
    case $((RANDOM % 60)) in
      0) purpose=BTG ;;
      1) action=export ;;
      2) purpose=HMARKT ;;
      3) outcome=failure ;;
      4) ip="203.0.113.$((RANDOM % 250 + 2))" ;;
      5) user=u3001 role=nurse ;;                 # terminated in staff.csv
      6) user=u1003 role=clerk patient=p-1007 ;;  # restricted patient, not her care team
      7) user=u1001 role=nurse patient=p-1201 ;;  # her own record
      8) user=u1006 role=nurse patient=p-1201 ;;  # an ICU coworker's record
    esac
    printf '{"@timestamp":"%s","event":{"action":"%s","outcome":"%s","category":"phi-access","sequence":%d},"user":{"id":"%s","roles":["%s"]},"source":{"ip":"%s"},"patient":{"id":"%s"},"resource":{"type":"Patient"},"purpose_of_use":"%s","host":{"name":"ehr-app-1"}}\n' \
      "$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ)" "$action" "$outcome" "$seq" "$user" "$role" "$ip" "$patient" "$purpose" >>"$file"
    lines=$((lines + 1))
  done
  if ((lines >= 2000)); then
    mv "$file" "$file.1"
    lines=0
  fi
  sleep 1
done
