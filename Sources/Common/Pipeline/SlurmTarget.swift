import Foundation

/// The Slurm target: the input cut into N contiguous shards, a job array with
/// one task per shard (each with its own cache, failures files and log), and a
/// merge job that depends on the array with `afterany`. A task writes its
/// shard's completion marker only after its output is complete; running
/// submit.sh again submits only the shards without one, then the merge.
public enum SlurmTarget {
    public struct Scripts {
        public let submit: String
        public let task: String
        public let merge: String
    }

    /// `settings` are the `slurm:` block with command-line overrides applied.
    public static func render(_ plan: PipelinePlan, shards n: Int, settings: [String: String]) throws -> Scripts {
        let file = plan.file
        let count = try plan.shardedSteps(slurm: true)
        let width = String(n - 1).count
        let shardVar = ShellWord.Part.variable("shard", fallback: nil)
        let runDir = file.runDir.shell
        let output = file.output?.value ?? plan.runFile(file.name.value + ".jsonl.zst")
        let last = plan.commands[count - 1]
        // Markers name N: a run recompiled for another N does not take the old marks for its own.
        func marker(_ shard: ShellWord.Part) -> ShellWord { plan.runFile("done-\(n)", shard: shard, "") }
        func shardOutput(_ shard: ShellWord.Part) -> ShellWord {
            plan.runFile(last.fileStem, shard: shard, ".jsonl.zst")
        }
        // Where the tasks' logs are: run_dir/logs, unless run_dir has a ${VAR} sbatch cannot expand.
        let logsHint =
            sbatchPath(plan.runFile("logs/task-%a.log")).hasPrefix("mminf-")
            ? ShellWord.quote("the mminf-*.log files in the folder submit.sh ran in")
            : plan.runFile("logs/task-K.log").shell
        let header =
            "# Pipeline '\(file.name.value)' on Slurm, compiled by mminf-compile --slurm --shards \(n) from \(PipelinePlan.comment(plan.source))."
        let env = ShellScriptTarget.environmentDefaults(file)
        let shardLoop = "for i in $(seq 0 \(n - 1)); do\n  shard=\"$(printf '%0\(width)d' \"$i\")\"\n"

        let throttle = settings["throttle"].map { "%" + $0 } ?? ""
        // What the job asked for, named when sbatch refuses it (the values are plain words).
        let asked = settings.keys.sorted().filter { $0 != "throttle" }.map { "--\($0)=\(settings[$0]!)" }
        let refused =
            "submit.sh: sbatch refused the array job (its message is above)"
            + (asked.isEmpty
                ? ""
                : "; it asked for \(asked.joined(separator: " ")), from slurm: in \(plan.source) or mminf-compile's flags")
        let stamp = plan.runFile("00-input.shards-\(n)").shell
        let jobs = plan.runFile("slurm-jobs").shell
        let submit = """
            #!/usr/bin/env bash
            \(header)
            # Run it from the folder the pipeline's paths are relative to (the jobs start there).
            # Run it again after a failure: it submits only the shards with no completion marker
            # (\(PipelinePlan.comment(marker(.literal("K")).shell))), each resuming from its own cache, then the merge.
            set -euo pipefail
            command -v sbatch >/dev/null || { echo "submit.sh: sbatch is not on PATH: run this where Slurm's commands are (a login node)" >&2; exit 69; }
            here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
            \(file.hasGlobInput ? "shopt -s failglob\n" : "")\(env)mkdir -p -- \(runDir) \(plan.runFile("logs").shell)
            # Jobs of an earlier submission still queued or running would write the same shards.
            if [ -s \(jobs) ]; then
              read -r earlier < \(jobs) || true
              if [ -n "$(squeue -h -j "$earlier" -o %i 2>/dev/null || true)" ]; then
                echo "submit.sh: jobs $earlier of an earlier submission are still queued or running; wait for them (squeue -j $earlier) or cancel them (scancel)" >&2
                exit 75
              fi
            fi
            # The input, cut into \(n) contiguous shards (concatenated in order they are the input), again
            # whenever the input files or these scripts changed: then every shard's marker is void.
            fingerprint="$({ cat -- "$here/task.sh" "$here/merge.sh"; stat -L -c '%n %s %Y' -- \(file.inputs.map(\.value.shell).joined(separator: " ")); } | cksum)"
            if [ ! -e \(stamp) ] || [ "$(cat -- \(stamp))" != "$fingerprint" ]; then
              find \(runDir) -maxdepth 1 \\( -name 'done-*' -o -name '00-input.shards-*' \\) -delete
            \(ShellScriptTarget.lines(["  " + plan.splitCommand(shards: n)[0]] + plan.splitCommand(shards: n).dropFirst() + file.inputs.map(\.value.shell) + ["</dev/null"]))
              printf '%s\\n' "$fingerprint" > \(stamp)
            fi
            missing=()
            \(shardLoop)  [ -e \(marker(shardVar).shell) ] || missing+=("$i")
            done
            # The array spec as ranges (3-5,9): sbatch limits its length.
            spec=""
            first=""
            last=""
            for i in ${missing[@]+"${missing[@]}"} ""; do
              if [ -n "$i" ] && [ -n "$last" ] && [ "$i" -eq $((last + 1)) ]; then
                last="$i"
                continue
              fi
              if [ -n "$first" ]; then
                if [ "$first" = "$last" ]; then spec="${spec:+$spec,}$first"; else spec="${spec:+$spec,}$first-$last"; fi
              fi
              first="$i"
              last="$i"
            done
            after=()
            ids=""
            if [ -n "$spec" ]; then
              array="$(sbatch --parsable --array="$spec\(throttle)" "$here/task.sh")" \\
                || { echo \(ShellWord.quote(refused)) >&2; exit 1; }
              array="${array%%;*}"
              echo "submit.sh: shards $spec of \(n) as job array $array" >&2
              after=(--dependency="afterany:$array")
              ids="$array,"
            fi
            merge="$(sbatch --parsable ${after[@]+"${after[@]}"} "$here/merge.sh")" \\
              || { echo "submit.sh: sbatch refused the merge job (its message is above)" >&2; exit 1; }
            merge="${merge%%;*}"
            printf '%s\\n' "$ids$merge" > \(jobs)
            printf 'submit.sh: merge job %s writes %s\\n' "$merge" \(output.shell) >&2
            echo "$merge"

            """

        var task = """
            #!/usr/bin/env bash
            \(header)
            # One array task: shard $SLURM_ARRAY_TASK_ID through the steps that run per shard.
            #SBATCH --job-name=\(sbatchName(file.name.value))
            #SBATCH --output=\(sbatchPath(plan.runFile("logs/task-%a.log")))

            """
        task += sbatchLines(settings, skip: ["throttle"])
        task += """
            set -euo pipefail
            : "${SLURM_ARRAY_TASK_ID:?task.sh runs as a Slurm array task: submit it with submit.sh}"
            shard="$(printf '%0\(width)d' "$SLURM_ARRAY_TASK_ID")"
            \(env)rm -f -- \(marker(shardVar).shell)
            # Each shard has its own cache: SQLite must not be shared over a network file system.

            """
        task += ModelServers.prologue(
            plan, models: ModelServers.used(by: plan.commands[..<count], in: plan),
            log: { plan.runFile("logs/serve-\($0)", shard: shardVar, ".log") })
        let (pickText, picks) = try serverShares(plan)
        task += pickText
        task += ShellScriptTarget.pipe(
            plan, plan.commands[..<count], inputs: [plan.runFile("00-input", shard: shardVar, ".jsonl.zst").shell],
            output: shardOutput(shardVar), cache: shardCache(file.cache.value, shardVar), shard: shardVar,
            servers: picks)
        task += """

            # The shard is complete: its marker, written atomically.
            : > \(plan.runFile("done-\(n)", shard: shardVar, ".tmp").shell)
            mv -f -- \(plan.runFile("done-\(n)", shard: shardVar, ".tmp").shell) \(marker(shardVar).shell)

            """

        var merge = """
            #!/usr/bin/env bash
            \(header)
            # The merge: every shard's output in shard order\(count < plan.commands.count ? ", then the steps that need every record" : "").
            #SBATCH --job-name=\(sbatchName(file.name.value + "-merge"))
            #SBATCH --output=\(sbatchPath(plan.runFile("logs/merge.log")))

            """
        // The merge needs the tasks' GPUs only when it serves a model itself.
        let mergeServes = !ModelServers.used(by: plan.commands[count...], in: plan).isEmpty
        merge += sbatchLines(settings, skip: mergeServes ? ["throttle"] : ["throttle", "gres"])
        let shardFiles = MakefileTarget.shardNames(n).map { shardOutput(.literal($0)).shell }
        merge += """
            set -euo pipefail
            \(env)missing=()
            \(shardLoop)  [ -e \(marker(shardVar).shell) ] || missing+=("$shard")
            done
            if ((${#missing[@]})); then
              printf 'merge.sh: shard(s) %s of \(n) have no completion marker (failed or cancelled; see %s): nothing merged; run submit.sh again to rerun only them\n' "${missing[*]}" \(logsHint) >&2
              exit 1
            fi

            """
        if count == plan.commands.count {
            let staged = ShellScriptTarget.staged(output)
            merge +=
                ShellScriptTarget.lines(
                    ["mminf-filter", "-q", "--where=true", staged.shell(after: "--output="), "--"] + shardFiles) + "\n"
            if staged != output { merge += "mv -f -- \(staged.shell) \(output.shell)\n" }
        } else {
            merge += ModelServers.prologue(
                plan, models: ModelServers.used(by: plan.commands[count...], in: plan),
                log: { plan.runFile("logs/serve-\($0).merge.log") })
            merge += ShellScriptTarget.lines(["mminf-filter", "-q", "--where=true", "--"] + shardFiles) + " |\n"
            merge += ShellScriptTarget.pipe(
                plan, plan.commands[count...], inputs: [], output: output, cache: file.cache.value)
        }
        if let report = plan.reportCommand(output: output, shards: MakefileTarget.shardNames(n)) {
            merge += "\n" + ShellScriptTarget.reportComment + "\n" + ShellScriptTarget.lines(report) + "\n"
        }
        return Scripts(submit: submit, task: task, merge: merge)
    }

