# bench/report.jq - the Markdown report of bench/run.sh, from its JSON (latest.json) alone:
#   jq -r -f bench/report.jq bench/results/latest.json
def n1: if . == null then "-" else (. * 10 | round / 10 | tostring) end;
def n2: if . == null then "-" else (. * 100 | round / 100 | tostring) end;
def ms: if . == null then "-" else "\(. | n1) ms" end;
def s: if . == null then "-" else "\(. | n1) s" end;
def yn: if . == null then "not measured" elif . then "**met**" else "**missed**" end;
def kinds: [.errors // {} | to_entries[] | select(.value > 0) | "\(.key) \(.value)"] | join(", ");
def failed: if .failed == null then "-" elif .failed == 0 then "0" else "\(.failed) (\(kinds))" end;
def mib: if . == null then "-" else "\(. / 1024 | n1) MiB" end;
def cpu: "\(.host_busy_pct | n1) % (\(.host_busy_cpu_s | n1) CPU-s) | \(.dockerd_cpu_s | n2) s | \(.registry_cpu_s | n2) s";
def phases: [.phases[]? | select(.s >= 0.1) | "\(.phase) \(.s | n1) s"] | join(", ");
def switchrow: "| \(.label) | \(.endpoint) | \(.sent) | \(failed) | \(.max_gap_ms | ms) | \(.latency_ms.p50 | ms) / \(.latency_ms.p99 | ms) | \(.new_first_s | s) | \(.operation_s | s)\(if .exit != 0 then " (exit \(.exit))" else "" end) |";

.machine as $m | .settings as $c |
"Measured \($m.date) on \($m.nproc) cores (\($m.cpu)), \($m.mem_total_gib) GiB of memory, Linux \($m.kernel), Docker \($m.docker), docker-compose \($m.docker_compose); tracup \($m.tracup | sub("^tracup "; "")) at \($m.commit)\(if $m.dirty_tree then " (uncommitted changes)" else "" end). Load average \($m.loadavg_at_start) at the start, \($m.loadavg_at_end) at the end; \($m.containers_running_at_start) containers were running on the host at the start (other test runs share it). Command: `\(.command)` (\(.run_s / 60 | n1) minutes).",
"",
(if (.reruns // []) | length > 0 then "Run again in this run: \(.reruns | join("; "))\(if (.failed_sections // []) | length > 0 then "; failed twice, not measured: \(.failed_sections | join(", "))" else "" end).\n" else empty end),
"Probe: `tracup-probe` at \($c.rate) requests a second to `/info/version` at the public endpoint, a new connection per request; the stand-in api boots in \($c.api_boot_delay_s) s; upgrade \($c.from) → \($c.to)\(if $c.only then "; only: \($c.only)" else "" end).",
"",
(if (.switch | length) > 0 or .rollback then
"| switch | endpoint | requests | failed | longest gap | latency p50 / p99 | new version answers after | command took |",
"|---|---|---|---|---|---|---|---|",
(.switch[] | switchrow),
(if .rollback then (.rollback | switchrow) else empty end),
(if .rollback_standby then (.rollback_standby | switchrow) else empty end),
"",
"Longest gap of each (seconds from the start of the command), with the host's CPU use in the probe's window and how far the probe itself fell behind its schedule:",
"",
((.switch[], (.rollback // empty), (.rollback_standby // empty)) | "- \(.label): \(.max_gap_ms | ms), \(if (.max_gap_ms // 0) < 1000 then "at \(.max_gap_to_s | n2) s" else "from \(.max_gap_from_s | s) to \(.max_gap_to_s | s)" end)\(if .max_gap_phase == null then "" elif (.max_gap_phase | test(" ")) then " (\(.max_gap_phase))" else " (tracup's \(.max_gap_phase) phase)" end); host CPU \(.host_cpu_busy_pct | n1) % busy; probe at most \(.max_send_lag_ms | ms) late; TCP TIME_WAIT sockets on the host \(.tw_at_start // "-") at the start, \(.tw_at_end // "-") at the end."),
(if ([.switch[], (.rollback // empty), (.rollback_standby // empty) | .errors.over_cap // 0] | add // 0) > 0 then "- over_cap counts requests the probe did not send because 256 were already waiting for an answer: the endpoint answered too slowly (when nothing listens behind docker-proxy's port, or when the host's docker-proxy runs short of ephemeral ports: see the notes)." else empty end),
"",
"\"New version answers after\": from the start of the command to the first answer of the new release (for the rollback: of blue). The manual methods' images were pulled before the window; tracup's upgrades include their pull\(if .images then " (\(.images.added_mib | [.api, .gui, .["update-worker"]] | add) MiB)" else "" end)." +
  (if ([.switch[] | select(.background)] | length) > 0 then " The \($c.rate)/s window of a tracup upgrade starts when tracup starts the migration and ends a second after the upgrade; a second probe at \($c.background_rate)/s covers the whole upgrade: " +
    ([.switch[] | select(.background) | "\(.label): \(.background.sent) requests, \(.background.failed) failed, longest gap \(.background.max_gap_ms | ms)"] | join("; ")) + "." else "" end),
""
else empty end),
"| goal | target | measured | |",
"|---|---|---|---|",
(.goals[] | "| \(.goal) | \(.target) | \(.measured // "-") | \(.met | yn) |"),
"",
(if .pull then .pull as $p |
"Pulls from 127.0.0.1:5000, images with random (incompressible) layers added to the stand-ins: api \(.images.layers_mib.api | map(tostring) | join("+")) MiB, gui \(.images.layers_mib.gui | map(tostring) | join("+")) MiB, update-worker \(.images.layers_mib["update-worker"] | map(tostring) | join("+")) MiB; every pull starts with none of them on the host. \($p.rounds // 1) rounds, the order of the three ways rotated each round; the median of each (CPU: of its median round).",
"",
"| pull | median | each round | host CPU busy | dockerd CPU | registry CPU |",
"|---|---|---|---|---|---|",
($p.docker_pull_s | to_entries[] | .key as $k | "| `docker pull` \($k) alone | \(.value | s) | \([$p.all_rounds.sequence[]?.singles[$k]] | map(n1) | join(", ")) | | | |"),
"| the three `docker pull` in sequence | \($p.docker_sequence_s | s) | \([$p.all_rounds.sequence[]?.s] | map(n1) | join(", ")) | \($p.cpu.docker_sequence | cpu) |",
"| the three `docker pull` at once (shell `&`) | \($p.docker_parallel_s | s) | \([$p.all_rounds.parallel[]?.s] | map(n1) | join(", ")) | \($p.cpu.docker_parallel | cpu) |",
"| `tracup pull --images api,gui,update-worker` | \($p.tracup_pull_s | s) | \([$p.all_rounds.tracup[]?.s] | map(n1) | join(", ")) | \($p.cpu.tracup | cpu) |",
"",
"tracup's concurrent pull took \($p.ratio_tracup_to_slowest)× as long as the slowest single pull and \($p.ratio_tracup_to_docker_parallel)× as long as the three `docker pull` at once; the sequence took \($p.ratio_sequence_to_tracup)× as long as tracup's pull.",
""
else empty end),
(if .memory then .memory as $mm |
"Peak memory of the \($mm.image_mib) MiB pull: \($mm.pull.max_rss_kb) kB resident (`/usr/bin/time -v`); sampled from `/proc/PID/smaps_rollup` at its peak: \($mm.smaps_at_peak.rss_kb // "-") kB (PSS \($mm.smaps_at_peak.pss_kb // "-") kB), of which \($mm.smaps_at_peak.anonymous_kb // "-") kB anonymous (heap, stacks) and \($mm.smaps_at_peak.file_kb // "-") kB file-backed (the program and the \($mm.shared_objects_mapped) shared objects it maps); `tracup --version` alone peaks at \($mm.version_baseline.max_rss_kb) kB, so the pull adds \($mm.over_baseline_kb) kB.\(if ($mm.rss_by_mapping_kb // []) | length > 0 then " Resident at the peak, largest first: " + ($mm.rss_by_mapping_kb[:10] | map("\(.name) \(.rss_kb)") | join(", ")) + " kB." else "" end)",
""
else empty end),
(if ([.switch[] | select(.tracup_process)] | length) > 0 or .rollback.tracup_process or .pull or .memory or .startup then
"tracup's own cost (`/usr/bin/time -v`: user + system CPU, peak resident memory):",
"",
"| tracup run | CPU | peak RSS | wall |",
"|---|---|---|---|"
else empty end),
(.switch[] | select(.tracup_process) | "| \(.label), whole | \(.tracup_process.cpu_s | n2) s | \(.tracup_process.max_rss_kb | mib) | \(.tracup_process.wall_s | s) |"),
(if .rollback.tracup_process then "| tracup rollback | \(.rollback.tracup_process.cpu_s | n2) s | \(.rollback.tracup_process.max_rss_kb | mib) | \(.rollback.tracup_process.wall_s | s) |" else empty end),
(if .rollback_standby.tracup_process then "| tracup rollback, blue standing by | \(.rollback_standby.tracup_process.cpu_s | n2) s | \(.rollback_standby.tracup_process.max_rss_kb | mib) | \(.rollback_standby.tracup_process.wall_s | s) |" else empty end),
(if .pull then "| tracup pull, api + gui + update-worker (\(.pull.added_mib) MiB) | \(.pull.tracup_process.cpu_s | n2) s | \(.pull.tracup_process.max_rss_kb | mib) | \(.pull.tracup_process.wall_s | s) |" else empty end),
(if .memory then "| tracup pull, one \(.memory.image_mib) MiB image | \(.memory.pull.cpu_s | n2) s | \(.memory.pull.max_rss_kb | mib) | \(.memory.pull.wall_s | s) |",
                 "| tracup --version | \(.memory.version_baseline.cpu_s | n2) s | \(.memory.version_baseline.max_rss_kb | mib) | \(if .startup then "\(.startup.version.median_ms | ms) (median of \(.startup.version.runs))" else "-" end) |" else empty end),
(if .startup then "| tracup status (one stack) | \(.startup.status.process.cpu_s | n2) s | \(.startup.status.process.max_rss_kb | mib) | \(.startup.status.median_ms | ms) (median of \(.startup.status.runs), max \(.startup.status.max_ms | ms)) |" else empty end),
"",
(if ([.switch[] | select(.phases)] | length) > 0 or .rollback.events then
"Where tracup's time goes (from its own timestamps; each interval goes to the phase that reports its end):",
"",
(.switch[] | select(.phases) | "- \(.label): \(phases)."),
(if .rollback.events then "- tracup rollback: " + ([.rollback.events[] | "at \(.t | n1) s \(.msg)"] | join("; ")) + "." else empty end),
(if .rollback_standby.events then "- tracup rollback, blue standing by: " + ([.rollback_standby.events[] | "at \(.t | n1) s \(.msg)"] | join("; ")) + "." else empty end),
""
else empty end)
,
"Note on the probe's limit: at \(.settings.rate) new connections a second to a port Docker publishes on 127.0.0.1, docker-proxy opens one connection to the container per request, and each leaves a TIME_WAIT socket on the host for 60 s; past roughly 14,000 of them (half of the ephemeral range 32768-60999) its connect() slows down and answers lag behind. So each \(.settings.rate)/s window is kept to about 25 s and starts only once the last one's sockets are gone; a window much longer than that measures the host, not the switch."
