/**
 * DeviceScript CLI processes of the simulator harness (`devs devtools`,
 * `devs vm`): each in its own process group, one callback per output line,
 * and never outliving this process (exit, signals, even SIGKILL).
 */
import { spawn, type ChildProcess } from "node:child_process"
import { createInterface } from "node:readline"
import { devsCli } from "../lib/devs.ts"

/** A running CLI process. */
export interface CliProcess {
    child: ChildProcess
    /** Resolves with the exit code when the process ends. */
    exited: Promise<number | null>
    /** Ends the process and anything left in its group. */
    stop(): Promise<void>
}

/** Process groups started here and not yet reaped. */
const liveGroups = new Set<number>()
/** Synchronous clean-ups to run at exit and on signals (temporary directories). */
const exitCleanups = new Set<() => void>()
let hooksInstalled = false

/** Synchronous last-resort cleanup (process exit, signals). */
function cleanupNow() {
    for (const pid of liveGroups) killGroup(pid, "SIGKILL")
    liveGroups.clear()
    for (const f of exitCleanups) f()
    exitCleanups.clear()
}

function killGroup(pid: number, signal: NodeJS.Signals) {
    try {
        process.kill(-pid, signal)
    } catch {}
}

function onSignal(signal: NodeJS.Signals) {
    cleanupNow()
    // keep the default behaviour (exit) when nobody else handles the signal
    if (process.listenerCount(signal) <= 1) {
        process.removeAllListeners(signal)
        process.kill(process.pid, signal)
    }
}

function installHooks() {
    if (hooksInstalled) return
    hooksInstalled = true
    process.on("exit", cleanupNow)
    for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const)
        process.on(s, onSignal)
}

/**
 * Runs `cleanup` if this process exits or is signalled before the returned
 * function is called (which forgets it).
 */
export function cleanUpAtExit(cleanup: () => void): () => void {
    installHooks()
    exitCleanups.add(cleanup)
    return () => exitCleanups.delete(cleanup)
}

/**
 * Preloaded into every CLI process: its stdin is a pipe from us that we never
 * close, so end-of-file means this process died (even by SIGKILL) and the
 * child must not outlive it.
 */
const parentGuard =
    "data:text/javascript," +
    encodeURIComponent(
        'process.stdin.on("end",()=>process.exit(0));process.stdin.on("error",()=>process.exit(0));process.stdin.resume()'
    )

/** Starts `devs ARGS` in its own process group, one callback per output line. */
export function startCli(
    args: string[],
    cwd: string,
    env: NodeJS.ProcessEnv,
    onLine: (line: string, stream: "out" | "err") => void
): CliProcess {
    installHooks()
    const child = spawn(
        process.execPath,
        ["--import", parentGuard, devsCli, "--no-colors", ...args],
        { cwd, env, detached: true, stdio: ["pipe", "pipe", "pipe"] }
    )
    const pid = child.pid!
    liveGroups.add(pid)
    let code: number | null | undefined = undefined
    const exited = new Promise<number | null>(res =>
        child.on("exit", c => {
            code = c
            res(c)
        })
    )
    // the group may hold nothing more once the leader is gone
    child.on("close", () => liveGroups.delete(pid))
    createInterface({ input: child.stdout! }).on("line", l => onLine(l, "out"))
    createInterface({ input: child.stderr! }).on("line", l => onLine(l, "err"))
    return {
        child,
        exited,
        async stop() {
            if (code === undefined) {
                killGroup(pid, "SIGTERM")
                const t = setTimeout(() => killGroup(pid, "SIGKILL"), 2000)
                await exited
                clearTimeout(t)
            }
            killGroup(pid, "SIGKILL") // anything left in the group
            liveGroups.delete(pid)
            child.stdin?.destroy()
        },
    }
}
