import Foundation

/// Model servers a pipeline starts itself (`serve:`). A compiled script starts
/// each served model its steps use once, on a free port, waits until it
/// answers `/health` (or `/v1/models`), runs the steps against it, and stops
/// it when the script ends: normally, on failure, and on SIGINT or SIGTERM
/// (Slurm's time limit). Steps that share a model share its server.
public enum ModelServers {
    /// The served models the commands use, by index.
    public static func used(by commands: ArraySlice<StepCommand>, in plan: PipelinePlan) -> [Int] {
        Set(commands.compactMap { c in c.modelIndex.flatMap { plan.file.models[$0].serve != nil ? $0 : nil } })
            .sorted()
    }

    /// The shell functions and traps, then one start line per model; `log(K)` names model K's log.
    public static func prologue(_ plan: PipelinePlan, models: [Int], log: (Int) -> ShellWord) -> String {
        guard !models.isEmpty else { return "" }
        var out = """
            # Model servers this pipeline starts itself (serve: in the pipeline file): each on a free
            # port, waited for until it answers, stopped when this script ends (also on failure,
            # Ctrl-C and SIGTERM). The serve: text is the one value of the file run as a command.
            mminf_servers=()
            mminf_stop_servers() {
              local pid
              for pid in "${mminf_servers[@]}"; do kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true; done
              for pid in "${mminf_servers[@]}"; do
                # Up to 10 s for the whole group (a server's workers too) to end, then SIGKILL.
                for _ in $(seq 100); do kill -0 -- "-$pid" 2>/dev/null || kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
                kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
              done
            }
            trap mminf_stop_servers EXIT
            trap 'exit 143' TERM
            trap 'exit 130' INT
            # mminf_serve VAR MODEL LOG TIMEOUT COMMAND: runs COMMAND with MMINF_PORT set to a free
            # port, in its own process group, and sets VAR to the port once the server answers.
            # Ports come from below the kernel's range for outgoing connections, so no client holds
            # one; a port another server took first ("in use" in the log) is tried again on a new one.
            mminf_serve() {
              local var="$1" name="$2" log="$3" timeout="$4" command="$5" port pid deadline attempt=1 low=32768
              read -r low _ </proc/sys/net/ipv4/ip_local_port_range 2>/dev/null || true
              ((low > 12000)) || low=32768
              while :; do
                port=$((10000 + RANDOM % (low - 10000)))
                (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && continue
                MMINF_PORT="$port" setsid bash -c "$command" >"$log" 2>&1 </dev/null &
                pid=$!
                mminf_servers+=("$pid")
                echo "mminf: model $name: starting its server on port $port (pid $pid, log $log)" >&2
                sleep 0.5
                if kill -0 "$pid" 2>/dev/null || ((attempt >= 3)) || ! grep -qi 'in use' "$log"; then break; fi
                attempt=$((attempt + 1))
              done
              deadline=$((SECONDS + timeout))
              until curl -sf --connect-timeout 2 --max-time 5 -o /dev/null "http://127.0.0.1:$port/health" \\
                || curl -sf --connect-timeout 2 --max-time 5 -o /dev/null "http://127.0.0.1:$port/v1/models"; do
                if ! kill -0 "$pid" 2>/dev/null; then
                  echo "mminf: model $name: its serve command ended before the server answered; the last lines of $log:" >&2
                  tail -n 20 "$log" >&2
                  exit 69
                fi
                if ((SECONDS >= deadline)); then
                  echo "mminf: model $name: no answer on /health or /v1/models within ${timeout}s; the last lines of $log:" >&2
                  tail -n 20 "$log" >&2
                  exit 69
                fi
                sleep 0.1
              done
              # What answered must be this server, not another that took the port first.
              if ! kill -0 "$pid" 2>/dev/null; then
                echo "mminf: model $name: port $port answered, but not its own server (which ended); the last lines of $log:" >&2
                tail -n 20 "$log" >&2
                exit 69
              fi
              printf -v "$var" '%s' "$port"
              export "${var?}"  # a sub-make's recipes read it too
            }

            """
        for k in models {
            let m = plan.file.models[k]
            out += "mminf_port_\(k)=\n"
            out +=
                ShellScriptTarget.lines([
                    "mminf_serve", "mminf_port_\(k)", ShellWord.quote(m.name), log(k).shell, String(m.serveTimeout),
                    ShellWord.quote(m.serve?.value ?? ""),
                ]) + "\n"
        }
        return out + "\n"
    }
}
