/**
 * Running the DeviceScript CLI from host tools: firmware tests in the VM and
 * parsing what they print.
 */
import { spawn } from "node:child_process"
import { mkdtempSync, readdirSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"

export const projectRoot = join(import.meta.dirname, "../..")
export const devsCli = join(
    projectRoot,
    "node_modules/@devicescript/cli/built/devicescript-cli.cjs"
)

export interface DevsRunResult {
    code: number
    output: string
}

/**
 * A temporary copy of the project made of symlinks to its top-level entries,
 * for running the CLI in: it reads `.env*` and `devsconfig.json` and writes
 * `.devicescript/` relative to its working directory only, so each build or
 * simulator session gets its own. Left out: `.git` (the compiler would
 * record a git-derived version), `.devicescript`, `.env*`, and with
 * `ownPackageJson` the package.json (the caller writes one).
 */
export function shadowProject(
    prefix: string,
    options: { ownPackageJson?: boolean } = {}
): string {
    const dir = mkdtempSync(join(tmpdir(), prefix))
    for (const name of readdirSync(projectRoot)) {
        if (name === ".git" || name === ".devicescript") continue
        if (name.startsWith(".env")) continue
        if (name === "package.json" && options.ownPackageJson) continue
        symlinkSync(join(projectRoot, name), join(dir, name))
    }
    return dir
}

/** Runs `devs ARGS` with colours off and collects everything it prints. */
export function devs(
    args: string[],
    options: { echo?: boolean; env?: NodeJS.ProcessEnv; cwd?: string } = {}
): Promise<DevsRunResult> {
    return new Promise(resolve => {
        const child = spawn(
            process.execPath,
            [devsCli, "--no-colors", ...args],
            { cwd: options.cwd ?? projectRoot, env: options.env ?? process.env }
        )
        let output = ""
        const take = (d: Buffer) => {
            output += d.toString("utf8")
            if (options.echo) process.stdout.write(d)
        }
        child.stdout.on("data", take)
        child.stderr.on("data", take)
        child.on("close", code => resolve({ code: code ?? 1, output }))
    })
}

/**
 * Runs one firmware test file in the VM in test mode. `-k` lets the test code
 * end the process, so a failing suite cannot report success.
 */
export function devsRunTest(
    file: string,
    options: { timeoutMs?: number; echo?: boolean; cwd?: string } = {}
) {
    const timeout = String(options.timeoutMs ?? 600_000)
    return devs(["run", file, "--test", "--test-self-exit", "-T", timeout], {
        echo: options.echo,
        cwd: options.cwd,
    })
}

/** The `tests: N, pass: P, error: E` line that @devicescript/test prints last. */
export function parseDevsSummary(output: string) {
    const m = /tests: (\d+), pass: (\d+), error: (\d+)/.exec(output)
    if (!m) return undefined
    return { total: +m[1], pass: +m[2], error: +m[3] }
}

/** VM log lines, without the `WASM> ` prefix. */
export function vmLines(output: string): string[] {
    return output
        .split(/\r?\n/)
        .filter(l => l.startsWith("WASM> "))
        .map(l => l.slice(6))
}
