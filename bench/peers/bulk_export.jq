# The peer's version of rules/hipaa-phi-access/bulk_export.yml for bench/run.sh,
# its condition on EHR audit events (the only part the EHR corpus can meet):
# print each event whose event.action is export, print, download or
# bulk-export (compared case-insensitively, as Sigma does).
select((.event.action // "") | ascii_downcase | IN("export", "print", "download", "bulk-export"))