    /// `servers_per_task: P` on a model with several `base_url`s: task i uses P of
    /// them, from the (i x P)-th on, wrapping around, so tasks spread over the servers.
    static func serverShares(_ plan: PipelinePlan) throws -> (String, [Int: String]) {
        var text = ""
        var picks: [Int: String] = [:]
        for (k, m) in plan.file.models.enumerated() {
            guard let p = m.serversPerTask else { continue }
            // PipelineModels checked the share against the list.
            guard let urls = m.settings.first(where: { $0.key == "base-url" })?.node else { continue }
            let items: [YAMLNode]
            if case .sequence(let list) = urls.kind { items = list } else { items = [urls] }
            let words = try items.map { try ShellWord.parse($0.scalar ?? "", file: plan.file.file, at: $0.mark).shell }
            text += """
                # Model '\(PipelinePlan.comment(m.name))': this task's \(p) of its \(items.count) servers (servers_per_task).
                mminf_urls_\(k)=(\(words.joined(separator: " ")))
                mminf_pick_\(k)=()
                for ((j = 0; j < \(p); j++)); do
                  mminf_pick_\(k)+=("--base-url=${mminf_urls_\(k)[(SLURM_ARRAY_TASK_ID * \(p) + j) % ${#mminf_urls_\(k)[@]}]}")
                done

                """
            picks[k] = "\"${mminf_pick_\(k)[@]}\""
        }
        return (text, picks)
    }

