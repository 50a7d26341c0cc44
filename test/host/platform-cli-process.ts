/**
 * `npm run platform` (host/platform/cli.ts) as its own process, the way a
 * user starts it: for tests of its flags and of tools pointed at it.
 */
import { spawn } from "node:child_process"
import { projectRoot } from "../../host/lib/devs.ts"
import { waitUntil } from "../../host/testkit/wait-until.ts"

/** A running (or refused) emulator process. */
export interface PlatformProcess {
    /** everything it printed so far (stdout and stderr) */
    output(): string
    /** its exit code, once it has exited (null while it runs) */
    exitCode(): number | null
    /** from its banner, once printed */
    url: string
    port: number
    caFile: string
    adminUrl: string
    /** SIGTERM; resolves with the exit code */
    stop(): Promise<number | null>
}

/**
 * Starts the emulator CLI with `args` (e.g. `--port 0 --state DIR`) and
 * resolves once its banner is printed or it has exited (then `url` is "").
 */
export async function startPlatformCli(
    args: string[],
    timeoutMs = 60_000
): Promise<PlatformProcess> {
    const child = spawn(
        process.execPath,
        ["--import", "tsx", "host/platform/cli.ts", ...args],
        { cwd: projectRoot, stdio: ["ignore", "pipe", "pipe"] }
    )
    let out = ""
    child.stdout.on("data", d => (out += d))
    child.stderr.on("data", d => (out += d))
    const exited = new Promise<number | null>(r =>
        child.on("exit", code => r(code))
    )
    const p: PlatformProcess = {
        output: () => out,
        exitCode: () => child.exitCode,
        url: "",
        port: 0,
        caFile: "",
        adminUrl: "",
        async stop() {
            if (child.exitCode === null) child.kill("SIGTERM")
            return await exited
        },
    }
    const banner = () => /devices .*\n/.test(out)
    try {
        await waitUntil(
            () => banner() || child.exitCode !== null,
            timeoutMs,
            "the emulator's banner",
            { pollMs: 50, detail: () => `: ${out}` }
        )
    } catch (e) {
        await p.stop()
        throw e
    }
    if (!banner()) return p
    p.url = /device channel\s+(https:\S+)/.exec(out)![1]
    p.port = Number(new URL(p.url).port)
    p.caFile = /CA certificate\s+(\S+)/.exec(out)![1]
    p.adminUrl = /admin API\s+(http:\S+)/.exec(out)![1]
    return p
}