    /// A shard's own cache: `NAME.shard-K.sqlite` beside `NAME.sqlite`.
    static func shardCache(_ cache: ShellWord, _ shard: ShellWord.Part) -> ShellWord {
        guard case .literal(let tail)? = cache.parts.last else {
            return ShellWord(cache.parts + [.literal(".shard-"), shard])
        }
        let ext = tail.hasSuffix(".sqlite") ? ".sqlite" : ""
        return ShellWord(
            cache.parts.dropLast() + [.literal(String(tail.dropLast(ext.count)) + ".shard-"), shard, .literal(ext)])
    }

    static func sbatchLines(_ settings: [String: String], skip: Set<String>) -> String {
        settings.keys.sorted().filter { !skip.contains($0) }.map { "#SBATCH --\($0)=\(settings[$0]!)\n" }.joined()
    }

    /// sbatch reads `#SBATCH` lines itself: no shell quoting, so only plain names.
    static func sbatchName(_ s: String) -> String {
        "mminf-" + s.filter { $0.isASCII && ($0.isLetter || $0.isNumber || "_.-".contains($0)) }
    }

    /// A log path for `#SBATCH --output`: the run folder's literal text (a
    /// `${VAR}` in it cannot be expanded there, so logs then go to the job's folder).
    static func sbatchPath(_ w: ShellWord) -> String {
        guard let text = w.literalText, text.allSatisfy({ MakeWords.safe.contains($0) || $0 == "%" }) else {
            return "mminf-%x-%A_%a.log"
        }
        // sbatch expands %-patterns; the run folder's own % signs are doubled (only %a is ours).
        return text.replacingOccurrences(of: "%", with: "%%").replacingOccurrences(of: "%%a.log", with: "%a.log")
    }
}
